"""Cash that did not stay (MISSION §5): a payment that bounced (退票) or was refunded (退款) is
unpaid again on its invoice and order, a paid order is invoiced again, and the commission it
earned is clawed back from the rep it was paid to — to the cent, never more. Finance reverses,
never whoever sold the order; a refusal changes nothing; cashiers reversing at the same moment
never reverse more than the payment."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from kedun.notifications.models import Notification
from kedun.org.models import Role
from kedun.sales.commission import commission_ledger, commission_release_due
from kedun.sales.duties import Step, duties_set
from kedun.sales.models import (
    CommissionEntry,
    CommissionStatus,
    Invoice,
    Order,
    OrderStatus,
    Payment,
    PaymentReversal,
    ReversalKind,
)
from kedun.sales.orders import delivery_confirm, payment_reverse
from tests.factories import UserFactory

from .conftest import T0, TODAY
from .test_orders import invoice, pay, ship_all, take_order
from .test_payments_concurrency import at_once

REASON = "银行承兑汇票被拒付，已退票"
CLAWED_BACK = CommissionStatus.CLAWED_BACK


@pytest.fixture(autouse=True)
def _company_terms(settings):
    settings.KEDUN_COMMISSION_RATE = Decimal("0.03")
    settings.KEDUN_COMMISSION_RETAINED = Decimal("0.30")
    settings.KEDUN_COMMISSION_CLEAN_DAYS = 730


@pytest.fixture
def at_t0():
    with clock.frozen_at(T0), translation.override("en"):
        yield


@pytest.fixture
def cashier2(cast):
    return UserFactory(username="cashier2", role=Role.FINANCE, department=cast.back_office)


# -- arrangements ---------------------------------------------------------------------------


def paid_in_full(cast, catalogue, customer) -> Payment:
    """east_rep's order of 3621.65 (3205.00 before tax), delivered, invoiced and paid."""
    order = take_order(cast, customer, catalogue)
    ship_all(cast, order)
    delivery_confirm(actor=cast.logistics, order=order)
    return pay(cast, invoice(cast, order), "3621.65")


def paid_1000(cast, catalogue, customer) -> Payment:
    """1000.00 paid of an invoice of 1000.00 on east_rep's order."""
    bill = invoice(cast, take_order(cast, customer, catalogue), amount="1000.00")
    return pay(cast, bill, "1000.00")


def bounce(payment: Payment, *, by, **extra) -> PaymentReversal:
    return payment_reverse(
        actor=by, payment=payment, kind=ReversalKind.BOUNCED, reason=REASON, **extra
    )


def refund(payment: Payment, amount, *, by) -> PaymentReversal:
    return payment_reverse(
        actor=by, payment=payment, kind=ReversalKind.REFUNDED, amount=amount, reason="退货退款"
    )


def accrued(payment: Payment) -> Decimal:
    return sum(
        CommissionEntry.objects.filter(payment=payment, reversal=None).values_list(
            "amount", flat=True
        ),
        Decimal(0),
    )


def clawbacks(payment: Payment) -> list[Decimal]:
    return list(
        CommissionEntry.objects.filter(payment=payment, status=CLAWED_BACK)
        .order_by("pk")
        .values_list("amount", flat=True)
    )


