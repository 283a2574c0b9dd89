"""Taking the customer list (detectors/access.py): customers opened outside the rep's book and
exports far beyond the rep's own past and their colleagues', just before leaving, with the
key accounts that leave with them — not a colleague who always looks at many customers (an
assistant), nor a rep reading their own book."""

from __future__ import annotations

import pytest

from kedun.customers.models import Customer
from kedun.insights.detectors.access import access_findings
from kedun.insights.wording import finding_sentence

from . import stories
from .conftest import analysed, user
from .stories import TURN, WEEKS

pytestmark = pytest.mark.django_db
OTHERS = ["S1", "S2", "S3", "S4"]  # the background customers: 杨艳's and 林峰's


def test_customers_opened_and_exported_before_leaving_with_the_key_accounts(tmp_path):
    history = stories.company()
    # 何涛's book: C1 carries most of his business, C2 little, C3 is shared with 杨艳.
    for code, amount in (("C1", "9000.00"), ("C2", "500.00"), ("C3", "9000.00")):
        stories.customer(history, code, f"上海{code}机械有限公司", owner="rep1")
        stories.weekly(
            history, code, "rep1", orders=range(WEEKS), calls=range(WEEKS), amount=amount
        )
    stories.weekly(history, "C3", "rep2", calls=range(TURN, WEEKS), weekday=2)
    # 杨艳, her manager's assistant, opens colleagues' customers every day, for months.
    for day in range(40, WEEKS * 7 - 1):
        history.view("rep2", "S3" if day % 2 else "S4", at=history.day(day, 16))
    # 林峰 reads his own book all day long.
    for n in range(200):
        history.view("rep3", "S3", at=history.day(WEEKS * 7 - 20 + n // 20, 9, n % 20))
    # In his last three weeks 何涛 opens 150 customers outside his book and exports 900 rows.
    leaving = WEEKS * 7 - 8
    for n in range(150):
        history.view("rep1", OTHERS[n % 4], at=history.day(leaving - 20 + n // 8, 10, n % 8))
    history.export("rep1", 900, at=history.day(leaving - 2, 18))
    history.export("rep2", 40, at=history.day(leaving - 2, 18))
    history.user_deactivated("rep1", at=history.day(leaving, 18))
    stories.imported(history, tmp_path / "h.jsonl")

    found = access_findings(analysed())

    rep1 = user("rep1")
    harvest = [f for f in found if f.kind == "data_harvest"]
    assert [f.rep_id for f in harvest] == [rep1.pk]
    facts = harvest[0].facts
    assert facts["views"] >= 100 and facts["outside_customers"] == 4
    assert facts["exported_rows"] == 900
    assert facts["deactivated_on"] == history.day(leaving).date().isoformat()
    assert harvest[0].customer_id is None and harvest[0].strength == pytest.approx(1.0)
    exposed = {
        Customer.objects.get(pk=f.customer_id).code: f
        for f in found
        if f.kind == "key_account_exposed"
    }
    # C1 alone is over half of the business nobody else at the company is in touch with;
    # C3 is known to 杨艳, so it does not leave with 何涛.
    assert set(exposed) == {"C1"}
    assert exposed["C1"].rep_id == rep1.pk and exposed["C1"].facts["share"] > 0.5
    sentence = finding_sentence("data_harvest", facts, customer="", rep="何涛")
    assert "900" in sentence


def test_no_harvest_without_a_jump_beyond_the_reps_own_past_and_colleagues(tmp_path):
    history = stories.company()
    stories.customer(history, "C1", "上海C1机械有限公司", owner="rep1")
    stories.weekly(history, "C1", "rep1", orders=range(WEEKS), calls=range(WEEKS))
    # 何涛 has always looked at colleagues' customers a lot (he covers for them): 60 a month,
    # and so he does in his last month; exports of a few rows now and then.
    for day in range(WEEKS * 7 - 1):
        for n in range(2):
            history.view("rep1", OTHERS[(day + n) % 4], at=history.day(day, 10, n))
        if day % 30 == 0:
            history.export("rep1", 60, at=history.day(day, 17))
    history.user_deactivated("rep1", at=history.day(WEEKS * 7 - 3, 18))
    stories.imported(history, tmp_path / "h.jsonl")

    assert access_findings(analysed()) == []
