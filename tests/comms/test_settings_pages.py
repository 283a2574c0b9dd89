"""The boss's mailbox pages and the competitors page; the retention job."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kedun.audit.models import AuditEvent
from kedun.comms.models import Competitor, Mailbox, Message
from kedun.comms.services import mail_retention_purge

from .conftest import corpus, store
from .mailservers import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_boss_adds_a_mailbox_and_sees_its_status(cast, mail, client):
    address = mail.account(mail.address("page"))
    client.force_login(cast.boss)
    form = {
        "address": address,
        "user": cast.east_rep.pk,
        "imap_host": "127.0.0.1",
        "imap_port": mail.dovecot.imap_port,
        "imap_security": "none",
        "smtp_host": "127.0.0.1",
        "smtp_port": mail.smtp.port,
        "smtp_security": "none",
        "login": address,
        "password": "not-the-password",
        "active": "on",
    }
    refused = client.post(reverse("mailbox-new"), form)
    assert "refused the login" in refused.content.decode()
    assert not Mailbox.objects.exists()

    form["password"] = PASSWORD
    response = client.post(reverse("mailbox-new"), form)
    mailbox = Mailbox.objects.get()
    assert response["Location"] == reverse("mailbox-edit", args=[mailbox.pk])
    mail.dovecot.append(address, corpus("broken_mime.eml"))
    client.post(reverse("mailbox-sync", args=[mailbox.pk]))
    page = client.get(reverse("mailbox-edit", args=[mailbox.pk])).content.decode()
    assert 'data-status="warning"' in page
    assert "A message could not be read completely" in page
    assert PASSWORD not in page


def test_only_the_boss_configures_mailboxes(cast, client, api_client):
    client.force_login(cast.east_mgr)
    assert client.get(reverse("mailbox-list")).status_code == 403
    api_client.force_authenticate(cast.east_mgr)
    assert api_client.get("/api/v1/mailboxes/").status_code == 403


def test_managers_keep_the_competitors(cast, client):
    client.force_login(cast.east_mgr)
    client.post(
        reverse("competitor-list"),
        {"name": "宏远机械", "domains": "hongyuan-jx.com\n@www.hy-jx.cn"},
    )
    competitor = Competitor.objects.get()
    assert sorted(competitor.domains.values_list("domain", flat=True)) == [
        "hongyuan-jx.com",
        "hy-jx.cn",
    ]
    client.force_login(cast.east_rep)
    client.post(reverse("competitor-list"), {"name": "别的", "domains": "x.cn"})
    assert Competitor.objects.count() == 1


def test_only_the_retention_job_removes_mail_and_it_is_audited(cast):
    old = store(corpus("raw_utf8_headers.eml"), owner=cast.east_rep)
    store(corpus("split_words_gb18030.eml"), owner=cast.east_rep)
    assert mail_retention_purge() == 0  # 0 days: kept for ever
    removed = mail_retention_purge(now=old.sent_at + dt.timedelta(days=3, minutes=1), days=3)
    assert removed == 1
    assert list(Message.objects.values_list("message_id", flat=True)) == ["split-001@hengda-jx.com"]
    event = AuditEvent.objects.get(action="mail.retention_purged")
    assert event.changes_data["count"] == 1 and event.actor_label == "system"


def test_the_retention_job_removes_the_files_nothing_else_names(
    cast, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    old = store(corpus("big5_with_attachment.eml"), owner=cast.east_rep)
    later = store(
        corpus(
            "big5_with_attachment.eml",
            **{"big5-001": "big5-002", "03 Mar 2027": "10 Mar 2027"},
        ),
        owner=cast.east_rep,
    )
    shared = old.attachments.get().file.name
    assert later.attachments.get().file.name == shared  # stored once, by content
    old_raw, later_raw = old.raw.name, later.raw.name
    assert old_raw != later_raw

    with django_capture_on_commit_callbacks(execute=True):
        mail_retention_purge(now=old.sent_at + dt.timedelta(days=3, minutes=1), days=3)
    assert not default_storage.exists(old_raw)
    assert default_storage.exists(later_raw) and default_storage.exists(shared)

    with django_capture_on_commit_callbacks(execute=True):
        mail_retention_purge(now=later.sent_at + dt.timedelta(days=3, minutes=1), days=3)
    assert not default_storage.exists(later_raw) and not default_storage.exists(shared)
