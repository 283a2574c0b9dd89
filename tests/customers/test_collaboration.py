"""The 小李/小张 scene: a rep logs a contact and a need on a colleague's customer; the owner
and the owner's manager are told; the note stays on the customer's timeline."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kedun.audit.models import AuditEvent
from kedun.core.errors import Invalid
from kedun.customers.collaboration import collaboration_note_add
from kedun.customers.models import CollaborationNote, Need
from kedun.customers.services import ContactInput, customer_register
from kedun.notifications.models import Notification
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhangs_customer(cast):
    return customer_register(
        actor=cast.east_rep,
        name="杭州市蓝海科技有限公司",
        phone="0571-88886666",
        contacts=[ContactInput(name="王采购", phone="13900001111")],
    )


def test_a_note_by_a_colleague_reaches_the_owner_and_the_manager(cast, zhangs_customer):
    note = collaboration_note_add(
        actor=cast.south_rep,
        customer=zhangs_customer,
        content="客户来电询价，要求下周报价",
        contact_name="王采购",
        contact_phone="13900001111",
        need_what="数控机床",
        need_quantity="3 台",
    )
    assert note.need is not None and note.need.customer == zhangs_customer
    told = {n.recipient.username: n for n in Notification.objects.all()}
    assert set(told) == {"east_rep", "east_mgr"}
    assert "south_rep" not in told
    assert "杭州市蓝海科技有限公司" in told["east_rep"].title
    assert "数控机床" in told["east_rep"].body
    assert told["east_rep"].url == reverse("customer-detail", args=[zhangs_customer.pk])
    assert (
        AuditEvent.objects.filter(
            action="customer.collaboration_note_added", actor_id=cast.south_rep.pk
        ).count()
        == 1
    )


def test_an_empty_note_is_refused_and_nothing_is_written(cast, zhangs_customer):
    with pytest.raises(Invalid):
        collaboration_note_add(
            actor=cast.south_rep, customer=zhangs_customer, content=" ", need_what="机床"
        )
    assert not CollaborationNote.objects.exists() and not Need.objects.exists()
    assert not Notification.objects.exists()


def test_anyone_opens_the_registry_card_masked_and_logs_a_note(cast, zhangs_customer, client):
    client.force_login(cast.south_rep)
    card = client.get(reverse("registry-card", args=[zhangs_customer.pk]))
    page = card.content.decode()
    assert card.status_code == 200
    assert "张" not in page or "east_rep" not in page  # owner shown by display name
    assert "88886666" not in page and "13900001111" not in page
    response = client.post(
        reverse("registry-card", args=[zhangs_customer.pk]),
        {
            "content": "客户来电询价",
            "contact_name": "王采购",
            "contact_phone": "13900001111",
            "need_what": "数控机床",
            "need_quantity": "3 台",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "客户来电询价" in response.content.decode()  # the author sees their own note
    assert CollaborationNote.objects.get().author == cast.south_rep


def test_the_registry_card_of_a_missing_customer_is_404(cast, client):
    client.force_login(cast.south_rep)
    assert client.get(reverse("registry-card", args=[999])).status_code == 404


def test_the_owner_sees_the_note_on_the_timeline_and_others_see_it_masked(
    cast, zhangs_customer, client
):
    collaboration_note_add(
        actor=cast.south_rep,
        customer=zhangs_customer,
        content="客户来电询价",
        contact_name="王采购",
        contact_phone="13900001111",
    )
    client.force_login(cast.east_rep)
    page = client.get(reverse("customer-detail", args=[zhangs_customer.pk])).content.decode()
    assert "客户来电询价" in page and "13900001111" in page and "王采购" in page
    client.force_login(cast.finance)
    page = client.get(reverse("customer-detail", args=[zhangs_customer.pk])).content.decode()
    assert "客户来电询价" in page and "13900001111" not in page and "139****1111" in page


def test_the_owner_is_told_at_login_and_by_the_bell(cast, zhangs_customer, client):
    collaboration_note_add(actor=cast.south_rep, customer=zhangs_customer, content="客户来电询价")
    response = client.post(
        reverse("login"), {"username": "east_rep", "password": PASSWORD}, follow=True
    )
    page = response.content.decode()
    assert "1" in page and 'data-unread="1"' in page
    assert "杭州市蓝海科技有限公司" in page  # the summary names what happened
    inbox = client.get(reverse("notification-list")).content.decode()
    assert "客户来电询价" in inbox
    client.post(reverse("notifications-read"))
    assert "data-unread" not in client.get(reverse("home")).content.decode()
