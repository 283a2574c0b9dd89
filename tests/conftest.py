from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.utils import translation

from kedun.audit import triggers
from kedun.org.models import DataScope, Department, Role, User
from tests.factories import DepartmentFactory, UserFactory

PASSWORD = "correct-horse-42"


@pytest.fixture(autouse=True)
def _audit_rows_cleared_before_flush(request):
    """Tests on a real (non-rolled-back) database end with a table flush, which the audit
    tables' append-only triggers refuse. Clear the audit rows (and the keying marker: the next
    chain records its own on its first entry) with the triggers lifted first.

    Requesting transactional_db from here makes this fixture's teardown run before its flush.
    """
    names = request.fixturenames
    if "transactional_db" not in names and "live_server" not in names:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    connection.close_if_unusable_or_obsolete()
    with transaction.atomic(), triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {triggers.TABLE}")
        cursor.execute(f"DELETE FROM {triggers.KEYING_TABLE}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET kedun.audit_maintenance = 'on'")  # lets the flush TRUNCATE


@dataclass
class Cast:
    """The fixed company every test can use.

    company ─┬─ east (manager east_mgr; reps east_rep, east_rep2, east_lead → east_junior)
             │    └─ east_team (rep east_team_rep)
             ├─ south (manager south_mgr; rep south_rep)
             └─ back office (orders, logistics, finance, auditor); boss at the top
    """

    company: Department
    east: Department
    east_team: Department
    south: Department
    back_office: Department
    boss: User
    east_mgr: User
    east_rep: User
    east_rep2: User
    east_lead: User
    east_junior: User
    east_team_rep: User
    south_mgr: User
    south_rep: User
    orders: User
    logistics: User
    finance: User
    auditor: User

    def by_role(self, role: str) -> User:
        return {
            Role.ADMIN: self.boss,
            Role.MANAGER: self.east_mgr,
            Role.SALES: self.east_rep,
            Role.ORDERS: self.orders,
            Role.LOGISTICS: self.logistics,
            Role.FINANCE: self.finance,
            Role.AUDITOR: self.auditor,
        }[role]


@pytest.fixture
def cast(db) -> Cast:
    return make_cast()


def make_cast() -> Cast:
    """The cast's rows, for fixtures wider than one test (tests/api/test_fuzz.py)."""
    company = DepartmentFactory(name="公司")
    east = DepartmentFactory(name="华东", parent=company)
    east_team = DepartmentFactory(name="华东一组", parent=east)
    south = DepartmentFactory(name="华南", parent=company)
    back = DepartmentFactory(name="后台", parent=company)
    boss = UserFactory(username="boss", role=Role.ADMIN, department=company)
    east_mgr = UserFactory(username="east_mgr", role=Role.MANAGER, department=east, manager=boss)
    east_lead = UserFactory(
        username="east_lead",
        department=east,
        manager=east_mgr,
        data_scope=DataScope.OWN_AND_SUBORDINATES,
    )
    south_mgr = UserFactory(username="south_mgr", role=Role.MANAGER, department=south, manager=boss)
    return Cast(
        company=company,
        east=east,
        east_team=east_team,
        south=south,
        back_office=back,
        boss=boss,
        east_mgr=east_mgr,
        east_rep=UserFactory(username="east_rep", department=east, manager=east_mgr),
        east_rep2=UserFactory(username="east_rep2", department=east, manager=east_mgr),
        east_lead=east_lead,
        east_junior=UserFactory(username="east_junior", department=east, manager=east_lead),
        east_team_rep=UserFactory(username="east_team_rep", department=east_team, manager=east_mgr),
        south_mgr=south_mgr,
        south_rep=UserFactory(username="south_rep", department=south, manager=south_mgr),
        orders=UserFactory(username="orders", role=Role.ORDERS, department=back),
        logistics=UserFactory(username="logistics", role=Role.LOGISTICS, department=back),
        finance=UserFactory(username="finance", role=Role.FINANCE, department=back),
        auditor=UserFactory(username="auditor", role=Role.AUDITOR, department=back),
    )


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def sentences_in_english(request):
    """Sentences asserted by their English msgids, whatever the .po files say (pages and the
    API speak the user's language: Simplified Chinese unless asked). Test directories that
    assert on messages use it autouse."""
    with translation.override("en"):
        for name in ("client", "api_client"):
            if name in request.fixturenames:
                request.getfixturevalue(name).defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        yield
