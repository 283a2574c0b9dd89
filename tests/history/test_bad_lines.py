"""Every bad line is reported with its number and a reason naming the problem; the good lines
around it go in, and nothing of the bad line is written — no record, no half-changed quote or
order, no placeholder user for the name it carries (HISTORY-FORMAT.md)."""

from __future__ import annotations

import pytest

from kedun.customers.models import FollowUp
from kedun.org.models import User
from kedun.sales.models import LostReason, Quote, QuoteStatus
from tests.history.builder import HistoryBuilder
from tests.history.conftest import company
from tests.history.snapshot import table_counts, tables

pytestmark = pytest.mark.django_db

AT = "2025-10-20T10:00:00+08:00"


def known() -> HistoryBuilder:
    """The company, and the records bad lines refer to: quote Q1 (P1 × 1 at 1,000.00)
    accepted, order O1 of 1,000.00 delivered, invoice I1 of 1,000.00 with 400.00 paid."""
    history = company()
    history.quote("C1", "rep1", [("P1", 1, "1000.00")], code="Q1", at=history.day(1))
    history.quote_result("Q1", "accepted", at=history.day(2))
    history.order("C1", "rep1", "1000.00", quote="Q1", code="O1", at=history.day(3))
    history.shipment("O1", user="rep1", at=history.day(8))
    history.invoice("O1", "1000.00", code="I1", at=history.day(9))
    history.payment("I1", "400.00", at=history.day(10))
    return history


def follow_up(**fields) -> dict:
    return {"type": "follow_up", "at": AT, "customer": "C1", "user": "rep1", "kind": "call"} | {
        "content": "电话沟通了下一季度的采购计划",
        **fields,
    }


def without(line: dict, key: str) -> dict:
    return {k: v for k, v in line.items() if k != key}


# `ghost` is a user the file never declares: a good line would make a placeholder of them,
# a bad one must not.
CHECK_IN = {
    "type": "check_in",
    "at": AT,
    "customer": "C1",
    "user": "ghost",
    "lat": 30.2,
    "lng": 120.1,
}
QUOTE = {"type": "quote", "at": AT, "code": "Q2", "customer": "C1", "user": "ghost"} | {
    "lines": [{"product": "P1", "qty": 1, "unit_price": "900.00"}]
}
ORDER = {"type": "order", "at": AT, "code": "O2", "quote": None, "customer": "C1"} | {
    "user": "ghost",
    "amount": "500.00",
    "promised_at": "2025-11-01T09:00:00+08:00",
}
INVOICE = {"type": "invoice", "at": AT, "code": "I2", "order": "O1", "amount": "10.00"} | {
    "due_at": "2025-11-20T09:00:00+08:00"
}
PAYMENT = {"type": "payment", "at": AT, "invoice": "I1", "amount": "100.00", "payer": None}
EMAIL = {"type": "email", "at": AT, "user": "ghost", "sender": "ghost@kedun-demo.cn"} | {
    "to": ["a@b.com"],
    "subject": "x",
    "customer": None,
    "deleted_by_user": False,
}
CUSTOMER = {"type": "customer", "code": "C9", "name": "宁波恒远五金有限公司", "owner": "ghost"}

