"""Data scopes: every role × (own / teammate's / other department's) record, list and detail,
through the pages and the API; and each scope value on its own."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kedun.core.errors import NotFound
from kedun.customers.selectors import customer_get_for_viewer, customer_list_visible_to
from kedun.org.models import DataScope, Role
from kedun.org.selectors import scope_filter, subordinate_ids
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

# What each role sees with its default scope: (own record, teammate's, other department's).
EXPECTED = {
    Role.ADMIN: (True, True, True),
    Role.MANAGER: (True, True, False),
    Role.SALES: (True, False, False),
    Role.ORDERS: (True, True, True),
    Role.LOGISTICS: (True, True, True),
    Role.FINANCE: (True, True, True),
    Role.AUDITOR: (True, True, True),
}


def strip_csrf(content: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content.decode())


def records_for(cast, viewer):
    """(own, teammate's, other department's) customer for this viewer."""
    teammate = UserFactory(department=viewer.department, manager=viewer.manager)
    other_department = cast.south if viewer.department != cast.south else cast.east
    outsider = UserFactory(department=other_department)
    return (
        CustomerFactory(owner=viewer),
        CustomerFactory(owner=teammate),
        CustomerFactory(owner=outsider),
    )


@pytest.mark.parametrize("role", list(EXPECTED))
def test_selectors_follow_the_roles_default_scope(cast, role):
    viewer = cast.by_role(role)
    records = records_for(cast, viewer)
    visible = set(customer_list_visible_to(viewer=viewer).values_list("pk", flat=True))
    for record, expected in zip(records, EXPECTED[role], strict=True):
        assert (record.pk in visible) is expected
        if expected:
            assert customer_get_for_viewer(viewer=viewer, customer_id=record.pk) == record
        else:
            with pytest.raises(NotFound):
                customer_get_for_viewer(viewer=viewer, customer_id=record.pk)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_pages_follow_the_roles_default_scope(cast, client, role):
    viewer = cast.by_role(role)
    records = records_for(cast, viewer)
    client.force_login(viewer)
    listing = client.get(reverse("customer-list")).content.decode()
    for record, expected in zip(records, EXPECTED[role], strict=True):
        assert (record.name in listing) is expected
        detail = client.get(reverse("customer-detail", args=[record.pk]))
        assert detail.status_code == (200 if expected else 404)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_api_follows_the_roles_default_scope(cast, api_client, role):
    viewer = cast.by_role(role)
    records = records_for(cast, viewer)
    api_client.force_authenticate(viewer)
    listed = {
        row["id"] for row in api_client.get("/api/v1/customers/?page_size=100").json()["results"]
    }
    for record, expected in zip(records, EXPECTED[role], strict=True):
        assert (record.pk in listed) is expected
        detail = api_client.get(f"/api/v1/customers/{record.pk}/")
        assert detail.status_code == (200 if expected else 404)


def test_missing_and_not_yours_get_the_same_answer(cast, client, api_client):
    hidden = CustomerFactory(owner=cast.south_rep)
    client.force_login(cast.east_rep)
    not_yours = client.get(reverse("customer-detail", args=[hidden.pk]))
    missing = client.get(reverse("customer-detail", args=[hidden.pk + 1000]))
    assert not_yours.status_code == missing.status_code == 404
    # Identical pages but for the per-render CSRF token and the page's own address.
    assert strip_csrf(not_yours.content).replace(f"/customers/{hidden.pk}/", "") == strip_csrf(
        missing.content
    ).replace(f"/customers/{hidden.pk + 1000}/", "")
    api_client.force_authenticate(cast.east_rep)
    assert (
        api_client.get(f"/api/v1/customers/{hidden.pk}/").json()
        == api_client.get(f"/api/v1/customers/{hidden.pk + 1000}/").json()
    )


def test_own_and_subordinates_reaches_down_the_reporting_line(cast):
    # east_lead (own + subordinates) → east_junior; east_rep2 is a peer, not a report.
    mine = CustomerFactory(owner=cast.east_lead)
    juniors = CustomerFactory(owner=cast.east_junior)
    junior_of_junior = UserFactory(department=cast.east, manager=cast.east_junior)
    deep = CustomerFactory(owner=junior_of_junior)
    peers = CustomerFactory(owner=cast.east_rep2)
    visible = set(customer_list_visible_to(viewer=cast.east_lead).values_list("pk", flat=True))
    assert visible == {mine.pk, juniors.pk, deep.pk}
    assert peers.pk not in visible
    assert subordinate_ids(manager=cast.east_lead) == {cast.east_junior.pk, junior_of_junior.pk}


def test_department_scope_excludes_sub_departments(cast):
    cast.east_mgr.data_scope = DataScope.DEPARTMENT
    in_department = CustomerFactory(owner=cast.east_rep)
    in_sub_team = CustomerFactory(owner=cast.east_team_rep)
    visible = set(customer_list_visible_to(viewer=cast.east_mgr).values_list("pk", flat=True))
    assert in_department.pk in visible
    assert in_sub_team.pk not in visible


def test_department_tree_scope_includes_sub_departments_only_below(cast):
    in_sub_team = CustomerFactory(owner=cast.east_team_rep)
    other_region = CustomerFactory(owner=cast.south_rep)
    visible = set(customer_list_visible_to(viewer=cast.east_mgr).values_list("pk", flat=True))
    assert in_sub_team.pk in visible
    assert other_region.pk not in visible


def test_a_deactivated_viewer_sees_nothing(cast):
    CustomerFactory(owner=cast.boss)
    cast.boss.is_active = False
    assert customer_list_visible_to(viewer=cast.boss).count() == 0
    assert scope_filter(viewer=cast.boss) is not None


def test_a_pool_customer_is_only_in_the_all_scope(cast):
    pooled = CustomerFactory(owner=None, registered_by=cast.east_rep)
    assert customer_list_visible_to(viewer=cast.boss).filter(pk=pooled.pk).exists()
    assert not customer_list_visible_to(viewer=cast.east_mgr).filter(pk=pooled.pk).exists()
