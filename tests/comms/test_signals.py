"""Signals for the risk view, recorded when a colleague's message is stored: mail to a
competitor, customer mail forwarded to a private address, quotes sent outside the customer."""

from __future__ import annotations

import pytest

from kedun.comms.models import MessageSignal, SignalKind
from kedun.comms.services import competitor_save
from kedun.customers.services import ContactInput, customer_register

from .conftest import corpus, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def hengda(cast):
    return customer_register(
        actor=cast.east_rep,
        name="上海市恒达机械有限公司",
        website="www.hengda-jx.com",
        contacts=[ContactInput(name="王喆", email="wangzhe@hengda-jx.com")],
    )


def outgoing(
    to: str, subject: str, *, extra: str = "", body: str = "见附件", attach: str = ""
) -> bytes:
    lines = [
        "From: east_rep@kedun.test",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Mon, 08 Mar 2027 20:00:00 +0800",
        f"Message-ID: <{abs(hash((to, subject, attach)))}@kedun.test>",
        *([extra] if extra else []),
        'Content-Type: multipart/mixed; boundary="b"',
        "",
        "--b",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
    ]
    if attach:
        lines += [
            "--b",
            "Content-Type: application/pdf",
            f'Content-Disposition: attachment; filename="{attach}"',
            "",
            "%PDF-1.4 price list",
        ]
    lines.append("--b--")
    return "\r\n".join(lines).encode()


def kinds(message) -> list[str]:
    return sorted(MessageSignal.objects.filter(message=message).values_list("kind", flat=True))


def test_mail_to_a_competitors_domain(cast, hengda):
    competitor_save(actor=cast.boss, name="宏远机械", domains=["hongyuan-jx.com"])
    message = store(
        outgoing("zhang@sales.hongyuan-jx.com", "hello"), owner=cast.east_rep, sent_by=cast.east_rep
    )
    signal = MessageSignal.objects.get(message=message)
    assert (signal.kind, signal.user) == (SignalKind.TO_COMPETITOR, cast.east_rep)
    assert signal.detail["recipients"] == ["zhang@sales.hongyuan-jx.com"]


def test_customer_mail_forwarded_to_a_private_address(cast, hengda):
    store(corpus("gb2312_holding_gbk.eml"), owner=cast.east_rep)
    forward = store(corpus("forward_rfc822.eml"), owner=cast.east_rep, sent_by=cast.east_rep)
    assert kinds(forward) == [SignalKind.FORWARD_PRIVATE]
    signal = MessageSignal.objects.get(message=forward)
    assert signal.kind == SignalKind.FORWARD_PRIVATE
    assert signal.detail["recipients"] == ["rep1.private@qq.com"]
    assert signal.detail["customer_ids"] == [hengda.pk]


def test_a_customers_attachment_sent_on_to_free_mail(cast, hengda):
    received = store(
        corpus("big5_with_attachment.eml").replace(
            b"chan@hk-trading.com.hk", b"chan@hengda-jx.com"
        ),
        owner=cast.east_rep,
    )
    assert kinds(received) == []  # mail from outside leaves no signal
    sent_on = store(
        corpus("big5_with_attachment.eml")
        .replace(b"From: ", b"X-Old-From: ")
        .replace(b"To: rep1@kedun.test", b"From: east_rep@kedun.test\r\nTo: someone@163.com")
        .replace(b"big5-001@", b"big5-002@"),
        owner=cast.east_rep,
        sent_by=cast.east_rep,
    )
    signals = {s.kind: s.detail for s in MessageSignal.objects.filter(message=sent_on)}
    assert signals[SignalKind.FORWARD_PRIVATE] == {
        "recipients": ["someone@163.com"],
        "customer_ids": [hengda.pk],
        "evidence": ["attachment"],
    }
    assert signals[SignalKind.MATERIAL_OUTSIDE]["attachments"] == ["報價單.pdf"]


def test_a_price_list_to_the_customer_is_no_signal_but_outside_it_is(cast, hengda):
    inside = store(
        outgoing("wangzhe@hengda-jx.com", "价格表", attach="2027价格表.pdf"),
        owner=cast.east_rep,
        sent_by=cast.east_rep,
    )
    outside = store(
        outgoing("wangzhe@hengda-jx.com, friend@myshop.cn", "价格表", attach="price list.pdf"),
        owner=cast.east_rep,
        sent_by=cast.east_rep,
    )
    assert kinds(inside) == []
    signal = MessageSignal.objects.get(message=outside)
    assert signal.kind == SignalKind.MATERIAL_OUTSIDE
    assert signal.detail["recipients"] == ["friend@myshop.cn"]
    assert signal.detail["attachments"] == ["price list.pdf"]


def test_mail_received_from_outside_leaves_no_signal(cast, hengda):
    competitor_save(actor=cast.boss, name="宏远机械", domains=["hongyuan-jx.com"])
    raw = corpus("raw_utf8_headers.eml").replace(b"li@hengda-jx.com", b"li@hongyuan-jx.com")
    message = store(raw, owner=cast.east_rep)
    assert kinds(message) == []
