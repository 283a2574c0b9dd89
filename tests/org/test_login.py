"""Logging in and out: throttling, one message for unknown user and wrong password, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kedun.audit.models import AuditEvent
from kedun.core import clock
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def attempt(client, username, password, ip="198.51.100.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def error_text(response) -> str:
    return response.context["form"].non_field_errors()[0]


def test_a_user_logs_in_and_out_and_both_are_audited(cast, client):
    response = attempt(client, "east_rep", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302
    actions = list(
        AuditEvent.objects.filter(actor=cast.east_rep).order_by("seq").values_list("action", "ip")
    )
    assert actions == [("auth.login", "198.51.100.7"), ("auth.logout", "127.0.0.1")]


def test_logout_needs_a_post(cast, client):
    client.force_login(cast.east_rep)
    assert client.get(reverse("logout")).status_code == 405


def test_unknown_user_and_wrong_password_get_the_same_message(cast, client):
    unknown = attempt(client, "nobody", PASSWORD)
    wrong = attempt(client, "east_rep", "wrong-password")
    assert unknown.status_code == wrong.status_code == 200
    assert error_text(unknown) == error_text(wrong)
    failures = AuditEvent.objects.filter(action="auth.login_failed").order_by("seq")
    assert [e.changes_data["username"] for e in failures] == ["nobody", "east_rep"]
    assert failures[1].object_id == str(cast.east_rep.pk)


def test_five_failures_lock_that_user_from_that_ip_for_fifteen_minutes(cast, client):
    start = timezone.now()
    with clock.frozen_at(start):
        for _ in range(4):
            assert attempt(client, "east_rep", "wrong").status_code == 200
        fifth = attempt(client, "east_rep", "wrong")
        assert fifth.status_code == 429
        # Even the right password is refused while locked …
        locked = attempt(client, "east_rep", PASSWORD)
        assert locked.status_code == 429
        assert "15" in error_text(locked)
        # … but only from that IP, and only for that user.
        assert attempt(client, "east_rep", PASSWORD, ip="198.51.100.8").status_code == 302
        client.logout()
        assert attempt(client, "east_rep2", PASSWORD).status_code == 302
        client.logout()
    with clock.frozen_at(start + dt.timedelta(minutes=14, seconds=59)):
        assert attempt(client, "east_rep", PASSWORD).status_code == 429
    with clock.frozen_at(start + dt.timedelta(minutes=15, seconds=1)):
        assert attempt(client, "east_rep", PASSWORD).status_code == 302


def test_an_unknown_user_is_locked_the_same_way(cast, client):
    for _ in range(5):
        attempt(client, "ghost", "wrong")
    known = [attempt(client, "east_rep", "wrong") for _ in range(5)][-1]
    ghost = attempt(client, "ghost", "wrong")
    assert ghost.status_code == known.status_code == 429
    assert error_text(ghost) == error_text(known)


def test_a_success_clears_earlier_failures(cast, client):
    for _ in range(4):
        attempt(client, "east_rep", "wrong")
    assert attempt(client, "east_rep", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "east_rep", "wrong").status_code == 200


def test_login_page_only_redirects_to_local_pages(cast, client):
    response = client.post(
        reverse("login") + "?next=https://evil.example/",
        {"username": "east_rep", "password": PASSWORD},
    )
    assert response["Location"] == "/"


def test_a_deactivated_user_cannot_log_in(cast, client):
    cast.east_rep.is_active = False
    cast.east_rep.save()
    response = attempt(client, "east_rep", PASSWORD)
    assert response.status_code == 200
    assert error_text(response) == "用户名或密码不正确。"
