"""Visits that were not where the customer is (detectors/field.py): check-ins far from the
customer again and again — not one far check-in, nor a poor GPS fix that cannot tell."""

from __future__ import annotations

import pytest

from kedun.customers.models import Customer
from kedun.insights.detectors.field import field_findings
from kedun.insights.wording import finding_sentence

from . import stories
from .conftest import analysed, user
from .stories import HERE, TURN, WEEKS

pytestmark = pytest.mark.django_db
FAR = (HERE[0] + 0.2, HERE[1])  # 22 km north
NEAR = (HERE[0] + 0.001, HERE[1])  # 110 m


def test_check_ins_far_from_the_customer_again_and_again(tmp_path):
    history = stories.company()
    for code, owner in (("C1", "rep1"), ("C2", "rep2"), ("C3", "rep3")):
        stories.customer(history, code, f"上海{code}机械有限公司", owner=owner)
        stories.weekly(history, code, owner, orders=range(WEEKS))
    for week in range(WEEKS):
        history.check_in("C1", "rep1", lat=NEAR[0], lng=NEAR[1], at=history.day(week * 7, 11))
    # 何涛 "visits" C1 three times from 22 km away.
    for week in (TURN, TURN + 2, TURN + 4):
        history.check_in("C1", "rep1", lat=FAR[0], lng=FAR[1], at=history.day(week * 7 + 2, 11))
    # 杨艳 once from far away (the customer met her elsewhere); 林峰 twice with a fix so poor
    # (30 km) that it cannot say where he was.
    history.check_in("C2", "rep2", lat=FAR[0], lng=FAR[1], at=history.day(TURN * 7, 11))
    for week in (TURN, TURN + 1):
        history.check_in(
            "C3", "rep3", lat=FAR[0], lng=FAR[1], accuracy=30000, at=history.day(week * 7, 15)
        )
    stories.imported(history, tmp_path / "h.jsonl")

    found = field_findings(analysed())

    assert [(f.rep_id, Customer.objects.get(pk=f.customer_id).code) for f in found] == [
        (user("rep1").pk, "C1")
    ]
    (visits,) = found
    assert visits.facts["count"] == 3 and visits.family == "field"
    assert all(20000 < c["distance_m"] < 25000 for c in visits.facts["check_ins"])
    assert visits.start == history.day(TURN * 7 + 2).date()
    assert visits.end == history.day((TURN + 4) * 7 + 2).date()
    sentence = finding_sentence(
        "visits_elsewhere", visits.facts, customer="C1 上海C1机械有限公司", rep="何涛"
    )
    assert "C1 上海C1机械有限公司" in sentence
