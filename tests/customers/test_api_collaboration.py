"""The collaboration, dispute and notification flows through the API."""

from __future__ import annotations

import pytest

from kedun.customers.models import Customer
from kedun.customers.services import customer_register

pytestmark = pytest.mark.django_db


def test_the_whole_collision_flow_through_the_api(cast, api_client):
    customer = customer_register(actor=cast.east_rep, name="宁波市远航物流有限公司")
    api_client.force_authenticate(cast.south_rep)
    note = api_client.post(
        f"/api/v1/customers/{customer.pk}/notes/",
        {"content": "客户来电询价", "need_what": "冷链运输", "need_quantity": "每月 10 车"},
        format="json",
    )
    assert note.status_code == 201 and note.json()["need"] == "冷链运输"
    asked = api_client.post(
        f"/api/v1/customers/{customer.pk}/ownership-request/",
        {"reason": "我去年就在跟进这家客户"},
        format="json",
    )
    assert asked.status_code == 201
    again = api_client.post(
        f"/api/v1/customers/{customer.pk}/ownership-request/",
        {"reason": "我去年就在跟进这家客户"},
        format="json",
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert api_client.get("/api/v1/disputes/").status_code == 403

    api_client.force_authenticate(cast.east_rep)
    inbox = api_client.get("/api/v1/notifications/").json()
    assert inbox["unread"] == 2 and inbox["count"] == 2
    assert api_client.post("/api/v1/notifications/").json() == {"marked_read": 2}

    api_client.force_authenticate(cast.boss)
    [dispute] = api_client.get("/api/v1/disputes/").json()["results"]
    assert dispute["claimant"] == "south_rep" and dispute["owner_at_opening"] == "east_rep"
    bad = api_client.post(
        f"/api/v1/disputes/{dispute['id']}/resolve/",
        {"resolution": "transfer", "reason": ""},
        format="json",
    )
    assert bad.status_code == 400
    done = api_client.post(
        f"/api/v1/disputes/{dispute['id']}/resolve/",
        {"resolution": "transfer", "reason": "跟进记录更早"},
        format="json",
    )
    assert done.status_code == 200 and done.json()["resolution"] == "transfer"
    assert Customer.objects.get(pk=customer.pk).owner == cast.south_rep


def test_a_note_on_a_missing_customer_is_404(cast, api_client):
    api_client.force_authenticate(cast.south_rep)
    response = api_client.post("/api/v1/customers/999/notes/", {"content": "询价"}, format="json")
    assert response.status_code == 404
