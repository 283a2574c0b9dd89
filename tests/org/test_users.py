"""Users: creation, role rules, deactivation that ends sessions and tokens at once."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from kedun.audit.models import AuditEvent
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.org.models import DataScope, Role, User
from kedun.org.services import (
    department_create,
    token_for_user,
    user_create,
    user_deactivate,
    user_update,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_new_user_gets_the_roles_default_scope_and_is_audited(cast):
    user = user_create(
        actor=cast.boss,
        username="newrep",
        role=Role.SALES,
        department=cast.east,
        manager=cast.east_mgr,
        password="Long-enough-1",
    )
    assert user.data_scope == DataScope.OWN
    assert user.check_password("Long-enough-1")
    event = AuditEvent.objects.get(action="user.created")
    assert event.actor_id == cast.boss.pk
    assert event.changes_data["role"] == "sales"
    assert "password" not in event.changes


def test_only_the_boss_creates_users(cast):
    with pytest.raises(Forbidden):
        user_create(actor=cast.east_mgr, username="x", role=Role.SALES, department=cast.east)
    assert not User.objects.filter(username="x").exists()


def test_a_salesperson_can_never_have_the_all_scope(cast):
    with pytest.raises(Invalid):
        user_create(
            actor=cast.boss,
            username="x",
            role=Role.SALES,
            department=cast.east,
            data_scope=DataScope.ALL,
        )
    with pytest.raises(Invalid):
        user_update(actor=cast.boss, user=cast.east_rep, data_scope=DataScope.ALL)
    cast.east_rep.refresh_from_db()
    assert cast.east_rep.data_scope == DataScope.OWN


def test_the_database_also_refuses_a_salesperson_with_the_all_scope(cast):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=cast.east_rep.pk).update(data_scope=DataScope.ALL)


def test_a_duplicate_username_is_refused_clearly(cast):
    with pytest.raises(Conflict, match="已存在"):
        user_create(actor=None, username="EAST_REP", role=Role.SALES, department=cast.east)


def test_a_weak_password_is_refused_and_nothing_is_created(cast):
    with pytest.raises(Invalid):
        user_create(
            actor=None, username="weak", role=Role.SALES, department=cast.east, password="123"
        )
    assert not User.objects.filter(username="weak").exists()


def test_changing_role_resets_the_scope_to_the_new_roles_default(cast):
    user = user_update(actor=cast.boss, user=cast.east_rep, role=Role.MANAGER)
    assert user.data_scope == DataScope.DEPARTMENT_TREE
    event = AuditEvent.objects.get(action="user.updated")
    assert event.changes_data == {
        "data_scope": ["own", "department_tree"],
        "role": ["sales", "manager"],
    }


def test_department_paths_nest(cast):
    team = department_create(actor=cast.boss, name="华东二组", parent=cast.east)
    assert team.path == f"{cast.east.path}{team.pk}/"
    with pytest.raises(Conflict):
        department_create(actor=cast.boss, name="华东二组", parent=cast.east)


def test_deactivation_ends_sessions_and_tokens_at_once(cast, client, api_client):
    client.post(reverse("login"), {"username": "east_rep", "password": PASSWORD})
    assert client.get("/").status_code == 200
    token = token_for_user(actor=None, user=cast.east_rep)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/v1/me/").status_code == 200

    user_deactivate(actor=cast.boss, user=cast.east_rep)

    assert client.get("/").status_code == 302  # back to the login page
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert not Token.objects.filter(user=cast.east_rep).exists()
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.changes_data["tokens_revoked"] == 1


def test_the_boss_deactivates_from_the_people_page(cast, client):
    client.force_login(cast.boss)
    response = client.post(reverse("user-deactivate", args=[cast.south_rep.pk]), follow=True)
    assert response.status_code == 200
    cast.south_rep.refresh_from_db()
    assert not cast.south_rep.is_active


def test_a_manager_cannot_deactivate(cast, client, api_client):
    client.force_login(cast.east_mgr)
    client.post(reverse("user-deactivate", args=[cast.east_rep.pk]))
    api_client.force_authenticate(cast.east_mgr)
    response = api_client.post(f"/api/v1/users/{cast.east_rep.pk}/deactivate/")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    cast.east_rep.refresh_from_db()
    assert cast.east_rep.is_active
    assert not AuditEvent.objects.filter(action="user.deactivated").exists()


def test_the_people_page_is_for_the_boss_and_managers(cast, client):
    client.force_login(cast.east_rep)
    assert client.get(reverse("user-list")).status_code == 403
    client.force_login(cast.east_mgr)
    page = client.get(reverse("user-list"))
    assert page.status_code == 200 and page.context["form"] is None
    client.force_login(cast.boss)
    assert client.get(reverse("user-list")).context["form"] is not None


def test_the_boss_adds_a_person_from_the_page(cast, client):
    client.force_login(cast.boss)
    response = client.post(
        reverse("user-list"),
        {
            "username": "newbie",
            "full_name": "新人",
            "role": "sales",
            "department": cast.south.pk,
            "manager": cast.south_mgr.pk,
            "password": "Kedun-2026-x",
        },
    )
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert (newbie.department, newbie.manager, newbie.role) == (cast.south, cast.south_mgr, "sales")
