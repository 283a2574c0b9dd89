"""Reading customer import files: CSV in any encoding people save, XLSX, and every way they fail.

No database here: the reader only turns a file into rows and row errors.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.functional import Promise
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from kedun.core import clock
from kedun.customers.import_files import (
    ImportFileError,
    ImportRow,
    RowError,
    read_customer_bytes,
    read_customer_file,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=TZ)
ENGLISH_HEADER = "code,name,phone,email,website,tax_id,owner,grade,registered_at,last_follow_up_at"
CHINESE_HEADER = (
    "客户编号,客户名称,电话,邮箱,网址,统一社会信用代码,负责人,等级,登记时间,最后跟进时间"
)


def read_csv(
    tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "customers.csv", **options
) -> tuple[list[ImportRow], list[RowError]]:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    options.setdefault("now", NOW)
    return read_customer_file(path, tz=TZ, **options)


def write_xlsx(tmp_path: Path, rows: list[list], *, name: str = "customers.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def read_xlsx(
    tmp_path: Path, rows: list[list], **options
) -> tuple[list[ImportRow], list[RowError]]:
    options.setdefault("now", NOW)
    return read_customer_file(write_xlsx(tmp_path, rows), tz=TZ, **options)


def english(message) -> str:
    with translation.override("en"):
        return str(message)


def file_error(tmp_path: Path, data: bytes, name: str, **options) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImportFileError) as caught:
        read_customer_file(path, tz=TZ, now=NOW, **options)
    return english(caught.value.message)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=TZ)


# --- encodings and delimiters ----------------------------------------------------------------

FULL_CHINESE_FILE = (
    CHINESE_HEADER + "\n"
    "C001,上海示例科技有限公司,021-12345678,info@example.cn,www.example.cn,"
    "91310000MA1K000001,张三,A,2024-03-01,2024-05-20 09:30\n"
    "C002,北京样本贸易有限公司,13800138000,,,,李四,B,,\n"
)


def assert_full_chinese_rows(rows: list[ImportRow], errors: list[RowError]) -> None:
    assert errors == []
    assert rows == [
        ImportRow(
            line=2,
            code="C001",
            name="上海示例科技有限公司",
            phone="021-12345678",
            email="info@example.cn",
            website="www.example.cn",
            tax_id="91310000MA1K000001",
            owner="张三",
            grade="A",
            registered_at=at(2024, 3, 1),
            last_follow_up_at=at(2024, 5, 20, 9, 30),
            extra={},
        ),
        ImportRow(
            line=3,
            code="C002",
            name="北京样本贸易有限公司",
            phone="13800138000",
            email="",
            website="",
            tax_id="",
            owner="李四",
            grade="B",
            registered_at=None,
            last_follow_up_at=None,
            extra={},
        ),
    ]


def test_a_utf8_csv_with_chinese_headers_is_read_into_rows(tmp_path):
    assert_full_chinese_rows(*read_csv(tmp_path, FULL_CHINESE_FILE))


def test_a_utf8_csv_with_a_byte_order_mark_is_read_as_if_the_mark_were_not_there(tmp_path):
    assert_full_chinese_rows(*read_csv(tmp_path, FULL_CHINESE_FILE, encoding="utf-8-sig"))


def test_a_gbk_csv_as_chinese_excel_saves_it_is_read(tmp_path):
    assert_full_chinese_rows(*read_csv(tmp_path, FULL_CHINESE_FILE, encoding="gbk"))


def test_a_gbk_csv_with_windows_line_endings_is_read(tmp_path):
    text = FULL_CHINESE_FILE.replace("\n", "\r\n")
    assert_full_chinese_rows(*read_csv(tmp_path, text, encoding="gbk"))


def test_a_utf16_text_file_as_excel_saves_unicode_text_is_read(tmp_path):
    text = FULL_CHINESE_FILE.replace(",", "\t")
    assert_full_chinese_rows(*read_csv(tmp_path, text, encoding="utf-16", name="customers.txt"))


def test_a_tab_delimited_file_is_read(tmp_path):
    text = "客户名称\t电话\t备注\n甲公司\t010-1234, 转 8\t有逗号, 也不拆\n"
    rows, errors = read_csv(tmp_path, text, name="customers.txt")
    assert errors == []
    assert [(row.line, row.name, row.phone, row.extra) for row in rows] == [
        (2, "甲公司", "010-1234, 转 8", {"备注": "有逗号, 也不拆"})
    ]


def test_a_semicolon_delimited_file_is_read(tmp_path):
    rows, errors = read_csv(tmp_path, "name;phone\nAcme, Inc.;555 0100\n")
    assert errors == []
    assert [(row.name, row.phone) for row in rows] == [("Acme, Inc.", "555 0100")]


def test_a_single_column_file_keeps_semicolons_and_tabs_inside_names(tmp_path):
    rows, errors = read_csv(tmp_path, "name\nA;B\nC\tD\n")
    assert errors == []
    assert [row.name for row in rows] == ["A;B", "C D"]


def test_an_upload_is_read_from_bytes_whatever_the_path_and_case_of_its_name(tmp_path):
    rows, errors = read_customer_bytes(
        FULL_CHINESE_FILE.encode("gbk"), filename="C:\\fakepath\\客户.CSV", tz=TZ, now=NOW
    )
    assert_full_chinese_rows(rows, errors)


# --- headers ---------------------------------------------------------------------------------


def test_english_headers_fill_every_field(tmp_path):
    text = (
        ENGLISH_HEADER + "\n"
        "K-7,Acme Ltd,+86 21 5555 0100,sales@acme.example,https://acme.example,"
        "91310000MA1K000002,wang,VIP,2024/3/1 8:05,2024年4月2日\n"
    )
    rows, errors = read_csv(tmp_path, text)
    assert errors == []
    assert rows == [
        ImportRow(
            line=2,
            code="K-7",
            name="Acme Ltd",
            phone="+86 21 5555 0100",
            email="sales@acme.example",
            website="https://acme.example",
            tax_id="91310000MA1K000002",
            owner="wang",
            grade="VIP",
            registered_at=at(2024, 3, 1, 8, 5),
            last_follow_up_at=at(2024, 4, 2),
            extra={},
        )
    ]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("名称", "name"),
        ("公司名称", "name"),
        ("客户", "name"),
        ("手机", "phone"),
        ("手机号", "phone"),
        ("联系电话", "phone"),
        ("电话号码", "phone"),
        ("电子邮箱", "email"),
        ("email", "email"),
        ("E-mail", "email"),
        ("邮件", "email"),
        ("网站", "website"),
        ("官网", "website"),
        ("website", "website"),
        ("URL", "website"),
        ("税号", "tax_id"),
        ("信用代码", "tax_id"),
        ("统一社会信用代码", "tax_id"),
        ("tax_id", "tax_id"),
        ("业务员", "owner"),
        ("Owner", "owner"),
        ("客户等级", "grade"),
        ("等级", "grade"),
        ("GRADE", "grade"),
        ("创建时间", "registered_at"),
        ("Registered At", "registered_at"),
        ("最近跟进", "last_follow_up_at"),
        ("last-follow-up-at", "last_follow_up_at"),
        ("编号", "code"),
        ("客户编号", "code"),
        ("CODE", "code"),
    ],
)
def test_a_header_alias_fills_its_field(tmp_path, header, field):
    name_header = "客户名称" if field != "name" else header
    value = "2024-03-01 10:00" if field.endswith("_at") else "值"
    text = f"{name_header},{header}\n某公司,{value}\n" if field != "name" else f"{header}\n值\n"
    rows, errors = read_csv(tmp_path, text)
    assert errors == []
    expected = at(2024, 3, 1, 10) if field.endswith("_at") else "值"
    assert getattr(rows[0], field) == expected
    assert rows[0].extra == {}


@pytest.mark.parametrize(
    "header",
    [
        " NAME ",
        "Ｎａｍｅ",
        "\ufeffname",
        "name\u200b",
        "*客户名称",
        "客户名称*",
        "客户名称（必填）",
    ],
)
def test_headers_match_whatever_their_case_width_spacing_and_required_marks(tmp_path, header):
    rows, errors = read_csv(tmp_path, f"{header},备注\n某公司,x\n")
    assert errors == []
    assert [(row.name, row.extra) for row in rows] == [("某公司", {"备注": "x"})]


def test_a_title_row_above_the_header_is_skipped(tmp_path):
    rows, errors = read_xlsx(
        tmp_path, [["客户名单（2024）"], [], ["客户名称", "电话"], ["甲", "1"]]
    )
    assert errors == []
    assert [(row.line, row.name, row.phone) for row in rows] == [(4, "甲", "1")]


# --- lines, cells and extra columns -----------------------------------------------------------


def test_quoted_cells_spanning_lines_give_each_row_the_line_it_starts_on(tmp_path):
    text = (
        "客户名称,地址\n"
        '甲公司,"上海市\n浦东新区\n世纪大道 1 号"\n'
        '"乙\n公司",北京\r\n'
        "丙公司,广州\n"
        ",\n"
    )
    rows, errors = read_csv(tmp_path, text)
    assert [(row.line, row.name, row.extra["地址"]) for row in rows] == [
        (2, "甲公司", "上海市\n浦东新区\n世纪大道 1 号"),
        (5, "乙 公司", "北京"),
        (7, "丙公司", "广州"),
    ]
    assert errors == []


def test_a_quoted_cell_spanning_the_last_lines_of_the_file_is_read(tmp_path):
    rows, errors = read_csv(tmp_path, '客户名称,地址\n甲,"第一行\n第二行"\n')
    assert errors == []
    assert [(row.line, row.extra) for row in rows] == [(2, {"地址": "第一行\n第二行"})]


def test_blank_lines_are_skipped_but_still_counted(tmp_path):
    rows, errors = read_csv(tmp_path, "\n客户名称\n\n甲\n  \n\n乙\n")
    assert errors == []
    assert [(row.line, row.name) for row in rows] == [(4, "甲"), (7, "乙")]


def test_cells_are_trimmed_names_collapsed_and_zero_width_characters_removed(tmp_path):
    text = (
        "客户名称,电话,等级\n"
        "\u200b  上海\u3000 示例 \t 有限公司\ufeff ,\u200c 138 0013 8000 \u200d, A \n"
    )
    rows, errors = read_csv(tmp_path, text)
    assert errors == []
    assert [(row.name, row.phone, row.grade) for row in rows] == [
        ("上海 示例 有限公司", "138 0013 8000", "A")
    ]


def test_unknown_columns_are_kept_as_extra_on_every_row(tmp_path):
    text = "客户名称,行业,,备注\n甲,制造,,\n乙,,孤儿值,要紧,右边多出来的\n"
    rows, errors = read_csv(tmp_path, text)
    assert errors == []
    assert [row.extra for row in rows] == [
        {"行业": "制造", "备注": ""},
        {"行业": "", "#3": "孤儿值", "备注": "要紧", "#5": "右边多出来的"},
    ]


def test_rows_shorter_than_the_header_read_the_missing_cells_as_blank(tmp_path):
    rows, errors = read_csv(tmp_path, "客户名称,电话,登记时间\n甲\n")
    assert errors == []
    assert [(row.name, row.phone, row.registered_at) for row in rows] == [("甲", "", None)]


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-01", at(2024, 3, 1)),
        ("2024/3/1", at(2024, 3, 1)),
        ("2024.3.1", at(2024, 3, 1)),
        ("2024-3-1", at(2024, 3, 1)),
        ("2024-03-01 14:30", at(2024, 3, 1, 14, 30)),
        ("2024/3/1 14:30:15", at(2024, 3, 1, 14, 30, 15)),
        ("2024-03-01T14:30:00", at(2024, 3, 1, 14, 30)),
        ("2024年3月1日", at(2024, 3, 1)),
        ("2024年3月1日 14:30", at(2024, 3, 1, 14, 30)),
        ("2024年3月1日14时30分", at(2024, 3, 1, 14, 30)),
        ("２０２４－０３－０１", at(2024, 3, 1)),
        ("20240301", at(2024, 3, 1)),
        ("2024-03-01T06:30:00Z", at(2024, 3, 1, 14, 30)),
        ("2024-03-01 14:30 +08:00", at(2024, 3, 1, 14, 30)),
        (
            "2024/3/1 01:30 -05:00",
            datetime(2024, 3, 1, 1, 30, tzinfo=timezone(-timedelta(hours=5))),
        ),
    ],
)
def test_dates_are_read_in_the_forms_people_write_them(tmp_path, written, expected):
    rows, errors = read_csv(tmp_path, f"客户名称,登记时间\n甲,{written}\n")
    assert errors == []
    assert rows[0].registered_at == expected
    assert rows[0].registered_at.utcoffset() is not None


def test_naive_dates_are_read_in_the_given_time_zone(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("name,registered_at\nAcme,2024-03-01 08:00\n", encoding="utf-8")
    rows, _ = read_customer_file(path, tz=UTC, now=NOW)
    assert rows[0].registered_at == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert rows[0].registered_at.tzinfo is UTC


# --- row errors ------------------------------------------------------------------------------


def test_a_row_without_a_name_is_reported_and_the_other_rows_still_import(tmp_path):
    text = "客户名称,电话\n甲,1\n,2\n  \u200b ,3\n乙,4\n"
    rows, errors = read_csv(tmp_path, text)
    assert [row.name for row in rows] == ["甲", "乙"]
    assert [(error.line, english(error.reason)) for error in errors] == [
        (3, "the customer name is empty"),
        (4, "the customer name is empty"),
    ]
    assert errors[0].raw == {"客户名称": "", "电话": "2"}


def test_a_name_longer_than_200_characters_is_reported(tmp_path):
    text = f"客户名称\n{'长' * 200}\n{'长' * 201}\n"
    rows, errors = read_csv(tmp_path, text)
    assert [len(row.name) for row in rows] == [200]
    assert [(error.line, english(error.reason)) for error in errors] == [
        (3, "the customer name has 201 characters; at most 200 are allowed")
    ]


def test_a_date_that_cannot_be_read_is_reported_with_its_value_and_the_accepted_forms(tmp_path):
    text = "客户名称,登记时间,最后跟进时间\n甲,2024-02-30,\n乙,,下周二\n丙,01/03/2024,\n"
    rows, errors = read_csv(tmp_path, text)
    assert rows == []
    reasons = [(error.line, english(error.reason)) for error in errors]
    assert [line for line, _ in reasons] == [2, 3, 4]
    assert reasons[0][1].startswith("“登记时间” has “2024-02-30”, which is not a date;")
    assert reasons[1][1].startswith("“最后跟进时间” has “下周二”, which is not a date;")
    for _, reason in reasons:
        for form in ("2024-03-01", "2024/3/1", "2024-03-01 14:30", "2024年3月1日", "Excel"):
            assert form in reason


def test_a_date_in_the_future_is_reported(tmp_path):
    text = "name,registered_at,last_follow_up_at\nA,2025-06-01 12:00,\nB,2025-06-02,\nC,,2030-1-1\n"
    rows, errors = read_csv(tmp_path, text)
    assert [row.name for row in rows] == ["A"]
    assert [(error.line, english(error.reason)) for error in errors] == [
        (3, "“registered_at” has “2025-06-02”, which is in the future"),
        (4, "“last_follow_up_at” has “2030-1-1”, which is in the future"),
    ]


def test_the_future_is_measured_from_the_kedun_clock_when_no_now_is_given(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("name,registered_at\nA,2020-01-01\nB,2020-01-03\n", encoding="utf-8")
    with clock.frozen_at(datetime(2020, 1, 2, tzinfo=TZ)):
        rows, errors = read_customer_file(path, tz=TZ)
    assert [row.name for row in rows] == ["A"]
    assert [error.line for error in errors] == [3]


def test_a_follow_up_before_the_registration_is_reported(tmp_path):
    text = "客户名称,登记时间,最后跟进时间\n甲,2024-03-01,2024-02-28\n乙,2024-03-01,2024-03-01\n"
    rows, errors = read_csv(tmp_path, text)
    assert [row.name for row in rows] == ["乙"]
    assert [(error.line, english(error.reason)) for error in errors] == [
        (2, "“最后跟进时间” (2024-02-28) is earlier than “登记时间” (2024-03-01)")
    ]
    assert errors[0].raw == {
        "客户名称": "甲",
        "登记时间": "2024-03-01",
        "最后跟进时间": "2024-02-28",
    }


def test_row_error_reasons_stay_lazy_until_shown(tmp_path):
    _, errors = read_csv(tmp_path, "客户名称,登记时间\n,2024-01-01\n甲,bad\n")
    assert all(isinstance(error.reason, Promise) for error in errors)
    assert "bad" in english(errors[1].reason)


# --- XLSX ------------------------------------------------------------------------------------


def test_an_xlsx_workbook_gives_phones_stored_as_numbers_back_as_digits(tmp_path):
    rows, errors = read_xlsx(
        tmp_path,
        [
            ["客户名称", "电话", "客户编号", "等级"],
            ["甲", 13800138000, 1001, 3.5],
            ["乙", 1.38001380e10, 1002.0, 0.1],
            ["丙", "021-12345678", "0001", True],
        ],
    )
    assert errors == []
    assert [(row.name, row.phone, row.code, row.grade) for row in rows] == [
        ("甲", "13800138000", "1001", "3.5"),
        ("乙", "13800138000", "1002", "0.1"),
        ("丙", "021-12345678", "0001", "TRUE"),
    ]


def test_an_xlsx_workbook_reads_datetime_cells_in_the_given_time_zone(tmp_path):
    rows, errors = read_xlsx(
        tmp_path,
        [
            ["客户名称", "登记时间", "最后跟进时间", "备注"],
            ["甲", datetime(2024, 3, 1, 9, 15), datetime(2024, 4, 1), datetime(2024, 1, 2, 3, 4)],
            ["乙", "2024/3/1", 20240302, None],
            ["丙", 45352, None, None],  # a date serial in a cell without a date format
        ],
    )
    assert errors == []
    assert [(row.registered_at, row.last_follow_up_at, row.extra) for row in rows] == [
        (at(2024, 3, 1, 9, 15), at(2024, 4, 1), {"备注": "2024-01-02 03:04:00"}),
        (at(2024, 3, 1), at(2024, 3, 2), {"备注": ""}),
        (at(2024, 3, 1), None, {"备注": ""}),
    ]


def test_empty_workbook_rows_are_skipped_and_rows_keep_their_excel_numbers(tmp_path):
    rows, errors = read_xlsx(
        tmp_path,
        [
            ["客户名称", "电话"],
            [],
            ["甲", None],
            [None, "   "],
            [],
            ["乙", "2"],
            [None, None],
            ["", "3"],
        ],
    )
    assert [(row.line, row.name) for row in rows] == [(3, "甲"), (6, "乙")]
    assert [(error.line, english(error.reason)) for error in errors] == [
        (8, "the customer name is empty")
    ]


def test_an_xlsx_row_error_carries_its_excel_row_number_and_cells(tmp_path):
    _, errors = read_xlsx(
        tmp_path,
        [["客户名称", "登记时间"], ["甲", datetime(2024, 3, 1)], ["乙", datetime(2099, 1, 1)]],
    )
    assert [(error.line, english(error.reason), error.raw) for error in errors] == [
        (
            3,
            "“登记时间” has “2099-01-01”, which is in the future",
            {"客户名称": "乙", "登记时间": "2099-01-01"},
        )
    ]


def test_a_workbook_that_records_a_wrong_size_is_still_read_in_full(tmp_path):
    # Some programs write <dimension ref="A1"/> whatever the size; openpyxl would trust it.
    original = write_xlsx(tmp_path, [["客户名称", "电话", "备注"], ["甲", 1, "x"], ["乙", 2, "y"]])
    changed = io.BytesIO()
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(changed, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[A-Z0-9:]+"', b'<dimension ref="A1"', content)
                assert b'<dimension ref="A1"' in content
            target.writestr(item, content)
    rows, errors = read_customer_bytes(changed.getvalue(), filename="x.xlsx", tz=TZ, now=NOW)
    assert errors == []
    assert [(row.line, row.name, row.phone, row.extra) for row in rows] == [
        (2, "甲", "1", {"备注": "x"}),
        (3, "乙", "2", {"备注": "y"}),
    ]


def test_only_the_first_worksheet_is_read(tmp_path):
    workbook = Workbook()
    workbook.active.append(["客户名称"])
    workbook.active.append(["第一页"])
    other = workbook.create_sheet("其他")
    other.append(["客户名称"])
    other.append(["第二页"])
    path = tmp_path / "customers.xlsx"
    workbook.save(path)
    rows, _ = read_customer_file(path, tz=TZ, now=NOW)
    assert [row.name for row in rows] == ["第一页"]


def test_a_workbook_saved_under_a_csv_name_is_read_as_a_workbook(tmp_path):
    path = write_xlsx(tmp_path, [["客户名称", "电话"], ["甲", 13800138000]], name="customers.csv")
    rows, errors = read_customer_file(path, tz=TZ, now=NOW)
    assert errors == []
    assert [(row.name, row.phone) for row in rows] == [("甲", "13800138000")]


# --- files that cannot be read ----------------------------------------------------------------


def test_an_unknown_file_type_is_refused_naming_the_supported_ones(tmp_path):
    message = file_error(tmp_path, b"%PDF-1.7", "customers.pdf")
    assert ".pdf" in message
    for suffix in (".xlsx", ".csv", ".txt"):
        assert suffix in message


def test_an_old_xls_workbook_is_refused_with_advice_to_save_as_xlsx_or_csv(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(512)
    for data in (ole, b"<html><table></table></html>"):
        message = file_error(tmp_path, data, "customers.xls")
        assert ".xls" in message
        assert ".xlsx" in message
        assert "CSV" in message


def test_a_random_binary_file_named_xlsx_is_refused_as_damaged(tmp_path):
    message = file_error(tmp_path, b"\x89PNG\r\n\x1a\n" + os.urandom(2048), "customers.xlsx")
    assert "cannot be opened" in message


def test_a_damaged_zip_named_xlsx_is_refused_as_damaged(tmp_path):
    data = write_xlsx(tmp_path, [["客户名称"], ["甲"]]).read_bytes()
    message = file_error(tmp_path, data[: len(data) // 2], "broken.xlsx")
    assert "cannot be opened" in message


def test_a_password_protected_xlsx_is_refused_with_advice(tmp_path):
    # Excel stores an encrypted .xlsx inside an OLE compound file.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(512)
    message = file_error(tmp_path, data, "customers.xlsx")
    assert "password" in message


def test_a_file_in_no_supported_encoding_is_refused_naming_utf8_and_gbk(tmp_path):
    message = file_error(tmp_path, b"name\n\x80\xff\xfe\x80\n", "customers.csv")
    assert "UTF-8" in message
    assert "GBK" in message


def test_a_binary_file_named_csv_is_refused_as_not_text(tmp_path):
    message = file_error(tmp_path, b"\x00\x01\x02name\x00" * 50, "customers.csv")
    assert "UTF-8" in message


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf", b",,,\n,,\n"])
def test_a_file_without_a_header_row_is_refused(tmp_path, data):
    assert file_error(tmp_path, data, "customers.csv") == "The file is empty: it has no header row."


def test_an_empty_workbook_is_refused_as_having_no_header(tmp_path):
    path = write_xlsx(tmp_path, [])
    message = file_error(tmp_path, path.read_bytes(), "empty.xlsx")
    assert message == "The file is empty: it has no header row."


def test_a_header_without_a_name_column_is_refused_listing_the_accepted_names(tmp_path):
    message = file_error(tmp_path, "公司,电话\n甲,1\n".encode(), "customers.csv")
    assert "“公司”, “电话”" in message
    assert "line 1" in message
    for accepted in ("name", "客户名称", "名称", "公司名称", "客户"):
        assert accepted in message


def test_a_header_split_by_full_width_commas_is_refused_with_a_hint(tmp_path):
    message = file_error(tmp_path, "客户名称，电话\n甲，1\n".encode(), "customers.csv")
    assert "，" in message
    assert "客户名称" in message


@pytest.mark.parametrize(
    ("header", "first", "second"),
    [("客户名称,电话,手机", "电话", "手机"), ("name,客户名称", "name", "客户名称")],
)
def test_two_columns_for_the_same_field_are_refused(tmp_path, header, first, second):
    message = file_error(tmp_path, f"{header}\n".encode(), "customers.csv")
    assert f"“{first}” and “{second}”" in message


def test_two_unknown_columns_with_the_same_header_are_refused(tmp_path):
    message = file_error(tmp_path, "客户名称,备注,备注\n甲,1,2\n".encode(), "customers.csv")
    assert "“备注”" in message


def test_a_file_larger_than_the_limit_is_refused_giving_the_limit_in_megabytes(tmp_path):
    limit = 1024 * 1024
    row = "Acme Corporation Limited\n"
    data = ("name\n" + row * (limit // len(row))).encode()
    assert len(data) > limit
    message = file_error(tmp_path, data, "customers.csv", max_bytes=limit)
    assert "1 MB" in message
    with pytest.raises(ImportFileError):
        read_customer_bytes(data, filename="customers.csv", tz=TZ, now=NOW, max_bytes=limit)
    rows, _ = read_customer_bytes(data[:limit], filename="x.csv", tz=TZ, now=NOW, max_bytes=limit)
    assert rows


def test_a_file_with_more_rows_than_the_limit_is_refused(tmp_path):
    text = "客户名称\n甲\n\n乙\n丙\n"
    rows, _ = read_csv(tmp_path, text, max_rows=3)
    assert len(rows) == 3
    path = tmp_path / "more.csv"
    path.write_text(text + "丁\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        read_customer_file(path, tz=TZ, now=NOW, max_rows=3)
    assert english(caught.value.message) == (
        "The file has more than 3 rows; split it into smaller files."
    )


def test_a_quote_that_is_never_closed_is_refused_rather_than_swallowing_rows(tmp_path):
    text = '客户名称,备注\n甲,"没有结束的引号\n乙,x\n丙,y\n'
    message = file_error(tmp_path, text.encode(), "customers.csv")
    assert "line 2" in message
    assert "quotation mark" in message


def test_a_file_error_message_is_lazy_and_is_the_exception_text(tmp_path):
    path = tmp_path / "customers.pdf"
    path.write_bytes(b"x")
    with pytest.raises(ImportFileError) as caught:
        read_customer_file(path, tz=TZ, now=NOW)
    assert isinstance(caught.value.message, Promise)
    with translation.override("en"):
        assert str(caught.value) == str(caught.value.message)


# --- property --------------------------------------------------------------------------------

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff"))


def normalised(name: str) -> str:
    return " ".join(name.translate(ZERO_WIDTH).split())


plain_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=200
).filter(lambda name: normalised(name) != "")


@settings(max_examples=150, deadline=None)
@given(names=st.lists(plain_names, min_size=1, max_size=15), bom=st.booleans())
def test_any_plain_names_written_to_a_csv_come_back_in_order_on_their_lines(names, bom):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name"])
    writer.writerows([name] for name in names)
    data = buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")
    rows, errors = read_customer_bytes(data, filename="names.csv", tz=TZ, now=NOW)
    assert errors == []
    assert [row.name for row in rows] == [normalised(name) for name in names]
    assert [row.line for row in rows] == list(range(2, len(names) + 2))
