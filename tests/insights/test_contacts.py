"""Contact data redirected (detectors/contacts.py): a customer's phone or email changed by the
rep to the rep's own, a colleague's, another customer's or a private mailbox — and the honest
changes that look the same at a glance (a new buyer at the customer's own company, a number
nobody knows, a field cleared)."""

from __future__ import annotations

import pytest

from kedun.customers.models import Customer
from kedun.insights.detectors.contacts import redirect_findings
from kedun.insights.wording import finding_sentence

from . import stories
from .conftest import analysed, user
from .stories import TURN, WEEKS

pytestmark = pytest.mark.django_db


def _story(tmp_path, changes):
    history = stories.company()
    for code, name, owner in (
        ("C1", "上海远丰机械有限公司", "rep1"),
        ("C2", "上海安丰五金有限公司", "rep1"),
        ("C3", "上海康达食品有限公司", "rep1"),
        ("C4", "上海蓝海化工有限公司", "rep2"),
    ):
        stories.customer(history, code, name, owner=owner, phone=f"021-6{code[1]}000000")
        stories.weekly(history, code, owner, orders=range(WEEKS), calls=range(WEEKS))
    for n, (code, rep, field, old, new) in enumerate(changes):
        history.contact_change(code, rep, field, old, new, at=history.day(TURN * 7 + n))
    stories.imported(history, tmp_path / "h.jsonl")
    return {Customer.objects.get(pk=f.customer_id).code: f for f in redirect_findings(analysed())}


def test_contact_data_redirected_to_the_rep_a_colleague_another_customer_or_a_private_box(
    tmp_path,
):
    found = _story(
        tmp_path,
        [
            ("C1", "rep1", "phone", "021-61000000", "13983604450"),  # 何涛's own mobile
            ("C1", "rep1", "email", "buy@c1-jx.com", "hetao.sh@163.com"),
            ("C2", "rep1", "phone", "021-62000000", "139 3342 7281"),  # 杨艳's, spaced
            ("C3", "rep1", "phone", "021-63000000", "021-64000000"),  # C4's switchboard
        ],
    )

    rep1 = user("rep1")
    assert set(found) == {"C1", "C2", "C3"}
    assert {f.rep_id for f in found.values()} == {rep1.pk}
    c1 = found["C1"]
    assert [c["verdict"] for c in c1.facts["changes"]] == ["rep_own", "company_to_private"]
    assert c1.strength == 1.0 and c1.family == "redirect"
    assert c1.start == stories.HistoryBuilder().day(TURN * 7).date()
    assert found["C2"].facts["changes"][0]["verdict"] == "employee"
    assert found["C2"].facts["changes"][0]["belongs_to"] == "rep2"
    assert found["C3"].facts["changes"][0]["verdict"] == "other_customer"
    assert found["C3"].facts["changes"][0]["belongs_to"] == "C4"
    sentence = finding_sentence(
        "contact_redirected", c1.facts, customer="C1 上海远丰机械有限公司", rep="何涛"
    )
    assert "the rep's own" in sentence
    assert "13983604450" not in sentence  # masked, as on every other surface


def test_a_new_buyer_at_the_customer_an_unknown_number_or_a_cleared_field_redirect_nothing(
    tmp_path,
):
    found = _story(
        tmp_path,
        [
            # The customer's own domain: a colleague of the old buyer took over.
            ("C1", "rep1", "email", "buy@c1-jx.com", "wang.li@c1-jx.com"),
            ("C2", "rep1", "phone", "021-62000000", ""),  # cleared
            ("C3", "rep1", "phone", "021-63000000", "13511112222"),  # nobody Kedun knows
        ],
    )

    assert set(found) == {"C3"}
    unknown = found["C3"]
    assert unknown.facts["changes"][0]["verdict"] == "unknown_phone"
    # Faint: people change jobs and numbers; too weak to corroborate anything on its own.
    from kedun.insights.scoring import MIN_PARTNER_STRENGTH

    assert unknown.strength < MIN_PARTNER_STRENGTH


def test_another_customer_is_named_by_its_code_even_without_business_in_the_window(tmp_path):
    history = stories.company()
    stories.customer(history, "C1", "上海远丰机械有限公司", owner="rep1")
    stories.weekly(history, "C1", "rep1", orders=range(WEEKS), calls=range(WEEKS))
    # C9: registered long ago, no dealings in the window: only its switchboard is known.
    stories.customer(history, "C9", "上海金泰贸易有限公司", owner="rep2", phone="021-69999999")
    history.contact_change("C1", "rep1", "phone", "", "021-69999999", at=history.day(TURN * 7))
    stories.imported(history, tmp_path / "h.jsonl")

    (found,) = redirect_findings(analysed())

    assert found.facts["changes"][0]["verdict"] == "other_customer"
    assert found.facts["changes"][0]["belongs_to"] == "C9"


def test_a_new_buyer_at_a_dormant_customers_own_domain_is_no_redirect(tmp_path):
    history = stories.company()
    # C9 had no dealings in the window; its buyer changed, at its own domain.
    stories.customer(history, "C9", "上海金泰贸易有限公司", owner="rep1", email="buy@jintai-sh.com")
    history.contact_change(
        "C9", "rep1", "email", "buy@jintai-sh.com", "chen@jintai-sh.com", at=history.day(TURN * 7)
    )
    stories.imported(history, tmp_path / "h.jsonl")

    assert redirect_findings(analysed()) == []
