"""Small company histories for the insights' tests, on tests/history/builder.py.

`company()` is a quiet, honest company: two sales departments (华东 under 何经理, 华南 under
周经理), three reps and a handful of steady customers ordering every week for WEEKS weeks with
their rep in touch — so that the company's own trend is flat and a story told on top of it
(one customer's orders stopping, a payer appearing) is read against a normal background.
Each test adds its story with the helpers below, imports it and reads the analysis as of
`LAST_DAY`.
"""

from __future__ import annotations

from pathlib import Path

from tests.history.builder import HistoryBuilder, history_import_run

WEEKS = 30
# The story turns at this week: before it, a customer's own normal; from it, the change.
TURN = 20
LAST = WEEKS * 7 - 1  # the history's last day, as `history.day(LAST)`
LAST_DAY = HistoryBuilder().day(LAST).date()

EAST, SOUTH = "华东销售部", "华南销售部"
# 上海, where every customer is (WGS-84); a check-in 0.2° north is 22 km away.
HERE = (31.2304, 121.4737)


def company() -> HistoryBuilder:
    history = HistoryBuilder()
    history.department("D1", EAST)
    history.department("D2", SOUTH)
    history.user("mgr_east", role="manager", department=EAST, name="何经理")
    history.user("mgr_south", role="manager", department=SOUTH, name="周经理")
    history.user("rep1", department=EAST, name="何涛", phone="13983604450")
    history.user("rep2", department=EAST, name="杨艳", phone="13933427281")
    history.user("rep3", department=SOUTH, name="林峰", phone="13700001111")
    history.product("P1", name="离心泵", unit="台", list_price="1000.00", floor_price="850.00")
    for n, owner in ((1, "rep2"), (2, "rep2"), (3, "rep3"), (4, "rep3")):
        steady_customer(history, f"S{n}", f"杭州恒远{n}号机械有限公司", owner=owner)
    return history


def customer(history: HistoryBuilder, code: str, name: str, *, owner: str, **extra) -> None:
    history.customer(
        code,
        name,
        owner=owner,
        phone=extra.pop("phone", f"021-6{sum(map(ord, code)):07d}"),
        email=extra.pop("email", f"buy@{code.lower()}-jx.com"),
        website=extra.pop("website", f"www.{code.lower()}-jx.com"),
        lat=HERE[0],
        lng=HERE[1],
        **extra,
    )


def steady_customer(history: HistoryBuilder, code: str, name: str, *, owner: str) -> None:
    customer(history, code, name, owner=owner)
    weekly(history, code, owner, orders=range(WEEKS), calls=range(WEEKS))


def weekly(
    history: HistoryBuilder,
    code: str,
    rep: str,
    *,
    orders: range | list[int] = (),  # type: ignore[assignment]
    calls: range | list[int] = (),  # type: ignore[assignment]
    amount: str = "1000.00",
    weekday: int = 0,
) -> list[str]:
    """An order and/or a call in each week named (week 0 is the history's first); returns the
    order codes."""
    codes = []
    for week in calls:
        history.follow_up(code, rep, at=history.day(week * 7 + weekday, 10))
    for week in orders:
        codes.append(
            history.order(code, rep, amount, at=history.day(week * 7 + weekday, 14))["code"]
        )
    return codes


def events_sorted(history: HistoryBuilder) -> HistoryBuilder:
    """Entities first, then events in time order, as the format wants (stories add their
    events customer by customer)."""
    entities = [line for line in history.lines if isinstance(line, dict) and "at" not in line]
    events = [line for line in history.lines if isinstance(line, dict) and "at" in line]
    events.sort(key=lambda line: line["at"])
    history.lines = [*entities, *events]
    return history


def imported(history: HistoryBuilder, path: Path) -> None:
    """Import the story (sorted), failing on any bad line."""
    result = history_import_run(events_sorted(history).write(path))
    assert result.bad == {}, result.bad


def diverting_company() -> HistoryBuilder:
    """The company with two diverters and an honest look-alike.

    何涛 (rep1, 华东): C1's and C2's orders stop at TURN while he keeps calling, and that week
    he changes their phone numbers to his own mobile. 林峰 (rep3, 华南) does the same with C5.
    杨艳 (rep2, 华东) is the look-alike: her C3 goes dormant (no orders, no calls) and its
    buyer's new number is one nobody knows."""
    history = company()
    for code, name, rep, mobile in (
        ("C1", "上海远丰机械有限公司", "rep1", "13983604450"),
        ("C2", "上海安丰五金有限公司", "rep1", "13983604450"),
        ("C5", "上海金泰贸易有限公司", "rep3", "13700001111"),
    ):
        customer(history, code, name, owner=rep)
        weekly(history, code, rep, orders=range(TURN), calls=range(WEEKS))
        history.contact_change(code, rep, "phone", "", mobile, at=history.day(TURN * 7 + 1))
    customer(history, "C3", "上海康达食品有限公司", owner="rep2")
    weekly(history, "C3", "rep2", orders=range(TURN), calls=range(TURN))
    history.contact_change("C3", "rep2", "phone", "", "13511112222", at=history.day(TURN * 7 + 1))
    return history


def boss():
    """The boss at the top of the company (the file declares no admin)."""
    from kedun.org.services import department_root
    from tests.factories import UserFactory

    return UserFactory(
        username="boss", full_name="王总", role="admin", department=department_root()
    )
