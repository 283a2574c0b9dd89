"""`kedun import-history FILE [--batch N]` as scripts and people meet it: the JSON summary as the
last line, bad lines and placeholder users before it, exit status 1 with a clear message for
a file that is missing or broken, a progress bar only on a terminal."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kedun.customers.models import FollowUp
from kedun.history.models import ImportedLine
from tests.history.builder import busy_company
from tests.history.snapshot import table_counts

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOT_JSON = "not JSON: unexpected character, expected a JSON value: line 1 column 1 (char 0)"


def test_the_last_line_is_the_json_summary_after_the_bad_lines_and_placeholders(
    history, import_history
):
    history.follow_up("C1", "rep1", at=history.day(1))
    history.add("oops")
    history.view("auditor_old", "C1", at=history.day(2))

    imported = import_history(history)

    assert imported.printed == [
        f"line 10: {NOT_JSON}",
        "user 'auditor_old' is not declared in the file: 1 events kept under an inactive "
        "placeholder user of that name",
    ]
    summary = imported.summary
    assert set(summary) == {
        "lines",
        "imported",
        "by_type",
        "already_imported",
        "bad_lines",
        "first_bad_lines",
        "placeholder_users",
        "seconds",
        "lines_per_second",
    }
    assert (summary["lines"], summary["imported"], summary["bad_lines"]) == (11, 10, 1)
    assert summary["first_bad_lines"] == [
        {
            "line": 10,
            "reason": NOT_JSON,
        }
    ]
    assert summary["placeholder_users"] == {"auditor_old": 1}
    assert summary["seconds"] >= 0
    assert summary["lines_per_second"] is None or summary["lines_per_second"] > 0


def test_an_empty_file_imports_nothing(tmp_path, import_history):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")

    imported = import_history(empty)

    assert imported.printed == []
    assert (imported.summary["lines"], imported.summary["imported"]) == (0, 0)


def test_a_missing_file_is_a_command_error(tmp_path, db):
    with pytest.raises(CommandError, match=r"nowhere\.jsonl: no such file$"):
        call_command("import-history", str(tmp_path / "nowhere.jsonl"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import-history", str(tmp_path))  # a directory is no history either


@pytest.mark.parametrize("batch", ["0", "-5"])
def test_a_batch_below_one_is_a_command_error(history, tmp_path, db, batch):
    path = history.write(tmp_path / "history.jsonl")

    with pytest.raises(CommandError, match=r"^--batch must be at least 1$"):
        call_command("import-history", str(path), "--batch", batch)
    assert FollowUp.objects.count() == 0
    assert ImportedLine.objects.count() == 0


def test_a_truncated_gz_is_a_command_error_and_the_batches_before_stay(tmp_path, import_history):
    busy = busy_company(seed=3, customers=30, days=20, per_day=10)
    whole = busy.write(tmp_path / "history.jsonl.gz")
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])

    with pytest.raises(CommandError) as raised:
        call_command("import-history", str(cut), "--batch", "20", stdout=io.StringIO())

    assert str(raised.value) == (
        f"{cut}: Compressed file ended before the end-of-stream marker was reached"
    )
    committed = ImportedLine.objects.count()
    assert 0 < committed < len(busy.lines)
    assert committed % 20 == 0  # whole batches, none half-written

    # The whole file afterwards: it goes on from where the cut one stopped.
    rest = import_history(whole, "--batch", "20")
    assert rest.summary["already_imported"] == committed
    assert rest.summary["imported"] == len(busy.lines) - committed
    assert rest.summary["bad_lines"] == 0
    assert ImportedLine.objects.count() == len(busy.lines)


def test_a_file_that_is_no_gzip_inside_is_a_command_error(tmp_path, db):
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"type": "department"}\n')[:10] + b"\x00" * 40)

    with pytest.raises(CommandError) as raised:
        call_command("import-history", str(broken), stdout=io.StringIO())

    assert str(raised.value) == (
        f"{broken}: Error -3 while decompressing data: invalid stored block lengths"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_progress_bar_when_stderr_is_not_a_terminal(history, db, tmp_path, capsys):
    path = history.write(tmp_path / "history.jsonl")

    call_command("import-history", str(path), "--batch", "2")

    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out.splitlines()[-1])["imported"] == 8


def test_a_progress_bar_on_a_terminal(history, db, tmp_path, monkeypatch):
    path = history.write(tmp_path / "history.jsonl")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = io.StringIO()

    call_command("import-history", str(path), "--batch", "2", stdout=out)

    frames = terminal.getvalue().split("\r")[1:]
    assert len(frames) == 5  # after each of the 4 batches, and once at the end
    assert frames[-1].startswith("[" + "#" * 30 + "] 100%  8 lines")
    assert frames[0].startswith("[")
    assert "  2 lines" in frames[0]
    assert terminal.getvalue().endswith("\n")  # the summary starts on a line of its own
    assert "#" not in out.getvalue()


def test_the_kedun_command_exits_1_with_the_message_on_stderr(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDUN_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env |= {"KEDUN_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)}
    missing = tmp_path / "nowhere.jsonl"

    done = subprocess.run(
        [sys.executable, "-m", "kedun", "import-history", str(missing)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == f"CommandError: {missing}: no such file"


def test_counts_are_unchanged_by_a_refused_command(history, db, tmp_path):
    before = table_counts()
    with pytest.raises(CommandError):
        call_command("import-history", str(tmp_path / "nowhere.jsonl"))
    assert table_counts() == before
