"""Business with a customer against its own past (detectors/business.py): each trace on a
small history where it must fire, beside the honest look-alike that must not."""

from __future__ import annotations

import pytest

from kedun.customers.models import Customer
from kedun.insights.detectors.business import business_findings, business_pattern_findings
from kedun.insights.wording import finding_sentence

from . import stories
from .conftest import analysed, user
from .stories import TURN, WEEKS

pytestmark = pytest.mark.django_db


def _of(findings, kind):
    return {
        (f.rep_id, Customer.objects.get(pk=f.customer_id).code): f
        for f in findings
        if f.kind == kind and f.customer_id
    }


def test_orders_dry_up_while_the_rep_keeps_calling_but_not_when_the_rep_lets_go(tmp_path):
    history = stories.company()
    # C1: ordered every week; from TURN no more orders, but 何涛 still calls every week.
    stories.customer(history, "C1", "上海远丰机械有限公司", owner="rep1")
    stories.weekly(history, "C1", "rep1", orders=range(TURN), calls=range(WEEKS))
    # C2, the look-alike: a customer gone dormant — and the rep stopped calling too.
    stories.customer(history, "C2", "上海安丰五金有限公司", owner="rep1")
    stories.weekly(history, "C2", "rep1", orders=range(TURN), calls=range(TURN))
    # C3: fewer orders but as much business (one big order a month) is no drying up either.
    stories.customer(history, "C3", "上海康达食品有限公司", owner="rep1")
    stories.weekly(history, "C3", "rep1", orders=range(TURN), calls=range(WEEKS))
    stories.weekly(history, "C3", "rep1", orders=range(TURN, WEEKS, 4), amount="4500.00")
    stories.imported(history, tmp_path / "h.jsonl")

    found = _of(business_findings(analysed()), "orders_dried_up")

    rep1 = user("rep1")
    assert set(found) == {(rep1.pk, "C1")}
    facts = found[(rep1.pk, "C1")].facts
    assert facts["orders_before"] >= TURN - 1 and facts["orders_after"] == 0
    assert facts["follow_ups_after"] >= 8 and facts["contact_after"] >= facts["contact_expected"]
    assert found[(rep1.pk, "C1")].start.isoformat() == facts["since"]
    sentence = finding_sentence(
        "orders_dried_up", facts, customer="C1 上海远丰机械有限公司", rep="何涛"
    )
    assert "C1 上海远丰机械有限公司" in sentence and "何涛 kept in touch" in sentence
    assert f"{facts['follow_ups_after']} follow-ups" in sentence


def test_losses_rising_with_one_customer_but_not_a_rep_who_always_loses_half(tmp_path):
    history = stories.company()
    # C1: every deal won until TURN; from then on every quote lost to 立信.
    stories.customer(history, "C1", "上海远丰机械有限公司", owner="rep1")
    stories.weekly(history, "C1", "rep1", orders=range(TURN), calls=range(WEEKS))
    for week in range(TURN, WEEKS):
        history.lost_deal(
            "C1",
            "rep1",
            [("P1", 1, "1000.00")],
            at=history.day(week * 7 + 1),
            reason="competitor",
            competitor="上海立信泵业有限公司",
        )
    # C2, the look-alike: a weak rep (or a price-driven buyer) — half the deals lost, always.
    stories.customer(history, "C2", "上海安丰五金有限公司", owner="rep2")
    stories.weekly(history, "C2", "rep2", orders=range(0, WEEKS, 2), calls=range(WEEKS))
    for week in range(1, WEEKS, 2):
        history.lost_deal(
            "C2", "rep2", [("P1", 1, "1000.00")], at=history.day(week * 7 + 1), reason="price"
        )
    stories.imported(history, tmp_path / "h.jsonl")

    found = _of(business_findings(analysed()), "losses_rising")

    rep1 = user("rep1")
    assert set(found) == {(rep1.pk, "C1")}
    facts = found[(rep1.pk, "C1")].facts
    assert facts["lost_before"] == 0 and facts["lost_after"] >= 8
    assert facts["lost_after"] >= facts["decided_after"] - 1  # the split falls near TURN
    assert facts["to_competitor_after"] == facts["lost_after"]
    sentence = finding_sentence(
        "losses_rising", facts, customer="C1 上海远丰机械有限公司", rep="何涛"
    )
    assert "C1 上海远丰机械有限公司" in sentence


