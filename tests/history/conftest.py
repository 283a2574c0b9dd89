"""The importer's tests: a small company to build histories on, and the command run on them.

HistoryBuilder (tests/history/builder.py) writes the lines; `import_history` runs
`kedun import-history` in this process on the test's database and hands back the JSON summary
and every line printed before it. Tests elsewhere (the insights' signals) import the builder
and `history_import_run` from tests/history/builder.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.history.builder import HistoryBuilder, Imported, history_import_run

# Where the company's two customers are (WGS-84): 杭州 and 苏州, 130 km apart.
HANGZHOU = (30.28242, 120.02457)
SUZHOU = (31.29834, 120.58319)


@pytest.fixture
def import_history(db, tmp_path):
    """import_history(history or path, "--batch", "2", name="history.jsonl") → Imported."""

    def run(source: HistoryBuilder | Path, *args: str, name: str = "history.jsonl") -> Imported:
        path = source if isinstance(source, Path) else source.write(tmp_path / name)
        return history_import_run(path, *args)

    return run


def company() -> HistoryBuilder:
    """A department with its manager and two reps, two products and two located customers
    (C1 rep1's in 杭州, C2 rep2's in 苏州); tests add the events."""
    history = HistoryBuilder()
    history.department("D1", "华东销售部")
    history.user("mgr1", role="manager", department="华东销售部", name="何霞")
    history.user("rep1", department="华东销售部", name="何涛", phone="13983604450")
    history.user("rep2", department="华东销售部", name="杨艳", phone="13933427281")
    history.product("P1", name="离心泵", unit="台", list_price="1000.00", floor_price="850.00")
    history.product("P2", name="闸阀", unit="个", list_price="120.50", floor_price="100.00")
    history.customer(
        "C1",
        "杭州远丰机械有限公司",
        owner="rep1",
        phone="0571-88886666",
        email="purchase@yuanfeng-jx.com",
        website="www.yuanfeng-jx.com",
        grade="A",
        lat=HANGZHOU[0],
        lng=HANGZHOU[1],
        address="杭州市西湖区",
    )
    history.customer(
        "C2",
        "苏州新辉包装材料有限公司",
        owner="rep2",
        phone="0512-66001234",
        lat=SUZHOU[0],
        lng=SUZHOU[1],
    )
    return history


@pytest.fixture
def history() -> HistoryBuilder:
    return company()
