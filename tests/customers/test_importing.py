"""kedun import-customers: duplicates skipped and reported, possibles flagged, invalid rows
reported by line, nothing stored lost, and the same file twice adds nothing."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.customers.models import Customer
from kedun.customers.services import customer_register

pytestmark = pytest.mark.django_db

CSV = """客户编号,客户名称,电话,邮箱,统一社会信用代码,负责人,等级,登记时间,最后跟进时间
X001,杭州市蓝海科技有限公司,0571-88886666,info@lanhai.com,,east_rep,A,2024-03-01,2024-05-01
X002,蓝海科技（杭州）有限公司,,,,east_rep,B,2024/3/2,
X003,广州市恒达机械有限公司,,,,east_rep2,C,2024-01-01,
X004,苏州新辉包装材料有限公司,12345,,,east_rep2,,,
X005,宁波恒远五金有限公司,,,91440300708461136X,east_rep,,,
X006,,,,,east_rep2,,,
X007,上海市蓝海科技有限公司,,,,,,,
X008,深圳市恒大机械有限公司,,,,east_rep2,,,
"""


def run_import(tmp_path, text: str, *args: str, encoding: str = "utf-8") -> tuple[list, dict]:
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode(encoding))
    out = io.StringIO()
    call_command("import-customers", str(path), *args, stdout=out)
    lines = out.getvalue().splitlines()
    return lines[:-1], json.loads(lines[-1])


@pytest.fixture
def hengda(cast):
    return customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")


def test_every_row_is_imported_skipped_flagged_or_reported(cast, hengda, tmp_path):
    lines, summary = run_import(tmp_path, CSV, "--owner", "east_mgr")
    assert summary | {"seconds": 0, "rows_per_second": 0} == {
        "rows": 8,
        "imported": 3,
        "flagged": 2,
        "duplicates": 2,
        "already_imported": 0,
        "invalid": 3,
        "seconds": 0,
        "rows_per_second": 0,
    }
    report = "\n".join(lines)
    assert "line 3: duplicate: 蓝海科技（杭州）有限公司 — 与本文件第 2 行是同一家公司" in report
    assert f"line 4: duplicate: 广州市恒达机械有限公司 — 已登记为 {hengda.code}" in report
    assert "line 5: invalid: 苏州新辉包装材料有限公司 — “12345”" in report
    assert "line 6: invalid: 宁波恒远五金有限公司" in report and "校验码" in report
    assert "line 7: invalid" in report
    assert "line 8: imported, flagged for review: 上海市蓝海科技有限公司" in report
    assert "line 9: imported, flagged for review: 深圳市恒大机械有限公司" in report

    first = Customer.objects.get(code="X001")
    assert (first.owner, first.grade, first.needs_review) == (cast.east_rep, "A", False)
    assert timezone.localtime(first.registered_at).date().isoformat() == "2024-03-01"
    assert timezone.localtime(first.last_follow_up_at).date().isoformat() == "2024-05-01"
    assert Customer.objects.get(code="X007").owner == cast.east_mgr  # --owner for empty owner
    assert Customer.objects.get(code="X008").needs_review
    hengda.refresh_from_db()
    assert hengda.owner == cast.south_rep  # nothing stored is touched
    event = AuditEvent.objects.get(action="customer.imported")
    assert event.changes_data["codes"] == ["X001", "X007", "X008"]
    assert chain_verify().ok


def test_the_same_file_twice_adds_nothing(cast, tmp_path):
    run_import(tmp_path, CSV, "--owner", "east_mgr")
    count = Customer.objects.count()
    _lines, summary = run_import(tmp_path, CSV, "--owner", "east_mgr")
    assert summary["imported"] == 0
    assert summary["already_imported"] == 4  # X001, X003, X007, X008 (no 恒达 registered here)
    assert Customer.objects.count() == count


def test_rows_without_numbers_are_not_imported_twice_either(cast, tmp_path):
    text = "客户名称,负责人\n杭州市蓝海科技有限公司,east_rep\n北京市星辰包装有限公司,east_rep\n"
    run_import(tmp_path, text)
    _lines, summary = run_import(tmp_path, text)
    assert summary["imported"] == 0 and summary["duplicates"] == 2
    assert Customer.objects.count() == 2
    assert sorted(Customer.objects.values_list("code", flat=True))[0].startswith("C")


def test_a_gbk_file_imports(cast, tmp_path):
    _lines, summary = run_import(tmp_path, CSV, "--owner", "east_mgr", encoding="gbk")
    assert summary["imported"] == 4
    assert Customer.objects.get(code="X008").needs_review  # 恒大 sounds like line 4's 恒达


def test_a_row_without_an_owner_needs_the_owner_option(cast, tmp_path):
    lines, summary = run_import(tmp_path, "客户名称\n杭州市蓝海科技有限公司\n")
    assert summary["invalid"] == 1 and "--owner" in lines[0]
    assert Customer.objects.count() == 0


def test_an_unreadable_file_is_refused_whole(cast, tmp_path):
    path = tmp_path / "customers.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    with pytest.raises(CommandError, match=r"\.xlsx"):
        call_command("import-customers", str(path))
    with pytest.raises(CommandError, match="no active user"):
        call_command("import-customers", str(path), "--owner", "ghost")
    assert Customer.objects.count() == 0


def test_an_invalid_row_is_reported_with_its_name_under_chinese_headers(cast, tmp_path):
    text = "客户名称,负责人,登记时间\n杭州市蓝海科技有限公司,east_rep,not-a-date\n"
    lines, summary = run_import(tmp_path, text)
    assert summary["invalid"] == 1
    assert lines[0].startswith("line 2: invalid: 杭州市蓝海科技有限公司 — ")


def test_an_import_on_postgresql_has_the_worker_vacuum_the_registry(
    transactional_db, cast, tmp_path
):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("VACUUM is PostgreSQL's; SQLite needs none")

    def vacuums() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s",
                ["customers_customernamegram"],
            )
            return cursor.fetchone()[0]

    before = vacuums()
    run_import(tmp_path, "客户名称,负责人\n杭州市蓝海科技有限公司,east_rep\n")
    for _ in range(20):  # statistics reach pg_stat_* within moments, not at once
        if vacuums() > before:
            break
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
        time.sleep(0.1)
    assert vacuums() == before + 1
