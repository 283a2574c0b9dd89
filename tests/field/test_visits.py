"""After the check-in: check-out, a manager's review (and the location it teaches), the list
of a rep's check-ins, and who may see them."""

from __future__ import annotations

import datetime as dt

import pytest

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.customers.models import LocationSource
from kedun.field.models import CheckIn, Review
from kedun.notifications.models import Notification
from tests.factories import CustomerFactory

from .conftest import PEOPLE_SQUARE, T0, located, minutes, north_of


@pytest.fixture
def visit(cast, send):
    """A check-in of east_rep at 10:00, flagged far from the customer."""
    customer = located(cast.east_rep)
    with clock.frozen_at(T0):
        body = send(cast.east_rep, customer, position=north_of(PEOPLE_SQUARE, 2000)).json()
    return CheckIn.objects.get(pk=body["id"])


def post(api_client, user, url, data):
    api_client.force_authenticate(user)
    return api_client.post(url, data, format="json")


# -- check-out ----------------------------------------------------------------------------------


def test_checking_out_records_the_time_spent(cast, api_client, visit):
    with clock.frozen_at(T0 + minutes(50)):
        response = post(
            api_client,
            cast.east_rep,
            f"/api/v1/check-ins/{visit.pk}/check-out/",
            {
                "captured_at": (T0 + minutes(45)).isoformat(),
                "lat": 31.2,
                "lng": 121.4,
                "accuracy": 8,
            },
        )

    assert response.status_code == 200
    assert response.json()["checked_out_at"] == "2026-03-02T10:45:00+08:00"
    assert response.json()["seconds_spent"] == 45 * 60
    visit.refresh_from_db()
    assert (visit.checked_out_lat, visit.checked_out_lng, visit.checked_out_accuracy_m) == (
        31.2,
        121.4,
        8,
    )
    event = AuditEvent.objects.get(action="check_in.checked_out")
    assert '"seconds_spent":2700' in event.changes


def test_the_same_check_out_sent_again_changes_nothing(cast, api_client, visit):
    url = f"/api/v1/check-ins/{visit.pk}/check-out/"
    body = {"captured_at": (T0 + minutes(45)).isoformat()}
    with clock.frozen_at(T0 + minutes(50)):
        first = post(api_client, cast.east_rep, url, body)
        again = post(api_client, cast.east_rep, url, body)

    assert (first.status_code, again.status_code) == (200, 200)
    assert AuditEvent.objects.filter(action="check_in.checked_out").count() == 1


def test_a_second_check_out_at_another_time_is_refused(cast, api_client, visit):
    url = f"/api/v1/check-ins/{visit.pk}/check-out/"
    with clock.frozen_at(T0 + minutes(50)):
        post(api_client, cast.east_rep, url, {"captured_at": (T0 + minutes(45)).isoformat()})
        again = post(
            api_client, cast.east_rep, url, {"captured_at": (T0 + minutes(48)).isoformat()}
        )

    assert again.status_code == 409
    assert again.json()["code"] == "already_checked_out"
    visit.refresh_from_db()
    assert visit.checked_out_at == T0 + minutes(45)


def test_a_check_out_before_the_check_in_is_refused(cast, api_client, visit):
    with clock.frozen_at(T0 + minutes(50)):
        response = post(
            api_client,
            cast.east_rep,
            f"/api/v1/check-ins/{visit.pk}/check-out/",
            {"captured_at": (T0 - minutes(1)).isoformat()},
        )

    assert response.status_code == 400
    assert response.json()["code"] == "check_out_before_check_in"


@pytest.mark.parametrize(("who", "status"), [("east_mgr", 403), ("east_rep2", 404), ("boss", 403)])
def test_only_the_rep_who_checked_in_checks_out(cast, api_client, visit, who, status):
    with clock.frozen_at(T0 + minutes(50)):
        response = post(
            api_client,
            getattr(cast, who),
            f"/api/v1/check-ins/{visit.pk}/check-out/",
            {"captured_at": (T0 + minutes(45)).isoformat()},
        )

    assert response.status_code == status
    visit.refresh_from_db()
    assert visit.checked_out_at is None


