"""kedun import-customers with positions: `lat`, `lng` and `coord_system` columns (or 纬度,
经度, 坐标系), GCJ-02 and BD-09 converted and stored as WGS-84, bad positions reported by line."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from kedun.core.geo import BD09, GCJ02, Position, distance_m, from_wgs84
from kedun.customers.import_files import read_customer_bytes
from kedun.customers.models import Customer, LocationSource

from .test_importing import run_import

pytestmark = pytest.mark.django_db

DOOR = Position(31.2304, 121.4737)  # WGS-84
TZ = timezone.get_current_timezone()


@pytest.fixture(autouse=True)
def _reasons_in_english():
    """Reasons are asserted by their English msgids, whatever the .po files say."""
    with translation.override("en"):
        yield


def read(text: str, **options):
    return read_customer_bytes(text.encode(), filename="c.csv", tz=TZ, **options)


def test_wgs84_columns_are_stored_as_they_are(cast, tmp_path):
    csv = f"code,name,owner,lat,lng\nL001,上海蓝鲸物流有限公司,east_rep,{DOOR.lat},{DOOR.lng}\n"

    _lines, summary = run_import(tmp_path, csv)

    assert summary["imported"] == 1
    customer = Customer.objects.get(code="L001")
    assert (customer.lat, customer.lng) == (DOOR.lat, DOOR.lng)
    assert customer.location_source == LocationSource.IMPORTED
    assert customer.located_at is not None


@pytest.mark.parametrize("system", [GCJ02, BD09])
def test_a_chinese_maps_coordinates_are_converted_to_wgs84(cast, tmp_path, system):
    shown = from_wgs84(DOOR, system)  # what 高德 / 百度 show for the same door
    csv = (
        "客户编号,客户名称,负责人,纬度,经度,坐标系\n"
        f"L002,上海蓝鲸物流有限公司,east_rep,{shown.lat:.7f},{shown.lng:.7f},{system}\n"
    )

    run_import(tmp_path, csv)

    customer = Customer.objects.get(code="L002")
    assert distance_m(Position(customer.lat, customer.lng), DOOR) < 0.5
    # Unconverted, the map's point is hundreds of metres off.
    assert distance_m(shown, DOOR) > 100


def test_the_command_option_names_the_system_of_a_file_without_the_column(cast, tmp_path):
    shown = from_wgs84(DOOR, GCJ02)
    csv = f"code,name,owner,lat,lng\nL003,上海蓝鲸物流有限公司,east_rep,{shown.lat},{shown.lng}\n"

    run_import(tmp_path, csv, "--coord-system", "gcj02")

    customer = Customer.objects.get(code="L003")
    assert distance_m(Position(customer.lat, customer.lng), DOOR) < 0.5


def test_rows_without_a_position_import_without_one(cast, tmp_path):
    csv = "code,name,owner,lat,lng\nL004,上海蓝鲸物流有限公司,east_rep,,\n"

    run_import(tmp_path, csv)

    customer = Customer.objects.get(code="L004")
    assert (customer.lat, customer.lng, customer.location_source) == (None, None, "")


@pytest.mark.parametrize(
    ("lat", "lng", "system", "reason"),
    [
        ("31.2", "", "", "give both “lat” and “lng”, or neither"),
        ("north", "121.4", "", "“lat” has “north”: a latitude is a number from -90 to 90"),
        ("31.2", "221.4", "", "“lng” has “221.4”: a longitude is a number from -180 to 180"),
        (
            "31.2",
            "121.4",
            "mars",
            "“coord_system” has “mars”: use wgs84 (GPS), gcj02 (AMap/高德, Tencent/腾讯) or bd09 "
            "(Baidu/百度)",
        ),
    ],
)
def test_a_bad_position_makes_the_row_invalid_with_its_reason(lat, lng, system, reason):
    rows, errors = read(
        f"code,name,lat,lng,coord_system\nL005,上海蓝鲸物流有限公司,{lat},{lng},{system}\n",
        now=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
    )

    assert rows == []
    [error] = errors
    assert error.line == 2
    assert str(error.reason) == reason


def test_a_bad_position_is_reported_by_line_and_the_rest_imports(cast, tmp_path):
    csv = (
        "code,name,owner,lat,lng\n"
        "L006,上海蓝鲸物流有限公司,east_rep,31.2,\n"
        "L007,杭州青山茶业有限公司,east_rep,30.27,120.15\n"
    )

    lines, summary = run_import(tmp_path, csv)

    assert summary["imported"] == 1
    assert summary["invalid"] == 1
    assert lines == [
        "line 2: invalid: 上海蓝鲸物流有限公司 — give both “lat” and “lng”, or neither"
    ]
