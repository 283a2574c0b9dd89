"""Claiming, assigning, releasing, transferring and holding customers (MISSION §4): the
fresh-release embargo and the previous owner's cooldown, the holding and daily limits with
clear refusals, who may do what (and that a refusal changes nothing), and one ownership event
and one audit event for every change of owner — merges and dispute transfers included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.disputes import dispute_request_ownership, dispute_resolve
from kedun.customers.models import (
    Customer,
    Dispute,
    FollowUpKind,
    OwnershipEvent,
    OwnershipKind,
    Stage,
    TeamAccess,
    TeamMember,
)
from kedun.customers.services import customer_register
from kedun.lifecycle.handover import handover
from kedun.lifecycle.models import PoolPolicy
from kedun.lifecycle.rules import release_deadline
from kedun.lifecycle.selectors import ownership_history, team_of
from kedun.lifecycle.services import (
    customer_assign,
    customer_claim,
    customer_hold,
    customer_release,
    customer_transfer,
    follow_up_log,
    team_member_add,
    team_member_remove,
)
from kedun.lifecycle.sweep import pool_sweep
from kedun.notifications.models import Notification
from tests.factories import UserFactory

from .conftest import SECOND, T0, days

REASON = "客户长期无回应"
HOUR = dt.timedelta(hours=1)


def claim(actor, customer, *, at=T0):
    with clock.frozen_at(at):
        return customer_claim(actor=actor, customer_id=customer.pk)


def release(actor, customer, *, at=T0, reason=REASON):
    with clock.frozen_at(at):
        return customer_release(actor=actor, customer_id=customer.pk, reason=reason)


def refused(error_class, call, *args, **kwargs):
    with pytest.raises(error_class) as refusal:
        call(*args, **kwargs)
    return refusal.value


def local_date(moment: dt.datetime) -> str:
    return timezone.localtime(moment).date().isoformat()


def state(customer: Customer) -> tuple:
    """What a refused action must leave as it was."""
    customer.refresh_from_db()
    return (
        customer.owner_id,
        customer.owned_since,
        customer.pool_entered_at,
        customer.on_hold,
        OwnershipEvent.objects.filter(customer=customer).count(),
        AuditEvent.objects.count(),
    )


# -- claiming ---------------------------------------------------------------------------------


def test_a_rep_claims_a_pool_customer_and_the_clock_starts(cast, in_pool):
    customer = in_pool(since=T0 - days(3), last_follow_up_at=T0 - days(200))

    claimed = claim(cast.east_rep, customer)

    assert claimed.owner == cast.east_rep
    assert (claimed.owned_since, claimed.pool_entered_at, claimed.pool_department) == (
        T0,
        None,
        None,
    )
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.from_owner, event.to_owner, event.actor, event.at) == (
        OwnershipKind.CLAIMED,
        None,
        cast.east_rep,
        cast.east_rep,
        T0,
    )
    assert AuditEvent.objects.filter(action="customer.claimed", object_id=str(customer.pk)).count()
    # A fresh owner gets the full time, whatever the old follow-ups were.
    assert release_deadline(claimed, now=T0).at == T0 + days(30)


def test_nobody_may_claim_in_the_first_24_hours_after_a_release(cast, owned):
    customer = owned(cast.east_rep, since=T0 - days(10))
    release(cast.east_rep, customer, at=T0)

    for someone in (cast.east_rep2, cast.east_team_rep, cast.east_mgr, cast.boss):
        error = refused(Conflict, claim, someone, customer, at=T0 + days(1) - SECOND)
        assert error.code == "embargo"
        assert timezone.localtime(T0 + days(1)).strftime("%Y-%m-%d %H:%M") in str(error.message)
    customer.refresh_from_db()
    assert customer.owner is None

    assert claim(cast.east_rep2, customer, at=T0 + days(1)).owner == cast.east_rep2


def test_an_automatic_release_starts_the_embargo_too(cast, owned):
    customer = owned(cast.east_rep, since=T0 - days(40))
    pool_sweep(now=T0)

    assert refused(Conflict, claim, cast.east_rep2, customer, at=T0 + HOUR).code == "embargo"
    assert claim(cast.east_rep2, customer, at=T0 + days(1) + HOUR).owner == cast.east_rep2


@pytest.mark.parametrize("how", ["by hand", "by the sweep", "by the manager"])
def test_the_previous_owner_cannot_reclaim_for_30_days_and_is_told_when(cast, owned, how):
    customer = owned(cast.east_rep, since=T0 - days(40))
    if how == "by hand":
        release(cast.east_rep, customer, at=T0)
    elif how == "by the sweep":
        pool_sweep(now=T0)
    else:
        release(cast.east_mgr, customer, at=T0)

    for moment in (T0 + HOUR, T0 + days(2), T0 + days(30) - SECOND):
        error = refused(Conflict, claim, cast.east_rep, customer, at=moment)
        assert error.code == "cooldown"
        assert local_date(T0 + days(30)) in str(error.message)
    assert claim(cast.east_rep, customer, at=T0 + days(30)).owner == cast.east_rep


def test_others_may_claim_once_the_embargo_ends_while_the_cooldown_lasts(cast, owned):
    customer = owned(cast.east_rep, since=T0 - days(40))
    release(cast.east_rep, customer, at=T0)
    assert refused(Conflict, claim, cast.east_rep, customer, at=T0 + days(2)).code == "cooldown"
    assert claim(cast.east_rep2, customer, at=T0 + days(2)).owner == cast.east_rep2


def test_a_manager_cannot_assign_a_customer_back_to_its_previous_owner_during_the_cooldown(
    cast, owned
):
    customer = owned(cast.east_rep, since=T0 - days(40))
    release(cast.east_rep, customer, at=T0)
    before = state(customer)
    with clock.frozen_at(T0 + days(5)):
        error = refused(
            Conflict,
            customer_assign,
            actor=cast.east_mgr,
            customer_id=customer.pk,
            to=cast.east_rep,
        )
    assert error.code == "cooldown"
    assert local_date(T0 + days(30)) in str(error.message)
    assert cast.east_rep.display_name in str(error.message)
    assert state(customer) == before


def test_the_holding_limit_refuses_saying_the_numbers(cast, owned, in_pool):
    PoolPolicy.objects.create(department=None, max_held=3)
    owned(cast.east_rep)
    owned(cast.east_rep)
    owned(cast.east_rep, stage=Stage.WON)  # won customers do not count by default
    first, second = in_pool(), in_pool()

    claim(cast.east_rep, first)
    before = state(second)
    error = refused(Conflict, claim, cast.east_rep, second)

    assert error.code == "holding_limit"
    assert "3" in str(error.message)
    assert state(second) == before
    assert Customer.objects.filter(owner=cast.east_rep).count() == 4


def test_won_customers_count_when_the_policy_says_so(cast, owned, in_pool):
    PoolPolicy.objects.create(department=cast.east, max_held=3, exclude_won_from_limit=False)
    owned(cast.east_rep)
    owned(cast.east_rep)
    owned(cast.east_rep, stage=Stage.REPEAT)
    owned(cast.south_rep)
    owned(cast.south_rep)
    owned(cast.south_rep, stage=Stage.WON)
    customer, other = in_pool(), in_pool()

    assert refused(Conflict, claim, cast.east_rep, customer).code == "holding_limit"
    assert claim(cast.south_rep, other).owner == cast.south_rep  # the company default: 200


def test_a_manager_cannot_assign_over_the_limit_either(cast, owned, in_pool):
    PoolPolicy.objects.create(department=None, max_held=1)
    owned(cast.east_rep)
    customer = in_pool()
    before = state(customer)
    with clock.frozen_at(T0):
        error = refused(
            Conflict,
            customer_assign,
            actor=cast.east_mgr,
            customer_id=customer.pk,
            to=cast.east_rep,
        )
    assert error.code == "holding_limit"
    assert cast.east_rep.display_name in str(error.message)
    assert state(customer) == before


def test_the_daily_claim_limit_refuses_until_the_next_local_day(cast, in_pool):
    PoolPolicy.objects.create(department=None, daily_claims=2)
    customers = [in_pool() for _ in range(4)]
    late_evening = timezone.make_aware(dt.datetime(2026, 3, 2, 23, 30))

    claim(cast.east_rep, customers[0], at=late_evening - days(1))  # yesterday
    claim(cast.east_rep, customers[1], at=timezone.make_aware(dt.datetime(2026, 3, 2, 0, 30)))
    claim(cast.east_rep, customers[2], at=late_evening)
    before = state(customers[3])
    error = refused(
        Conflict, claim, cast.east_rep, customers[3], at=late_evening + 20 * 60 * SECOND
    )

    assert error.code == "daily_claim_limit"
    assert "2" in str(error.message)
    assert state(customers[3]) == before
    assert claim(cast.east_rep, customers[3], at=late_evening + HOUR).owner == cast.east_rep


def test_assignments_do_not_use_up_the_rep_s_claims(cast, in_pool):
    PoolPolicy.objects.create(department=None, daily_claims=1)
    first, assigned, second = in_pool(), in_pool(), in_pool()
    claim(cast.east_rep, first)
    with clock.frozen_at(T0):
        customer_assign(actor=cast.east_mgr, customer_id=assigned.pk, to=cast.east_rep)
    assert refused(Conflict, claim, cast.east_rep, second).code == "daily_claim_limit"


# -- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["orders", "logistics", "finance", "auditor"])
def test_the_back_office_cannot_claim(cast, in_pool, role_user):
    customer = in_pool()
    before = state(customer)
    refused(Forbidden, claim, getattr(cast, role_user), customer)
    assert state(customer) == before


def test_a_deactivated_rep_cannot_claim(cast, in_pool):
    customer = in_pool()
    cast.east_rep.is_active = False
    cast.east_rep.save(update_fields=["is_active"])
    refused(Forbidden, claim, cast.east_rep, customer)
    customer.refresh_from_db()
    assert customer.owner is None


def test_an_owned_customer_cannot_be_claimed(cast, owned):
    customer = owned(cast.east_rep)
    before = state(customer)
    assert refused(Conflict, claim, cast.east_rep2, customer).code == "taken"
    assert state(customer) == before


def test_a_merged_record_cannot_be_claimed(cast, in_pool, owned):
    survivor = owned(cast.east_rep)
    merged = in_pool(merged_into=survivor)
    refused(NotFound, claim, cast.east_rep2, merged)


def test_a_manager_assigns_a_pool_customer_to_a_rep_they_manage(cast, in_pool):
    customer = in_pool()
    with clock.frozen_at(T0):
        customer_assign(
            actor=cast.east_mgr, customer_id=customer.pk, to=cast.east_team_rep, reason="熟悉该行业"
        )
    customer.refresh_from_db()
    assert (customer.owner, customer.owned_since) == (cast.east_team_rep, T0)
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.to_owner, event.actor, event.reason) == (
        OwnershipKind.ASSIGNED,
        cast.east_team_rep,
        cast.east_mgr,
        "熟悉该行业",
    )
    assert Notification.objects.filter(
        recipient=cast.east_team_rep, kind="customer_assigned"
    ).exists()


def test_assigning_during_the_fresh_release_embargo_needs_a_reason(cast, in_pool):
    """The embargo stops a teammate grabbing a customer for the rep who let it go; a manager
    may place it at once, but only saying why — the reason goes on the ownership event."""
    customer = in_pool(since=T0 - days(1) + SECOND)  # released 23:59:59 ago
    before = state(customer)
    with clock.frozen_at(T0), translation.override("en"):
        error = refused(
            Invalid,
            customer_assign,
            actor=cast.east_mgr,
            customer_id=customer.pk,
            to=cast.east_rep2,
        )
    assert error.code == "embargo_reason"
    assert "Released less than 24 hours ago" in str(error.message)
    assert state(customer) == before
    with clock.frozen_at(T0):
        customer_assign(
            actor=cast.east_mgr,
            customer_id=customer.pk,
            to=cast.east_rep2,
            reason="客户点名要他对接",
        )
    assert OwnershipEvent.objects.get(customer=customer).reason == "客户点名要他对接"
    # A day after the release, no reason is needed.
    later = in_pool(since=T0 - days(1))
    with clock.frozen_at(T0):
        assert customer_assign(
            actor=cast.east_mgr, customer_id=later.pk, to=cast.east_rep2
        ).owner == (cast.east_rep2)


@pytest.mark.parametrize(
    ("actor", "to"),
    [
        ("east_rep", "east_rep2"),  # a rep assigns nothing
        ("east_lead", "east_junior"),  # nor does a rep who leads others
        ("east_mgr", "south_rep"),  # outside the manager's scope
        ("south_mgr", "east_rep"),
        ("east_mgr", "finance"),
    ],
)
def test_assigning_outside_one_s_scope_is_refused(cast, in_pool, actor, to):
    customer = in_pool()
    before = state(customer)
    refused(
        Forbidden,
        customer_assign,
        actor=getattr(cast, actor),
        customer_id=customer.pk,
        to=getattr(cast, to),
    )
    assert state(customer) == before


def test_an_owned_customer_is_not_assigned(cast, owned):
    customer = owned(cast.east_rep)
    before = state(customer)
    error = refused(
        Conflict, customer_assign, actor=cast.east_mgr, customer_id=customer.pk, to=cast.east_rep2
    )
    assert error.code == "not_in_pool"
    assert state(customer) == before


def test_the_owner_releases_with_a_reason(cast, owned):
    customer = owned(cast.east_rep, since=T0 - days(5))
    before = state(customer)
    refused(Invalid, release, cast.east_rep, customer, reason=" 不要 ")
    assert state(customer) == before

    release(cast.east_rep, customer, at=T0, reason="  公司已注销，   无法联系 ")

    customer.refresh_from_db()
    assert (customer.owner, customer.pool_entered_at, customer.pool_department) == (
        None,
        T0,
        cast.east,
    )
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.from_owner, event.actor, event.reason) == (
        OwnershipKind.RELEASED_MANUAL,
        cast.east_rep,
        cast.east_rep,
        "公司已注销， 无法联系",
    )
    assert refused(Conflict, release, cast.east_rep, customer).code == "in_pool"


def test_the_owner_s_manager_releases_and_the_owner_is_told(cast, owned):
    customer = owned(cast.east_rep)
    release(cast.east_mgr, customer)
    customer.refresh_from_db()
    assert customer.owner is None
    told = Notification.objects.get(kind="customer_released")
    assert told.recipient == cast.east_rep and told.body == REASON


@pytest.mark.parametrize("actor", ["east_rep2", "south_mgr", "east_team_rep", "finance"])
def test_others_cannot_release(cast, owned, actor):
    customer = owned(cast.east_rep)
    team_member_add(
        actor=cast.east_rep, customer=customer, user=cast.east_team_rep, access=TeamAccess.WRITE
    )
    before = state(customer)
    refused(Forbidden, release, getattr(cast, actor), customer)
    assert state(customer) == before


def test_a_manager_transfers_between_reps_they_manage_and_both_are_told(cast, owned):
    customer = owned(cast.east_rep, since=T0 - days(20))
    with clock.frozen_at(T0):
        customer_transfer(
            actor=cast.east_mgr, customer_id=customer.pk, to=cast.east_rep2, reason="区域调整划转"
        )
    customer.refresh_from_db()
    assert (customer.owner, customer.owned_since) == (cast.east_rep2, T0)
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.from_owner, event.to_owner, event.actor) == (
        OwnershipKind.TRANSFERRED,
        cast.east_rep,
        cast.east_rep2,
        cast.east_mgr,
    )
    told = set(
        Notification.objects.filter(kind="customer_transferred").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"east_rep", "east_rep2"}


@pytest.mark.parametrize(
    ("actor", "to", "error_class"),
    [
        ("east_rep", "east_rep2", Forbidden),
        ("south_mgr", "south_rep", Forbidden),  # not the owner's manager
        ("east_mgr", "south_rep", Forbidden),  # not the receiver's manager
        ("east_mgr", "east_rep", Invalid),  # already the owner
        ("east_mgr", "east_mgr", None),  # allowed: a manager may take a customer over
    ],
)
def test_transfers_outside_one_s_scope_are_refused(cast, owned, actor, to, error_class):
    customer = owned(cast.east_rep)
    before = state(customer)
    call = {
        "actor": getattr(cast, actor),
        "customer_id": customer.pk,
        "to": getattr(cast, to),
        "reason": "区域调整划转",
    }
    if error_class is None:
        customer_transfer(**call)
        customer.refresh_from_db()
        assert customer.owner == getattr(cast, to)
        return
    refused(error_class, customer_transfer, **call)
    assert state(customer) == before


def test_a_pool_customer_is_assigned_not_transferred(cast, in_pool):
    customer = in_pool()
    error = refused(
        Conflict,
        customer_transfer,
        actor=cast.east_mgr,
        customer_id=customer.pk,
        to=cast.east_rep,
        reason="区域调整划转",
    )
    assert error.code == "in_pool"


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [("east_mgr", True), ("boss", True), ("east_rep", False), ("south_mgr", False)],
)
def test_only_the_owner_s_manager_or_the_boss_puts_a_customer_on_hold(cast, owned, actor, allowed):
    customer = owned(cast.east_rep)
    call = {"actor": getattr(cast, actor), "customer_id": customer.pk, "hold": True}
    if not allowed:
        before = state(customer)
        refused(Forbidden, customer_hold, **call, reason="年度框架谈判中")
        assert state(customer) == before
        return
    refused(Invalid, customer_hold, **call, reason="谈")
    customer_hold(**call, reason="年度框架谈判中")
    customer.refresh_from_db()
    assert customer.on_hold
    event = AuditEvent.objects.get(action="customer.held")
    assert event.changes_data == {"on_hold": True, "reason": "年度框架谈判中"}


def test_who_may_log_follow_ups(cast, owned):
    customer = owned(cast.east_rep)
    team_member_add(
        actor=cast.east_rep, customer=customer, user=cast.east_team_rep, access=TeamAccess.WRITE
    )
    team_member_add(actor=cast.east_rep, customer=customer, user=cast.east_rep2, access="read")
    content = "电话沟通了报价和交期"
    for allowed in (cast.east_rep, cast.east_team_rep, cast.east_mgr, cast.boss):
        follow_up_log(actor=allowed, customer=customer, kind=FollowUpKind.CALL, content=content)
    for refused_user in (cast.east_rep2, cast.south_rep, cast.south_mgr):
        refused(
            Forbidden,
            follow_up_log,
            actor=refused_user,
            customer=customer,
            kind=FollowUpKind.CALL,
            content=content,
        )
    assert customer.follow_ups.count() == 4


def test_only_the_owner_or_their_manager_changes_the_team(cast, owned):
    customer = owned(cast.east_rep)
    refused(
        Forbidden,
        team_member_add,
        actor=cast.east_rep2,
        customer=customer,
        user=cast.east_rep2,
        access=TeamAccess.WRITE,
    )
    team_member_add(actor=cast.east_mgr, customer=customer, user=cast.south_rep, access="read")
    refused(
        Forbidden, team_member_remove, actor=cast.south_rep, customer=customer, user=cast.south_rep
    )
    team_member_remove(actor=cast.east_rep, customer=customer, user=cast.south_rep)
    assert not TeamMember.objects.exists()


# -- one ownership event and one audit event per change of owner --------------------------------


def _claim(cast, owned, in_pool):
    customer = in_pool()
    claim(cast.east_rep, customer)
    return customer, "claimed"


def _assign(cast, owned, in_pool):
    customer = in_pool()
    customer_assign(actor=cast.east_mgr, customer_id=customer.pk, to=cast.east_rep)
    return customer, "assigned"


def _release(cast, owned, in_pool):
    customer = owned(cast.east_rep)
    release(cast.east_rep, customer)
    return customer, "released_manual"


def _transfer(cast, owned, in_pool):
    customer = owned(cast.east_rep)
    customer_transfer(actor=cast.boss, customer_id=customer.pk, to=cast.south_rep, reason=REASON)
    return customer, "transferred"


def _sweep(cast, owned, in_pool):
    customer = owned(cast.east_rep, since=T0 - days(31))
    pool_sweep(now=T0)
    return customer, "released_auto"


def _handover(cast, owned, in_pool):
    customer = owned(cast.east_rep)
    handover(actor=cast.east_mgr, user=cast.east_rep, to=[cast.east_rep2])
    return customer, "handed_over"


def _dispute_transfer(cast, owned, in_pool):
    customer = owned(cast.east_rep)
    dispute = dispute_request_ownership(actor=cast.east_rep2, customer=customer, reason=REASON)
    dispute_resolve(actor=cast.east_mgr, dispute=dispute, resolution="transfer", reason=REASON)
    return customer, "transferred"


def _merge(cast, owned, in_pool):
    customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")
    merged = customer_register(
        actor=cast.east_rep, name="广州市恒大机械有限公司", confirm_possible=True
    )
    dispute = Dispute.objects.get()
    dispute_resolve(actor=cast.boss, dispute=dispute, resolution="merge", reason=REASON)
    return merged, "merged"


@pytest.mark.parametrize(
    "change",
    [
        _claim,
        _assign,
        _release,
        _transfer,
        _sweep,
        _handover,
        _dispute_transfer,
        _merge,
    ],
)
def test_every_change_of_owner_writes_one_ownership_event_and_one_audit_event(
    cast, owned, in_pool, change
):
    with clock.frozen_at(T0):
        customer, kind = change(cast, owned, in_pool)
    customer.refresh_from_db()
    events = list(OwnershipEvent.objects.filter(customer=customer).exclude(kind="registered"))
    assert [event.kind for event in events] == [kind]
    event = events[0]
    assert event.to_owner_id == customer.owner_id or kind == "merged"
    audits = [
        audit
        for audit in AuditEvent.objects.filter(action=f"customer.{kind}")
        if audit.object_id == str(customer.pk)
        or customer.pk in [row[0] for row in audit.changes_data.get("released", [])]
    ]
    assert len(audits) == 1
    assert chain_verify().ok


def test_a_dispute_transfer_keeps_the_account_team_and_restarts_the_clock(cast, owned):
    customer = owned(cast.east_rep, since=T0 - days(25))
    team_member_add(
        actor=cast.east_rep, customer=customer, user=cast.east_team_rep, access=TeamAccess.WRITE
    )
    dispute = dispute_request_ownership(actor=cast.south_rep, customer=customer, reason=REASON)
    with clock.frozen_at(T0):
        dispute_resolve(actor=cast.boss, dispute=dispute, resolution="transfer", reason=REASON)

    customer.refresh_from_db()
    assert (customer.owner, customer.owned_since) == (cast.south_rep, T0)
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.from_owner, event.to_owner, event.actor, event.reason) == (
        OwnershipKind.TRANSFERRED,
        cast.east_rep,
        cast.south_rep,
        cast.boss,
        REASON,
    )
    assert [m.user for m in team_of(customer=customer)] == [cast.east_team_rep]


def test_a_merge_records_the_ownership_event_and_carries_the_team(cast):
    survivor = customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")
    merged = customer_register(
        actor=cast.east_rep, name="广州市恒大机械有限公司", confirm_possible=True
    )
    team_member_add(
        actor=cast.east_rep, customer=merged, user=cast.east_team_rep, access=TeamAccess.WRITE
    )
    team_member_add(actor=cast.east_rep, customer=merged, user=cast.south_rep, access="read")
    with clock.frozen_at(T0):
        dispute_resolve(
            actor=cast.boss, dispute=Dispute.objects.get(), resolution="merge", reason=REASON
        )

    merged.refresh_from_db()
    assert (merged.merged_into, merged.owner, merged.owned_since) == (survivor, None, None)
    event = OwnershipEvent.objects.get(customer=merged, kind=OwnershipKind.MERGED)
    assert (event.from_owner, event.to_owner, event.actor, event.at) == (
        cast.east_rep,
        cast.south_rep,
        cast.boss,
        T0,
    )
    assert survivor.code in event.reason
    # The survivor's owner is not added to its own team.
    assert [m.user for m in team_of(customer=survivor)] == [cast.east_team_rep]
    # A merged record is never released nor counted in the pool.
    result = pool_sweep(now=T0 + days(400))
    merged.refresh_from_db()
    assert merged.pool_entered_at is None
    assert result.in_pool == 1  # the survivor, silent for 400 days


def test_the_ownership_history_reads_newest_first(cast):
    with clock.frozen_at(T0 - days(40)):
        customer = customer_register(actor=cast.east_rep, name="杭州市蓝海科技有限公司")
    release(cast.east_rep, customer, at=T0)
    claim(cast.east_rep2, customer, at=T0 + days(2))
    with clock.frozen_at(T0 + days(3)):
        customer_transfer(
            actor=cast.east_mgr, customer_id=customer.pk, to=cast.east_team_rep, reason=REASON
        )
    assert [e.kind for e in ownership_history(customer=customer)] == [
        "transferred",
        "claimed",
        "released_manual",
        "registered",
    ]


def test_a_new_rep_without_history_can_claim(cast, in_pool):
    newcomer = UserFactory(username="newcomer", department=cast.east, manager=cast.east_mgr)
    customer = in_pool()
    assert claim(newcomer, customer).owner == newcomer


def test_registering_a_new_customer_counts_against_the_limit(cast, owned):
    """The limit holds however a customer arrives: registering one more is refused too, for
    the rep and for a manager registering it for them; a won customer frees no place unless
    the policy says so."""
    PoolPolicy.objects.create(department=None, max_held=2)
    owned(cast.east_rep)
    owned(cast.east_rep, stage=Stage.WON)  # does not count
    customer_register(actor=cast.east_rep, name="宁波甬江阀门有限公司")
    count = Customer.objects.count()

    with translation.override("en"):
        error = refused(
            Conflict, customer_register, actor=cast.east_rep, name="温州瓯海泵阀有限公司"
        )
    assert error.code == "holding_limit"
    assert str(error.message) == (
        "You hold 2 of 2 customers: release one before registering another."
    )
    error = refused(
        Conflict,
        customer_register,
        actor=cast.east_mgr,
        owner=cast.east_rep,
        name="温州瓯海泵阀有限公司",
    )
    assert cast.east_rep.display_name in str(error.message)
    assert Customer.objects.count() == count
    # Someone else still may.
    assert customer_register(actor=cast.east_rep2, name="温州瓯海泵阀有限公司").owner == (
        cast.east_rep2
    )
