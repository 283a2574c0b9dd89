"""Money and goods through another party (detectors/money.py): a person paying for several of
the rep's customers, a payer carrying the rep's name, goods delivered to a trading company —
and the customer's own company under another spelling, or a parent company paying once."""

from __future__ import annotations

import pytest

from kedun.customers.models import Customer
from kedun.insights.detectors.money import money_findings
from kedun.insights.wording import finding_sentence

from . import stories
from .conftest import analysed, user
from .stories import WEEKS

pytestmark = pytest.mark.django_db

PUMP = [("P1", 2, "1000.00")]


def test_payments_and_deliveries_through_other_parties(tmp_path):
    history = stories.company()
    names = {
        "C1": "上海远丰机械有限公司",
        "C2": "上海安丰五金有限公司",
        "C3": "上海康达食品有限公司",
        "C4": "上海蓝海化工有限公司",
    }
    for code, name in names.items():
        owner = "rep2" if code == "C4" else "rep1"
        stories.customer(history, code, name, owner=owner)
        stories.weekly(history, code, owner, orders=range(WEEKS), calls=range(WEEKS))
    day = history.day(100)
    # 何涛's customers C1 and C2 pay through one person, C3 through 何涛 himself; C1, C2 and C3
    # take their goods at the same trading company.
    history.won_deal("C1", "rep1", PUMP, at=day, payer="王建国", ship_to="上海宏达贸易有限公司")
    history.won_deal("C2", "rep1", PUMP, at=day, payer="王建国", ship_to="上海宏达贸易有限公司")
    history.won_deal("C3", "rep1", PUMP, at=day, payer="何涛", ship_to="上海宏达贸易有限公司")
    # The look-alikes: C3's own company spelled another way pays, its branch receives; C4's parent
    # company pays once.
    history.won_deal(
        "C3",
        "rep1",
        PUMP,
        at=day,
        payer="康达食品（上海）有限公司",
        ship_to="上海康达食品有限公司嘉定分公司",
    )
    history.won_deal("C4", "rep2", PUMP, at=day, payer="上海蓝海集团有限公司")
    stories.imported(history, tmp_path / "h.jsonl")

    found = {
        (f.kind, Customer.objects.get(pk=f.customer_id).code): f for f in money_findings(analysed())
    }

    rep1, rep2 = user("rep1"), user("rep2")
    assert set(found) == {
        ("paid_by_other", "C1"),
        ("paid_by_other", "C2"),
        ("paid_by_other", "C3"),
        ("paid_by_other", "C4"),
        ("delivered_elsewhere", "C1"),
        ("delivered_elsewhere", "C2"),
        ("delivered_elsewhere", "C3"),
    }
    front = found[("paid_by_other", "C1")]
    assert front.rep_id == rep1.pk and front.family == "money"
    assert front.facts["parties"] == ["王建国"] and front.facts["personal"] is True
    assert front.facts["customers_of_party"] == 2
    assert [r["amount"] for r in front.facts["records"]] == ["2000.00"]
    assert front.strength == pytest.approx(0.9)
    own_name = found[("paid_by_other", "C3")]
    assert own_name.facts["rep_named"] is True and own_name.strength == pytest.approx(0.9)
    assert own_name.facts["parties"] == ["何涛"]  # the bracketed own name is not another party
    delivered = found[("delivered_elsewhere", "C3")]
    assert delivered.family == "delivery" and delivered.facts["customers_of_party"] == 3
    assert delivered.facts["parties"] == ["上海宏达贸易有限公司"]
    # A parent company paying once: shown, weak, a company, nobody else's payer.
    parent = found[("paid_by_other", "C4")]
    assert parent.rep_id == rep2.pk
    assert parent.facts["personal"] is False and parent.facts["customers_of_party"] == 1
    assert parent.strength == pytest.approx(0.4)
    sentence = finding_sentence(
        "paid_by_other", front.facts, customer="C1 上海远丰机械有限公司", rep="何涛"
    )
    assert "王建国" in sentence and "C1 上海远丰机械有限公司" in sentence
