"""Small company histories written by hand, in the format of `kedun import-history`
(../shared/HISTORY-FORMAT.md): for the importer's tests, and for any test that needs a past
in Kedun's records (the insights' signals: one history that must fire, one honest look-alike
that must not).

    history = HistoryBuilder()
    history.department("D1", "华东销售部")
    history.user("rep1", department="华东销售部")
    history.product("P1", list_price="100.00")
    history.customer("C1", "杭州远丰机械有限公司", owner="rep1", lat=30.28, lng=120.02)
    history.follow_up("C1", "rep1", at=history.day(3), content="电话沟通了新一季的采购计划")
    history.won_deal("C1", "rep1", [("P1", 10, "95.00")], at=history.day(10))
    path = history.write(tmp_path / "history.jsonl")      # or "….jsonl.gz"

Every method appends one line (a dict, or raw text for a bad line) and returns it;
`history.number(line)` is its line number in the written file. Events without `at` come one
minute after the previous event, so a history reads in time order as the format wants.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Wednesday, in the company's time zone, well inside daylight hours.
START = dt.datetime(2025, 10, 1, 9, 0, tzinfo=SHANGHAI)

Line = dict[str, Any] | str
QuoteLines = Sequence[tuple[str, Any, str]]  # (product code, quantity, unit price)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


class HistoryBuilder:
    def __init__(self, start: dt.datetime = START) -> None:
        self.start = start
        self.lines: list[Line] = []
        self._clock = start
        self._serial = 0

    # -- time ------------------------------------------------------------------------------------

    def day(self, n: float, hour: int = 9, minute: int = 0) -> dt.datetime:
        """The moment `n` days after the history's start, at hour:minute local time."""
        base = self.start + dt.timedelta(days=n)
        return base.replace(hour=hour, minute=minute)

    def _at(self, at: dt.datetime | None) -> str:
        if at is None:
            self._clock += dt.timedelta(minutes=1)
            at = self._clock
        else:
            self._clock = max(self._clock, at)
        return iso(at)

    def _code(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:05d}"

    # -- lines -----------------------------------------------------------------------------------

    def add(self, line: Line) -> Line:
        """Any line as it is: a dict written as JSON, or text written verbatim (bad lines)."""
        self.lines.append(line)
        return line

    def _put(self, line: dict[str, Any]) -> dict[str, Any]:
        self.lines.append(line)
        return line

    def number(self, line: Line) -> int:
        """The line number of `line` in the written file (1-based)."""
        for index, candidate in enumerate(self.lines):
            if candidate is line:
                return index + 1
        raise ValueError("not a line of this history")

    def write(self, path: Path) -> Path:
        """The history as JSON lines; gzipped when the name ends in .gz."""
        text = "".join(
            (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
            for line in self.lines
        )
        data = text.encode()
        path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
        return path

    # -- entities --------------------------------------------------------------------------------

    def department(self, code: str, name: str, parent: str | None = None) -> dict[str, Any]:
        return self._put({"type": "department", "code": code, "name": name, "parent": parent})

    def user(
        self,
        username: str,
        *,
        role: str = "sales",
        department: str = "",
        name: str = "",
        phone: str = "",
        email: str = "",
        joined_at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "user",
                "username": username,
                "name": name or username,
                "role": role,
                "department": department,
                "phone": phone,
                "email": email or f"{username}@kedun-demo.cn",
                "joined_at": iso(joined_at or self.start - dt.timedelta(days=365)),
            }
        )

    def product(
        self,
        code: str,
        *,
        name: str = "",
        unit: str = "件",
        list_price: str = "100.00",
        floor_price: str = "80.00",
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "product",
                "code": code,
                "name": name or f"产品{code}",
                "unit": unit,
                "list_price": list_price,
                "floor_price": floor_price,
            }
        )

    def customer(
        self,
        code: str,
        name: str,
        *,
        owner: str | None,
        phone: str = "",
        email: str = "",
        website: str = "",
        tax_id: str = "",
        grade: str = "B",
        registered_at: dt.datetime | None = None,
        address: str = "",
        lat: float | None = None,
        lng: float | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "customer",
                "code": code,
                "name": name,
                "phone": phone,
                "email": email,
                "website": website,
                "tax_id": tax_id,
                "grade": grade,
                "owner": owner,
                "registered_at": iso(registered_at or self.start - dt.timedelta(days=60)),
                "address": address,
                "lat": lat,
                "lng": lng,
            }
        )

    # -- events ----------------------------------------------------------------------------------

    def follow_up(
        self,
        customer: str,
        user: str,
        *,
        at: dt.datetime | None = None,
        kind: str = "call",
        content: str = "电话沟通了下一季度的采购计划",
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "follow_up",
                "at": self._at(at),
                "customer": customer,
                "user": user,
                "kind": kind,
                "content": content,
            }
        )

    def check_in(
        self,
        customer: str,
        user: str,
        *,
        lat: float,
        lng: float,
        accuracy: float = 10.0,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "check_in",
                "at": self._at(at),
                "customer": customer,
                "user": user,
                "lat": lat,
                "lng": lng,
                "accuracy": accuracy,
            }
        )

    def quote(
        self,
        customer: str,
        user: str,
        lines: QuoteLines,
        *,
        code: str | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "quote",
                "at": self._at(at),
                "code": code or self._code("Q"),
                "customer": customer,
                "user": user,
                "lines": [
                    {"product": product, "qty": qty, "unit_price": price}
                    for product, qty, price in lines
                ],
            }
        )

    def quote_result(
        self,
        quote: str,
        result: str,
        *,
        reason: str | None = None,
        competitor: str | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "quote_result",
                "at": self._at(at),
                "quote": quote,
                "result": result,
                "reason": reason,
                "competitor": competitor,
            }
        )

    def order(
        self,
        customer: str,
        user: str,
        amount: str,
        *,
        quote: str | None = None,
        code: str | None = None,
        promised_at: dt.datetime | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        when = self._at(at)
        promised = promised_at or dt.datetime.fromisoformat(when) + dt.timedelta(days=14)
        return self._put(
            {
                "type": "order",
                "at": when,
                "code": code or self._code("O"),
                "quote": quote,
                "customer": customer,
                "user": user,
                "amount": amount,
                "promised_at": iso(promised),
            }
        )

    def shipment(
        self,
        order: str,
        *,
        user: str = "logistics",
        ship_to: str | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "shipment",
                "at": self._at(at),
                "order": order,
                "user": user,
                "ship_to": ship_to,
            }
        )

    def invoice(
        self,
        order: str,
        amount: str,
        *,
        code: str | None = None,
        due_at: dt.datetime | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        when = self._at(at)
        due = due_at or dt.datetime.fromisoformat(when) + dt.timedelta(days=30)
        return self._put(
            {
                "type": "invoice",
                "at": when,
                "code": code or self._code("I"),
                "order": order,
                "amount": amount,
                "due_at": iso(due),
            }
        )

    def payment(
        self,
        invoice: str,
        amount: str,
        *,
        payer: str | None = None,
        account: str = "6222000011112222",
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "payment",
                "at": self._at(at),
                "invoice": invoice,
                "amount": amount,
                "payer": payer,
                "account": account,
            }
        )

    def contact_change(
        self,
        customer: str,
        user: str,
        field: str,
        old: str,
        new: str,
        *,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "contact_change",
                "at": self._at(at),
                "customer": customer,
                "user": user,
                "field": field,
                "old": old,
                "new": new,
            }
        )

    def email(
        self,
        user: str,
        to: Sequence[str],
        *,
        sender: str | None = None,
        subject: str = "报价单",
        customer: str | None = None,
        deleted_by_user: bool = False,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return self._put(
            {
                "type": "email",
                "at": self._at(at),
                "user": user,
                "sender": sender or f"{user}@kedun-demo.cn",
                "to": list(to),
                "subject": subject,
                "customer": customer,
                "deleted_by_user": deleted_by_user,
            }
        )

    def view(self, user: str, customer: str, *, at: dt.datetime | None = None) -> dict[str, Any]:
        return self._put({"type": "view", "at": self._at(at), "user": user, "customer": customer})

    def export(self, user: str, rows: int, *, at: dt.datetime | None = None) -> dict[str, Any]:
        return self._put({"type": "export", "at": self._at(at), "user": user, "rows": rows})

    def user_deactivated(self, username: str, *, at: dt.datetime | None = None) -> dict[str, Any]:
        return self._put({"type": "user_deactivated", "at": self._at(at), "username": username})

    # -- whole stories ---------------------------------------------------------------------------

    def won_deal(
        self,
        customer: str,
        user: str,
        lines: QuoteLines,
        *,
        at: dt.datetime,
        days_to_deliver: int = 10,
        promised_days: int = 14,
        payer: str | None = None,
        ship_to: str | None = None,
        paid: bool = True,
    ) -> dict[str, str]:
        """Quote → accepted → order → delivered → invoiced → paid, over a month from `at`.
        Returns the codes: {"quote", "order", "invoice", "amount"}."""
        quote = self.quote(customer, user, lines, at=at)
        amount = str(sum((Decimal(str(q)) * Decimal(p) for _c, q, p in lines), Decimal("0.00")))
        amount = str(Decimal(amount).quantize(Decimal("0.01")))
        self.quote_result(quote["code"], "accepted", at=at + dt.timedelta(days=1))
        order = self.order(
            customer,
            user,
            amount,
            quote=quote["code"],
            at=at + dt.timedelta(days=2),
            promised_at=at + dt.timedelta(days=2 + promised_days),
        )
        self.shipment(
            order["code"], ship_to=ship_to, at=at + dt.timedelta(days=2 + days_to_deliver)
        )
        invoice = self.invoice(
            order["code"], amount, at=at + dt.timedelta(days=3 + days_to_deliver)
        )
        if paid:
            self.payment(
                invoice["code"],
                amount,
                payer=payer,
                at=at + dt.timedelta(days=20 + days_to_deliver),
            )
        return {
            "quote": quote["code"],
            "order": order["code"],
            "invoice": invoice["code"],
            "amount": amount,
        }

    def lost_deal(
        self,
        customer: str,
        user: str,
        lines: QuoteLines,
        *,
        at: dt.datetime,
        reason: str = "price",
        competitor: str | None = None,
    ) -> str:
        """A quote lost a few days later; returns its code."""
        quote = self.quote(customer, user, lines, at=at)
        self.quote_result(
            quote["code"],
            "lost",
            reason=reason,
            competitor=competitor,
            at=at + dt.timedelta(days=3),
        )
        return quote["code"]
