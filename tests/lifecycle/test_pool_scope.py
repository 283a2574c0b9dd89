"""Pools are scoped per branch (MISSION §4): a rep sees and claims the company pool and the
pool of their own branch — the department below the company — not another branch's."""

from __future__ import annotations

import pytest

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
