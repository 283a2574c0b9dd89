"""`kedun mail sync` killed with SIGKILL at several points of a 2,000-message mailbox, then run
again: every message is archived exactly once, with one owner link, and every attachment's file
has the checksum recorded for it.

The command runs in subprocesses against a database of their own (a SQLite file in a temporary
data directory, or a fresh PostgreSQL database when the suite runs on PostgreSQL), as the pool
sweep's crash test does, and against the session's real Dovecot.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from tests.lifecycle.test_sweep_crash import ROOT, CrashDatabase

from .mailservers import PASSWORD

TOTAL = 2000
REPEATED = 25  # messages that are in the folder twice (the same Message-ID)
KILL_AT = (150, 700, 1300)


def message(number: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"buyer{number % 40}@hengda-jx.com"
    mail["To"] = "crash@kedun.test"
    mail["Subject"] = f"询价 {number}"
    mail["Date"] = "Tue, 02 Mar 2027 10:15:00 +0800"
    mail["Message-ID"] = f"<crash-{number}@hengda-jx.com>"
    mail.set_content(f"第 {number} 封：请报价。" * 20)
    if number % 4 == 0:
        mail.add_attachment(
            attachment(number), maintype="application", subtype="pdf", filename=f"报价{number}.pdf"
        )
    return mail.as_bytes()


def attachment(number: int) -> bytes:
    return b"%PDF-1.4\n" + hashlib.sha256(str(number).encode()).digest() * 64


@pytest.fixture
def crash_db(tmp_path):
    database = CrashDatabase(tmp_path / "var")
    database.env["KEDUN_MAIL_BATCH"] = "40"
    database.create()
    try:
        done = database.kedun("migrate", "--noinput")
        assert done.returncode == 0, done.stderr
        done = database.kedun("createuser", "crash_rep", "--role", "sales", "--department", "华东")
        assert done.returncode == 0, done.stderr
        yield database
    finally:
        database.drop()


def test_a_sync_killed_again_and_again_stores_every_message_once(crash_db, mail):
    address = mail.account("crash@kedun.test")
    raws = [message(n) for n in range(TOTAL)]
    mail.dovecot.drop_files(address, raws + raws[:REPEATED])
    added = subprocess.run(
        [
            sys.executable, "-m", "kedun", "mailbox", "add", address,
            "--user", "crash_rep",
            "--imap", f"127.0.0.1:{mail.dovecot.imap_port}",
            "--smtp", f"127.0.0.1:{mail.smtp.port}",
            "--login", address, "--security", "none", "--password-stdin",
        ],
        env=crash_db.env, cwd=ROOT, input=f"{PASSWORD}\n", capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    count = "SELECT COUNT(*) FROM comms_message"

    for target in KILL_AT:
        sync = subprocess.Popen(
            [sys.executable, "-m", "kedun", "mail", "sync"],
            env=crash_db.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        give_up = time.monotonic() + 120
        try:
            while crash_db.scalar(count) < target:
                assert sync.poll() is None, f"the sync ended before it was killed: {sync.stderr}"
                assert time.monotonic() < give_up, "the sync made no progress in two minutes"
                time.sleep(0.005)
            os.kill(sync.pid, signal.SIGKILL)
        finally:
            sync.wait(timeout=60)
        assert sync.returncode == -signal.SIGKILL
        stored = crash_db.scalar(count)
        assert target <= stored < TOTAL

    final = crash_db.kedun("mail", "sync")
    assert final.returncode == 0, final.stderr
    assert crash_db.scalar(count) == TOTAL
    assert crash_db.scalar("SELECT COUNT(DISTINCT message_id) FROM comms_message") == TOTAL
    assert (
        crash_db.rows(
            "SELECT message_id FROM comms_messageowner GROUP BY message_id HAVING COUNT(*) <> 1"
        )
        == []
    )
    assert crash_db.scalar("SELECT COUNT(*) FROM comms_messageowner") == TOTAL
    assert crash_db.scalar("SELECT MAX(last_uid) FROM comms_mailfolder") == TOTAL + REPEATED

    # Every attachment: once per message, its file's checksum the one recorded and expected.
    rows = crash_db.rows(
        "SELECT m.message_id, a.sha256, a.file, a.size FROM comms_attachment a "
        "JOIN comms_message m ON m.id = a.message_id"
    )
    assert len(rows) == TOTAL // 4
    media = crash_db.env["KEDUN_DATA_DIR"] + "/media/"
    for message_id, sha, name, size in rows:
        number = int(message_id.split("-")[1].split("@")[0])
        expected = attachment(number)
        with open(media + name, "rb") as handle:
            data = handle.read()
        assert hashlib.sha256(data).hexdigest() == sha == hashlib.sha256(expected).hexdigest()
        assert size == len(expected)
