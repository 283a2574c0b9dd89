"""Pools are scoped per branch (MISSION §4): a rep sees and claims the company pool and the
pool of their own branch — the department below the company — not another branch's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kedun.core import clock
from kedun.core.errors import NotFound
from kedun.lifecycle.selectors import pool_list
from kedun.lifecycle.services import branch_path, customer_claim

from .conftest import T0, days

pytestmark = pytest.mark.django_db


def test_a_branch_is_the_level_below_the_company(cast):
    assert branch_path(cast.east_team) == cast.east.path
    assert branch_path(cast.east) == cast.east.path
    assert branch_path(cast.company) is None


def test_a_rep_sees_the_company_pool_and_their_branch_pool_only(cast, in_pool):
    east = in_pool(department=cast.east_team)
    south = in_pool(department=cast.south)
    company = in_pool(department=None)
    with clock.frozen_at(T0):
        assert set(pool_list(viewer=cast.east_rep)) == {east, company}
        assert set(pool_list(viewer=cast.south_rep)) == {south, company}
        assert set(pool_list(viewer=cast.boss)) == {east, south, company}


def test_a_rep_cannot_claim_from_another_branch_pool(cast, in_pool):
    south = in_pool(since=T0 - days(3), department=cast.south)
    with clock.frozen_at(T0), pytest.raises(NotFound):
        customer_claim(actor=cast.east_rep, customer_id=south.pk)
    with clock.frozen_at(T0):
        assert customer_claim(actor=cast.south_rep, customer_id=south.pk).owner == cast.south_rep


def test_a_branch_pool_is_found_by_department_ids_without_a_join(cast, in_pool):
    # Issue 13: the branch's path reached through a join made PostgreSQL read the whole pool
    # for every page and again for its count; the branch's departments are listed first, and
    # the pool is read through customer_pool_department_idx.
    team = in_pool(department=cast.east_team)
    east = in_pool(department=cast.east)
    company = in_pool(department=None)
    in_pool(department=cast.south)
    with clock.frozen_at(T0):
        pool = pool_list(viewer=cast.east_rep)
        assert set(pool) == {team, east, company}
        with CaptureQueriesContext(connection) as queries:
            pool.all().count()
    assert "org_department" not in queries.captured_queries[-1]["sql"]
