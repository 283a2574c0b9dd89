"""The commission ledger pages (提成台账): a rep reads their own ledger with its totals; a manager
a table of their reps, each opening that rep's ledger, and never another region's; the back
office the company's, read-only. A manager of the rep (or the boss) forfeits the rep's retained
commission from the page; anyone else is refused and nothing changes. A clawed-back entry reads
as a deduction. Pages are read in English (Accept-Language)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.notifications.models import Notification
from kedun.sales.models import CommissionEntry, CommissionStatus, Order
from kedun.sales.orders import delivery_confirm
from tests.factories import (
    CommissionEntryFactory,
    CustomerFactory,
    InvoiceFactory,
    OrderFactory,
    PaymentFactory,
)

from .conftest import T0, TODAY
from .test_orders import invoice, pay, ship_all, take_order
from .test_reversals import REASON, bounce

pytestmark = pytest.mark.django_db

PAYABLE = CommissionStatus.PAYABLE
RETAINED = CommissionStatus.RETAINED
RELEASED = CommissionStatus.RELEASED
FORFEITED = CommissionStatus.FORFEITED
RELEASE_ON = TODAY + dt.timedelta(days=730)
FORFEIT = {"forfeit-reason": "经核实转单给亲属公司"}


@pytest.fixture(autouse=True)
def _in_english(client, settings):
    settings.KEDUN_COMMISSION_RATE = Decimal("0.03")
    settings.KEDUN_COMMISSION_RETAINED = Decimal("0.30")
    settings.KEDUN_COMMISSION_CLEAN_DAYS = 730
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with clock.frozen_at(T0), translation.override("en"):
        yield


# -- arrangements ---------------------------------------------------------------------------


def order_of(rep) -> Order:
    return OrderFactory(customer=CustomerFactory(owner=rep))


def entry(rep, amount, status=PAYABLE, *, days_ago=0, order=None, paid="1130.00"):
    """One entry of `rep` on a payment of its own (a payment accrues each status once)."""
    order = order or order_of(rep)
    payment = PaymentFactory(invoice=InvoiceFactory(order=order), amount=paid)
    return CommissionEntryFactory(
        rep=rep,
        payment=payment,
        order=order,
        amount=amount,
        status=status,
        release_on=RELEASE_ON if status in (RETAINED, FORFEITED) else None,
        created_at=T0 - dt.timedelta(days=days_ago),
    )


@pytest.fixture
def ledgers(cast) -> dict:
    """east_rep: payable 30.00, retained 12.90, released 5.00, forfeited 2.00; east_rep2
    payable 99.99 and retained 40.00; south_rep payable 7.77."""
    return {
        "east_rep": [
            entry(cast.east_rep, "30.00", days_ago=3),
            entry(cast.east_rep, "12.90", RETAINED, days_ago=2),
            entry(cast.east_rep, "5.00", RELEASED, days_ago=1),
            entry(cast.east_rep, "2.00", FORFEITED, days_ago=0),
        ],
        "east_rep2": [
            entry(cast.east_rep2, "99.99", days_ago=4),
            entry(cast.east_rep2, "40.00", RETAINED, days_ago=4),
        ],
        "south_rep": [entry(cast.south_rep, "7.77", days_ago=5)],
    }


def text(response) -> str:
    return html.unescape(response.content.decode())


def totals(page: str) -> dict[str, str]:
    block = re.search(r'<dl class="facts" id="commission-totals">(.*?)</dl>', page, re.S)
    return dict(re.findall(r'data-total="(\w+)">([^<]+)<', block.group(1)))


def entry_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-entry="(\d+)"', page)]


def rep_rows(page: str) -> list[str]:
    return re.findall(r'<tr data-rep="(\w+)">', page)


def ledger_url(rep) -> str:
    return reverse("commission-rep", args=[rep.pk])


def state() -> tuple:
    """Everything forfeiting may write."""
    return (
        list(CommissionEntry.objects.order_by("pk").values_list("pk", "status", "settled_at")),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


# -- a rep's own ledger -----------------------------------------------------------------------


def test_a_rep_sees_only_their_own_entries_and_totals(cast, client, ledgers):
    client.force_login(cast.east_rep)
    page = text(client.get(reverse("commission")))
    assert totals(page) == {
        "earned": "¥35.00",
        "payable": "¥30.00",
        "released": "¥5.00",
        "clawed_back": "¥0.00",
        "retained": "¥12.90",
        "forfeited": "¥2.00",
    }
    assert entry_ids(page) == [e.pk for e in reversed(ledgers["east_rep"])]  # newest first
    assert "Retained until 2028-03-01" in page
    assert re.search(r'data-release="2028-03-01">2028-03-01 · <span class="mono">¥12.90', page)
    order = ledgers["east_rep"][0].order
    assert f'<a href="/orders/{order.pk}/">{order.number}</a>' in page
    assert "99.99" not in page and "7.77" not in page
    assert "data-forfeit-form" not in page
    assert "data-rep=" not in page  # no table of reps


def test_a_rep_opens_their_own_ledger_by_id_and_no_one_else_s(cast, client, ledgers):
    client.force_login(cast.east_rep)
    assert client.get(ledger_url(cast.east_rep)).status_code == 200
    assert client.get(ledger_url(cast.east_rep2)).status_code == 404
    assert client.get(ledger_url(cast.south_rep)).status_code == 404
    assert client.get(reverse("commission-rep", args=[999_999])).status_code == 404


def test_the_status_filter_shows_one_status_and_keeps_the_totals(cast, client, ledgers):
    client.force_login(cast.east_rep)
    page = text(client.get(reverse("commission"), {"status": "retained"}))
    assert entry_ids(page) == [ledgers["east_rep"][1].pk]
    assert totals(page)["earned"] == "¥35.00"
    page = text(client.get(reverse("commission"), {"status": "bogus"}))
    assert len(entry_ids(page)) == 4


def test_the_ledger_is_paginated_newest_first_and_the_filter_kept(cast, client):
    made = [entry(cast.east_rep, "1.00", days_ago=day) for day in range(30)]
    client.force_login(cast.east_rep)
    first = text(client.get(reverse("commission"), {"status": "payable"}))
    assert entry_ids(first) == [e.pk for e in made[:25]]
    assert "Page 1 of 2" in first
    assert '<a href="?status=payable&page=2">Next</a>' in first
    second = text(client.get(reverse("commission"), {"status": "payable", "page": 2}))
    assert entry_ids(second) == [e.pk for e in made[25:]]
    assert totals(second)["payable"] == "¥30.00"


def test_a_clawed_back_entry_shows_as_a_deduction(cast, client, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    ship_all(cast, order)
    delivery_confirm(actor=cast.logistics, order=order)
    payment = pay(cast, invoice(cast, order), "3621.65")
    bounce(payment, by=cast.finance)
    clawback = CommissionEntry.objects.get(status=CommissionStatus.CLAWED_BACK)

    client.force_login(cast.east_rep)
    page = text(client.get(reverse("commission")))
    assert totals(page) == {
        "earned": "-¥28.85",
        "payable": "¥67.30",
        "released": "¥0.00",
        "clawed_back": "−¥96.15",
        "retained": "¥28.85",
        "forfeited": "¥0.00",
    }
    row = re.search(
        rf'<tr data-entry="{clawback.pk}" data-status="clawed_back">(.*?)</tr>', page, re.S
    )
    assert f"Clawed back: Bounced · <span data-reason>{REASON}</span>" in row.group(1)
    assert '<td class="mono error" data-amount>−¥96.15</td>' in row.group(1)
    assert '<td class="mono">¥3,621.65</td>' in row.group(1)  # the payment it was earned on


# -- a manager's table and a rep's ledger ---------------------------------------------------


def test_a_manager_sees_the_team_s_reps_and_not_another_region_s(cast, client, ledgers):
    client.force_login(cast.east_mgr)
    page = text(client.get(reverse("commission")))
    assert rep_rows(page) == ["east_rep", "east_rep2"]
    assert totals(page) == {
        "earned": "¥134.99",
        "payable": "¥129.99",
        "released": "¥5.00",
        "clawed_back": "¥0.00",
        "retained": "¥52.90",
        "forfeited": "¥2.00",
    }
    row = re.search(r'<tr data-rep="east_rep2">(.*?)</tr>', page, re.S).group(1)
    assert f'href="{ledger_url(cast.east_rep2)}"' in row
    assert re.findall(r'data-total="(\w+)">([^<]+)<', row) == [
        ("earned", "¥99.99"),
        ("retained", "¥40.00"),
    ]
    assert client.get(ledger_url(cast.south_rep)).status_code == 404

    rep_page = text(client.get(ledger_url(cast.east_rep)))
    assert entry_ids(rep_page) == [e.pk for e in reversed(ledgers["east_rep"])]
    assert totals(rep_page)["earned"] == "¥35.00"
    assert "data-forfeit-form" in rep_page

    client.force_login(cast.south_mgr)
    assert rep_rows(text(client.get(reverse("commission")))) == ["south_rep"]
    assert client.get(ledger_url(cast.east_rep)).status_code == 404


def test_the_back_office_reads_the_company_s_ledger_and_forfeits_nothing(cast, client, ledgers):
    for viewer in (cast.finance, cast.auditor, cast.orders, cast.logistics):
        client.force_login(viewer)
        page = text(client.get(reverse("commission")))
        assert rep_rows(page) == ["east_rep", "east_rep2", "south_rep"], viewer.username
        assert totals(page)["earned"] == "¥142.76"
        rep_page = text(client.get(ledger_url(cast.east_rep)))
        assert "data-forfeit-form" not in rep_page
        before = state()
        assert client.post(ledger_url(cast.east_rep), FORFEIT).status_code == 403
        assert state() == before


# -- forfeiting -------------------------------------------------------------------------------


def test_a_manager_forfeits_a_rep_s_retained_commission_from_the_page(cast, client, ledgers):
    client.force_login(cast.east_mgr)
    response = client.post(ledger_url(cast.east_rep), FORFEIT)
    assert response.status_code == 302 and response["Location"] == ledger_url(cast.east_rep)

    statuses = dict(
        CommissionEntry.objects.filter(rep=cast.east_rep).values_list("amount", "status")
    )
    assert statuses == {
        Decimal("30.00"): PAYABLE,
        Decimal("12.90"): FORFEITED,
        Decimal("5.00"): RELEASED,
        Decimal("2.00"): FORFEITED,
    }
    assert CommissionEntry.objects.get(rep=cast.east_rep2, status=RETAINED)  # others untouched
    event = AuditEvent.objects.get(action="sales.commission_forfeited")
    assert event.actor == cast.east_mgr and event.object_id == str(cast.east_rep.pk)
    changes = json.loads(event.changes)
    assert (changes["reason"], changes["amount"]) == (FORFEIT["forfeit-reason"], "12.90")
    assert Notification.objects.get(kind="commission_forfeited").recipient == cast.east_rep

    page = text(client.get(ledger_url(cast.east_rep)))
    assert "Retained commission of 12.90 forfeited." in page
    assert totals(page)["retained"] == "¥0.00" and totals(page)["forfeited"] == "¥14.90"
    assert "data-forfeit-form" not in page  # nothing left to forfeit


def test_a_rep_never_sees_the_forfeit_form_and_a_forged_post_is_refused(cast, client, ledgers):
    client.force_login(cast.east_rep)
    assert "data-forfeit-form" not in text(client.get(ledger_url(cast.east_rep)))
    before = state()
    assert client.post(ledger_url(cast.east_rep), FORFEIT).status_code == 403
    assert client.post(reverse("commission"), FORFEIT).status_code == 403
    assert client.post(ledger_url(cast.east_rep2), FORFEIT).status_code == 404
    assert state() == before


def test_a_manager_forfeits_nothing_of_their_own_nor_another_region_s(cast, client, ledgers):
    entry(cast.east_mgr, "8.00", RETAINED)
    client.force_login(cast.east_mgr)
    assert "data-forfeit-form" not in text(client.get(ledger_url(cast.east_mgr)))
    before = state()
    assert client.post(ledger_url(cast.east_mgr), FORFEIT).status_code == 403
    assert client.post(reverse("commission"), FORFEIT).status_code == 403
    assert client.post(ledger_url(cast.south_rep), FORFEIT).status_code == 404
    assert state() == before


def test_a_refused_forfeit_says_why_and_changes_nothing(cast, client, ledgers):
    client.force_login(cast.south_mgr)
    before = state()
    response = client.post(ledger_url(cast.south_rep), FORFEIT)  # nothing retained
    assert response.status_code == 200
    assert "Nothing is retained for this rep." in text(response)
    response = client.post(ledger_url(cast.south_rep), {"forfeit-reason": "a    b"})
    assert "Give a reason (at least 5 characters)." in text(response)
    assert state() == before


def test_the_boss_forfeits_anyone_s_retained_commission(cast, client, ledgers):
    client.force_login(cast.boss)
    assert rep_rows(text(client.get(reverse("commission")))) == [
        "east_rep",
        "east_rep2",
        "south_rep",
    ]
    assert client.post(ledger_url(cast.east_rep2), FORFEIT).status_code == 302
    assert CommissionEntry.objects.get(rep=cast.east_rep2, amount="40.00").status == FORFEITED
