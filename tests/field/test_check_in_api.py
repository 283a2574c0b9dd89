"""POST /api/v1/check-ins/ as a phone sends it: what it stores, which flags it raises and how
it says why, and how it refuses bad uploads and people who may not check in."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from PIL import Image

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.customers.models import TeamAccess, TeamMember
from kedun.field.models import CheckIn, CheckInFlag, CheckInSource, FieldRule
from tests.factories import CustomerFactory

from .conftest import (
    PEOPLE_SQUARE,
    T0,
    WEBM,
    check_in_form,
    flags_of,
    jpeg,
    located,
    minutes,
    north_of,
    upload,
)


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "check-ins"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(autouse=True)
def _empty_media():
    for path in stored_files():
        path.unlink()
    yield


@pytest.fixture
def at_the_customer(cast):
    return located(cast.east_rep)


def sent_at(moment: dt.datetime):
    return clock.frozen_at(moment)


# -- a good visit -----------------------------------------------------------------------------


def test_a_visit_at_the_customer_is_stored_with_its_evidence_and_no_flag(
    cast, send, at_the_customer
):
    with sent_at(T0 + minutes(1)):
        response = send(
            cast.east_rep, at_the_customer, audio=WEBM, note="见了王经理，谈了二季度的量"
        )

    assert response.status_code == 201
    body = response.json()
    assert body["flags"] == []
    assert body["remarks"] == []
    assert body["late"] is False
    assert body["captured_at"] == "2026-03-02T10:00:00+08:00"
    assert body["received_at"] == "2026-03-02T10:01:00+08:00"
    assert body["distance_m"] == 0.0
    assert body["audio_content_type"] == "audio/webm"
    check_in = CheckIn.objects.get()
    assert (check_in.rep, check_in.customer) == (cast.east_rep, at_the_customer)
    assert check_in.source == CheckInSource.API
    assert check_in.note == "见了王经理，谈了二季度的量"
    assert check_in.photo_taken_at == T0
    assert len(stored_files()) == 2  # the photo and the voice report
    event = AuditEvent.objects.get(action="check_in.recorded")
    assert event.object_id == str(check_in.pk)
    assert '"flags":{}' in event.changes


def test_the_customer_may_be_named_by_its_customer_number(cast, send, at_the_customer):
    data = check_in_form(at_the_customer)
    data["customer"] = at_the_customer.code

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, data=data)

    assert response.status_code == 201
    assert response.json()["customer"] == at_the_customer.pk


def test_the_photo_and_voice_report_are_served_to_the_rep_and_not_to_a_colleague(
    cast, send, at_the_customer, api_client
):
    photo = jpeg(taken_at=T0)
    with sent_at(T0):
        body = send(cast.east_rep, at_the_customer, photo=photo, audio=WEBM).json()

    api_client.force_authenticate(cast.east_rep)
    got = api_client.get(body["photo_url"])
    assert got.status_code == 200
    assert got["Content-Type"] == "image/jpeg"
    assert b"".join(got.streaming_content) == photo
    voice = api_client.get(body["audio_url"])
    assert voice["Content-Type"] == "audio/webm"
    assert b"".join(voice.streaming_content) == WEBM
    api_client.force_authenticate(cast.east_rep2)
    assert api_client.get(body["photo_url"]).status_code == 404
    assert api_client.get(body["audio_url"]).status_code == 404


def test_an_iphone_heic_photo_is_accepted(cast, send, at_the_customer):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 60, 30)).save(out, format="HEIF")
    data = check_in_form(at_the_customer, photo=out.getvalue())
    data["photo"] = upload("IMG_0001.HEIC", out.getvalue(), "image/heic")

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, data=data)

    assert response.status_code == 201
    assert CheckIn.objects.get().photo.name.endswith(".heic")
    # Shown as a JPEG (only Safari draws HEIC); the original is kept and served on request.
    shown = send.client.get(response.json()["photo_url"])
    assert shown["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(shown.content)).size == (64, 48)
    original = send.client.get(response.json()["photo_url"] + "?original=1")
    assert original["Content-Type"] == "image/heic"
    assert b"".join(original.streaming_content) == out.getvalue()
    # An iPhone photo without EXIF time: said, not flagged.
    assert [r["kind"] for r in response.json()["remarks"]] == ["photo_without_time"]


# -- far from the customer ----------------------------------------------------------------------


def test_a_visit_three_km_away_is_flagged_with_a_reason_naming_the_customer(
    cast, send, at_the_customer
):
    with sent_at(T0):
        response = send(
            cast.east_rep, at_the_customer, position=north_of(PEOPLE_SQUARE, 3200), accuracy=15
        )

    assert response.status_code == 201
    [flag] = response.json()["flags"]
    assert flag["kind"] == "far_from_customer"
    assert flag["reason"] == (
        f"3.2 km from {at_the_customer.name}'s location (allowed 500 m, GPS accuracy ±15 m)"
    )
    assert flag["detail"] == {"distance_m": 3200.0, "accuracy_m": 15.0, "radius_m": 500}


def test_a_flag_stores_the_figures_and_the_sentence_is_built_when_read(cast, send, at_the_customer):
    with sent_at(T0):
        send(cast.east_rep, at_the_customer, position=north_of(PEOPLE_SQUARE, 3200))
    at_the_customer.name = "上海新名字有限公司"
    at_the_customer.save(update_fields=["name"])

    stored = CheckInFlag.objects.get()
    assert stored.detail == {"distance_m": 3200.0, "accuracy_m": 10.0, "radius_m": 500}
    [flag] = send.client.get(f"/api/v1/check-ins/{stored.check_in_id}/").json()["flags"]
    assert flag["reason"].startswith("3.2 km from 上海新名字有限公司's location")


def test_an_accuracy_larger_than_the_radius_is_granted(cast, send, at_the_customer):
    with sent_at(T0):
        response = send(
            cast.east_rep, at_the_customer, position=north_of(PEOPLE_SQUARE, 1200), accuracy=800
        )

    assert response.status_code == 201
    assert response.json()["flags"] == []


def test_exactly_at_the_radius_is_not_flagged(cast, send, at_the_customer):
    with sent_at(T0):
        response = send(
            cast.east_rep, at_the_customer, position=north_of(PEOPLE_SQUARE, 510), accuracy=10
        )

    assert response.json()["distance_m"] == pytest.approx(510, abs=0.2)
    assert response.json()["flags"] == []


def test_the_departments_radius_applies(cast, send, at_the_customer):
    FieldRule.objects.create(department=None, radius_m=300)
    FieldRule.objects.create(department=cast.east, radius_m=1000)

    with sent_at(T0):
        east = send(cast.east_rep, at_the_customer, position=north_of(PEOPLE_SQUARE, 800))
    south_customer = located(cast.south_rep)
    with sent_at(T0):
        south = send(cast.south_rep, south_customer, position=north_of(PEOPLE_SQUARE, 800))

    assert east.json()["flags"] == []
    assert south.json()["flags"][0]["detail"]["radius_m"] == 300


def test_a_customer_without_a_location_is_not_measured_and_says_so(cast, send):
    customer = CustomerFactory(owner=cast.east_rep)

    with sent_at(T0):
        response = send(cast.east_rep, customer, position=PEOPLE_SQUARE)

    body = response.json()
    assert body["flags"] == []
    assert body["distance_m"] is None
    assert body["remarks"] == [
        {
            "kind": "customer_not_located",
            "text": "Distance not checked: the customer has no location",
        }
    ]


def test_a_customer_located_from_an_amap_position_measures_gps_visits_right(cast, send, api_client):
    from kedun.core.geo import GCJ02, Position, from_wgs84

    customer = CustomerFactory(owner=cast.east_rep)
    on_amap = from_wgs84(Position(*PEOPLE_SQUARE), GCJ02)  # what 高德 shows for the door
    api_client.force_authenticate(cast.east_rep)
    api_client.post(
        f"/api/v1/customers/{customer.pk}/location/",
        {"lat": on_amap.lat, "lng": on_amap.lng, "coord_system": "gcj02"},
        format="json",
    )

    with sent_at(T0):
        response = send(cast.east_rep, customer, position=PEOPLE_SQUARE, accuracy=5)

    assert response.json()["distance_m"] < 1
    assert response.json()["flags"] == []


# -- impossible speed ---------------------------------------------------------------------------


def test_twenty_km_in_five_minutes_flags_the_later_check_in(cast, send, at_the_customer):
    far_customer = located(cast.east_rep, at=north_of(PEOPLE_SQUARE, 20_000))
    with sent_at(T0):
        first = send(cast.east_rep, at_the_customer)
    with sent_at(T0 + minutes(5)):
        second = send(cast.east_rep, far_customer, at=T0 + minutes(5))

    assert first.json()["flags"] == []
    [flag] = second.json()["flags"]
    assert flag["kind"] == "impossible_speed"
    assert flag["detail"]["previous_check_in"] == first.json()["id"]
    assert flag["reason"] == (
        f"20.0 km from the check-in at {at_the_customer.name} at 2026-03-02 10:00 in 5 min: "
        "240 km/h, faster than the believable 120 km/h"
    )


def test_the_first_check_in_of_the_day_is_not_compared_with_last_nights(
    cast, send, at_the_customer
):
    evening = located(cast.east_rep, at=north_of(PEOPLE_SQUARE, 30_000))
    with sent_at(T0 - dt.timedelta(hours=15)):
        send(cast.east_rep, evening, at=T0 - dt.timedelta(hours=15))
    with sent_at(T0):
        morning = send(cast.east_rep, at_the_customer)

    assert morning.json()["flags"] == []


def test_the_very_first_check_in_has_nothing_to_be_compared_with(cast, send, at_the_customer):
    with sent_at(T0):
        assert send(cast.east_rep, at_the_customer).json()["flags"] == []


def test_an_earlier_check_in_arriving_late_flags_the_later_one(cast, send, at_the_customer):
    far_customer = located(cast.east_rep, at=north_of(PEOPLE_SQUARE, 20_000))
    # The phone was offline: the 10:05 visit arrives first, the 10:00 one a day later.
    with sent_at(T0 + minutes(6)):
        later = send(cast.east_rep, far_customer, at=T0 + minutes(5))
    with sent_at(T0 + dt.timedelta(days=1)):
        earlier = send(cast.east_rep, at_the_customer, at=T0)

    assert later.json()["flags"] == []
    assert earlier.json()["flags"] == []
    assert earlier.json()["late"] is True
    flag = CheckInFlag.objects.get(check_in_id=later.json()["id"])
    assert flag.kind == "impossible_speed"
    assert flag.detail["previous_check_in"] == earlier.json()["id"]
    event = AuditEvent.objects.get(action="check_in.flagged")
    assert event.object_id == str(later.json()["id"])


def test_a_backlog_is_compared_by_the_phones_time_not_by_arrival(cast, send, at_the_customer):
    far_customer = located(cast.east_rep, at=north_of(PEOPLE_SQUARE, 20_000))
    # Yesterday's visits arrive today, after today's: yesterday 10:00 at the far customer does
    # not make today's 10:00 visit impossible.
    with sent_at(T0):
        today = send(cast.east_rep, at_the_customer)
    with sent_at(T0 + minutes(1)):
        yesterday = send(cast.east_rep, far_customer, at=T0 - dt.timedelta(days=1))

    assert yesterday.json()["flags"] == []
    assert not CheckInFlag.objects.filter(check_in_id=today.json()["id"]).exists()


# -- photo time, mock, reuse --------------------------------------------------------------------


def test_a_photo_from_days_before_is_flagged(cast, send, at_the_customer):
    old_photo = jpeg(taken_at=T0 - dt.timedelta(days=3))

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, photo=old_photo)

    [flag] = response.json()["flags"]
    assert flag["kind"] == "photo_stale"
    assert flag["reason"] == (
        "The photo was taken at 2026-02-27 10:00, 3 days 0 h before the check-in (allowed 10 min)"
    )


def test_a_photo_without_exif_is_not_flagged_and_says_it_carries_no_time(
    cast, send, at_the_customer
):
    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, photo=jpeg(taken_at=None))

    assert response.json()["flags"] == []
    assert response.json()["remarks"] == [
        {"kind": "photo_without_time", "text": "The photo carries no time"}
    ]


def test_an_exif_time_with_an_offset_tag_is_read_in_that_offset(cast, send, at_the_customer):
    # 02:00 UTC is 10:00 in Shanghai: the same moment as the check-in.
    utc_photo = jpeg(taken_at=dt.datetime(2026, 3, 2, 2, 0), offset="+00:00")
    # The same wall-clock digits without the tag would be 02:00 Shanghai: 8 hours off.
    naive_photo = jpeg(taken_at=T0 - dt.timedelta(hours=8))

    with sent_at(T0):
        tagged = send(cast.east_rep, at_the_customer, photo=utc_photo)
        untagged = send(cast.east_rep, at_the_customer, photo=naive_photo, at=T0 + minutes(1))

    assert tagged.json()["flags"] == []
    assert tagged.json()["photo_taken_at"] == "2026-03-02T10:00:00+08:00"
    assert flags_of(untagged) == {"photo_stale"}


def test_a_mocked_position_is_flagged(cast, send, at_the_customer):
    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, mock=True)

    assert flags_of(response) == {"mock_location"}


def test_the_same_photo_on_another_visit_is_flagged_as_reused(cast, send, at_the_customer):
    photo = jpeg(taken_at=T0)
    other = located(cast.east_rep, at=north_of(PEOPLE_SQUARE, 100))
    with sent_at(T0):
        first = send(cast.east_rep, at_the_customer, photo=photo)
    with sent_at(T0 + minutes(4)):
        second = send(cast.east_rep, other, photo=photo, at=T0 + minutes(4))

    assert first.json()["flags"] == []
    [flag] = second.json()["flags"]
    assert flag["kind"] == "photo_reuse"
    assert flag["detail"]["check_in"] == first.json()["id"]
    assert flag["reason"] == (
        f"The photo copies the one of check-in #{first.json()['id']}, taken by east_rep at "
        f"{at_the_customer.name} on 2026-03-02 10:00 (the very same file)"
    )


def test_an_upload_weeks_late_is_marked_late_not_flagged(cast, send, at_the_customer):
    with sent_at(T0 + dt.timedelta(days=21)):
        response = send(cast.east_rep, at_the_customer)

    body = response.json()
    assert body["flags"] == []
    assert body["late"] is True
    assert body["remarks"] == [
        {
            "kind": "late",
            "text": "Uploaded 21 days 0 h after the visit "
            "(an offline backlog is no evidence by itself)",
        }
    ]


# -- bad uploads: a clear error and nothing stored -----------------------------------------------


def assert_nothing_stored() -> None:
    assert CheckIn.objects.count() == 0
    assert CheckInFlag.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="check_in.").exists()
    assert stored_files() == []


def test_a_text_file_named_jpg_is_refused(cast, send, at_the_customer):
    data = check_in_form(at_the_customer)
    data["photo"] = upload("photo.jpg", b"this is not a photo at all", "image/jpeg")

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, data=data)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_photo"
    assert response.json()["message"] == (
        "This file is not a photo Kedun can read (JPEG, HEIC, PNG or WebP)."
    )
    assert_nothing_stored()


def test_an_image_kedun_does_not_take_is_refused(cast, send, at_the_customer):
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="GIF")

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, photo=out.getvalue())

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_photo"
    assert_nothing_stored()


def test_a_photo_over_the_limit_is_refused(cast, send, at_the_customer):
    big = jpeg(taken_at=T0) + b"\x00" * (21 * 1024 * 1024)  # a JPEG padded past 20 MB

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, photo=big)

    assert response.status_code == 400
    assert response.json() == {
        "code": "photo_too_large",
        "message": "The photo is larger than 20 MB.",
        "detail": None,
    }
    assert_nothing_stored()


@override_settings(KEDUN_FIELD_MAX_UPLOAD_BYTES=4096)
def test_a_voice_report_over_the_limit_is_refused(cast, send, at_the_customer):
    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, audio=WEBM + b"\x00" * 5000)

    assert response.status_code == 400
    assert response.json()["code"] == "audio_too_large"
    assert_nothing_stored()


@pytest.mark.parametrize(
    "audio",
    [b"hello, this is a text file", jpeg(taken_at=None), b"\x00" * 64],
    ids=["text", "a photo", "zeros"],
)
def test_audio_that_is_not_audio_is_refused(cast, send, at_the_customer, audio):
    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, audio=audio)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_audio"
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("name", "head", "content_type"),
    [
        ("voice.ogg", b"OggS\x00\x02" + b"\x00" * 40, "audio/ogg"),
        ("voice.m4a", b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 40, "audio/mp4"),
        ("voice.mp3", b"ID3\x04\x00" + b"\x00" * 40, "audio/mpeg"),
        ("voice.mp3", b"\xff\xfb\x90\x64" + b"\x00" * 40, "audio/mpeg"),
        ("voice.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, "audio/wav"),
    ],
)
def test_each_recording_format_is_kept_with_what_it_really_is(
    cast, send, at_the_customer, name, head, content_type
):
    data = check_in_form(at_the_customer)
    data["audio"] = upload(name, head, "application/octet-stream")

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, data=data)

    assert response.status_code == 201
    assert response.json()["audio_content_type"] == content_type


def test_missing_fields_are_named(cast, send, at_the_customer):
    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, data={"customer": at_the_customer.pk})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["detail"]) == {
        "lat",
        "lng",
        "accuracy",
        "captured_at",
        "photo",
        "idempotency_key",
    }
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("lat", "91", "invalid_position"),
        ("lng", "-181", "invalid_position"),
        ("accuracy", "-1", "invalid_accuracy"),
        ("captured_at", "2026-03-02T11:00:00+08:00", "time_in_future"),
    ],
)
def test_impossible_values_are_refused(cast, send, at_the_customer, field, value, code):
    data = check_in_form(at_the_customer)
    data[field] = value

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, data=data)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert_nothing_stored()


def test_a_need_of_another_customer_is_refused(cast, send, at_the_customer):
    from kedun.customers.models import Need

    other = CustomerFactory(owner=cast.east_rep)
    need = Need.objects.create(
        customer=other, what="钢材", recorded_by=cast.east_rep, recorded_at=T0
    )

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, need=str(need.pk))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_need"
    assert_nothing_stored()


def test_an_unknown_customer_number_is_not_found(cast, send, at_the_customer):
    data = check_in_form(at_the_customer)
    data["customer"] = "NO-SUCH-CODE"

    with sent_at(T0):
        response = send(cast.east_rep, at_the_customer, data=data)

    assert response.status_code == 404
    assert_nothing_stored()


# -- who may check in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("east_rep", 201),  # the owner
        ("east_mgr", 201),  # the owner's manager
        ("boss", 201),
        ("east_rep2", 404),  # a colleague: cannot see it
        ("south_rep", 404),
        ("south_mgr", 404),  # another branch's manager
        ("orders", 403),  # the back office sees it but does not work the account
        ("auditor", 403),
    ],
)
def test_whoever_works_the_account_may_check_in_and_nobody_else(
    cast, send, at_the_customer, who, status
):
    with sent_at(T0):
        response = send(getattr(cast, who), at_the_customer)

    assert response.status_code == status
    if status != 201:
        assert_nothing_stored()


@pytest.mark.parametrize(("access", "status"), [(TeamAccess.WRITE, 201), (TeamAccess.READ, 403)])
def test_a_collaborator_checks_in_only_with_write_access(
    cast, send, at_the_customer, access, status
):
    TeamMember.objects.create(
        customer=at_the_customer,
        user=cast.south_rep,
        access=access,
        added_by=cast.east_rep,
        added_at=T0,
    )

    with sent_at(T0):
        response = send(cast.south_rep, at_the_customer)

    assert response.status_code == status


def test_someone_not_logged_in_is_refused(api_client, at_the_customer):
    response = api_client.post(
        "/api/v1/check-ins/", check_in_form(at_the_customer), format="multipart"
    )

    assert response.status_code == 401
    assert CheckIn.objects.count() == 0


def test_a_number_that_is_an_id_and_another_customers_number_is_not_guessed(cast, send):
    first = located(cast.east_rep)
    other = located(cast.east_rep, code=str(first.pk))
    data = check_in_form(other)
    data["customer"] = str(first.pk)

    with sent_at(T0):
        response = send(cast.east_rep, other, data=data)

    assert response.status_code == 400
    assert response.json()["code"] == "ambiguous_customer"
    assert_nothing_stored()


def test_a_check_in_from_the_apps_pages_is_marked_as_the_app(cast, client, at_the_customer):
    # The phone's pages upload with the rep's session (and CSRF token); integrations use a token.
    client.force_login(cast.east_rep)
    with sent_at(T0 + minutes(1)):
        response = client.post("/api/v1/check-ins/", check_in_form(at_the_customer))

    assert response.status_code == 201
    assert CheckIn.objects.get().source == CheckInSource.APP
