"""Departure handover (离职交接, MISSION §4): in one action the leaver is deactivated (sessions
and token dead at once) and every customer moves — with its open needs and follow-ups — to the
chosen reps in turn or to the pool; their places on account teams end; a report says what
moved."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.customers.models import (
    Customer,
    FollowUp,
    FollowUpKind,
    Need,
    NeedStatus,
    OwnershipEvent,
    OwnershipKind,
    TeamAccess,
    TeamMember,
)
from kedun.lifecycle.handover import handover
from kedun.lifecycle.models import PoolPolicy
from kedun.lifecycle.selectors import follow_ups_due
from kedun.lifecycle.services import customer_claim, follow_up_log, team_member_add
from kedun.notifications.models import Notification
from kedun.org.services import token_for_user
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

from .conftest import T0, days


@pytest.fixture
def leaver_book(cast, owned):
    """east_rep's book: five customers, two open needs and a won one, follow-ups (two with a
    next date), a place on south_rep's account team and one that has already ended."""
    customers = [owned(cast.east_rep, since=T0 - days(10)) for _ in range(5)]
    with clock.frozen_at(T0):
        next_dates = (dt.date(2026, 3, 5), dt.date(2026, 3, 9))
        for customer, next_on in zip(customers[:2], next_dates, strict=True):
            follow_up_log(
                actor=cast.east_rep,
                customer=customer,
                kind=FollowUpKind.VISIT,
                content="上门拜访，确认了需求和预算",
                next_follow_up_on=next_on,
            )
        for customer, status in (
            (customers[0], "open"),
            (customers[3], "open"),
            (customers[4], "won"),
        ):
            Need.objects.create(
                customer=customer,
                what="数控机床 3 台",
                status=status,
                recorded_by=cast.east_rep,
                recorded_at=T0,
            )
        south_customer = owned(cast.south_rep)
        team_member_add(
            actor=cast.south_rep, customer=south_customer, user=cast.east_rep, access="write"
        )
        ended = owned(cast.south_rep)
        TeamMember.objects.create(
            customer=ended,
            user=cast.east_rep,
            access=TeamAccess.READ,
            until=dt.date(2026, 2, 1),
            added_by=cast.south_rep,
            added_at=T0 - days(60),
        )
    return customers


def test_handing_over_to_two_reps_moves_everything_in_turn(cast, leaver_book, client, api_client):
    client.post(reverse("login"), {"username": "east_rep", "password": PASSWORD})
    assert client.get("/").status_code == 200
    token = token_for_user(actor=None, user=cast.east_rep)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/v1/me/").status_code == 200

    with clock.frozen_at(T0 + days(1)):
        report = handover(
            actor=cast.east_mgr, user=cast.east_rep, to=[cast.east_rep2, cast.east_team_rep]
        )

    assert report.as_json() == {
        "user": "east_rep",
        "to": ["east_rep2", "east_team_rep"],
        "customers": 5,
        "open_needs": 2,
        "follow_ups_due": 2,
        "team_places_ended": 1,
        "by_recipient": {"east_rep2": 3, "east_team_rep": 2},
        "quotes_moved": 0,
        "orders_moved": 0,
        "quotes_kept": [],
    }
    receivers = [cast.east_rep2, cast.east_team_rep] * 3
    for customer, receiver in zip(leaver_book, receivers, strict=False):
        customer.refresh_from_db()
        assert (customer.owner, customer.owned_since) == (receiver, T0 + days(1))
        event = OwnershipEvent.objects.get(customer=customer)
        assert (event.kind, event.from_owner, event.to_owner, event.actor) == (
            OwnershipKind.HANDED_OVER,
            cast.east_rep,
            receiver,
            cast.east_mgr,
        )
        assert "east_rep" in event.reason
    assert [row[2] for row in report.moved] == ["east_rep2", "east_team_rep"] * 2 + ["east_rep2"]

    # Open needs and follow-ups travel with their customers; the due ones show for the receiver.
    open_needs = Need.objects.filter(status=NeedStatus.OPEN).order_by("customer")
    assert [need.customer.owner for need in open_needs] == [cast.east_rep2, cast.east_team_rep]
    assert FollowUp.objects.filter(customer__owner=cast.east_rep).count() == 0
    assert FollowUp.objects.count() == 2
    with clock.frozen_at(T0 + days(10)):
        assert list(follow_ups_due(viewer=cast.east_rep2)) == [leaver_book[0]]
        assert list(follow_ups_due(viewer=cast.east_team_rep)) == [leaver_book[1]]
    # Active team places end; an ended one stays on record.
    assert list(TeamMember.objects.filter(user=cast.east_rep).values_list("until", flat=True)) == [
        dt.date(2026, 2, 1)
    ]

    cast.east_rep.refresh_from_db()
    assert not cast.east_rep.is_active
    assert client.get("/").status_code == 302
    assert api_client.get("/api/v1/me/").status_code == 401
    assert not Token.objects.filter(user=cast.east_rep).exists()

    told = dict(
        Notification.objects.filter(kind="handover_received").values_list(
            "recipient__username", "title"
        )
    )
    assert set(told) == {"east_rep2", "east_team_rep"}
    assert "3" in told["east_rep2"] and "2" in told["east_team_rep"]
    assert AuditEvent.objects.filter(action="user.deactivated").count() == 1
    assert AuditEvent.objects.filter(action="customer.handed_over").count() == 5
    summary = AuditEvent.objects.get(action="user.handed_over")
    assert summary.actor_id == cast.east_mgr.pk
    assert summary.changes_data["customers"] == 5
    assert chain_verify().ok


