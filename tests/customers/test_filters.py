"""The customer list's filters, on the page and in the API, inside the viewer's scope."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kedun.customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(cast):
    return {
        "won": CustomerFactory(owner=cast.east_rep, name="甲公司", stage="won"),
        "lead": CustomerFactory(owner=cast.east_rep2, name="乙公司"),
        "team": CustomerFactory(owner=cast.east_team_rep, name="丙公司", needs_review=True),
        "south": CustomerFactory(owner=cast.south_rep, name="丁公司"),
    }


def names(response) -> set[str]:
    return {c.name for c in response.context["page"]}


def test_filters_on_the_page_stay_inside_the_scope(cast, customers, client):
    client.force_login(cast.east_mgr)
    url = reverse("customer-list")
    assert names(client.get(url)) == {"甲公司", "乙公司", "丙公司"}
    assert names(client.get(url, {"stage": "won"})) == {"甲公司"}
    assert names(client.get(url, {"owner": "EAST_REP2"})) == {"乙公司"}
    assert names(client.get(url, {"department": cast.east_team.pk})) == {"丙公司"}
    assert names(client.get(url, {"needs_review": "true"})) == {"丙公司"}
    assert names(client.get(url, {"owner": "south_rep"})) == set()  # not in scope


def test_filters_in_the_api(cast, customers, api_client):
    api_client.force_authenticate(cast.boss)
    listed = api_client.get(f"/api/v1/customers/?department={cast.south.pk}").json()
    assert [c["name"] for c in listed["results"]] == ["丁公司"]
    listed = api_client.get("/api/v1/customers/?needs_review=false&stage=lead").json()
    assert {c["name"] for c in listed["results"]} == {"乙公司", "丁公司"}
    assert Customer.objects.count() == 4
