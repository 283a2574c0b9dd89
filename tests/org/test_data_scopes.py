"""Data scopes: every role × (own / teammate's / other department's) record, list and detail,
through the pages and the API; and each scope value on its own."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kedun.core.errors import NotFound
from kedun.customers.models import TeamAccess, TeamMember
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


def counted_sql(queryset) -> str:
    """The SQL of the queryset's COUNT, the query a list page runs over the whole registry."""
    with CaptureQueriesContext(connection) as queries:
        queryset.all().count()
    return queries.captured_queries[-1]["sql"]


def on_team(customer, user, *, until=None):
    return TeamMember.objects.create(
        customer=customer,
        user=user,
        access=TeamAccess.READ,
        until=until,
        added_by=customer.owner,
        added_at=timezone.now(),
    )


def test_a_reps_list_is_found_by_ids_without_a_subquery(cast):
    # Issue 13: "owner = me OR on the account team" with the team as a subquery was an OR no
    # index serves (PostgreSQL read all the customers for every search); the team's customers
    # are listed first, and the scope reads the customers' table alone.
    mine = CustomerFactory(owner=cast.east_rep, name="杭州蓝海科技有限公司")
    helped = CustomerFactory(owner=cast.south_rep, name="广州蓝海贸易有限公司")
    expired = CustomerFactory(owner=cast.south_rep, name="深圳蓝海电子有限公司")
    CustomerFactory(owner=cast.east_rep2, name="宁波蓝海物流有限公司")
    on_team(helped, cast.east_rep)
    on_team(expired, cast.east_rep, until=timezone.localdate() - datetime.timedelta(days=1))
    listed = customer_list_visible_to(viewer=cast.east_rep, search="蓝海")
    assert set(listed) == {mine, helped}
    sql = counted_sql(listed)
    assert "customers_teammember" not in sql
    assert "org_department" not in sql and "org_user" not in sql


def test_a_managers_subtree_is_found_by_its_peoples_ids(cast):
    # The department tree through the owner's department was a join PostgreSQL answered by
    # reading every customer; the subtree's people (deactivated ones too) are listed first.
    gone = UserFactory(department=cast.east_team, is_active=False)
    expected = {
        CustomerFactory(owner=cast.east_rep),
        CustomerFactory(owner=cast.east_team_rep),
        CustomerFactory(owner=gone),
        CustomerFactory(owner=cast.east_mgr),
    }
    helped = CustomerFactory(owner=cast.south_rep)
    CustomerFactory(owner=cast.south_rep)
    on_team(helped, cast.east_mgr)
    listed = customer_list_visible_to(viewer=cast.east_mgr)
    assert set(listed) == expected | {helped}
    sql = counted_sql(listed)
    assert "org_department" not in sql and "customers_teammember" not in sql
    cast.east_mgr.data_scope = DataScope.DEPARTMENT
    listed = customer_list_visible_to(viewer=cast.east_mgr)
    assert set(listed) == {*expected, helped} - {
        c for c in expected if c.owner.department_id != cast.east.pk
    }
    assert "org_department" not in counted_sql(listed)
