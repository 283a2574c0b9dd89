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
    imported = history_import_run(path)                   # `kedun import-history`, here
    imported.summary["by_type"], imported.bad             # the JSON summary, bad lines

Every method appends one line (a dict, or raw text for a bad line) and returns it;
`history.number(line)` is its line number in the written file. Events without `at` come one
minute after the previous event, so a history reads in time order as the format wants.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass
class Imported:
    summary: dict[str, Any]  # the command's last line
    printed: list[str]  # what it printed before: bad lines, placeholder users

    @property
    def bad(self) -> dict[int, str]:
        """Every bad line reported, by line number."""
        found = {}
        for text in self.printed:
            match = re.fullmatch(r"line (\d+): (.*)", text)
            if match:
                found[int(match[1])] = match[2]
        return found


def history_import_run(path: Path, *args: str) -> Imported:
    """`kedun import-history PATH ARGS…` in this process, on the test's database."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command("import-history", str(path), *args, stdout=out)
    printed = out.getvalue().splitlines()
    return Imported(json.loads(printed[-1]), printed[:-1])


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


def busy_company(
    *, seed: int = 1, customers: int = 200, days: int = 120, per_day: int = 30
) -> HistoryBuilder:
    """A small company's half year, every line type and every cross-reference in it:
    departments, a manager and reps each, products, located customers, then follow-ups,
    check-ins near and far, quotes won and lost, orders delivered late and early, invoices,
    partial payments (some from other payers), contact changes, mail (some deleted), views,
    exports, a deactivation, and events of users the file never declares (`logistics`,
    `old_rep`). Deterministic for a seed; about `days × per_day` events."""
    import random

    rng = random.Random(seed)
    history = HistoryBuilder()
    regions = {"华东销售部": (30.27, 120.15), "华南销售部": (23.13, 113.26)}
    reps: dict[str, list[str]] = {}
    for d, name in enumerate(regions, start=1):
        history.department(f"D{d}", name)
        history.user(f"mgr{d}", role="manager", department=name)
        reps[name] = [f"rep{d}{n}" for n in range(1, 4)]
        for rep in reps[name]:
            history.user(rep, department=name, phone=f"139{d}{rep[-1]}0000{rep[-1]}0")
    products = [f"P{n:02d}" for n in range(1, 9)]
    prices = {code: Decimal(rng.randrange(50, 3000)) for code in products}
    for code in products:
        price = prices[code]
        history.product(code, list_price=f"{price:.2f}", floor_price=f"{price * 8 / 10:.2f}")
    book: dict[str, tuple[str, tuple[float, float], str]] = {}
    trade = ["远丰", "新辉", "恒远", "安丰", "康达", "蓝海", "华远", "金泰", "宏达", "瑞丰"]
    industries = ["机械", "包装材料", "五金", "食品", "环保设备", "化工", "纺织", "电子"]
    for n in range(1, customers + 1):
        region = rng.choice(list(regions))
        lat, lng = regions[region]
        where = (round(lat + rng.uniform(-0.3, 0.3), 5), round(lng + rng.uniform(-0.3, 0.3), 5))
        name = f"{trade[n % 10]}{industries[n // 10 % 8]}{n}号有限公司"
        owner = rng.choice(reps[region])
        code = f"C{n:04d}"
        book[code] = (owner, where, name)
        history.customer(
            code,
            name,
            owner=owner,
            phone=f"0571-8{n:07d}",
            email=f"buy@c{n:04d}.com.cn",
            lat=where[0],
            lng=where[1],
            grade=rng.choice("ABC"),
        )

    events: list[tuple[dt.datetime, int, str, dict[str, Any]]] = []

    def later(at: dt.datetime, line_type: str, **fields: Any) -> None:
        events.append((at, len(events), line_type, fields))

    quote_n = order_n = invoice_n = 0
    for day in range(days):
        for _ in range(per_day):
            at = history.day(day, rng.randrange(8, 19), rng.randrange(60))
            code = rng.choice(list(book))
            owner, where, name = book[code]
            roll = rng.random()
            if roll < 0.35:
                who = "old_rep" if rng.random() < 0.02 else owner
                kind = rng.choice(["call", "wechat", "visit", "email", "meeting"])
                content = rng.choice(
                    ["好的", "电话沟通了下一季度的采购计划", "回访使用情况，客户满意"]
                )
                later(at, "follow_up", customer=code, user=who, kind=kind, content=content)
            elif roll < 0.45:
                far = rng.random() < 0.2
                spot = (where[0] + (0.2 if far else 0.001), where[1])
                later(at, "check_in", customer=code, user=owner, lat=spot[0], lng=spot[1])
            elif roll < 0.65:
                quote_n += 1
                quote = f"Q{quote_n:05d}"
                chosen = rng.sample(products, rng.randrange(1, 4))
                lines = [(p, rng.randrange(1, 20), f"{prices[p] * 9 / 10:.2f}") for p in chosen]
                later(at, "quote", customer=code, user=owner, lines=lines, code=quote)
                result_at = at + dt.timedelta(days=rng.randrange(1, 6))
                if rng.random() < 0.4:
                    reason = rng.choice(["price", "delivery", "competitor", "budget", "other"])
                    competitor = "恒达机械" if reason == "competitor" else None
                    later(
                        result_at,
                        "quote_result",
                        quote=quote,
                        result="lost",
                        reason=reason,
                        competitor=competitor,
                    )
                    continue
                later(result_at, "quote_result", quote=quote, result="accepted")
                order_n += 1
                order = f"O{order_n:05d}"
                total = sum((Decimal(q) * Decimal(p) for _c, q, p in lines), Decimal(0))
                ordered_at = result_at + dt.timedelta(hours=3)
                later(
                    ordered_at,
                    "order",
                    customer=code,
                    user=owner,
                    amount=f"{total:.2f}",
                    quote=quote,
                    code=order,
                    promised_at=ordered_at + dt.timedelta(days=rng.randrange(7, 21)),
                )
                shipped_at = ordered_at + dt.timedelta(days=rng.randrange(3, 25))
                ship_to = name if rng.random() < 0.9 else "某某贸易有限公司"
                later(shipped_at, "shipment", order=order, user="logistics", ship_to=ship_to)
                invoice_n += 1
                invoice = f"I{invoice_n:05d}"
                invoiced_at = shipped_at + dt.timedelta(days=1)
                later(invoiced_at, "invoice", order=order, amount=f"{total:.2f}", code=invoice)
                half = (total / 2).quantize(Decimal("0.01"))
                payer = name if rng.random() < 0.85 else "个人 张三"
                later(
                    invoiced_at + dt.timedelta(days=10),
                    "payment",
                    invoice=invoice,
                    amount=f"{half:.2f}",
                    payer=payer,
                )
                if rng.random() < 0.8:
                    later(
                        invoiced_at + dt.timedelta(days=40),
                        "payment",
                        invoice=invoice,
                        amount=f"{total - half:.2f}",
                        payer=payer,
                    )
            elif roll < 0.70:
                later(
                    at,
                    "contact_change",
                    customer=code,
                    user=owner,
                    field="phone",
                    old="",
                    new=f"13{rng.randrange(10**9):09d}",
                )
            elif roll < 0.85:
                later(
                    at,
                    "email",
                    user=owner,
                    to=[f"buy@c{code[1:]}.com.cn"],
                    customer=code,
                    subject="报价",
                    deleted_by_user=rng.random() < 0.05,
                )
            elif roll < 0.99:
                viewer = rng.choice([r for team in reps.values() for r in team])
                later(at, "view", user=viewer, customer=code)
            else:
                later(at, "export", user=owner, rows=rng.randrange(1, 300))
    later(history.day(days - 1, 18), "user_deactivated", username="rep11")
    events.sort(key=lambda event: (event[0], event[1]))
    for at, _n, line_type, fields in events:
        getattr(history, line_type)(at=at, **fields)
    return history
