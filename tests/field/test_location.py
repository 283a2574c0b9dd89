"""The customer's location: set by its owner or a manager (API and page), from a phone's own
position or a Chinese map's coordinates (converted to WGS-84), read back in the detail."""

from __future__ import annotations

import pytest

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.geo import BD09, GCJ02, Position, distance_m, from_wgs84
from kedun.customers.models import Customer, LocationSource, TeamMember
from kedun.notifications.models import Notification
from tests.factories import CustomerFactory

from .conftest import PEOPLE_SQUARE, T0, north_of

DOOR = Position(*PEOPLE_SQUARE)


@pytest.fixture
def customer(cast):
    return CustomerFactory(owner=cast.east_rep)


def locate(api_client, user, customer, **body):
    api_client.force_authenticate(user)
    return api_client.post(f"/api/v1/customers/{customer.pk}/location/", body, format="json")


def test_the_owner_sets_the_location_and_reads_it_back_in_the_detail(cast, api_client, customer):
    with clock.frozen_at(T0):
        response = locate(api_client, cast.east_rep, customer, lat=DOOR.lat, lng=DOOR.lng)

    assert response.status_code == 200
    assert response.json() == {
        "location": {"lat": DOOR.lat, "lng": DOOR.lng},
        "location_source": "set",
        "located_at": "2026-03-02T10:00:00+08:00",
    }
    detail = api_client.get(f"/api/v1/customers/{customer.pk}/").json()
    assert detail["location"] == {"lat": DOOR.lat, "lng": DOOR.lng}
    event = AuditEvent.objects.get(action="customer.located")
    assert event.actor_id == cast.east_rep.pk
    assert '"lat":[null,31.2304]' in event.changes


def test_an_unlocated_customer_reads_null(cast, api_client, customer):
    api_client.force_authenticate(cast.east_rep)

    assert api_client.get(f"/api/v1/customers/{customer.pk}/").json()["location"] is None


@pytest.mark.parametrize("system", [GCJ02, BD09])
def test_gcj02_and_bd09_are_converted_and_stored_as_wgs84(cast, api_client, customer, system):
    shown = from_wgs84(DOOR, system)

    response = locate(
        api_client, cast.east_rep, customer, lat=shown.lat, lng=shown.lng, coord_system=system
    )

    stored = response.json()["location"]
    assert distance_m(Position(stored["lat"], stored["lng"]), DOOR) < 0.5
    assert distance_m(shown, DOOR) > 100


def test_an_unknown_coordinate_system_is_refused(cast, api_client, customer):
    response = locate(api_client, cast.east_rep, customer, lat=31, lng=121, coord_system="mars")

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.lat is None


def test_a_phone_position_rougher_than_100_m_is_refused(cast, api_client, customer):
    response = locate(api_client, cast.east_rep, customer, lat=31, lng=121, accuracy=350)

    assert response.status_code == 400
    assert response.json()["code"] == "inaccurate_position"
    assert not AuditEvent.objects.filter(action="customer.located").exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("east_rep", 200),
        ("east_mgr", 200),
        ("boss", 200),
        ("east_rep2", 404),
        ("south_mgr", 404),
        ("orders", 403),
    ],
)
def test_the_owner_or_a_manager_may_set_it_and_nobody_else(cast, api_client, customer, who, status):
    response = locate(api_client, getattr(cast, who), customer, lat=DOOR.lat, lng=DOOR.lng)

    assert response.status_code == status
    customer.refresh_from_db()
    assert (customer.lat is not None) == (status == 200)
    assert AuditEvent.objects.filter(action="customer.located").exists() == (status == 200)


def test_an_owner_moving_a_set_location_far_tells_their_manager(cast, api_client, customer):
    locate(api_client, cast.east_rep, customer, lat=DOOR.lat, lng=DOOR.lng)
    moved = north_of(PEOPLE_SQUARE, 3000)

    locate(api_client, cast.east_rep, customer, lat=moved[0], lng=moved[1])

    notice = Notification.objects.get(recipient=cast.east_mgr)
    assert notice.kind == "customer_location_moved"
    assert "3000 m" in notice.title


def test_a_manager_moving_it_tells_nobody(cast, api_client, customer):
    locate(api_client, cast.east_rep, customer, lat=DOOR.lat, lng=DOOR.lng)
    moved = north_of(PEOPLE_SQUARE, 3000)

    locate(api_client, cast.east_mgr, customer, lat=moved[0], lng=moved[1])

    assert not Notification.objects.exists()


# -- the page -----------------------------------------------------------------------------------


def test_use_my_position_here_on_the_customer_page(cast, client, customer):
    client.force_login(cast.east_rep)
    page = client.get(f"/customers/{customer.pk}/")
    assert b'id="location-here-form"' in page.content
    assert b'id="use-my-position"' in page.content

    response = client.post(
        f"/customers/{customer.pk}/location/",
        {"lat": DOOR.lat, "lng": DOOR.lng, "accuracy": "12", "coord_system": "wgs84"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"/customers/{customer.pk}/#field"
    customer.refresh_from_db()
    assert (customer.lat, customer.lng, customer.location_source) == (
        DOOR.lat,
        DOOR.lng,
        LocationSource.SET,
    )
    assert b"31.230400, 121.473700" in response.content


def test_the_page_says_why_a_position_was_not_taken(cast, client, customer):
    client.force_login(cast.east_rep)

    empty = client.post(f"/customers/{customer.pk}/location/", {"lat": "", "lng": ""}, follow=True)
    rough = client.post(
        f"/customers/{customer.pk}/location/",
        {"lat": "31.2", "lng": "121.4", "accuracy": "900", "coord_system": "wgs84"},
        follow=True,
    )

    assert "Give the latitude and the longitude as numbers." in empty.content.decode()
    assert "only accurate to ±900 m" in rough.content.decode()
    assert Customer.objects.get(pk=customer.pk).lat is None


def test_a_colleague_sees_no_location_form(cast, client, customer):
    TeamMember.objects.create(
        customer=customer, user=cast.east_rep2, access="read", added_by=cast.east_rep, added_at=T0
    )
    client.force_login(cast.east_rep2)

    page = client.get(f"/customers/{customer.pk}/")

    assert page.status_code == 200
    assert b'id="location-here-form"' not in page.content
    assert b'id="check-in-link"' not in page.content
    assert (
        client.post(
            f"/customers/{customer.pk}/location/",
            {"lat": "31", "lng": "121", "coord_system": "wgs84"},
        ).status_code
        == 403
    )