CASES = {
    # the line itself
    "not JSON": (
        '{"type": "view", "at": ',
        "not JSON: unexpected end of data: line 1 column 23 (char 22)",
    ),
    "not an object": ('["view", "rep1", "C1"]', "not a JSON object"),
    "a string": ('"view"', "not a JSON object"),
    "unknown type": ({"type": "meeting_room", "at": AT}, "unknown type 'meeting_room'"),
    "no type": ({"at": AT, "customer": "C1"}, "type is missing"),
    # fields
    "missing customer": (without(follow_up(), "customer"), "customer is missing"),
    "missing time": (without(follow_up(), "at"), "at is missing"),
    "bad time": (
        follow_up(at="2025-13-45T25:00"),
        "at: '2025-13-45T25:00' is not an ISO 8601 time",
    ),
    "time as a number": (follow_up(at=20251020), "at must be an ISO 8601 time"),
    "unknown kind": (follow_up(kind="fax"), "unknown follow-up kind 'fax'"),
    "content too long": (follow_up(content="长" * 5001), "content is longer than 5000 characters"),
    "content not text": (follow_up(content=["a"]), "content must be text"),
    "unknown customer": (follow_up(customer="C404"), "unknown customer 'C404'"),
    "missing user": (without(follow_up(), "user"), "user is missing"),
    # places
    "lat out of range": (CHECK_IN | {"lat": 95.0}, "lat/lng out of range"),
    "lng out of range": (CHECK_IN | {"lng": -181}, "lat/lng out of range"),
    "lat not a number": (CHECK_IN | {"lat": "north"}, "lat: 'north' is not a number"),
    "lat missing": (without(CHECK_IN, "lat"), "lat is missing"),
    "negative accuracy": (CHECK_IN | {"accuracy": -5}, "accuracy must not be negative"),
    # entities
    "customer without a name": (without(CUSTOMER, "name"), "name is missing"),
    "customer lat out of range": (
        CUSTOMER | {"lat": 91, "lng": 120},
        "lat/lng out of range",
    ),
    "customer lat without lng": (CUSTOMER | {"lat": 30}, "lat and lng go together"),
    "customer with a wrong credit code": (
        CUSTOMER | {"tax_id": "91440300708461136Y"},
        "The check character should be T, not Y.",
    ),
    "customer with a short credit code": (
        CUSTOMER | {"tax_id": "9144030070846"},
        "A unified social credit code must be 18 characters, got 13.",
    ),
    "user with an unknown role": (
        {"type": "user", "username": "ghost", "role": "intern", "department": "华东销售部"},
        "unknown role 'intern'",
    ),
    "user in an undeclared department": (
        {"type": "user", "username": "ghost", "role": "sales", "department": "华西销售部"},
        "department '华西销售部' is not declared",
    ),
    "department under an undeclared one": (
        {"type": "department", "code": "D9", "name": "西南", "parent": "D8"},
        "parent department 'D8' is not declared before it",
    ),
    "product floor above list": (
        {"type": "product", "code": "P9", "name": "x", "list_price": "10", "floor_price": "12"},
        "floor_price is above list_price",
    ),
    "product negative price": (
        {"type": "product", "code": "P9", "name": "x", "list_price": "-5.00", "floor_price": "0"},
        "list_price: '-5.00' must not be negative",
    ),
    # quotes
    "quote of an unknown product": (
        QUOTE | {"lines": [{"product": "P404", "qty": 1, "unit_price": "1"}]},
        "unknown product 'P404'",
    ),
    "quote without lines": (QUOTE | {"lines": []}, "a quote needs lines"),
    "quote line not an object": (QUOTE | {"lines": ["P1"]}, "a quote line must be an object"),
    "quote of nothing": (
        QUOTE | {"lines": [{"product": "P1", "qty": 0, "unit_price": "1"}]},
        "qty: 0 must be more than zero",
    ),
    "quote at a negative price": (
        QUOTE | {"lines": [{"product": "P1", "qty": 1, "unit_price": "-1"}]},
        "unit_price: '-1' must not be negative",
    ),
    "quote number taken": (QUOTE | {"code": "Q1"}, "quote Q1 exists already, with other content"),
    "result of an unknown quote": (
        {"type": "quote_result", "at": AT, "quote": "Q404", "result": "lost"},
        "unknown quote 'Q404'",
    ),
    "unknown result": (
        {"type": "quote_result", "at": AT, "quote": "Q1", "result": "maybe"},
        "unknown quote result 'maybe' (accepted or lost)",
    ),
    "competitor not text": (
        {"type": "quote_result", "at": AT, "quote": "Q1", "result": "lost", "competitor": [1]},
        "competitor must be text",
    ),
    # orders
    "negative order": (ORDER | {"amount": "-100.00"}, "amount: '-100.00' must be more than zero"),
    "order of no amount": (ORDER | {"amount": "abc"}, "amount: 'abc' is not an amount"),
    "order too large": (ORDER | {"amount": "1e13"}, "amount: '1e13' is too large"),
    "order without a promise": (without(ORDER, "promised_at"), "promised_at is missing"),
    "order from an unknown quote": (ORDER | {"quote": "Q404"}, "unknown quote 'Q404'"),
    "order for an unknown customer": (ORDER | {"customer": "C404"}, "unknown customer 'C404'"),
    "order number taken": (ORDER | {"code": "O1"}, "order O1 exists already, with other content"),
    "shipment of an unknown order": (
        {"type": "shipment", "at": AT, "order": "O404", "user": "ghost"},
        "unknown order 'O404'",
    ),
    "shipment of a shipped order": (
        {"type": "shipment", "at": AT, "order": "O1", "user": "ghost"},
        "order O1 is shipped in full already",
    ),
    # cash
    "invoice over the order": (INVOICE, "invoice I2 would take order O1 over its total"),
    "invoice of an unknown order": (INVOICE | {"order": "O404"}, "unknown order 'O404'"),
    "invoice number taken": (
        INVOICE | {"code": "I1"},
        "invoice I1 exists already, with other content",
    ),
    "payment over the invoice": (
        PAYMENT | {"amount": "600.01"},
        "the payment would take invoice I1 over its amount",
    ),
    "payment of an unknown invoice": (PAYMENT | {"invoice": "I404"}, "unknown invoice 'I404'"),
    "payment of nothing": (PAYMENT | {"amount": "0"}, "amount: '0' must be more than zero"),
    "negative payment": (PAYMENT | {"amount": -50}, "amount: -50 must be more than zero"),
    # contact data, mail, access
    "change of an unknown field": (
        {"type": "contact_change", "at": AT, "customer": "C1", "user": "ghost", "field": "fax"},
        "unknown contact field 'fax' (phone or email)",
    ),
    "mail to no list": (EMAIL | {"to": "a@b.com"}, "to must be a list of addresses"),
    "mail without a sender": (without(EMAIL, "sender"), "sender is missing"),
    "mail about an unknown customer": (EMAIL | {"customer": "C404"}, "unknown customer 'C404'"),
    "view of an unknown customer": (
        {"type": "view", "at": AT, "user": "ghost", "customer": "C404"},
        "unknown customer 'C404'",
    ),
    "view at no time": (
        {"type": "view", "at": "yesterday", "user": "ghost", "customer": "C1"},
        "at: 'yesterday' is not an ISO 8601 time",
    ),
    "export of negative rows": (
        {"type": "export", "at": AT, "user": "ghost", "rows": -3},
        "rows must be a whole number",
    ),
    "export of half a row": (
        {"type": "export", "at": AT, "user": "ghost", "rows": 2.5},
        "rows must be a whole number",
    ),
    "deactivation of nobody": ({"type": "user_deactivated", "at": AT}, "username is missing"),
    "deactivation at no time": (
        {"type": "user_deactivated", "at": "", "username": "ghost"},
        "at is missing",
    ),
}


