"""Two syncs at once, with real threads against a file SQLite or PostgreSQL: one message that
two mailboxes hold is stored once with two owners; one mailbox is synced by one of two
syncs (the other is told it is busy) — nothing doubles."""

from __future__ import annotations

from kedun.comms.models import Message, MessageOwner
from kedun.comms.sync import mailbox_sync
from tests.threads import at_once as threaded

from .conftest import corpus


def at_once(*calls):
    """Run each call in its own thread, started together; their results in order (none fails)."""
    results = threaded(*calls)
    assert [r for r in results if isinstance(r, BaseException)] == []
    return results


def test_one_message_in_two_mailboxes_synced_at_once_is_stored_once(transactional_db, cast, mail):
    first = mail.mailbox(cast.east_rep)
    second = mail.mailbox(cast.east_mgr, local="mgr")
    raws = [corpus(name) for name in ("gb2312_holding_gbk.eml", "raw_gbk_headers.eml")]
    for mailbox in (first, second):
        for raw in raws:
            mail.dovecot.append(mailbox.address, raw)

    reports = at_once(lambda: mailbox_sync(mailbox=first), lambda: mailbox_sync(mailbox=second))

    assert [r.errors for r in reports] == [[], []]
    assert sum(r.stored for r in reports) == 2
    assert sum(r.stored + r.already_stored for r in reports) == 4
    assert Message.objects.count() == 2
    assert MessageOwner.objects.count() == 4


def test_one_mailbox_is_synced_by_one_sync_at_a_time(transactional_db, cast, mail):
    mailbox = mail.mailbox(cast.east_rep)
    for name in ("raw_utf8_headers.eml", "raw_gbk_headers.eml", "html_only_gb2312.eml"):
        mail.dovecot.append(mailbox.address, corpus(name))

    reports = at_once(
        lambda: mailbox_sync(mailbox=mailbox, holder="one"),
        lambda: mailbox_sync(mailbox=mailbox, holder="two"),
    )

    assert sum(r.stored for r in reports) == 3
    assert Message.objects.count() == 3
    busy = [r for r in reports if r.skipped]
    # Either the second waited for nothing (the first had finished) or it was told it is busy.
    assert all(p["code"] == "busy" for r in busy for p in r.problems)
