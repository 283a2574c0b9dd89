"""The checks alone, at their edges: pure functions, no database."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kedun.core.geo import Position
from kedun.field import checks
from kedun.field.checks import Fix
from kedun.field.photo_copies import PhotoCopy

from .conftest import PEOPLE_SQUARE, T0, minutes, north_of

HERE = Position(*PEOPLE_SQUARE)


def fix(at: dt.datetime, metres_north: float = 0, accuracy: float = 10, pk: int = 1) -> Fix:
    return Fix(at, Position(*north_of(PEOPLE_SQUARE, metres_north)), accuracy, pk)


# -- far from the customer ------------------------------------------------------------------------


def test_a_visit_within_the_radius_is_not_flagged():
    assert checks.far_from_customer(distance=499.9, accuracy_m=0, radius_m=500) is None


def test_exactly_at_the_radius_is_not_flagged():
    assert checks.far_from_customer(distance=500, accuracy_m=0, radius_m=500) is None


def test_just_beyond_the_radius_is_flagged_with_the_figures():
    finding = checks.far_from_customer(distance=530.25, accuracy_m=30, radius_m=500)

    assert finding == checks.Finding(
        "far_from_customer", {"distance_m": 530.2, "accuracy_m": 30.0, "radius_m": 500}
    )


def test_the_reported_accuracy_is_granted_before_the_radius():
    assert checks.far_from_customer(distance=700, accuracy_m=200, radius_m=500) is None
    assert checks.far_from_customer(distance=700.5, accuracy_m=200, radius_m=500) is not None


def test_an_accuracy_larger_than_the_radius_makes_a_nearby_fix_unflaggable():
    # A phone indoors says ±800 m: a fix 1.2 km off could still be at the door.
    assert checks.far_from_customer(distance=1200, accuracy_m=800, radius_m=500) is None
    # … but not one 5 km off.
    assert checks.far_from_customer(distance=5000, accuracy_m=800, radius_m=500) is not None


# -- impossible speed -----------------------------------------------------------------------------


def test_twenty_km_in_five_minutes_is_impossible():
    finding = checks.impossible_speed(
        previous=fix(T0), current=fix(T0 + minutes(5), 20_000, pk=2), max_speed_kmh=120
    )

    assert finding is not None
    assert finding.kind == "impossible_speed"
    assert finding.detail["previous_check_in"] == 1
    assert finding.detail["seconds"] == 300
    assert finding.detail["distance_m"] == pytest.approx(20_000, abs=1)
    # (20 000 − 10 − 10) m in 300 s
    assert finding.detail["speed_kmh"] == 240
    assert finding.detail["max_speed_kmh"] == 120


def test_a_drive_across_town_in_an_hour_is_believable():
    assert (
        checks.impossible_speed(
            previous=fix(T0), current=fix(T0 + minutes(60), 30_000), max_speed_kmh=120
        )
        is None
    )


def test_both_accuracies_are_subtracted_from_the_distance():
    # 15 km in 7 min is 128.6 km/h; granting ±501 m at each end leaves 13 998 m: 119.98.
    previous = fix(T0, 0, accuracy=501)
    current = fix(T0 + minutes(7), 15_000, accuracy=501)
    assert checks.impossible_speed(previous=previous, current=current, max_speed_kmh=120) is None

    sharp = fix(T0 + minutes(7), 15_000, accuracy=10)
    assert checks.impossible_speed(previous=fix(T0), current=sharp, max_speed_kmh=120) is not None


def test_a_short_gap_with_a_small_distance_is_no_evidence():
    # 400 m in 5 s would be 288 km/h; over the minute's floor it is 24 km/h.
    current = fix(T0 + dt.timedelta(seconds=5), 400)
    assert checks.impossible_speed(previous=fix(T0), current=current, max_speed_kmh=120) is None


def test_a_short_gap_with_a_jump_across_the_city_is_still_impossible():
    current = fix(T0 + dt.timedelta(seconds=20), 20_000)
    finding = checks.impossible_speed(previous=fix(T0), current=current, max_speed_kmh=120)

    assert finding is not None
    assert finding.detail["seconds"] == 20


def test_two_check_ins_at_the_same_moment_and_place_are_fine():
    assert checks.impossible_speed(previous=fix(T0), current=fix(T0), max_speed_kmh=120) is None


def test_the_speed_check_refuses_a_later_previous():
    with pytest.raises(ValueError):
        checks.impossible_speed(previous=fix(T0 + minutes(1)), current=fix(T0), max_speed_kmh=120)


# -- photo time -----------------------------------------------------------------------------------


def test_a_photo_without_a_time_is_not_flagged():
    assert checks.photo_stale(taken_at=None, captured_at=T0, max_minutes=10) is None


def test_a_photo_taken_exactly_ten_minutes_before_is_not_flagged():
    assert checks.photo_stale(taken_at=T0 - minutes(10), captured_at=T0, max_minutes=10) is None


def test_a_photo_taken_a_second_more_than_ten_minutes_before_is_flagged():
    taken = T0 - minutes(10) - dt.timedelta(seconds=1)
    finding = checks.photo_stale(taken_at=taken, captured_at=T0, max_minutes=10)

    assert finding == checks.Finding(
        "photo_stale",
        {
            "taken_at": taken.isoformat(),
            "difference_s": 601,
            "taken_before": True,
            "max_minutes": 10,
        },
    )


def test_a_photo_dated_after_the_check_in_is_flagged_too():
    finding = checks.photo_stale(taken_at=T0 + minutes(30), captured_at=T0, max_minutes=10)

    assert finding is not None
    assert finding.detail["taken_before"] is False


# -- mock and photo reuse -------------------------------------------------------------------------


def test_a_mocked_position_is_flagged_and_a_real_one_is_not():
    assert checks.mock_location(mock=True) == checks.Finding("mock_location", {})
    assert checks.mock_location(mock=False) is None


def test_photo_reuse_carries_the_detectors_evidence_as_plain_json():
    copy = PhotoCopy(
        check_in_id=7, evidence={"hash_distance": np.int64(3), "residual": np.float32(1.5)}
    )

    finding = checks.photo_reuse(copy)

    assert finding == checks.Finding(
        "photo_reuse", {"check_in": 7, "evidence": {"hash_distance": 3, "residual": 1.5}}
    )
    assert type(finding.detail["evidence"]["hash_distance"]) is int
    assert checks.photo_reuse(None) is None


def test_the_copy_detectors_figures_are_put_in_words():
    from kedun.field.presentation import evidence_text

    assert evidence_text({"identical_file": True}) == "the very same file"
    assert evidence_text(
        {"correlation": 0.98765, "residual": 1.234, "changed": 0.0031, "cover": 0.62, "scale": 0.8}
    ) == (
        "correlation 0.988 after alignment, residual 1.2 grey levels, 0.3% of pixels changed, "
        "62% of it within the earlier photo, scaled to 80%"
    )
    assert evidence_text({"hash_distance": 3, "orb": 0.51234}) == "hash distance 3, orb 0.512"
    assert evidence_text({}) == "the same picture"
