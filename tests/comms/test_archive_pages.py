"""The archive as people see it: a customer's messages in the API, one's own mail, deleting
as hiding, managers' deleted mail and restore — each step audited."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from kedun.audit.models import AccessEvent, AuditEvent
from kedun.comms.models import MessageOwner
from kedun.customers.services import ContactInput, customer_register

from .conftest import corpus, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def hengda(cast):
    return customer_register(
        actor=cast.east_rep,
        name="上海市恒达机械有限公司",
        website="www.hengda-jx.com",
        contacts=[ContactInput(name="王喆", email="wangzhe@hengda-jx.com")],
    )


@pytest.fixture
def thread(cast, hengda):
    question = store(corpus("gb2312_holding_gbk.eml"), owner=cast.east_rep)
    reply = store(
        corpus("multipart_quote.eml", **{"rep1@kedun.test": "east_rep@kedun.test"}),
        owner=cast.east_rep,
    )
    return question, reply


def test_a_customers_messages_in_the_api(cast, hengda, thread, api_client):
    _question, _reply = thread
    api_client.force_authenticate(cast.east_rep)
    body = api_client.get(f"/api/v1/customers/{hengda.pk}/messages/").json()
    assert body["count"] == 2
    newest = body["results"][0]
    assert newest["message_id"] == "quote-reply-001@kedun.test"
    assert newest["subject"] == "回复：关于朱镕基路仓库的报价"
    assert newest["from"] == "east_rep@kedun.test"
    assert newest["to"] == ["王喆 <wangzhe@hengda-jx.com>"]
    assert newest["cc"] == ["boss@kedun.test"]
    assert newest["deleted"] is False
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert next((a["filename"], a["sha256"]) for a in newest["attachments"]) == (
        "报价单-2027.pdf",
        hashlib.sha256(pdf).hexdigest(),
    )
    assert [a["filename"] for a in newest["attachments"]] == ["报价单-2027.pdf", "logo.png"]


def test_the_thread_page_shows_both_messages_in_order(cast, thread, client):
    _question, reply = thread
    client.force_login(cast.east_rep)
    page = client.get(reverse("mail-thread", args=[reply.pk])).content.decode()
    assert page.index("王喆：堃哥说镕基路仓库下周到货") < page.index("王喆您好，报价见附件。")
    assert "报价单-2027.pdf" in page


def test_a_deleted_message_is_gone_for_the_rep_and_marked_for_the_manager(
    cast, hengda, thread, client, api_client
):
    question, _reply = thread
    client.force_login(cast.east_rep)
    response = client.post(reverse("mail-delete", args=[question.pk]))
    assert response.status_code == 302

    # Gone from the rep's pages and the API.
    assert client.get(reverse("mail-thread", args=[question.pk])).status_code == 404
    assert '">关于朱镕基路仓库的报价</a>' not in client.get(reverse("mail-list")).content.decode()
    api_client.force_authenticate(cast.east_rep)
    listed = api_client.get(f"/api/v1/customers/{hengda.pk}/messages/").json()["results"]
    assert [m["message_id"] for m in listed] == ["quote-reply-001@kedun.test"]
    assert api_client.get(f"/api/v1/mail/{question.pk}/thread/").status_code == 404

    # The manager sees it, marked, and restores it.
    api_client.force_authenticate(cast.east_mgr)
    listed = api_client.get(f"/api/v1/customers/{hengda.pk}/messages/").json()["results"]
    marked = {m["message_id"]: m["deleted"] for m in listed}
    assert marked == {"quote-reply-001@kedun.test": False, "gbk-001@hengda-jx.com": True}
    deleted = api_client.get("/api/v1/mail/deleted/").json()["results"]
    assert [(d["subject"], d["user"]) for d in deleted] == [("关于朱镕基路仓库的报价", "east_rep")]
    assert api_client.post(f"/api/v1/mail/deleted/{deleted[0]['id']}/restore/").status_code == 204

    api_client.force_authenticate(cast.east_rep)
    assert api_client.get(f"/api/v1/mail/{question.pk}/thread/").status_code == 200
    actions = list(
        AuditEvent.objects.filter(action__in=["mail.deleted", "mail.restored"])
        .order_by("seq")
        .values_list("action", "actor_label")
    )
    assert actions == [("mail.deleted", "east_rep"), ("mail.restored", "east_mgr")]
    row = MessageOwner.objects.get(message=question, user=cast.east_rep)
    assert row.hidden_at is not None and row.restored_by == cast.east_mgr


def test_only_the_reps_managers_see_and_restore_deleted_mail(cast, thread, api_client):
    question, _reply = thread
    api_client.force_authenticate(cast.east_rep)
    api_client.post(f"/api/v1/mail/{question.pk}/delete/")
    row = MessageOwner.objects.get(message=question, user=cast.east_rep)

    api_client.force_authenticate(cast.south_mgr)
    assert api_client.get("/api/v1/mail/deleted/").json()["results"] == []
    assert api_client.post(f"/api/v1/mail/deleted/{row.pk}/restore/").status_code == 404
    api_client.force_authenticate(cast.east_rep2)
    assert api_client.get("/api/v1/mail/deleted/").status_code == 403
    assert api_client.post(f"/api/v1/mail/deleted/{row.pk}/restore/").status_code == 403
    row.refresh_from_db()
    assert row.restored_at is None


def test_an_attachment_download_is_logged(cast, hengda, thread, client):
    _question, reply = thread
    attachment = reply.attachments.order_by("position").first()
    client.force_login(cast.east_rep)
    response = client.get(reverse("mail-attachment", args=[attachment.pk]))
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert b"".join(response.streaming_content) == pdf
    event = AccessEvent.objects.get()
    assert (event.user, event.kind, event.customer_id) == (cast.east_rep, "download", hengda.pk)
    client.force_login(cast.south_rep)
    assert client.get(reverse("mail-attachment", args=[attachment.pk])).status_code == 404


def test_the_customer_page_shows_its_mail_on_the_timeline(cast, hengda, thread, client):
    client.force_login(cast.east_rep)
    page = client.get(reverse("customer-detail", args=[hengda.pk])).content.decode()
    assert 'id="customer-mail"' in page
    assert "entry-mail" in page and "报价单-2027.pdf" in page
