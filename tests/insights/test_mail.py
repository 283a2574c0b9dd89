"""Mail that leaves the company's relationship (detectors/mail.py): a customer's material sent
to a competitor (configured, or a domain spelling a competitor named in lost quotes) or to the
rep's private mailbox, deleted afterwards — not mail to the customer itself, to another
customer, or to a colleague."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kedun.comms.models import Competitor, CompetitorDomain
from kedun.customers.models import Customer
from kedun.insights.detectors.mail import mail_findings
from kedun.insights.wording import finding_sentence

from . import stories
from .conftest import analysed, user
from .stories import TURN, WEEKS

pytestmark = pytest.mark.django_db


def test_customer_mail_to_competitors_and_private_boxes_but_not_to_customers_or_colleagues(
    tmp_path,
):
    history = stories.company()
    for code, name, owner in (
        ("C1", "上海远丰机械有限公司", "rep1"),
        ("C2", "上海安丰五金有限公司", "rep1"),
        ("C3", "上海康达食品有限公司", "rep1"),
        ("C4", "上海蓝海化工有限公司", "rep2"),
    ):
        stories.customer(history, code, name, owner=owner)
        stories.weekly(history, code, owner, orders=range(WEEKS), calls=range(WEEKS))
    # A quote of 杨艳's lost to 立信: Kedun now knows the name.
    history.lost_deal(
        "C4", "rep2", [("P1", 1, "900.00")], at=history.day(10), reason="competitor",
        competitor="上海立信泵业有限公司",
    )  # fmt: skip
    at = history.day(TURN * 7)
    # 何涛: C1's drawings to a domain spelling 立信, deleted; C2's quote forwarded to his own
    # private mailbox; C3's price list to 恒达's configured domain.
    history.email("rep1", ["sales@lixin-pump.com"], customer="C1", subject="C1图纸",
                  deleted_by_user=True, at=at)  # fmt: skip
    history.email("rep1", ["hetao88@163.com"], customer="C2", subject="转发: 报价单", at=at)
    history.email("rep1", ["li@hengda-jx.com"], customer="C3", subject="价格表", at=at)
    # The look-alikes: 杨艳 mails her customer, a colleague, and another customer's buyer.
    history.email("rep2", ["buy@c4-jx.com", "rep1@kedun-demo.cn"], customer="C4", at=at)
    history.email("rep2", ["buy@c1-jx.com"], customer="C4", subject="联合采购", at=at)
    stories.imported(history, tmp_path / "h.jsonl")
    competitor = Competitor.objects.create(name="恒达机械", created_at=timezone.now())
    CompetitorDomain.objects.create(competitor=competitor, domain="hengda-jx.com")

    found = {Customer.objects.get(pk=f.customer_id).code: f for f in mail_findings(analysed())}

    assert set(found) == {"C1", "C2", "C3"}
    assert {f.rep_id for f in found.values()} == {user("rep1").pk}
    (drawings,) = found["C1"].facts["messages"]
    assert (
        drawings["verdict"] == "competitor_like"
        and drawings["competitor"] == "上海立信泵业有限公司"
    )
    assert drawings["deleted"] is True and drawings["to"] == "sales@lixin-pump.com"
    assert found["C1"].strength == pytest.approx(0.8)  # 0.7, deleted +0.1
    (forwarded,) = found["C2"].facts["messages"]
    assert forwarded["verdict"] == "private_own" and forwarded["forwarded"] is True
    (prices,) = found["C3"].facts["messages"]
    assert prices["verdict"] == "competitor" and prices["competitor"] == "恒达机械"
    assert found["C1"].family == "mail"
    sentence = finding_sentence(
        "mail_outside", found["C1"].facts, customer="C1 上海远丰机械有限公司", rep="何涛"
    )
    assert "上海立信泵业有限公司" in sentence


def test_the_archives_own_signals_count_for_synced_mail_the_address_rules_cannot_place(cast):
    from kedun.comms.services import competitor_save
    from kedun.org.models import User
    from tests.comms.conftest import store
    from tests.comms.test_signals import outgoing

    competitor_save(actor=cast.boss, name="宏远机械", domains=["hongyuan-jx.com"])
    store(
        outgoing("zhang@sales.hongyuan-jx.com", "报价"), owner=cast.east_rep, sent_by=cast.east_rep
    )
    # The look-alike: mail to a customer's buyer leaves no signal.
    store(outgoing("wangzhe@hengda-jx.com", "报价"), owner=cast.east_rep2, sent_by=cast.east_rep2)
    # His profile names another address than the mailbox he sends from: only the signal the
    # archive recorded when it stored the message can say where it went.
    User.objects.filter(pk=cast.east_rep.pk).update(email="zhang.wei@kedun-corp.cn")

    found = mail_findings(analysed(dt.date(2027, 3, 8)))  # the message's day

    assert [(f.rep_id, f.customer_id) for f in found] == [(cast.east_rep.pk, None)]
    (message,) = found[0].facts["messages"]
    assert message["verdict"] == "competitor" and message["to"] == "zhang@sales.hongyuan-jx.com"
    assert found[0].strength == pytest.approx(0.8)
