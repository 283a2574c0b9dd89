"""The field pages: the check-in form (working without JavaScript as far as a browser lets
it), the customer's page with its visits, a rep's day drawn, the manager's dashboard and its
reviews, the field rules, the menu, and the larger bodies only the check-in routes take."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.middleware import RequestSizeLimitMiddleware
from kedun.field.models import CheckIn, CheckInSource, FieldRule, Review
from kedun.field.rules import thresholds_for

from .conftest import PEOPLE_SQUARE, T0, WEBM, jpeg, located, minutes, north_of, upload


@pytest.fixture
def customer(cast):
    return located(cast.east_rep)


def form_data(customer, **extra):
    data = {
        "lat": str(customer.lat),
        "lng": str(customer.lng),
        "accuracy": "9",
        "captured_at": T0.isoformat(),
        "mock": "false",
        "idempotency_key": "page-key-1",
        "photo": upload("photo.jpg", jpeg(taken_at=T0), "image/jpeg"),
        "note": "现场看了样品",
    }
    data.update(extra)
    return data


# -- the check-in form --------------------------------------------------------------------------


def test_the_check_in_form_opens_the_camera_and_leaves_the_position_to_the_phone(
    cast, client, customer
):
    client.force_login(cast.east_rep)

    page = client.get(f"/customers/{customer.pk}/check-in/").content.decode()

    assert 'id="check-in-form"' in page
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input[^>]*type="file"[^>]*name="photo"[^>]*>', page)
    photo_input = re.search(r'<input[^>]*name="photo"[^>]*>', page).group(0)
    assert 'capture="environment"' in photo_input and 'accept="image/*"' in photo_input
    for hook in ('data-geo="lat"', 'data-geo="lng"', 'data-geo="accuracy"', "data-captured-at"):
        assert hook in page
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', page)
    assert 'data-api="/api/v1/check-ins/"' in page


def test_checking_in_from_the_page_records_an_app_visit(cast, client, customer):
    client.force_login(cast.east_rep)

    with clock.frozen_at(T0 + minutes(1)):
        response = client.post(
            f"/customers/{customer.pk}/check-in/",
            form_data(customer, audio=upload("v.webm", WEBM, "audio/webm")),
        )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/#field"
    check_in = CheckIn.objects.get()
    assert check_in.source == CheckInSource.APP
    assert check_in.note == "现场看了样品"
    with clock.frozen_at(T0 + minutes(2)):
        page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="check-out-form"' in page  # the visit is open
    assert 'class="entry-check_in"' in page
    assert f'<audio controls preload="none" src="/api/v1/check-ins/{check_in.pk}/audio/"' in page


def test_a_double_submitted_form_is_one_visit(cast, client, customer):
    client.force_login(cast.east_rep)
    photo = jpeg(taken_at=T0)
    with clock.frozen_at(T0 + minutes(1)):
        for _ in range(2):
            again = client.post(
                f"/customers/{customer.pk}/check-in/",
                form_data(customer, photo=upload("photo.jpg", photo, "image/jpeg")),
                follow=True,
            )

    assert CheckIn.objects.count() == 1
    assert "already arrived" in again.content.decode()


def test_without_a_position_the_form_says_so_and_stores_nothing(cast, client, customer):
    client.force_login(cast.east_rep)

    with clock.frozen_at(T0):
        response = client.post(
            f"/customers/{customer.pk}/check-in/", form_data(customer, lat="", lng="", accuracy="")
        )

    assert response.status_code == 400
    assert "Your position is missing" in response.content.decode()
    assert CheckIn.objects.count() == 0


def test_a_flagged_visit_is_said_to_the_rep_after_checking_in(cast, client, customer):
    client.force_login(cast.east_rep)
    far = north_of(PEOPLE_SQUARE, 5000)

    with clock.frozen_at(T0):
        response = client.post(
            f"/customers/{customer.pk}/check-in/",
            form_data(customer, lat=str(far[0]), lng=str(far[1])),
            follow=True,
        )

    assert "Your manager will look at: 5.0 km from" in response.content.decode()


@pytest.mark.parametrize(("who", "status"), [("east_rep2", 404), ("orders", 403)])
def test_the_check_in_form_is_refused_to_who_does_not_work_the_account(
    cast, client, customer, who, status
):
    client.force_login(getattr(cast, who))

    assert client.get(f"/customers/{customer.pk}/check-in/").status_code == status
    assert client.post(f"/customers/{customer.pk}/check-in/", form_data(customer)).status_code == (
        status
    )
    assert CheckIn.objects.count() == 0


def test_checking_out_from_the_page(cast, client, customer):
    client.force_login(cast.east_rep)
    with clock.frozen_at(T0):
        client.post(f"/customers/{customer.pk}/check-in/", form_data(customer))
    check_in = CheckIn.objects.get()

    with clock.frozen_at(T0 + minutes(40)):
        response = client.post(f"/field/check-ins/{check_in.pk}/check-out/", {}, follow=True)

    assert "after 40 min" in response.content.decode()
    check_in.refresh_from_db()
    assert check_in.checked_out_at == T0 + minutes(40)


# -- a rep's day --------------------------------------------------------------------------------


@pytest.fixture
def day(cast, send, customer):
    far = located(cast.east_rep, at=north_of(PEOPLE_SQUARE, 20_000))
    unlocated = located(cast.east_rep)
    unlocated.lat = unlocated.lng = None
    unlocated.save()
    with clock.frozen_at(T0 + minutes(10)):
        send(cast.east_rep, customer)
        send(cast.east_rep, far, at=T0 + minutes(5))
        send(cast.east_rep, unlocated, at=T0 + minutes(8), position=north_of(PEOPLE_SQUARE, 20_100))
    return customer


def test_a_reps_day_is_drawn_with_the_visits_in_order_and_the_flags_marked(cast, client, day):
    client.force_login(cast.east_rep)

    page = client.get("/field/day/?date=2026-03-02").content.decode()

    svg = re.search(r'<svg[^>]*id="day-map".*?</svg>', page, re.S).group(0)
    assert svg.count('class="kd-visit') == 3
    assert svg.count("kd-visit kd-flagged") == 1  # 20 km in 5 minutes
    assert svg.count('class="kd-customer"') == 2  # the third customer has no location
    assert "<polyline" in svg
    assert [n for n in re.findall(r">(\d)</text>", svg)] == ["1", "2", "3"]
    table = re.search(r'<table class="list" id="day-visits">.*?</table>', page, re.S).group(0)
    assert table.count("<tr data-check-in=") == 3
    assert 'data-flag="impossible_speed"' in table
    assert "1 customer has no location yet." in page


def test_a_manager_opens_a_reps_day_and_a_colleague_cannot(cast, client, day):
    client.force_login(cast.east_mgr)
    assert client.get(f"/field/day/?user={cast.east_rep.pk}&date=2026-03-02").status_code == 200
    client.force_login(cast.east_rep2)
    assert client.get(f"/field/day/?user={cast.east_rep.pk}&date=2026-03-02").status_code == 404


def test_an_empty_day_says_so(cast, client):
    client.force_login(cast.east_rep)

    page = client.get("/field/day/?date=2026-03-02").content.decode()

    assert "No visits that day." in page
    assert 'id="day-map"' not in page


@override_settings(KEDUN_MAP_TILE_URL="https://tiles.example.com/{z}/{x}/{y}.png")
def test_map_tiles_lie_behind_the_drawing_and_only_their_origin_is_allowed(cast, client, day):
    client.force_login(cast.east_rep)

    response = client.get("/field/day/?date=2026-03-02")

    assert '<image href="https://tiles.example.com/' in response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "img-src 'self' https://tiles.example.com data: blob:" in policy
    assert "connect-src 'self'" in policy
    assert "tiles.example.com" not in client.get("/field/").get("Content-Security-Policy", "")


# -- the manager's dashboard ---------------------------------------------------------------------


def test_the_dashboard_shows_todays_visits_by_rep_and_the_flags_to_review(cast, client, day):
    client.force_login(cast.east_mgr)

    with clock.frozen_at(T0 + dt.timedelta(hours=1)):
        page = client.get("/field/").content.decode()

    row = re.search(r'<tr data-rep="east_rep">.*?</tr>', page, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row)[:2] == ["3", "3"]
    assert '<span class="error">1</span>' in row
    queue = re.search(r'id="review-queue".*?</section>', page, re.S).group(0)
    assert queue.count("<article") == 1
    assert 'data-flag="impossible_speed"' in queue


def test_a_review_from_the_dashboard_is_audited_and_leaves_the_queue(cast, client, day):
    flagged = CheckIn.objects.get(flags__kind="impossible_speed")
    client.force_login(cast.east_mgr)

    response = client.post(
        f"/field/check-ins/{flagged.pk}/review/",
        {
            f"review-{flagged.pk}-decision": "questioned",
            f"review-{flagged.pk}-note": "五分钟二十公里？",
            "next": "/field/",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/field/"
    flagged.refresh_from_db()
    assert (flagged.review, flagged.review_note) == (Review.QUESTIONED, "五分钟二十公里？")
    assert AuditEvent.objects.filter(action="check_in.reviewed").count() == 1
    assert 'id="review-queue-empty"' in response.content.decode()


@pytest.mark.parametrize("who", ["east_rep", "orders", "auditor"])
def test_the_dashboard_is_for_managers(cast, client, who):
    client.force_login(getattr(cast, who))

    assert client.get("/field/").status_code == 403


def test_the_check_in_page_offers_the_review_to_the_manager_only(cast, client, day):
    flagged = CheckIn.objects.get(flags__kind="impossible_speed")
    client.force_login(cast.east_rep)
    own = client.get(f"/field/check-ins/{flagged.pk}/").content.decode()
    client.force_login(cast.east_mgr)
    managers = client.get(f"/field/check-ins/{flagged.pk}/").content.decode()

    assert "data-review-form" not in own
    assert "data-review-form" in managers
    assert "240 km/h" in own and "240 km/h" in managers


# -- field rules --------------------------------------------------------------------------------


def test_a_manager_sets_their_departments_field_rule(cast, client):
    client.force_login(cast.east_mgr)

    response = client.post(
        "/field/settings/",
        {
            "department": cast.east.pk,
            "radius_m": "800",
            "max_speed_kmh": "150",
            "photo_max_age_minutes": "15",
        },
    )

    assert response.status_code == 302
    rule = FieldRule.objects.get(department=cast.east)
    assert (rule.radius_m, rule.max_speed_kmh, rule.photo_max_age_minutes) == (800, 150, 15)
    assert thresholds_for(cast.east_team).radius_m == 800  # a team below inherits it
    assert thresholds_for(cast.south).radius_m == 500
    assert AuditEvent.objects.get(action="field.rule_set").actor_id == cast.east_mgr.pk


def test_dropping_a_departments_rule_falls_back_to_the_company(cast, client):
    FieldRule.objects.create(department=None, radius_m=300)
    FieldRule.objects.create(department=cast.east, radius_m=800)
    client.force_login(cast.boss)

    client.post("/field/settings/", {"department": cast.east.pk, "inherit": "on"})

    assert not FieldRule.objects.filter(department=cast.east).exists()
    assert thresholds_for(cast.east).radius_m == 300
    assert AuditEvent.objects.filter(action="field.rule_removed").count() == 1


def test_a_manager_cannot_change_the_companys_rule(cast, client):
    client.force_login(cast.east_mgr)

    response = client.post(
        "/field/settings/",
        {
            "department": "company",
            "radius_m": "5000",
            "max_speed_kmh": "500",
            "photo_max_age_minutes": "600",
        },
    )

    assert response.status_code == 403
    assert not FieldRule.objects.exists()


def test_field_rules_refuse_a_radius_people_cannot_mean(cast, client):
    client.force_login(cast.boss)

    response = client.post(
        "/field/settings/",
        {
            "department": "company",
            "radius_m": "5",
            "max_speed_kmh": "120",
            "photo_max_age_minutes": "10",
        },
    )

    assert response.status_code == 200
    assert re.search(r'name="radius_m"[^>]*>\s*<div class="error">', response.content.decode())
    assert not FieldRule.objects.exists()


def test_the_field_rules_api_reads_and_sets(cast, api_client):
    api_client.force_authenticate(cast.boss)

    set_ = api_client.post(
        "/api/v1/field/rules/",
        {"department": None, "radius_m": 400, "max_speed_kmh": 100, "photo_max_age_minutes": 20},
        format="json",
    )
    rules = api_client.get("/api/v1/field/rules/").json()

    assert set_.json()["level"] == "company"
    east = next(r for r in rules if r["department"] == cast.east.pk)
    assert (east["radius_m"], east["level"]) == (400, "company")
    api_client.force_authenticate(cast.east_rep)
    assert api_client.get("/api/v1/field/rules/").status_code == 403


# -- menu and request size ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "day", "dashboard"),
    [
        ("east_rep", True, False),
        ("east_mgr", True, True),
        ("boss", False, True),
        ("finance", False, False),
    ],
)
def test_the_menu_offers_my_day_and_the_field_dashboard_by_role(cast, client, who, day, dashboard):
    client.force_login(getattr(cast, who))

    page = client.get("/").content.decode()

    assert ('href="/field/day/"' in page) is day
    assert ('href="/field/"' in page) is dashboard


def size_check(path: str, megabytes: int) -> int:
    request = RequestFactory().post(path, content_type="multipart/form-data; boundary=x")
    request.META["CONTENT_LENGTH"] = str(megabytes * 1024 * 1024)
    middleware = RequestSizeLimitMiddleware(lambda request: HttpResponse())
    return middleware(request).status_code


def test_only_the_check_in_routes_take_two_twenty_mb_files():
    assert size_check("/api/v1/check-ins/", 40) == 200
    assert size_check("/customers/7/check-in/", 40) == 200
    assert size_check("/api/v1/check-ins/", 42) == 413
    assert size_check("/api/v1/customers/", 11) == 413
    assert size_check("/customers/7/location/", 11) == 413
    assert size_check("/api/v1/check-ins/7/check-out/", 11) == 413


# -- the schema ---------------------------------------------------------------------------------


def test_the_schema_describes_the_field_api(cast, client):
    import json

    client.force_login(cast.east_rep)
    schema = json.loads(client.get("/api/v1/schema/?format=json").content)

    assert {
        "/api/v1/check-ins/",
        "/api/v1/check-ins/{check_in_id}/",
        "/api/v1/check-ins/{check_in_id}/check-out/",
        "/api/v1/check-ins/{check_in_id}/review/",
        "/api/v1/check-ins/{check_in_id}/photo/",
        "/api/v1/check-ins/{check_in_id}/audio/",
        "/api/v1/customers/{customer_id}/location/",
        "/api/v1/field/rules/",
    } <= set(schema["paths"])
    upload = schema["paths"]["/api/v1/check-ins/"]["post"]
    assert set(upload["requestBody"]["content"]) == {"multipart/form-data"}
    assert {"201", "200", "409", "413"} <= set(upload["responses"])
    detail = schema["components"]["schemas"]["CustomerDetailOutput"]["properties"]
    assert "location" in detail


def test_the_customers_timeline_shows_only_the_visits_the_viewer_may_see(cast, client, send):
    from kedun.customers.models import TeamAccess, TeamMember

    customer = located(cast.east_rep)
    TeamMember.objects.create(
        customer=customer,
        user=cast.south_rep,
        access=TeamAccess.WRITE,
        added_by=cast.east_rep,
        added_at=T0,
    )
    with clock.frozen_at(T0 + minutes(30)):
        send(cast.east_rep, customer, note="负责人的拜访")
        send(cast.south_rep, customer, at=T0 + minutes(20), note="协作人的拜访")

    def visits(user) -> list[str]:
        client.force_login(user)
        page = client.get(f"/customers/{customer.pk}/").content.decode()
        return re.findall(r"(负责人的拜访|协作人的拜访)", page)

    assert visits(cast.south_rep) == ["协作人的拜访"]
    assert visits(cast.east_rep) == ["负责人的拜访"]
    assert visits(cast.boss) == ["协作人的拜访", "负责人的拜访"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp://tiles.example.com/{z}/{x}/{y}.png", "is not an http(s) URL"),
        ("https://tiles.example.com/{z}/{x}.png", "lacks {y}"),
    ],
)
def test_a_malformed_tile_url_stops_start_up_naming_the_variable(monkeypatch, value, problem):
    from kedun.config.env import ConfigError, env_tile_url

    monkeypatch.setenv("KEDUN_MAP_TILE_URL", value)

    with pytest.raises(ConfigError, match=rf"KEDUN_MAP_TILE_URL=.*{re.escape(problem)}"):
        env_tile_url("KEDUN_MAP_TILE_URL")