# -- review -------------------------------------------------------------------------------------


def test_a_manager_accepts_a_flagged_check_in_and_it_is_audited(cast, api_client, visit):
    with clock.frozen_at(T0 + dt.timedelta(hours=2)):
        response = post(
            api_client,
            cast.east_mgr,
            f"/api/v1/check-ins/{visit.pk}/review/",
            {"decision": "accept", "note": "客户搬到了新厂区，电话确认过"},
        )

    assert response.status_code == 200
    assert response.json()["review"] == {
        "decision": "accepted",
        "note": "客户搬到了新厂区，电话确认过",
        "by": "east_mgr",
        "at": "2026-03-02T12:00:00+08:00",
    }
    event = AuditEvent.objects.get(action="check_in.reviewed")
    assert event.actor_id == cast.east_mgr.pk
    assert '"flags":["far_from_customer"]' in event.changes


def test_questioning_needs_a_note_and_tells_the_rep(cast, api_client, visit):
    url = f"/api/v1/check-ins/{visit.pk}/review/"
    with clock.frozen_at(T0 + dt.timedelta(hours=2)):
        bare = post(api_client, cast.east_mgr, url, {"decision": "question"})
        noted = post(
            api_client, cast.east_mgr, url, {"decision": "question", "note": "离客户两公里？"}
        )

    assert bare.status_code == 400
    assert bare.json()["code"] == "note_required"
    assert noted.status_code == 200
    notice = Notification.objects.get(recipient=cast.east_rep)
    assert notice.kind == "check_in_questioned"
    assert notice.body == "离客户两公里？"


@pytest.mark.parametrize(
    ("who", "status"),
    [("east_rep", 403), ("east_rep2", 404), ("south_mgr", 404), ("orders", 404), ("boss", 200)],
)
def test_only_the_reps_manager_or_the_boss_reviews(cast, api_client, visit, who, status):
    response = post(
        api_client,
        getattr(cast, who),
        f"/api/v1/check-ins/{visit.pk}/review/",
        {"decision": "accept", "note": ""},
    )

    assert response.status_code == status
    visit.refresh_from_db()
    assert (visit.review == Review.ACCEPTED) == (status == 200)
    assert AuditEvent.objects.filter(action="check_in.reviewed").exists() == (status == 200)


def test_a_manager_never_reviews_their_own_check_in(cast, send, api_client):
    customer = located(cast.east_rep)
    with clock.frozen_at(T0):
        own = send(cast.east_mgr, customer, mock=True).json()

    response = post(
        api_client, cast.east_mgr, f"/api/v1/check-ins/{own['id']}/review/", {"decision": "accept"}
    )

    assert response.status_code == 403
    assert CheckIn.objects.get(pk=own["id"]).review == Review.NONE


def test_accepting_the_first_visit_to_an_unlocated_customer_teaches_its_location(
    cast, send, api_client
):
    customer = CustomerFactory(owner=cast.east_rep)
    with clock.frozen_at(T0):
        first = send(cast.east_rep, customer, position=PEOPLE_SQUARE, accuracy=12).json()
    with clock.frozen_at(T0 + dt.timedelta(days=1)):
        second = send(
            cast.east_rep,
            customer,
            at=T0 + dt.timedelta(days=1),
            position=north_of(PEOPLE_SQUARE, 300),
        ).json()

    with clock.frozen_at(T0 + dt.timedelta(days=2)):
        post(
            api_client,
            cast.east_mgr,
            f"/api/v1/check-ins/{first['id']}/review/",
            {"decision": "accept"},
        )
        post(
            api_client,
            cast.east_mgr,
            f"/api/v1/check-ins/{second['id']}/review/",
            {"decision": "accept"},
        )

    customer.refresh_from_db()
    assert (customer.lat, customer.lng) == PEOPLE_SQUARE
    assert customer.location_source == LocationSource.CHECK_IN
    event = AuditEvent.objects.get(action="customer.located")
    assert f'"check_in":{first["id"]}' in event.changes
    api_client.force_authenticate(cast.east_rep)
    detail = api_client.get(f"/api/v1/customers/{customer.pk}/").json()
    assert detail["location"] == {"lat": PEOPLE_SQUARE[0], "lng": PEOPLE_SQUARE[1]}
    assert detail["location_source"] == "check_in"


