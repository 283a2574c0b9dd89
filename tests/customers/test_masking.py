"""Masking: nobody but the owner sees a customer's contact data in full; managers reveal it
on purpose and every reveal is recorded. The canary test scans every response a non-owner gets
for the owner's phones and emails."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from kedun.audit.models import AuditEvent
from kedun.customers.access import ContactAccess, contact_access
from kedun.customers.services import ContactInput, customer_register

pytestmark = pytest.mark.django_db

CANARY_PHONE = "13912345678"
CANARY_LANDLINE = "021-62345678"
CANARY_EMAIL = "canary.buyer@hengda-jx.com"
CANARY_CONTACT = "欧阳锋"
CANARY_CONTACT_PHONE = "13787654321"


@pytest.fixture
def canary(cast):
    return customer_register(
        actor=cast.east_rep,
        name="上海市恒达机械有限公司",
        phone=f"{CANARY_LANDLINE} / {CANARY_PHONE}",
        email=CANARY_EMAIL,
        contacts=[
            ContactInput(
                name=CANARY_CONTACT, phone=CANARY_CONTACT_PHONE, email="ouyang@hengda-jx.com"
            )
        ],
    )


@pytest.fixture
def canary_mail(cast, canary):
    """A message from the customer in the owner's mailbox, its signature full of contact data
    (the mail surfaces: the card, the timeline, the thread, the API)."""
    from tests.comms.conftest import store

    raw = (
        f"From: =?utf-8?B?5qyn6Ziz6ZSL?= <{CANARY_EMAIL}>\r\n"
        "To: east_rep@kedun.test\r\n"
        "Cc: ouyang@hengda-jx.com\r\n"
        "Subject: =?utf-8?B?6K+i5Lu3?=\r\n"
        "Date: Tue, 02 Mar 2027 10:15:00 +0800\r\n"
        "Message-ID: <canary-001@hengda-jx.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"请报价。\r\n{CANARY_CONTACT} 手机 {CANARY_CONTACT_PHONE} 邮箱 {CANARY_EMAIL}\r\n"
    ).encode()
    return store(raw, owner=cast.east_rep)


def leaks(text: str) -> list[str]:
    found = []
    for canary in (
        CANARY_PHONE,
        "62345678",
        CANARY_EMAIL,
        "canary.buyer",
        CANARY_CONTACT,
        CANARY_CONTACT_PHONE,
        "87654321",
        "ouyang@",
    ):
        if canary in text:
            found.append(canary)
    return found


def test_the_owner_sees_everything(cast, canary, api_client):
    api_client.force_authenticate(cast.east_rep)
    body = api_client.get(f"/api/v1/customers/{canary.pk}/").json()
    assert body["masked"] is False and body["contact_access"] == "full"
    assert body["contacts"][0]["name"] == CANARY_CONTACT
    assert body["email"] == CANARY_EMAIL


@pytest.mark.parametrize(
    "who",
    [
        "east_rep2",
        "east_team_rep",
        "south_rep",
        "south_mgr",
        "east_mgr",
        "boss",
        "finance",
        "orders",
        "logistics",
        "auditor",
    ],
)
def test_no_surface_leaks_contact_data_to_anyone_but_the_owner(
    cast, canary, canary_mail, client, api_client, monkeypatch, who
):
    viewer = getattr(cast, who)
    client.force_login(viewer)
    api_client.force_authenticate(viewer)
    responses = [
        client.get(reverse("customer-list")),
        client.get(reverse("customer-list"), {"q": "恒达"}, HTTP_HX_REQUEST="true"),
        client.get(reverse("customer-detail", args=[canary.pk])),
        client.get(reverse("registry-search"), {"q": "恒达机械"}),
        # Typed differently from the stored number, so an echo of the query is no false alarm.
        client.get(reverse("registry-search"), {"q": "+86 139 1234 5678"}),
        client.post(reverse("customer-check"), {"name": "恒达机械", "phone": CANARY_LANDLINE}),
        client.get(reverse("home")),
        api_client.get("/api/v1/customers/?page_size=100"),
        api_client.get(f"/api/v1/customers/{canary.pk}/"),
        api_client.post(
            "/api/v1/customers/duplicate-check/",
            {"name": "恒达机械", "email": CANARY_EMAIL},
            format="json",
        ),
        api_client.post(
            "/api/v1/customers/",
            {"name": "上海恒达机械有限公司", "phone": CANARY_LANDLINE},
            format="json",
        ),
    ]
    if viewer.role == "auditor" or viewer.role == "admin":
        responses.append(api_client.get("/api/v1/audit/events/?page_size=100"))
    # The mail surfaces: the customer's messages, the thread, one's own and deleted mail.
    responses += [
        api_client.get(f"/api/v1/customers/{canary.pk}/messages/"),
        api_client.get(f"/api/v1/mail/{canary_mail.pk}/thread/"),
        api_client.get("/api/v1/mail/"),
        api_client.get("/api/v1/mail/deleted/"),
        client.get(reverse("mail-thread", args=[canary_mail.pk])),
        client.get(reverse("mail-list")),
        client.get(reverse("mail-deleted")),
    ]
    for response in responses:
        assert response.status_code in (200, 403, 404, 409), (response, response.request)
        assert leaks(response.content.decode()) == [], (
            response.request["PATH_INFO"],
            response.status_code,
        )
    monkeypatch.setattr(
        "sys.stdin", io.StringIO(json.dumps({"name": "恒达机械", "phone": CANARY_LANDLINE}))
    )
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    call_command("find-duplicates")
    assert leaks(out.getvalue()) == []


def test_managers_reveal_on_purpose_and_it_is_recorded(cast, canary, client, api_client):
    assert contact_access(viewer=cast.east_mgr, customer=canary) == ContactAccess.REVEALABLE
    assert contact_access(viewer=cast.south_mgr, customer=canary) == ContactAccess.MASKED
    client.force_login(cast.east_mgr)
    page = client.get(reverse("customer-detail", args=[canary.pk])).content.decode()
    assert leaks(page) == [] and 'name="reveal"' in page
    revealed = client.post(reverse("customer-detail", args=[canary.pk]), {"reveal": "1"})
    assert CANARY_CONTACT in revealed.content.decode()
    api_client.force_authenticate(cast.boss)
    body = api_client.get(f"/api/v1/customers/{canary.pk}/?reveal=1").json()
    assert body["masked"] is False and body["phone"] == f"{CANARY_LANDLINE} / {CANARY_PHONE}"
    reveals = AuditEvent.objects.filter(
        action="customer.contacts_revealed", object_id=str(canary.pk)
    ).order_by("seq")
    assert [e.actor_label for e in reveals] == ["east_mgr", "boss"]


def test_a_reveal_by_someone_who_may_not_is_ignored(cast, canary, api_client):
    api_client.force_authenticate(cast.finance)
    body = api_client.get(f"/api/v1/customers/{canary.pk}/?reveal=1").json()
    assert body["masked"] is True and leaks(json.dumps(body, ensure_ascii=False)) == []
    assert not AuditEvent.objects.filter(action="customer.contacts_revealed").exists()


def test_masked_values_keep_their_shape(cast, canary, api_client):
    api_client.force_authenticate(cast.finance)
    body = api_client.get(f"/api/v1/customers/{canary.pk}/").json()
    assert body["phone"] == "021-****78, 139****5678"
    assert body["email"] == "ca***@hengda-jx.com"
    assert body["contacts"][0]["name"] == "欧**"
    assert body["contacts"][0]["phone"] == "137****4321"


def test_the_owner_reads_the_customers_mail_unmasked(cast, canary, canary_mail, client):
    client.force_login(cast.east_rep)
    page = client.get(reverse("mail-thread", args=[canary_mail.pk])).content.decode()
    assert CANARY_EMAIL in page and CANARY_CONTACT_PHONE in page


def test_the_owners_manager_sees_the_mail_masked_until_a_recorded_reveal(
    cast, canary, canary_mail, client
):
    client.force_login(cast.east_mgr)
    page = client.get(reverse("mail-thread", args=[canary_mail.pk])).content.decode()
    assert leaks(page) == [] and "ca***@hengda-jx.com" in page and 'name="reveal"' in page
    revealed = client.post(reverse("mail-thread", args=[canary_mail.pk]), {"reveal": "1"})
    assert CANARY_EMAIL in revealed.content.decode()
    assert AuditEvent.objects.filter(
        action="customer.contacts_revealed", object_id=str(canary.pk), actor_label="east_mgr"
    ).exists()
