"""Log out everywhere: every session of a user ends at once, on every device; audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from kedun.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def logged_in(username: str, client_class=Client):
    client = client_class()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("account")).status_code == 200
    return client


def still_in(client) -> bool:
    return client.get(reverse("account")).status_code == 200


def test_log_out_everywhere_ends_the_sessions_of_both_devices(cast):
    phone, desk = logged_in("east_rep"), logged_in("east_rep")
    other = logged_in("east_rep2")
    response = desk.post(reverse("account-logout-everywhere"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not still_in(desk)
    assert not still_in(phone)
    assert still_in(other)
    event = AuditEvent.objects.get(action="user.sessions_ended")
    assert event.actor_id == cast.east_rep.pk
    assert event.object_id == str(cast.east_rep.pk)
    assert event.changes_data == {"by_self": True}
    # A fresh login works again.
    assert still_in(logged_in("east_rep"))


def test_log_out_everywhere_needs_a_post(cast):
    desk = logged_in("east_rep")
    assert desk.get(reverse("account-logout-everywhere")).status_code == 405
    assert still_in(desk)


def test_account_page_offers_the_button(cast):
    page = logged_in("east_rep").get(reverse("account")).content.decode()
    assert reverse("account-logout-everywhere") in page


def test_a_manager_logs_out_someone_who_reports_to_them(cast):
    rep_phone, rep_desk = logged_in("east_rep"), logged_in("east_rep")
    manager = logged_in("east_mgr")
    people = manager.get(reverse("user-list")).content.decode()
    assert reverse("user-end-sessions", args=[cast.east_rep.pk]) in people
    assert reverse("user-end-sessions", args=[cast.south_rep.pk]) not in people
    response = manager.post(reverse("user-end-sessions", args=[cast.east_rep.pk]))
    assert response.status_code == 302
    assert not still_in(rep_phone) and not still_in(rep_desk)
    assert still_in(manager)
    event = AuditEvent.objects.get(action="user.sessions_ended")
    assert event.actor_id == cast.east_mgr.pk
    assert event.object_id == str(cast.east_rep.pk)
    assert event.changes_data == {"by_self": False}


def test_a_manager_cannot_log_out_someone_outside_their_team_nor_a_peer_rep(cast):
    south = logged_in("south_rep")
    for username in ("east_mgr", "east_rep2"):
        actor = logged_in(username)
        response = actor.post(reverse("user-end-sessions", args=[cast.south_rep.pk]))
        assert response.status_code == 403
    assert still_in(south)
    assert not AuditEvent.objects.filter(action="user.sessions_ended").exists()


def test_the_boss_logs_out_anyone(cast):
    south = logged_in("south_rep")
    boss = logged_in("boss")
    assert boss.post(reverse("user-end-sessions", args=[cast.south_rep.pk])).status_code == 302
    assert not still_in(south)


def test_api_log_out_everywhere_with_session_auth(cast):
    desk = logged_in("east_rep")
    api = logged_in("east_rep", APIClient)
    assert api.get(reverse("api-me")).status_code == 200
    response = api.post(reverse("api-me-logout-all"))
    assert response.status_code == 204
    assert api.get(reverse("api-me")).status_code in (401, 403)
    assert not still_in(desk)
    assert AuditEvent.objects.filter(action="user.sessions_ended").count() == 1


def test_api_a_manager_ends_a_reports_sessions_but_not_an_outsiders(cast):
    rep = logged_in("east_rep")
    south = logged_in("south_rep")
    api = APIClient()
    api.force_authenticate(cast.east_mgr)
    assert api.post(reverse("api-user-logout-all", args=[cast.east_rep.pk])).status_code == 204
    assert api.post(reverse("api-user-logout-all", args=[cast.south_rep.pk])).status_code == 403
    assert not still_in(rep)
    assert still_in(south)
