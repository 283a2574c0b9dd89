"""scripts/translations.py: Traditional Chinese follows Simplified, and the mark that says an
entry was derived (not written by a translator) survives makemessages (msgmerge)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "translations.py"
DERIVED = "derived-from-zh_Hans"


def load_script():
    spec = importlib.util.spec_from_file_location("translations", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalogue(path: Path, entries: list[polib.POEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    po.extend(entries)
    po.save(str(path))


def entries_of(path: Path) -> dict[str, polib.POEntry]:
    return {entry.msgid: entry for entry in polib.pofile(str(path))}


@pytest.fixture
def locale(tmp_path: Path) -> Path:
    catalogue(
        tmp_path / "zh_Hans" / "LC_MESSAGES" / "django.po",
        [
            polib.POEntry(msgid="Customer", msgstr="客户"),
            polib.POEntry(msgid="Quote", msgstr="报价"),
            polib.POEntry(msgid="Pool", msgstr="公共客户池"),  # changed since it was derived
            polib.POEntry(msgid="Order", msgstr="订单"),
        ],
    )
    catalogue(
        tmp_path / "zh_Hant" / "LC_MESSAGES" / "django.po",
        [
            polib.POEntry(msgid="Customer", msgstr="客戶"),  # as derived, but never marked
            polib.POEntry(msgid="Quote", msgstr="報價單"),  # a translator's own choice
            polib.POEntry(msgid="Pool", msgstr="公海", tcomment=DERIVED),
            polib.POEntry(msgid="Order", msgstr="訂貨", comment=DERIVED),  # the old mark
        ],
    )
    return tmp_path


def test_traditional_follows_simplified_except_where_a_translator_wrote_it(locale):
    assert load_script().main(locale) == 0

    hant = entries_of(locale / "zh_Hant" / "LC_MESSAGES" / "django.po")
    assert {msgid: entry.msgstr for msgid, entry in hant.items()} == {
        "Customer": "客戶",
        "Quote": "報價單",
        "Pool": "公共客戶池",
        "Order": "訂單",
    }
    assert [msgid for msgid, entry in hant.items() if DERIVED in entry.tcomment] == [
        "Customer",
        "Pool",
        "Order",
    ]
    assert DERIVED not in hant["Order"].comment


@pytest.mark.skipif(shutil.which("msgmerge") is None, reason="needs gettext's msgmerge")
def test_the_derived_mark_survives_makemessages(locale, tmp_path):
    """makemessages merges each catalogue with a fresh template (msgmerge): extracted
    comments are rewritten from the source, translator comments kept."""
    load_script().main(locale)
    hant_path = locale / "zh_Hant" / "LC_MESSAGES" / "django.po"
    template = tmp_path / "django.pot"
    catalogue(template, [polib.POEntry(msgid=m, msgstr="") for m in ("Customer", "Pool")])
    subprocess.run(
        ["msgmerge", "--quiet", "--update", "--backup=none", str(hant_path), str(template)],
        check=True,
    )
    merged = entries_of(hant_path)
    assert DERIVED in merged["Pool"].tcomment and DERIVED in merged["Customer"].tcomment
