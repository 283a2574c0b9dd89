"""The same history twice adds nothing; a later export that repeats earlier lines adds only
its new ones; a line is the same line whatever the order of its keys (HISTORY-FORMAT.md)."""

from __future__ import annotations

import gzip
import json

import pytest

from kedun.customers.models import Customer, FollowUp
from kedun.history.models import ImportedLine
from kedun.history.reading import line_digest
from kedun.sales.models import Order, Payment, Quote
from tests.history.builder import HistoryBuilder, busy_company
from tests.history.snapshot import table_counts, tables

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def busy() -> HistoryBuilder:
    return busy_company(seed=7, customers=40, days=30, per_day=12)


def grown(counts_before: dict[str, int], counts_after: dict[str, int]) -> dict[str, int]:
    return {
        label: counts_after[label] - counts_before[label]
        for label in counts_after
        if counts_after[label] != counts_before[label]
    }


def test_the_same_file_twice_adds_and_changes_nothing(busy, import_history):
    first = import_history(busy, "--batch", "40")
    assert first.summary["bad_lines"] == 0
    assert first.summary["imported"] == len(busy.lines)
    before = tables()

    second = import_history(busy, "--batch", "40")

    assert tables() == before  # every row of every table, the audit trail included
    assert second.summary["imported"] == 0
    assert second.summary["by_type"] == {}
    assert second.summary["already_imported"] == len(busy.lines)
    assert second.summary["bad_lines"] == 0


def test_the_same_file_twice_with_another_batch_size_and_gzipped(busy, import_history):
    import_history(busy, "--batch", "7")
    before = tables()

    second = import_history(busy, name="history.jsonl.gz")

    assert tables() == before
    assert second.summary["already_imported"] == len(busy.lines)


def test_a_later_export_adds_only_its_new_lines(history, import_history):
    deal = history.won_deal("C1", "rep1", [("P1", 2, "950.00")], at=history.day(1), paid=False)
    history.follow_up("C1", "rep1", at=history.day(20))
    import_history(history, "--batch", "4")
    before = table_counts()

    later = HistoryBuilder()
    later.lines = list(history.lines)  # the first export again …
    later.payment(deal["invoice"], "1900.00", at=history.day(40))  # … and what happened since
    later.follow_up("C2", "rep2", at=history.day(41))
    later.view("rep2", "C1", at=history.day(42))
    imported = import_history(later)

    assert imported.summary["by_type"] == {"follow_up": 1, "payment": 1, "view": 1}
    assert imported.summary["already_imported"] == len(history.lines)
    assert grown(before, table_counts()) == {
        "sales.Payment": 1,
        "customers.FollowUp": 1,
        "audit.AccessEvent": 1,
        "history.ImportedLine": 3,
        "history.ImportRun": 1,  # the run that brought them, with their span of time
        "audit.AuditEvent": 1,  # the one batch that wrote something
    }
    order = Order.objects.get(number=deal["order"])
    assert (order.status, order.paid_total) == ("paid", order.net_total)


def test_the_same_event_twice_in_one_file_counts_once(history, import_history):
    twice = history.follow_up("C1", "rep1", at=history.day(2))
    history.add(dict(twice))
    quote = history.quote("C1", "rep1", [("P1", 1, "990.00")], at=history.day(3))
    history.add(dict(quote))

    imported = import_history(history)

    assert FollowUp.objects.count() == 1
    assert Quote.objects.count() == 1
    assert imported.summary["by_type"]["follow_up"] == 1
    assert imported.summary["by_type"]["quote"] == 1
    assert imported.summary["already_imported"] == 2
    assert imported.summary["bad_lines"] == 0


def test_the_same_event_twice_in_one_file_in_different_batches_counts_once(history, import_history):
    twice = history.follow_up("C1", "rep1", at=history.day(2))
    for n in range(3):
        history.view("rep1", "C2", at=history.day(2, 10 + n))
    history.add(dict(twice))

    imported = import_history(history, "--batch", "2")

    assert FollowUp.objects.count() == 1
    assert imported.summary["already_imported"] == 1