@pytest.mark.parametrize(("line", "reason"), CASES.values(), ids=CASES.keys())
def test_a_bad_line_is_reported_and_nothing_of_it_written(import_history, line, reason):
    history = known()
    first = import_history(history)
    assert first.summary["bad_lines"] == 0
    before = table_counts()
    quotes_before = tables()["sales.Quote"]

    history.follow_up("C2", "rep2", at=history.day(30))  # a good line before …
    bad = history.add(line)
    history.follow_up("C2", "rep2", at=history.day(31))  # … and after
    imported = import_history(history)

    number = history.number(bad)
    assert imported.bad == {number: reason}
    assert imported.summary["bad_lines"] == 1
    assert imported.summary["first_bad_lines"] == [{"line": number, "reason": reason}]
    assert imported.summary["by_type"] == {"follow_up": 2}
    after = table_counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "customers.FollowUp": 2,
        "history.ImportedLine": 2,
        "history.ImportRun": 1,
        "audit.AuditEvent": 1,
    }
    assert tables()["sales.Quote"] == quotes_before
    assert not User.objects.filter(username="ghost").exists()


def test_a_bad_line_is_reported_again_by_a_rerun_and_the_fixed_line_goes_in(import_history):
    history = company()
    bad = history.follow_up("C404", "rep1", at=history.day(1))
    first = import_history(history)
    assert first.bad == {history.number(bad): "unknown customer 'C404'"}

    again = import_history(history)
    assert again.bad == {history.number(bad): "unknown customer 'C404'"}

    bad["customer"] = "C1"
    fixed = import_history(history)
    assert fixed.bad == {}
    assert fixed.summary["by_type"] == {"follow_up": 1}