@pytest.mark.parametrize(("mock", "accuracy"), [(True, 10), (False, 150)])
def test_a_mocked_or_rough_position_does_not_become_the_location(
    cast, send, api_client, mock, accuracy
):
    customer = CustomerFactory(owner=cast.east_rep)
    with clock.frozen_at(T0):
        body = send(cast.east_rep, customer, position=PEOPLE_SQUARE, mock=mock, accuracy=accuracy)

    post(
        api_client,
        cast.east_mgr,
        f"/api/v1/check-ins/{body.json()['id']}/review/",
        {"decision": "accept"},
    )

    customer.refresh_from_db()
    assert customer.lat is None
    assert not AuditEvent.objects.filter(action="customer.located").exists()


# -- reading check-ins --------------------------------------------------------------------------


@pytest.fixture
def two_reps_days(cast, send):
    mine = located(cast.east_rep)
    theirs = located(cast.south_rep)
    with clock.frozen_at(T0 + minutes(30)):
        send(cast.east_rep, mine)
        send(cast.east_rep, mine, at=T0 + minutes(20))
        send(cast.east_rep, mine, at=T0 - dt.timedelta(days=1))
        send(cast.south_rep, theirs)


@pytest.mark.parametrize(
    ("who", "count"),
    [
        ("east_rep", 3),
        ("east_rep2", 0),
        ("east_lead", 0),  # leads a rep, but is no manager
        ("east_mgr", 3),
        ("south_mgr", 1),
        ("boss", 4),
        ("orders", 0),
        ("auditor", 0),
    ],
)
def test_each_sees_the_check_ins_of_their_scope(cast, api_client, two_reps_days, who, count):
    api_client.force_authenticate(getattr(cast, who))

    assert api_client.get("/api/v1/check-ins/").json()["count"] == count


def test_a_reps_day_reads_in_visit_order(cast, api_client, two_reps_days):
    api_client.force_authenticate(cast.east_mgr)

    body = api_client.get("/api/v1/check-ins/?user=east_rep&date=2026-03-02").json()

    assert [c["captured_at"] for c in body["results"]] == [
        "2026-03-02T10:00:00+08:00",
        "2026-03-02T10:20:00+08:00",
    ]


def test_a_bad_date_or_an_unknown_user_is_said(cast, api_client):
    api_client.force_authenticate(cast.east_mgr)

    assert api_client.get("/api/v1/check-ins/?date=2026-02-30").json()["code"] == "invalid"
    assert api_client.get("/api/v1/check-ins/?user=nobody").status_code == 400


def test_one_check_in_is_not_found_for_someone_outside_its_scope(cast, api_client, visit):
    api_client.force_authenticate(cast.south_mgr)
    assert api_client.get(f"/api/v1/check-ins/{visit.pk}/").status_code == 404
    api_client.force_authenticate(cast.east_mgr)
    body = api_client.get(f"/api/v1/check-ins/{visit.pk}/").json()
    assert body["flags"][0]["kind"] == "far_from_customer"


# -- a merge of two records ----------------------------------------------------------------------


def test_a_merge_takes_the_visits_and_the_location_to_the_survivor(cast, send):
    from kedun.customers.disputes import customer_merge

    survivor = CustomerFactory(owner=cast.east_rep)
    merged = located(cast.east_rep)
    with clock.frozen_at(T0):
        visit = send(cast.east_rep, merged).json()

    customer_merge(actor=cast.east_mgr, survivor=survivor, merged=merged, reason="同一家公司")

    assert CheckIn.objects.get(pk=visit["id"]).customer == survivor
    survivor.refresh_from_db()
    assert (survivor.lat, survivor.lng) == PEOPLE_SQUARE
    event = AuditEvent.objects.get(action="customer.merged")
    assert '"check_ins":1' in event.changes