@pytest.mark.parametrize("batch", ["2", "500"])
def test_the_same_entity_twice_in_one_file_counts_once(history, import_history, batch):
    """Entities are read on every run (later lines refer to them); a repeated one is still
    one customer, one product, one user, and its line is stored once."""
    for line in list(history.lines):
        history.add(dict(line))  # the whole header again
    history.follow_up("C1", "rep1", at=history.day(2))

    imported = import_history(history, "--batch", batch)

    assert imported.summary["bad_lines"] == 0
    assert imported.summary["by_type"] == {
        "customer": 2,
        "department": 1,
        "follow_up": 1,
        "product": 2,
        "user": 3,
    }
    assert imported.summary["already_imported"] == 8
    assert Customer.objects.filter(code__in=["C1", "C2"]).count() == 2
    assert ImportedLine.objects.count() == 9


def test_a_customer_declared_again_with_other_values_keeps_the_first(history, import_history):
    history.customer("C1", "另一个名字有限公司", owner="rep2")

    imported = import_history(history)

    c1 = Customer.objects.get(code="C1")
    assert (c1.name, c1.owner.username) == ("杭州远丰机械有限公司", "rep1")
    assert imported.summary["already_imported"] == 1


def test_keys_in_another_order_and_other_spacing_are_the_same_line(
    history, import_history, tmp_path
):
    history.follow_up("C1", "rep1", at=history.day(2))
    deal = history.won_deal("C1", "rep1", [("P1", 1, "990.00")], at=history.day(3))
    import_history(history)
    before = tables()

    shuffled = tmp_path / "shuffled.jsonl.gz"
    text = "".join(
        json.dumps(dict(reversed(line.items())), ensure_ascii=True, separators=(" , ", " : "))
        + "\r\n"
        for line in history.lines
        if isinstance(line, dict)
    )
    shuffled.write_bytes(gzip.compress(text.encode()))
    imported = import_history(shuffled)

    assert tables() == before
    assert imported.summary["already_imported"] == len(history.lines)
    assert Payment.objects.filter(invoice__number=deal["invoice"]).count() == 1


def test_the_digest_ignores_key_order_and_sees_every_value():
    line = {"type": "view", "at": "2025-10-01T09:02:00+08:00", "user": "rep1", "customer": "C1"}
    same = {"customer": "C1", "user": "rep1", "at": "2025-10-01T09:02:00+08:00", "type": "view"}
    other = {**line, "at": "2025-10-01T09:03:00+08:00"}

    assert line_digest(line) == line_digest(same)
    assert line_digest(line) != line_digest(other)
    assert len(line_digest(line)) == 32


def test_codes_written_as_numbers_or_with_spaces_are_the_same_codes(import_history):
    """Exports from spreadsheets write 1001 for "1001" and pad cells with spaces."""
    history = HistoryBuilder()
    history.department("D1", "华东销售部")
    history.user("rep1", department="华东销售部")
    history.product("P1")
    history.customer(" 1001 ", "杭州远丰机械有限公司", owner="rep1")
    history.customer("C2 ", "苏州新辉包装材料有限公司", owner="rep1")
    history.follow_up(1001, "rep1", at=history.day(1))  # type: ignore[arg-type]
    history.follow_up(" C2", "rep1", at=history.day(2))
    quote = history.quote("1001", "rep1", [("P1", 1, "90.00")], code=" Q1", at=history.day(3))
    history.quote_result("Q1 ", "accepted", at=history.day(4))
    history.order(" 1001", "rep1", "90.00", quote="Q1", code="O1 ", at=history.day(5))
    history.shipment(" O1", at=history.day(6))
    history.invoice("O1", "90.00", code=" I1", at=history.day(7))
    history.payment("I1 ", "90.00", at=history.day(8))

    first = import_history(history)
    second = import_history(history)

    assert first.bad == {}
    assert first.summary["imported"] == len(history.lines)
    assert second.bad == {}
    assert second.summary["already_imported"] == len(history.lines)
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["1001", "C2"]
    assert FollowUp.objects.count() == 2
    order = Order.objects.get()
    assert (order.number, order.quote.number, order.status) == ("O1", "Q1", "paid")
    del quote
