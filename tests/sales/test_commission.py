"""Commission on collected cash (MISSION §5): exact accruals from product, rep and company
rates on the net share of each payment; the retained part released only after the clean
period; forfeiture by a manager of the rep, with a reason, audited (and a refusal changes
nothing); a ledger each viewer sees only within their scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kedun.audit.models import AuditEvent
from kedun.config.env import ConfigError, env_fraction
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.notifications.models import Notification
from kedun.sales.commission import (
    commission_accrue,
    commission_by_rep,
    commission_forfeit,
    commission_ledger,
    commission_release_due,
)
from kedun.sales.models import CommissionEntry, CommissionStatus
from tests.factories import (
    CommissionEntryFactory,
    CustomerFactory,
    InvoiceFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentFactory,
    ProductFactory,
    RepTermsFactory,
)

from .conftest import T0

RECEIVED = dt.date(2026, 3, 2)
# 730 days after 2026-03-02, across 29 February 2028.
RELEASE_ON = dt.date(2028, 3, 1)
REASON = "经核实将订单转给亲属公司"
PAYABLE, RETAINED = CommissionStatus.PAYABLE, CommissionStatus.RETAINED
RELEASED, FORFEITED = CommissionStatus.RELEASED, CommissionStatus.FORFEITED


@pytest.fixture(autouse=True)
def _company_terms(settings):
    settings.KEDUN_COMMISSION_RATE = Decimal("0.03")
    settings.KEDUN_COMMISSION_RETAINED = Decimal("0.30")
    settings.KEDUN_COMMISSION_CLEAN_DAYS = 730


def order_of(rep, *, net="1000.00", tax="130.00", lines=()):
    """An order of `rep` with lines given as (net amount, product commission rate or None)."""
    order = OrderFactory(customer=CustomerFactory(owner=rep), net_total=net, tax_total=tax)
    for line_net, rate in lines:
        OrderLineFactory(
            order=order, net_amount=line_net, product=ProductFactory(commission_rate=rate)
        )
    return order


def paid(order, amount, *, received_on=RECEIVED):
    invoice = InvoiceFactory(order=order, amount=order.net_total + order.tax_total)
    return PaymentFactory(invoice=invoice, amount=amount, received_on=received_on)


def entries_of(payment):
    return sorted(
        CommissionEntry.objects.filter(payment=payment).values_list(
            "status", "amount", "release_on"
        )
    )


def accrued(rep, amount="1130.00", **order_kwargs):
    payment = paid(order_of(rep, **order_kwargs), amount)
    commission_accrue(payment=payment)
    return payment


# -- accrual ---------------------------------------------------------------------------------------


def test_each_product_pays_its_own_rate_and_the_rep_rate_fills_in(cast):
    RepTermsFactory(rep=cast.east_rep, commission_rate="0.0200")
    # 600.00 at the product's 5 %, 400.00 at the rep's 2 %: 38.00 on 1,000.00 of sales.
    order = order_of(cast.east_rep, lines=[("600.00", "0.0500"), ("400.00", None)])
    # Net share of 333.33 received on 1,130.00 gross: 333.33 × 1000 / 1130 = 294.98.
    # Commission 294.98 × 38 / 1000 = 11.20924 → 11.21; retained 30 % = 3.363 → 3.36.
    payment = paid(order, "333.33")

    entries = commission_accrue(payment=payment)

    assert entries_of(payment) == [
        (PAYABLE, Decimal("7.85"), None),
        (RETAINED, Decimal("3.36"), RELEASE_ON),
    ]
    assert {entry.rep_id for entry in entries} == {cast.east_rep.pk}
    assert {entry.order_id for entry in entries} == {order.pk}


def test_without_product_rates_the_reps_own_rate_applies(cast):
    RepTermsFactory(rep=cast.east_rep, commission_rate="0.0450")
    payment = accrued(cast.east_rep, lines=[("1000.00", None)])
    # 1,130.00 gross is 1,000.00 net; 4.5 % = 45.00; retained 13.50.
    assert entries_of(payment) == [
        (PAYABLE, Decimal("31.50"), None),
        (RETAINED, Decimal("13.50"), RELEASE_ON),
    ]


def test_without_terms_the_company_rate_applies(cast, settings):
    settings.KEDUN_COMMISSION_RATE = Decimal("0.025")
    payment = accrued(cast.east_rep2, lines=[("700.00", None), ("300.00", None)])
    assert entries_of(payment) == [
        (PAYABLE, Decimal("17.50"), None),
        (RETAINED, Decimal("7.50"), RELEASE_ON),
    ]


def test_an_order_without_lines_pays_the_reps_rate(cast):
    RepTermsFactory(rep=cast.east_rep, commission_rate="0.0100")
    payment = accrued(cast.east_rep, amount="565.00")  # half of 1,130.00: 500.00 net
    assert entries_of(payment) == [
        (PAYABLE, Decimal("3.50"), None),
        (RETAINED, Decimal("1.50"), RELEASE_ON),
    ]


def test_tax_free_orders_earn_on_the_whole_payment(cast):
    payment = accrued(cast.east_rep, amount="200.00", net="800.00", tax="0.00")
    assert entries_of(payment) == [
        (PAYABLE, Decimal("4.20"), None),
        (RETAINED, Decimal("1.80"), RELEASE_ON),
    ]


def test_the_two_parts_always_add_up_to_the_rounded_commission(cast, settings):
    settings.KEDUN_COMMISSION_RETAINED = Decimal("0.3333")
    # 0.01 net × 3 % rounds to 0.00: nothing is written; 1.13 → 1.00 net → 0.03.
    tiny = accrued(cast.east_rep, amount="0.01")
    small = accrued(cast.east_rep, amount="1.13")
    assert entries_of(tiny) == []
    # 0.03 × 0.3333 = 0.009999 → 0.01 retained, 0.02 payable.
    assert entries_of(small) == [
        (PAYABLE, Decimal("0.02"), None),
        (RETAINED, Decimal("0.01"), RELEASE_ON),
    ]


def test_with_nothing_retained_only_a_payable_entry_is_written(cast, settings):
    settings.KEDUN_COMMISSION_RETAINED = Decimal("0")
    payment = accrued(cast.east_rep)
    assert entries_of(payment) == [(PAYABLE, Decimal("30.00"), None)]


def test_accruing_twice_for_one_payment_changes_nothing(cast):
    payment = accrued(cast.east_rep)
    before = entries_of(payment)
    events = AuditEvent.objects.filter(action="sales.commission_accrued").count()

    again = commission_accrue(payment=payment)

    assert entries_of(payment) == before
    assert len(again) == 2
    assert AuditEvent.objects.filter(action="sales.commission_accrued").count() == events == 1


def test_an_accrual_is_audited_with_its_figures(cast):
    payment = accrued(cast.east_rep, amount="565.00")
    event = AuditEvent.objects.get(action="sales.commission_accrued")
    assert (event.object_type, event.object_id) == ("sales.payment", str(payment.pk))
    assert event.actor_id is None
    assert '"base":"500.00"' in event.changes
    assert '"payable":"10.50"' in event.changes
    assert '"retained":"4.50"' in event.changes


def test_the_commission_goes_to_the_orders_owner_when_the_cash_arrives(cast):
    order = order_of(cast.east_rep)
    order.owner = cast.east_rep2  # handed over before the customer paid
    order.save(update_fields=["owner"])
    payment = paid(order, "1130.00")
    commission_accrue(payment=payment)
    assert set(CommissionEntry.objects.values_list("rep_id", flat=True)) == {cast.east_rep2.pk}


@pytest.mark.parametrize("raw", ["abc", "1.5", "-0.01", "0.12345", "NaN", "Infinity"])
def test_a_malformed_commission_rate_stops_start_up_naming_it(monkeypatch, raw):
    monkeypatch.setenv("KEDUN_COMMISSION_RATE", raw)
    with pytest.raises(ConfigError, match=r"KEDUN_COMMISSION_RATE=.* is not a fraction"):
        env_fraction("KEDUN_COMMISSION_RATE", "0.03", maximum="0.9999")


def test_a_commission_rate_setting_is_read_exactly(monkeypatch):
    monkeypatch.setenv("KEDUN_COMMISSION_RATE", " 0.025 ")
    assert env_fraction("KEDUN_COMMISSION_RATE", "0.03", maximum="0.9999") == Decimal("0.025")


# -- release after the clean period ----------------------------------------------------------------


def local_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def test_retained_commission_is_released_only_once_the_clean_period_is_over(cast):
    payment = accrued(cast.east_rep)
    day_before = local_noon(RELEASE_ON - dt.timedelta(days=1))

    with clock.frozen_at(day_before):
        assert commission_release_due().entries == 0
    assert entries_of(payment)[1][0] == RETAINED

    release_day = local_noon(RELEASE_ON)
    with clock.frozen_at(release_day):
        result = commission_release_due()

    assert (result.entries, result.amount) == (1, Decimal("9.00"))
    retained = CommissionEntry.objects.get(payment=payment, release_on=RELEASE_ON)
    assert (retained.status, retained.settled_at) == (RELEASED, release_day)
    payable = CommissionEntry.objects.get(payment=payment, release_on=None)
    assert (payable.status, payable.settled_at) == (PAYABLE, None)
    event = AuditEvent.objects.get(action="sales.commission_released")
    assert f'[{retained.pk},{cast.east_rep.pk},"9.00"]' in event.changes


def test_the_release_uses_the_companys_local_date(cast):
    accrued(cast.east_rep)
    # 16:30 UTC on the day before is already 00:30 on the release day in Shanghai.
    just_after_midnight = dt.datetime(2028, 2, 29, 16, 30, tzinfo=dt.UTC)
    assert commission_release_due(now=just_after_midnight).entries == 1


def test_a_second_release_run_does_nothing(cast):
    accrued(cast.east_rep)
    later = local_noon(RELEASE_ON + dt.timedelta(days=10))
    assert commission_release_due(now=later).entries == 1
    assert commission_release_due(now=later).entries == 0
    assert AuditEvent.objects.filter(action="sales.commission_released").count() == 1


def test_forfeited_commission_is_never_released(cast):
    payment = accrued(cast.east_rep)
    with clock.frozen_at(T0):
        commission_forfeit(actor=cast.east_mgr, rep=cast.east_rep, reason=REASON)
    assert commission_release_due(now=local_noon(RELEASE_ON + dt.timedelta(days=1))).entries == 0
    assert [status for status, _amount, _on in entries_of(payment)] == [FORFEITED, PAYABLE]


# -- forfeiture -----------------------------------------------------------------------------------


def ledger_state():
    return sorted(CommissionEntry.objects.values_list("pk", "status", "settled_at"))


@pytest.fixture
def retained_for_east_rep(cast):
    """Two payments of east_rep (9.00 and 4.50 retained) and one already released entry."""
    first = accrued(cast.east_rep)
    second = accrued(cast.east_rep, amount="565.00")
    CommissionEntryFactory(
        payment=first, amount="3.00", status=RELEASED, release_on=RECEIVED, settled_at=T0
    )
    return first, second


def test_the_reps_manager_forfeits_the_retained_commission_with_a_reason(
    cast, retained_for_east_rep
):
    first, second = retained_for_east_rep
    other = accrued(cast.east_rep2)

    with clock.frozen_at(T0):
        result = commission_forfeit(actor=cast.east_mgr, rep=cast.east_rep, reason=f"  {REASON} ")

    assert (result.entries, result.amount) == (2, Decimal("13.50"))
    forfeited = CommissionEntry.objects.filter(status=FORFEITED)
    assert sorted(forfeited.values_list("payment_id", "amount", "settled_at")) == [
        (first.pk, Decimal("9.00"), T0),
        (second.pk, Decimal("4.50"), T0),
    ]
    # What was payable or released is the rep's; other reps are untouched.
    assert CommissionEntry.objects.filter(rep=cast.east_rep, status=PAYABLE).count() == 2
    assert CommissionEntry.objects.filter(rep=cast.east_rep, status=RELEASED).count() == 1
    assert entries_of(other)[1][0] == RETAINED
    event = AuditEvent.objects.get(action="sales.commission_forfeited")
    assert (event.actor_id, event.object_type, event.object_id) == (
        cast.east_mgr.pk,
        "org.user",
        str(cast.east_rep.pk),
    )
    assert REASON in event.changes and '"amount":"13.50"' in event.changes
    note = Notification.objects.get(recipient=cast.east_rep, kind="commission_forfeited")
    assert note.body == REASON


def test_the_boss_may_forfeit_anyones_retained_commission(cast):
    accrued(cast.south_rep)
    assert commission_forfeit(actor=cast.boss, rep=cast.south_rep, reason=REASON).entries == 1


@pytest.mark.parametrize(
    "actor", ["east_rep2", "east_lead", "south_mgr", "finance", "auditor", "orders"]
)
def test_nobody_else_may_forfeit_and_a_refusal_changes_nothing(cast, retained_for_east_rep, actor):
    before = ledger_state()
    with pytest.raises(Forbidden):
        commission_forfeit(actor=getattr(cast, actor), rep=cast.east_rep, reason=REASON)
    assert ledger_state() == before
    assert not AuditEvent.objects.filter(action="sales.commission_forfeited").exists()


def test_a_manager_may_not_forfeit_their_own_commission(cast):
    accrued(cast.east_mgr)
    with pytest.raises(Forbidden):
        commission_forfeit(actor=cast.east_mgr, rep=cast.east_mgr, reason=REASON)
    assert CommissionEntry.objects.filter(status=RETAINED).count() == 1


def test_a_deactivated_manager_may_not_forfeit(cast, retained_for_east_rep):
    cast.east_mgr.is_active = False
    with pytest.raises(Forbidden):
        commission_forfeit(actor=cast.east_mgr, rep=cast.east_rep, reason=REASON)


@pytest.mark.parametrize("reason", ["", "   ", "太少"])
def test_a_forfeiture_needs_a_reason(cast, retained_for_east_rep, reason):
    before = ledger_state()
    with pytest.raises(Invalid):
        commission_forfeit(actor=cast.east_mgr, rep=cast.east_rep, reason=reason)
    assert ledger_state() == before


def test_there_must_be_something_retained_to_forfeit(cast):
    with pytest.raises(Invalid) as refusal:
        commission_forfeit(actor=cast.east_mgr, rep=cast.east_rep, reason=REASON)
    assert refusal.value.code == "nothing_retained"
    assert not AuditEvent.objects.filter(action="sales.commission_forfeited").exists()


# -- the ledger -----------------------------------------------------------------------------------


@pytest.fixture
def ledgers(cast):
    """east_rep: 21.00 payable, 9.00 retained, 5.00 released, 2.00 forfeited;
    east_rep2 and east_junior (east) and south_rep (south): one payment each."""
    accrued(cast.east_rep)
    payment = PaymentFactory(invoice__order=order_of(cast.east_rep))
    CommissionEntryFactory(payment=payment, amount="5.00", status=RELEASED)
    CommissionEntryFactory(payment=payment, amount="2.00", status=FORFEITED)
    for rep in (cast.east_rep2, cast.east_junior, cast.south_rep):
        accrued(rep, amount="565.00")  # 10.50 payable, 4.50 retained


def reps_in(ledger):
    return set(ledger.entries.values_list("rep__username", flat=True))


def test_a_rep_sees_only_their_own_ledger_with_its_totals(cast, ledgers, django_assert_num_queries):
    with django_assert_num_queries(1):
        ledger = commission_ledger(viewer=cast.east_rep)
    assert reps_in(ledger) == {"east_rep"}
    assert ledger.entries.count() == 4
    assert (
        ledger.totals.payable,
        ledger.totals.retained,
        ledger.totals.released,
        ledger.totals.forfeited,
    ) == (Decimal("21.00"), Decimal("9.00"), Decimal("5.00"), Decimal("2.00"))
    assert ledger.totals.earned == Decimal("26.00")


def test_a_rep_asking_for_a_colleagues_ledger_gets_nothing(cast, ledgers):
    ledger = commission_ledger(viewer=cast.east_rep, rep=cast.east_rep2)
    assert not ledger.entries.exists()
    assert ledger.totals.payable == ledger.totals.retained == Decimal("0.00")


def test_a_manager_sees_their_teams_ledger(cast, ledgers):
    ledger = commission_ledger(viewer=cast.east_mgr)
    assert reps_in(ledger) == {"east_rep", "east_rep2", "east_junior"}
    assert ledger.totals.payable == Decimal("42.00")  # 21.00 + 10.50 + 10.50
    assert ledger.totals.retained == Decimal("18.00")
    one = commission_ledger(viewer=cast.east_mgr, rep=cast.east_rep2)
    assert (one.totals.payable, one.totals.retained) == (Decimal("10.50"), Decimal("4.50"))


def test_another_teams_manager_sees_nothing_of_it(cast, ledgers):
    ledger = commission_ledger(viewer=cast.south_mgr)
    assert reps_in(ledger) == {"south_rep"}
    east = commission_ledger(viewer=cast.south_mgr, rep=cast.east_rep)
    assert not east.entries.exists()
    assert east.totals.payable == Decimal("0.00")


def test_a_team_lead_sees_their_subordinates(cast, ledgers):
    assert reps_in(commission_ledger(viewer=cast.east_lead)) == {"east_junior"}


def test_the_per_rep_summary_is_scoped_too(cast, ledgers):
    rows = list(commission_by_rep(viewer=cast.east_mgr))
    assert [(row["rep__username"], row["payable"], row["retained"]) for row in rows] == [
        ("east_junior", Decimal("10.50"), Decimal("4.50")),
        ("east_rep", Decimal("21.00"), Decimal("9.00")),
        ("east_rep2", Decimal("10.50"), Decimal("4.50")),
    ]
    assert [row["rep__username"] for row in commission_by_rep(viewer=cast.boss)] == [
        "east_junior",
        "east_rep",
        "east_rep2",
        "south_rep",
    ]