def test_worked_harder_for_no_more_business_but_not_when_the_business_grows(tmp_path):
    history = stories.company()
    # C1: one call a week, then three a week from TURN, and the orders stay as they were.
    stories.customer(history, "C1", "上海远丰机械有限公司", owner="rep1")
    stories.weekly(history, "C1", "rep1", orders=range(WEEKS), calls=range(WEEKS))
    for weekday in (1, 3):
        stories.weekly(history, "C1", "rep1", calls=range(TURN, WEEKS), weekday=weekday)
    # C2, the look-alike: the rep works a growing account harder — and the orders triple.
    stories.customer(history, "C2", "上海安丰五金有限公司", owner="rep1")
    stories.weekly(history, "C2", "rep1", orders=range(WEEKS), calls=range(WEEKS))
    for weekday in (1, 3):
        stories.weekly(
            history, "C2", "rep1", orders=range(TURN, WEEKS), calls=range(TURN, WEEKS),
            weekday=weekday,
        )  # fmt: skip
    stories.imported(history, tmp_path / "h.jsonl")

    found = _of(business_findings(analysed()), "worked_harder")

    rep1 = user("rep1")
    assert set(found) == {(rep1.pk, "C1")}
    facts = found[(rep1.pk, "C1")].facts
    assert facts["contact_after"] >= 1.4 * facts["expected"]
    assert facts["orders_after"] <= facts["orders_before"]
    assert found[(rep1.pk, "C1")].family == "contact"


def _book(history, rep, *, drying, steady):
    """`drying` customers of `rep` stop ordering at TURN while the rep keeps calling; the
    `steady` ones go on as before."""
    for code in drying + steady:
        stories.customer(history, code, f"上海华远{code}机械有限公司", owner=rep)
        orders = range(TURN) if code in drying else range(WEEKS)
        stories.weekly(history, code, rep, orders=orders, calls=range(WEEKS))


def test_many_customers_at_once_for_one_rep_whose_colleagues_keep_theirs(tmp_path):
    history = stories.company()
    # 何涛: five customers dry up at once while he keeps calling; colleagues' stay steady.
    _book(history, "rep1", drying=["C1", "C2", "C3", "C4", "C5"], steady=["C6", "C7", "C8"])
    _book(history, "rep3", drying=[], steady=["C9", "C10", "C11", "C12"])
    stories.imported(history, tmp_path / "h.jsonl")

    data = analysed()
    patterns = business_pattern_findings(data, business_findings(data))

    rep1 = user("rep1")
    assert [p.rep_id for p in patterns] == [rep1.pk]
    codes = {Customer.objects.get(pk=c).code for c in patterns[0].facts["customers"]}
    assert codes == {"C1", "C2", "C3", "C4", "C5"}
    assert patterns[0].customer_id is None and patterns[0].family == "pattern"
    assert patterns[0].facts["traced"] == 5


def test_no_pattern_when_customers_dry_up_as_often_with_colleagues(tmp_path):
    history = stories.company()
    # Customers going quiet with the reps still calling is as common at 林峰's as at 何涛's:
    # 何涛's share is his colleagues' share, not chance against them.
    _book(history, "rep1", drying=["C1", "C2", "C3", "C4"], steady=["C5", "C6", "C7", "C8"])
    _book(history, "rep3", drying=["C9", "C10", "C11", "C12"], steady=["C13", "C14"])
    stories.imported(history, tmp_path / "h.jsonl")

    data = analysed()
    assert len([f for f in business_findings(data) if f.kind == "orders_dried_up"]) == 8
    assert business_pattern_findings(data, business_findings(data)) == []