def test_handing_over_to_the_pool(cast, leaver_book):
    with clock.frozen_at(T0):
        report = handover(actor=cast.boss, user=cast.east_rep, to=None, reason="离职，客户回公海")

    assert report.by_recipient == {"": 5}
    assert report.as_json()["to"] == "pool"
    for customer in leaver_book:
        customer.refresh_from_db()
        assert (customer.owner, customer.pool_entered_at, customer.pool_department) == (
            None,
            T0,
            cast.east,
        )
        event = OwnershipEvent.objects.get(customer=customer)
        assert (event.kind, event.to_owner, event.reason) == (
            OwnershipKind.HANDED_OVER,
            None,
            "离职，客户回公海",
        )
    cast.east_rep.refresh_from_db()
    assert not cast.east_rep.is_active
    # In the pool like any released customer: after the embargo, others may claim.
    with clock.frozen_at(T0 + days(1)):
        assert customer_claim(actor=cast.east_rep2, customer_id=leaver_book[0].pk).owner == (
            cast.east_rep2
        )


def test_a_leaver_without_customers_is_still_deactivated(cast):
    report = handover(actor=cast.east_mgr, user=cast.east_rep, to=[cast.east_rep2])
    assert report.customers == 0
    cast.east_rep.refresh_from_db()
    assert not cast.east_rep.is_active


@pytest.mark.parametrize(
    ("actor", "to", "error_class"),
    [
        ("south_mgr", ["east_rep2"], Forbidden),  # not the leaver's manager
        ("east_rep2", ["east_rep2"], Forbidden),  # a rep hands over nobody
        ("east_mgr", ["south_rep"], Forbidden),  # not a receiver the manager manages
        ("east_mgr", ["east_rep"], Invalid),  # to the leaver
        ("boss", ["finance"], Invalid),  # cannot own customers
    ],
)
def test_a_refused_handover_changes_nothing(cast, leaver_book, actor, to, error_class):
    with pytest.raises(error_class):
        handover(
            actor=getattr(cast, actor),
            user=cast.east_rep,
            to=[getattr(cast, name) for name in to],
        )
    cast.east_rep.refresh_from_db()
    assert cast.east_rep.is_active
    assert Customer.objects.filter(owner=cast.east_rep).count() == 5
    assert not OwnershipEvent.objects.exists()
    assert TeamMember.objects.filter(user=cast.east_rep).count() == 2


def test_an_inactive_receiver_is_refused(cast, leaver_book):
    cast.east_rep2.is_active = False
    cast.east_rep2.save(update_fields=["is_active"])
    with pytest.raises(Invalid):
        handover(actor=cast.boss, user=cast.east_rep, to=[cast.east_rep2])
    assert Customer.objects.filter(owner=cast.east_rep).count() == 5


def run_command(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("handover", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_command_hands_over_to_named_reps_and_lists_the_moves(cast, leaver_book):
    lines = run_command("east_rep", "--to", "east_rep2", "--to", "EAST_TEAM_REP", "--list")
    summary = json.loads(lines[-1])
    assert summary["customers"] == 5
    assert summary["by_recipient"] == {"east_rep2": 3, "east_team_rep": 2}
    assert len(lines) == 6 and lines[0].startswith(leaver_book[0].code)
    cast.east_rep.refresh_from_db()
    assert not cast.east_rep.is_active
    assert OwnershipEvent.objects.get(customer=leaver_book[0]).actor is None  # the command line


def test_the_command_hands_over_to_the_pool(cast, leaver_book):
    summary = json.loads(run_command("east_rep", "--pool")[-1])
    assert summary["to"] == "pool"
    assert Customer.objects.filter(owner__isnull=True).count() == 5


@pytest.mark.parametrize(
    "args",
    [
        ["nobody", "--pool"],
        ["east_rep", "--to", "nobody"],
        ["east_rep", "--to", "east_rep"],
        ["east_rep", "--to", "finance"],
    ],
)
def test_the_command_refuses_clearly_and_changes_nothing(cast, leaver_book, args):
    with pytest.raises(CommandError) as refusal:
        run_command(*args)
    assert str(refusal.value)
    cast.east_rep.refresh_from_db()
    assert cast.east_rep.is_active
    assert Customer.objects.filter(owner=cast.east_rep).count() == 5


def test_a_handover_that_would_overfill_a_receiver_is_refused_and_changes_nothing(
    cast, leaver_book
):
    """Five customers in turn to two reps: east_rep2 gets three. With a limit of 3 and one
    customer held already, east_rep2 cannot take them; nothing moves and the leaver stays."""
    PoolPolicy.objects.create(department=None, max_held=3)
    CustomerFactory(owner=cast.east_rep2)
    with clock.frozen_at(T0), translation.override("en"), pytest.raises(Conflict) as refusal:
        handover(actor=cast.east_mgr, user=cast.east_rep, to=[cast.east_rep2, cast.east_team_rep])
    assert refusal.value.code == "holding_limit"
    assert str(refusal.value.message) == (
        f"{cast.east_rep2.display_name} holds 1 of 3 customers and cannot take 3 more."
    )
    cast.east_rep.refresh_from_db()
    assert cast.east_rep.is_active
    assert Customer.objects.filter(owner=cast.east_rep).count() == 5
    # Split three ways, everyone fits (2 + 2 + 1).
    with clock.frozen_at(T0):
        report = handover(
            actor=cast.east_mgr,
            user=cast.east_rep,
            to=[cast.east_rep2, cast.east_team_rep, cast.east_junior],
        )
    assert report.by_recipient == {"east_rep2": 2, "east_team_rep": 2, "east_junior": 1}