def state(payment: Payment) -> tuple:
    """What a reversal could touch, read back."""
    payment = Payment.objects.select_related("invoice__order").get(pk=payment.pk)
    order = payment.invoice.order
    return (
        payment.reversed_amount,
        payment.invoice.paid_amount,
        order.paid_total,
        order.status,
        PaymentReversal.objects.count(),
        list(CommissionEntry.objects.order_by("pk").values_list("pk", "status", "amount")),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


def refused(error_type, call: Callable[[], object]) -> DomainError:
    with pytest.raises(error_type) as caught:
        call()
    return caught.value


# -- the service ------------------------------------------------------------------------------


def test_a_bounced_payment_is_unpaid_again_and_its_commission_clawed_back(
    at_t0, cast, catalogue, owned_customer, cashier2
):
    payment = paid_in_full(cast, catalogue, owned_customer)
    order = payment.invoice.order
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert accrued(payment) == Decimal("96.15")  # 3205.00 × 3 %: 67.30 payable, 28.85 retained

    reversal = bounce(payment, by=cast.finance)

    assert (reversal.kind, reversal.amount, reversal.reversed_on) == (
        "bounced",
        payment.amount,
        TODAY,
    )
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.reversed_amount == Decimal("3621.65")
    assert Invoice.objects.get(pk=payment.invoice_id).paid_amount == Decimal("0.00")
    assert (order.paid_total, order.status) == (Decimal("0.00"), OrderStatus.INVOICED)
    [clawback] = CommissionEntry.objects.filter(status=CLAWED_BACK)
    assert (clawback.rep, clawback.reversal, clawback.amount) == (
        cast.east_rep,
        reversal,
        Decimal("96.15"),
    )
    event = AuditEvent.objects.filter(action="sales.payment_reversed").get()
    assert event.object_id == str(order.pk)
    assert json.loads(event.changes)["status"] == [OrderStatus.PAID, OrderStatus.INVOICED]
    assert AuditEvent.objects.filter(action="sales.commission_clawed_back").count() == 1
    told = Notification.objects.filter(kind="payment_reversed")
    assert {n.recipient.username for n in told} == {"east_rep", "east_mgr", "cashier2"}
    assert told.first().title == f"Order {order.number}: a payment of 3621.65 bounced"
    assert Notification.objects.filter(kind="commission_clawed_back").get().recipient == (
        cast.east_rep
    )
    assert chain_verify().ok


def test_refunds_in_parts_never_reverse_more_than_the_payment(
    at_t0, cast, catalogue, owned_customer
):
    payment = paid_1000(cast, catalogue, owned_customer)
    assert accrued(payment) == Decimal("26.55")  # 884.96 net × 3 %
    refund(payment, "300.00", by=cast.finance)
    refund(payment, "500.00", by=cast.finance)
    before = state(payment)

    error = refused(Conflict, lambda: refund(payment, "300.00", by=cast.finance))
    assert (error.code, error.message) == (
        "over_reversed",
        "The payment has 200.00 left to reverse, not 300.00.",
    )
    assert state(payment) == before
    error = refused(Conflict, lambda: bounce(payment, by=cast.finance))
    assert (error.code, error.message) == (
        "already_reversed",
        "800.00 of this payment was already reversed, so it cannot bounce.",
    )
    assert state(payment) == before

    refund(payment, "200.00", by=cast.finance)
    # 26.55 × 300/1000 = 7.965 → 7.97; × 500/1000 = 13.275 → 13.28; the last takes what is left.
    assert clawbacks(payment) == [Decimal("7.97"), Decimal("13.28"), Decimal("5.30")]
    assert sum(clawbacks(payment)) == accrued(payment)
    payment.refresh_from_db()
    assert payment.reversed_amount == payment.amount
    assert Invoice.objects.get(pk=payment.invoice_id).paid_amount == Decimal("0.00")
    assert refused(Conflict, lambda: refund(payment, "0.01", by=cast.finance)).code == (
        "over_reversed"
    )


def test_a_reversed_invoice_may_be_paid_again(at_t0, cast, catalogue, owned_customer):
    payment = paid_in_full(cast, catalogue, owned_customer)
    bounce(payment, by=cast.finance)
    again = pay(cast, payment.invoice, "3621.65")
    assert Order.objects.get(pk=payment.invoice.order_id).status == OrderStatus.PAID
    assert accrued(again) == Decimal("96.15")


@pytest.mark.parametrize(
    ("kwargs", "error_type", "message"),
    [
        ({"kind": "refunded", "amount": "0"}, Invalid, "Amount must be more than 0."),
        ({"kind": "refunded", "amount": "-5"}, Invalid, "Amount cannot be negative."),
        ({"kind": "refunded"}, Invalid, "Amount is required."),
        ({"kind": "refunded", "amount": "1000.01"}, Conflict, None),
        ({"kind": "lost", "amount": "5"}, Invalid, "Unknown kind of reversal."),
        ({"kind": "refunded", "amount": "5", "reason": " "}, Invalid, "Reason is required."),
        ({"kind": "bounced", "amount": "500.00"}, Invalid, None),
        (
            {"kind": "bounced", "reversed_on": TODAY + dt.timedelta(days=1)},
            Invalid,
            "A reversal cannot be dated in the future.",
        ),
        (
            {"kind": "bounced", "reversed_on": TODAY - dt.timedelta(days=1)},
            Invalid,
            "A payment cannot be reversed before it was received.",
        ),
    ],
)
def test_a_refused_reversal_changes_nothing(
    at_t0, cast, catalogue, owned_customer, kwargs, error_type, message
):
    payment = paid_1000(cast, catalogue, owned_customer)
    before = state(payment)
    error = refused(
        error_type,
        lambda: payment_reverse(
            actor=cast.finance, payment=payment, **{"reason": REASON, **kwargs}
        ),
    )
    if message:
        assert error.message == message
    assert state(payment) == before


def test_an_unknown_payment_is_not_found(at_t0, cast, catalogue, owned_customer):
    payment = paid_1000(cast, catalogue, owned_customer)
    before = state(payment)
    refused(NotFound, lambda: bounce(Payment(pk=payment.pk + 1000), by=cast.finance))
    assert state(payment) == before


# -- who may reverse ----------------------------------------------------------------------------


@pytest.fixture
def managers_collect(cast):
    duties_set(actor=cast.boss, step=Step.PAYMENT, roles={Role.FINANCE, Role.MANAGER})


def test_whoever_sold_the_order_never_reverses_its_payments(
    at_t0, cast, catalogue, owned_customer, cashier2, managers_collect
):
    order = take_order(cast, owned_customer, catalogue, by=cast.east_mgr)
    payment = pay(cast, invoice(cast, order, amount="1000.00"), "1000.00")
    before = state(payment)
    for seller, code in ((cast.east_mgr, "sold_and_collects"), (cast.east_rep, "duty")):
        error = refused(Forbidden, lambda who=seller: bounce(payment, by=who))
        assert (error.code, error.status) == (code, 403)
        assert state(payment) == before
    cast.east_rep.role = Role.FINANCE  # moved to finance: still the seller of this order
    cast.east_rep.save(update_fields=["role"])
    assert refused(Forbidden, lambda: bounce(payment, by=cast.east_rep)).code == (
        "sold_and_collects"
    )
    assert state(payment) == before

    assert bounce(payment, by=cashier2).recorded_by == cashier2  # another finance user may


def test_a_manager_granted_payments_reverses_only_within_their_scope(
    at_t0, cast, catalogue, owned_customer, managers_collect
):
    payment = paid_1000(cast, catalogue, owned_customer)
    before = state(payment)
    refused(NotFound, lambda: bounce(payment, by=cast.south_mgr))
    assert state(payment) == before
    assert bounce(payment, by=cast.east_mgr).amount == Decimal("1000.00")


def test_the_rep_charged_is_the_one_paid_not_the_order_s_owner_now(
    at_t0, cast, catalogue, owned_customer
):
    payment = paid_1000(cast, catalogue, owned_customer)
    Order.objects.filter(pk=payment.invoice.order_id).update(owner=cast.east_rep2)  # handed over
    bounce(payment, by=cast.finance)
    [clawback] = CommissionEntry.objects.filter(status=CLAWED_BACK)
    assert (clawback.rep, clawback.amount) == (cast.east_rep, Decimal("26.55"))


# -- the commission ledger ----------------------------------------------------------------------


def test_the_ledger_deducts_the_clawback_and_the_release_offsets_it(
    at_t0, cast, catalogue, owned_customer
):
    payment = paid_in_full(cast, catalogue, owned_customer)
    bounce(payment, by=cast.finance)

    totals = commission_ledger(viewer=cast.east_rep).totals
    assert (totals.payable, totals.retained, totals.released, totals.clawed_back) == (
        Decimal("67.30"),
        Decimal("28.85"),
        Decimal("0.00"),
        Decimal("96.15"),
    )
    assert totals.earned == Decimal("-28.85")  # the retained part is still to come

    commission_release_due(now=T0 + dt.timedelta(days=731))
    totals = commission_ledger(viewer=cast.east_rep).totals
    assert (totals.retained, totals.released, totals.earned) == (
        Decimal("0.00"),
        Decimal("28.85"),
        Decimal("0.00"),
    )


def test_a_forfeited_retained_part_is_not_clawed_back_again(at_t0, cast, catalogue, owned_customer):
    from kedun.sales.commission import commission_forfeit

    payment = paid_in_full(cast, catalogue, owned_customer)
    commission_forfeit(actor=cast.east_mgr, rep=cast.east_rep, reason="经核实转单给亲属公司")
    bounce(payment, by=cast.finance)
    assert clawbacks(payment) == [Decimal("67.30")]  # the payable part only
    assert commission_ledger(viewer=cast.east_rep).totals.earned == Decimal("0.00")


EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_clawbacks_add_up_to_the_accrual_to_the_cent_and_never_more(
    at_t0, cast, catalogue, owned_customer
):
    @EXAMPLES
    @given(
        paid_cents=st.integers(min_value=1, max_value=362165),
        parts=st.lists(st.integers(min_value=1, max_value=362165), max_size=6),
    )
    def check(paid_cents, parts):
        bill = invoice(cast, take_order(cast, owned_customer, catalogue))
        payment = pay(cast, bill, Decimal(paid_cents) / 100)
        earned = accrued(payment)
        left = payment.amount
        for cents in parts:
            amount = Decimal(cents) / 100
            try:
                refund(payment, amount, by=cast.finance)
            except Conflict as error:
                assert error.code == "over_reversed" and amount > left
            else:
                left -= amount
            assert sum(clawbacks(payment), Decimal(0)) <= earned
        if left:
            refund(payment, left, by=cast.finance)
        assert sum(clawbacks(payment), Decimal(0)) == earned
        assert Payment.objects.get(pk=payment.pk).reversed_amount == payment.amount
        assert Invoice.objects.get(pk=bill.pk).paid_amount == Decimal("0.00")

    check()


# -- the API and the page -----------------------------------------------------------------------


@pytest.fixture
def api():
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


def test_finance_reverses_over_the_api_and_the_rep_is_refused(
    at_t0, cast, api, catalogue, owned_customer
):
    payment = paid_1000(cast, catalogue, owned_customer)
    url = f"/api/v1/payments/{payment.pk}/reverse/"
    data = {"kind": "refunded", "amount": "100.00", "reason": "退货退款"}
    before = state(payment)

    # Out of sight (south_rep): the same answer as a missing payment.
    for who, status, code in ((cast.east_rep, 403, "duty"), (cast.south_rep, 404, "not_found")):
        api.force_authenticate(who)
        response = api.post(url, data, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code)
    api.force_authenticate(cast.finance)
    assert api.post("/api/v1/payments/999999/reverse/", data, format="json").status_code == 404
    assert state(payment) == before

    response = api.post(url, data, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reversed_amount"] == "100.00"
    assert [(r["kind"], r["amount"], r["recorded_by"]) for r in body["reversals"]] == [
        ("refunded", "100.00", "finance")
    ]
    order = api.get(f"/api/v1/orders/{payment.invoice.order_id}/").json()
    [paid] = order["invoices"][0]["payments"]
    assert (paid["reversed_amount"], len(paid["reversals"])) == ("100.00", 1)
    assert order["paid_total"] == "900.00"

    api.force_authenticate(cast.east_rep)
    ledger = api.get("/api/v1/commission/").json()
    assert ledger["totals"]["clawed_back"] == "2.66"  # 26.55 × 100/1000 = 2.655, half up
    assert ledger["results"][0]["status"] == "clawed_back"


def test_finance_finds_a_reverse_control_per_payment_and_the_rep_none(
    at_t0, cast, client, catalogue, owned_customer
):
    payment = paid_in_full(cast, catalogue, owned_customer)
    url = reverse("order-detail", args=[payment.invoice.order_id])
    client.force_login(cast.east_rep)
    page = client.get(url).content.decode()
    assert "data-reverse-form" not in page
    before = state(payment)
    forged = {
        "action": "reverse",
        "reverse-payment": payment.pk,
        "reverse-kind": "bounced",
        "reverse-reversed_on": TODAY.isoformat(),
        "reverse-reason": REASON,
    }
    assert client.post(url, forged).status_code == 403
    assert state(payment) == before

    client.force_login(cast.finance)
    page = client.get(url).content.decode()
    assert page.count("data-reverse-form") == 1
    response = client.post(url, forged)
    assert response.status_code == 302
    assert Payment.objects.get(pk=payment.pk).reversed_amount == payment.amount
    page = client.get(url).content.decode()
    assert 'data-reversal="bounced"' in page
    assert "data-reverse-form" not in page  # nothing left to reverse


def test_a_refused_reversal_on_the_page_shows_why(at_t0, cast, client, catalogue, owned_customer):
    payment = paid_1000(cast, catalogue, owned_customer)
    url = reverse("order-detail", args=[payment.invoice.order_id])
    client.force_login(cast.finance)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(
        url,
        {
            "action": "reverse",
            "reverse-payment": payment.pk,
            "reverse-kind": "refunded",
            "reverse-amount": "1500.00",
            "reverse-reversed_on": TODAY.isoformat(),
            "reverse-reason": "退货退款",
        },
    )
    assert response.status_code == 200
    assert "The payment has 1000.00 left to reverse, not 1500.00." in response.content.decode()
    assert Payment.objects.get(pk=payment.pk).reversed_amount == Decimal("0.00")


# -- at the same moment ---------------------------------------------------------------------------


@pytest.fixture
def at_t0_threads(transactional_db):
    # The clock is a module global: every thread works at the same, known moment.
    with clock.frozen_at(T0), translation.override("en"):
        yield


def cashiers(cast, n: int):
    return [cast.finance] + [
        UserFactory(username=f"cashier{i}", role=Role.FINANCE, department=cast.back_office)
        for i in range(1, n)
    ]


@pytest.mark.parametrize("round_", range(2))
def test_ten_cashiers_refunding_30_percent_at_once_refund_three_times(
    at_t0_threads, cast, catalogue, owned_customer, round_
):
    payment = paid_1000(cast, catalogue, owned_customer)
    audit_before = AuditEvent.objects.count()

    outcomes = at_once(
        [lambda who=who: refund(payment, "300.00", by=who) for who in cashiers(cast, 10)]
    )

    assert Counter(outcomes) == {"won": 3, "over_reversed": 7}
    payment.refresh_from_db()
    assert payment.reversed_amount == Decimal("900.00")
    assert Invoice.objects.get(pk=payment.invoice_id).paid_amount == Decimal("100.00")
    assert Order.objects.get(pk=payment.invoice.order_id).paid_total == Decimal("100.00")
    assert PaymentReversal.objects.filter(payment=payment).count() == 3
    assert clawbacks(payment) == [Decimal("7.97")] * 3
    # A reversal and its clawback: two events per accepted reversal, none for a refusal.
    assert AuditEvent.objects.count() - audit_before == 6
    assert chain_verify().ok


@pytest.mark.parametrize("round_", range(2))
def test_a_bounce_and_refunds_at_once_never_reverse_more_than_the_payment(
    at_t0_threads, cast, catalogue, owned_customer, round_
):
    payment = paid_1000(cast, catalogue, owned_customer)
    people = cashiers(cast, 6)

    outcomes = at_once(
        [lambda: bounce(payment, by=people[0])]
        + [lambda who=who: refund(payment, "400.00", by=who) for who in people[1:]]
    )

    payment.refresh_from_db()
    reversals = list(PaymentReversal.objects.filter(payment=payment))
    assert payment.reversed_amount == sum(r.amount for r in reversals) <= payment.amount
    assert Invoice.objects.get(pk=payment.invoice_id).paid_amount == (
        payment.amount - payment.reversed_amount
    )
    if any(r.kind == ReversalKind.BOUNCED for r in reversals):
        assert Counter(outcomes) == {"won": 1, "over_reversed": 5}
        assert sum(clawbacks(payment)) == accrued(payment)
    else:
        assert Counter(outcomes) == {"won": 2, "over_reversed": 3, "already_reversed": 1}
    assert sum(clawbacks(payment)) <= accrued(payment)
    assert chain_verify().ok