@pytest.mark.parametrize("batch", ["1", "3", "5000"])
def test_bad_lines_among_good_ones_are_reported_in_order_with_their_numbers(import_history, batch):
    """Blank lines count in the numbering (a person looks the number up in an editor)."""
    history = company()
    history.follow_up("C1", "rep1", at=history.day(1))
    history.add("")
    history.add("   ")
    history.add("this is not json")
    history.follow_up("C1", "rep1", at=history.day(2))
    history.add(follow_up(at="tomorrow"))
    history.follow_up("C2", "rep2", at=history.day(3))
    history.add("[1, 2]")
    history.follow_up("C2", "rep2", at=history.day(4))

    imported = import_history(history, "--batch", batch)

    assert list(imported.bad.items()) == [
        (12, "not JSON: invalid literal, expected 'true': line 1 column 1 (char 0)"),
        (14, "at: 'tomorrow' is not an ISO 8601 time"),
        (16, "not a JSON object"),
    ]
    assert imported.summary["lines"] == 15  # blank lines are not lines of the history
    assert FollowUp.objects.count() == 4


def test_past_a_hundred_bad_lines_the_rest_are_counted(import_history):
    history = company()
    for n in range(130):
        history.view("rep1", f"C{1000 + n}", at=history.day(1))
    history.view("rep1", "C1", at=history.day(2))

    imported = import_history(history)

    assert len(imported.bad) == 100
    assert "… and 30 more bad lines" in imported.printed
    assert imported.summary["bad_lines"] == 130
    assert len(imported.summary["first_bad_lines"]) == 20
    assert imported.summary["first_bad_lines"][0] == {
        "line": 9,
        "reason": "unknown customer 'C1000'",
    }
    assert imported.summary["by_type"]["view"] == 1


def test_a_bad_result_of_a_quote_in_the_same_batch_leaves_the_quote_as_sent(import_history):
    """The result is read whole before the quote changes: a half-applied 'lost' (status set,
    no moment) used to reach the database's check and end the import."""
    history = company()
    quote = history.quote("C1", "rep1", [("P1", 1, "990.00")], at=history.day(1))
    bad = history.quote_result(quote["code"], "lost", reason="competitor", at=history.day(2))
    bad["competitor"] = {"name": "恒达"}

    imported = import_history(history)

    assert imported.bad == {history.number(bad): "competitor must be text"}
    stored = Quote.objects.get(number=quote["code"])
    assert (stored.status, stored.lost_at, stored.lost_reason) == (QuoteStatus.SENT, None, None)


def test_lost_reasons_are_written_when_the_list_is_empty(import_history):
    LostReason.objects.all().delete()
    history = company()
    quote = history.quote("C1", "rep1", [("P1", 1, "990.00")], at=history.day(1))
    history.quote_result(quote["code"], "lost", reason="delivery", at=history.day(2))

    import_history(history)

    assert Quote.objects.get().lost_reason.code == "delivery_time"
