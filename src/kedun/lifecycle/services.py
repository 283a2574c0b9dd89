"""Writes of the customer lifecycle: follow-ups, the account team, stage and grade, and
every way a customer changes hands through the pool (claim, assign, release, transfer, hold).

Limits are checked under a lock on the claiming rep's row, and the claim itself is one
conditional UPDATE, so parallel claims can neither share a customer nor exceed a quota.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.access import active_team_q
from kedun.customers.models import (
    RELEASE_KINDS,
    Customer,
    FollowUp,
    FollowUpKind,
    OwnershipEvent,
    OwnershipKind,
    Stage,
    TeamAccess,
    TeamMember,
)
from kedun.customers.ownership import owner_change
from kedun.notifications.services import notify
from kedun.org.models import Department, Role, User
from kedun.org.selectors import subordinate_ids
from kedun.sales.deals import open_deals_move

from .holding import check_can_hold_more
from .rules import Policy, RuleBook, grades

CLAIMING_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)
MANAGING_ROLES = (Role.ADMIN, Role.MANAGER)


def manages(actor: User, owner: User | None) -> bool:
    """The actor is the boss, or a manager whose scope covers `owner`."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.MANAGER or owner is None:
        return False
    if owner.pk == actor.pk or owner.pk in subordinate_ids(manager=actor):
        return True
    return owner.department.path.startswith(actor.department.path) and actor.data_scope in (
        "department_tree",
        "all",
    )


def team_access_of(user: User, customer: Customer, *, today: dt.date | None = None) -> str | None:
    """The user's access as a collaborator ("read"/"write"), None when not (or no longer)."""
    today = today or timezone.localdate(clock.now())
    member = (
        TeamMember.objects.filter(customer=customer, user=user)
        .filter(active_team_q(today=today))
        .first()
    )
    return member.access if member else None


def works_the_account(actor: User, customer: Customer) -> bool:
    """The customer's owner, a collaborator with write access, or a manager of the owner: who
    may log follow-ups, quote and take orders for it."""
    return (
        customer.owner_id == actor.pk
        or team_access_of(actor, customer) == TeamAccess.WRITE
        or manages(actor, customer.owner)
    )


def customer_locked(customer_id: int) -> Customer:
    """The live customer, locked for the caller's transaction (with its owner), or NotFound."""
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("owner", "owner__department")
        .filter(pk=customer_id, merged_into__isnull=True)
        .first()
    )
    if customer is None:
        raise NotFound()
    return customer


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise Invalid(_("Give a reason (at least 5 characters)."))
    return reason


# -- follow-ups -------------------------------------------------------------------------------


def follow_up_log(
    *,
    actor: User,
    customer: Customer,
    kind: str,
    content: str,
    happened_at: dt.datetime | None = None,
    next_follow_up_on: dt.date | None = None,
) -> FollowUp:
    """Log a contact with the customer. The owner, a collaborator with write access, or a
    manager of the owner may; a qualifying one restarts the pool clock."""
    content = content.strip()
    if kind not in FollowUpKind.values:
        raise Invalid(_("Unknown follow-up type."))
    if not content:
        raise Invalid(_("Say what happened."))
    now = clock.now()
    happened_at = happened_at or now
    if happened_at > now + dt.timedelta(minutes=5):
        raise Invalid(_("A follow-up cannot happen in the future."))
    if next_follow_up_on is not None and next_follow_up_on < timezone.localdate(now):
        raise Invalid(_("The next follow-up date is in the past."))
    with transaction.atomic():
        customer = customer_locked(customer.pk)
        if not works_the_account(actor, customer) or customer.owner_id is None:
            raise Forbidden(
                _(
                    "Only the owner, a collaborator with write access or their manager can log "
                    "follow-ups."
                )
            )
        policy = RuleBook.load().policy(customer.owner.department_id if customer.owner else None)
        qualifying = policy.qualifies(kind, content)
        follow_up = FollowUp.objects.create(
            customer=customer,
            author=actor,
            kind=kind,
            content=content,
            happened_at=happened_at,
            next_follow_up_on=next_follow_up_on,
            qualifying=qualifying,
        )
        fields = ["next_follow_up_on"]
        customer.next_follow_up_on = next_follow_up_on
        if qualifying and (
            customer.last_follow_up_at is None or happened_at > customer.last_follow_up_at
        ):
            customer.last_follow_up_at = happened_at
            customer.release_warned_at = None
            fields += ["last_follow_up_at", "release_warned_at"]
        if customer.stage == Stage.LEAD:
            customer.stage = Stage.CONTACTED
            fields.append("stage")
        customer.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="customer.followed_up",
            target=customer,
            changes={"kind": kind, "qualifying": qualifying, "follow_up": follow_up.pk},
        )
    return follow_up


def follow_up_done(*, actor: User, customer: Customer) -> None:
    """Clear a due reminder without logging a contact (e.g. the customer asked to wait)."""
    with transaction.atomic():
        customer = customer_locked(customer.pk)
        if customer.owner_id != actor.pk and not manages(actor, customer.owner):
            raise Forbidden()
        customer.next_follow_up_on = None
        customer.save(update_fields=["next_follow_up_on"])
        audit_record(actor=actor, action="customer.follow_up_cleared", target=customer)


# -- stage and grade --------------------------------------------------------------------------


def customer_stage_set(*, actor: User, customer: Customer, stage: str) -> Customer:
    if stage not in Stage.values:
        raise Invalid(_("Unknown stage."))
    with transaction.atomic():
        customer = customer_locked(customer.pk)
        if customer.owner_id != actor.pk and not manages(actor, customer.owner):
            raise Forbidden()
        before, customer.stage = customer.stage, stage
        customer.save(update_fields=["stage"])
        audit_record(
            actor=actor,
            action="customer.stage_set",
            target=customer,
            changes={"stage": [before, stage]},
        )
    return customer


def customer_grade_set(*, actor: User, customer: Customer, grade: str) -> Customer:
    if grade and grade not in grades():
        raise Invalid(_("Unknown grade: %(grade)s.") % {"grade": grade})
    with transaction.atomic():
        customer = customer_locked(customer.pk)
        if customer.owner_id != actor.pk and not manages(actor, customer.owner):
            raise Forbidden()
        before, customer.grade = customer.grade, grade
        customer.save(update_fields=["grade"])
        audit_record(
            actor=actor,
            action="customer.grade_set",
            target=customer,
            changes={"grade": [before, grade]},
        )
    return customer


# -- account team -----------------------------------------------------------------------------


def team_member_add(
    *, actor: User, customer: Customer, user: User, access: str, until: dt.date | None = None
) -> TeamMember:
    if access not in TeamAccess.values:
        raise Invalid(_("Unknown access."))
    if not user.is_active:
        raise Invalid(_("%(name)s is deactivated.") % {"name": user.display_name})
    if until is not None and until < timezone.localdate(clock.now()):
        raise Invalid(_("The end date is in the past."))
    with transaction.atomic():
        customer = customer_locked(customer.pk)
        if customer.owner_id != actor.pk and not manages(actor, customer.owner):
            raise Forbidden(_("Only the owner or their manager can change the account team."))
        if user.pk == customer.owner_id:
            raise Invalid(_("The owner is already on the team."))
        member, created = TeamMember.objects.update_or_create(
            customer=customer,
            user=user,
            defaults={"access": access, "until": until, "added_by": actor, "added_at": clock.now()},
        )
        audit_record(
            actor=actor,
            action="customer.team_member_added" if created else "customer.team_member_changed",
            target=customer,
            changes={
                "user": user.pk,
                "access": access,
                "until": until.isoformat() if until else None,
            },
        )
        notify(
            recipients=[user],
            kind="team_added",
            title=_("You are on the account team of %(name)s") % {"name": customer.name},
            body="",
            url=reverse("customer-detail", args=[customer.pk]),
        )
    return member


def team_member_remove(*, actor: User, customer: Customer, user: User) -> None:
    with transaction.atomic():
        customer = customer_locked(customer.pk)
        if customer.owner_id != actor.pk and not manages(actor, customer.owner):
            raise Forbidden(_("Only the owner or their manager can change the account team."))
        deleted, _rows = TeamMember.objects.filter(customer=customer, user=user).delete()
        if not deleted:
            raise NotFound()
        audit_record(
            actor=actor,
            action="customer.team_member_removed",
            target=customer,
            changes={"user": user.pk},
        )


# -- the pool ---------------------------------------------------------------------------------


def _start_of_today(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def claims_today(user: User, now: dt.datetime) -> int:
    return OwnershipEvent.objects.filter(
        to_owner=user, kind=OwnershipKind.CLAIMED, at__gte=_start_of_today(now)
    ).count()


def cooldown_until(
    user: User, customer: Customer, policy: Policy, now: dt.datetime
) -> dt.datetime | None:
    """When `user`, who lost this customer, may have it again; None when free to."""
    lost = (
        OwnershipEvent.objects.filter(
            customer=customer,
            from_owner=user,
            kind__in=[*RELEASE_KINDS, OwnershipKind.HANDED_OVER],
            at__gt=now - dt.timedelta(days=policy.cooldown_days),
        )
        .order_by("-at")
        .first()
    )
    return lost.at + dt.timedelta(days=policy.cooldown_days) if lost else None


def _local_date(moment: dt.datetime) -> str:
    return timezone.localtime(moment).date().isoformat()


def pool_visible(*, viewer: User) -> Q:
    """Which pool customers the viewer may see and claim: the company pool, and the pool of
    the viewer's own branch (top-level department) — MISSION §4 "pools are scoped"."""
    if viewer.role == Role.ADMIN or viewer.data_scope == "all":
        return Q()
    branch = branch_path(viewer.department)
    if branch is None:  # the viewer sits at the company level: every branch's pool
        return Q()
    # The branch's departments by id first (one small query): the path reached through a join
    # made PostgreSQL read the whole pool for every page and count (issue 13); ids are looked
    # up in customer_pool_department_idx.
    departments = list(
        Department.objects.filter(path__startswith=branch).values_list("pk", flat=True)
    )
    return Q(pool_department__isnull=True) | Q(pool_department_id__in=departments)


def branch_path(department: Department) -> str | None:
    """The path of the department's branch: its top-level department — or, when one
    department sits at the top (the company itself), the level below it. None for a
    department at the company level."""
    level = 2 if Department.objects.filter(parent__isnull=True).count() == 1 else 1
    parts = [p for p in department.path.split("/") if p]
    if len(parts) < level:
        return None
    return "/" + "/".join(parts[:level]) + "/"


def customer_claim(*, actor: User, customer_id: int) -> Customer:
    if not actor.is_active or not actor.has_role(*CLAIMING_ROLES):
        raise Forbidden()
    with transaction.atomic():
        # One rep's claims run one at a time: the holding and daily limits are counted under
        # this lock (SQLite's IMMEDIATE transactions already serialise all writers).
        actor = (
            User.objects.select_for_update(of=("self",))
            .select_related("department")
            .get(pk=actor.pk)
        )
        now = clock.now()
        policy = RuleBook.load().policy(actor.department_id)
        customer = (
            Customer.objects.filter(pk=customer_id, merged_into__isnull=True)
            .filter(pool_visible(viewer=actor))
            .select_related("owner")
            .first()
        )
        if customer is None:
            raise NotFound()
        if customer.owner_id is not None:
            raise Conflict(
                _("This customer is not in the pool: %(owner)s owns it.")
                % {"owner": customer.owner.display_name if customer.owner else ""},
                code="taken",
            )
        check_can_hold_more(actor, policy, who="claim")
        claimed = claims_today(actor, now)
        if claimed >= policy.daily_claims:
            raise Conflict(
                _("You have claimed %(count)d customers today, the daily limit.")
                % {"count": claimed},
                code="daily_claim_limit",
            )
        again = cooldown_until(actor, customer, policy, now)
        if again is not None:
            raise Conflict(
                _("You released this customer recently: you can claim it again on %(date)s.")
                % {"date": _local_date(again)},
                code="cooldown",
            )
        embargo = dt.timedelta(hours=policy.embargo_hours)
        # The claim: one conditional UPDATE, never check-then-act.
        won = Customer.objects.filter(
            pk=customer.pk,
            owner__isnull=True,
            merged_into__isnull=True,
            pool_entered_at__lte=now - embargo,
        ).update(
            owner=actor,
            owned_since=now,
            pool_entered_at=None,
            pool_department=None,
            release_warned_at=None,
        )
        if not won:
            customer.refresh_from_db()
            if customer.owner_id is not None:
                raise Conflict(_("Someone else has just claimed this customer."), code="taken")
            if customer.pool_entered_at is not None:
                raise Conflict(
                    _("Just released: nobody can claim it before %(moment)s.")
                    % {
                        "moment": timezone.localtime(customer.pool_entered_at + embargo).strftime(
                            "%Y-%m-%d %H:%M"
                        )
                    },
                    code="embargo",
                )
            raise Conflict(_("This customer is not in the pool."), code="not_in_pool")
        previous = (
            OwnershipEvent.objects.filter(customer=customer, kind__in=RELEASE_KINDS)
            .order_by("-at", "-pk")
            .values_list("from_owner", flat=True)
            .first()
        )
        TeamMember.objects.filter(customer=customer, user=actor).delete()  # owner now
        OwnershipEvent.objects.create(
            customer=customer,
            kind=OwnershipKind.CLAIMED,
            from_owner_id=None,
            to_owner=actor,
            actor=actor,
            at=now,
        )
        audit_record(
            actor=actor,
            action="customer.claimed",
            target=customer,
            changes={"owner": [None, actor.pk], "previous_owner": previous},
        )
        customer.refresh_from_db()
    return customer


def customer_assign(*, actor: User, customer_id: int, to: User, reason: str = "") -> Customer:
    """A manager gives a pool customer to a rep in their scope."""
    if not actor.has_role(*MANAGING_ROLES) or not manages(actor, to):
        raise Forbidden(_("You can assign customers only to people you manage."))
    if not to.is_active or not to.has_role(*CLAIMING_ROLES):
        raise Invalid(_("%(name)s cannot own customers.") % {"name": to.display_name})
    with transaction.atomic():
        to = User.objects.select_for_update(of=("self",)).select_related("department").get(pk=to.pk)
        customer = customer_locked(customer_id)
        if not Customer.objects.filter(pk=customer.pk).filter(pool_visible(viewer=actor)).exists():
            raise NotFound()
        if customer.owner_id is not None:
            raise Conflict(_("This customer is not in the pool."), code="not_in_pool")
        now = clock.now()
        policy = RuleBook.load().policy(to.department_id)
        # The fresh-release embargo stops a teammate grabbing a customer for the rep who let
        # it go; a manager may still place it at once, but must say why (it is on the record).
        entered = customer.pool_entered_at or now - dt.timedelta(hours=policy.embargo_hours)
        embargo_ends = entered + dt.timedelta(hours=policy.embargo_hours)
        if now < embargo_ends and len(reason.strip()) < 5:
            raise Invalid(
                _(
                    "Released less than %(hours)d hours ago: give a reason to assign it before "
                    "%(moment)s (at least 5 characters)."
                )
                % {
                    "hours": policy.embargo_hours,
                    "moment": timezone.localtime(embargo_ends).strftime("%Y-%m-%d %H:%M"),
                },
                code="embargo_reason",
            )
        check_can_hold_more(to, policy, who="other")
        again = cooldown_until(to, customer, policy, now)
        if again is not None:
            raise Conflict(
                _("%(name)s lost this customer recently and can have it again on %(date)s.")
                % {"name": to.display_name, "date": _local_date(again)},
                code="cooldown",
            )
        owner_change(
            customer=customer,
            to=to,
            kind=OwnershipKind.ASSIGNED,
            actor=actor,
            reason=reason.strip(),
        )
        notify(
            recipients=[to],
            kind="customer_assigned",
            title=_("%(who)s assigned %(name)s to you")
            % {"who": actor.display_name, "name": customer.name},
            body=reason,
            url=reverse("customer-detail", args=[customer.pk]),
        )
    return customer


def customer_release(*, actor: User, customer_id: int, reason: str) -> Customer:
    """The owner (or their manager) gives a customer back to the pool, saying why."""
    reason = _reason(reason)
    with transaction.atomic():
        customer = customer_locked(customer_id)
        if customer.owner_id is None:
            raise Conflict(_("This customer is already in the pool."), code="in_pool")
        if customer.owner_id != actor.pk and not manages(actor, customer.owner):
            raise Forbidden(_("Only the owner or their manager can release a customer."))
        previous = customer.owner
        owner_change(
            customer=customer,
            to=None,
            kind=OwnershipKind.RELEASED_MANUAL,
            actor=actor,
            reason=reason,
        )
        if previous is not None and previous.pk != actor.pk:
            notify(
                recipients=[previous],
                kind="customer_released",
                title=_("%(who)s released %(name)s to the pool")
                % {"who": actor.display_name, "name": customer.name},
                body=reason,
                url=reverse("customer-detail", args=[customer.pk]),
            )
    return customer


def customer_transfer(*, actor: User, customer_id: int, to: User, reason: str) -> Customer:
    """A manager moves a customer between reps they manage."""
    reason = _reason(reason)
    if not actor.has_role(*MANAGING_ROLES) or not manages(actor, to):
        raise Forbidden(_("You can transfer customers only to people you manage."))
    if not to.is_active or not to.has_role(*CLAIMING_ROLES):
        raise Invalid(_("%(name)s cannot own customers.") % {"name": to.display_name})
    with transaction.atomic():
        customer = customer_locked(customer_id)
        if customer.owner_id is None:
            raise Conflict(_("This customer is in the pool: assign it instead."), code="in_pool")
        if not manages(actor, customer.owner):
            raise Forbidden(_("You can transfer customers only from people you manage."))
        if customer.owner_id == to.pk:
            raise Invalid(_("%(name)s already owns this customer.") % {"name": to.display_name})
        previous = customer.owner
        owner_change(
            customer=customer, to=to, kind=OwnershipKind.TRANSFERRED, actor=actor, reason=reason
        )
        if previous is not None:
            open_deals_move(customer_ids=[customer.pk], from_user=previous, to=to, actor=actor)
        title = _("%(name)s was transferred from %(from)s to %(to)s") % {
            "name": customer.name,
            "from": previous.display_name if previous else "",
            "to": to.display_name,
        }
        notify(
            recipients=[previous, to],
            kind="customer_transferred",
            title=title,
            body=reason,
            url=reverse("customer-detail", args=[customer.pk]),
        )
    return customer


def customer_hold(*, actor: User, customer_id: int, hold: bool, reason: str) -> Customer:
    """A manager exempts a customer from release (or lifts the exemption)."""
    reason = _reason(reason)
    with transaction.atomic():
        customer = customer_locked(customer_id)
        if customer.owner_id is None:
            raise Conflict(_("This customer is in the pool: nothing to hold."), code="in_pool")
        if not actor.has_role(*MANAGING_ROLES) or not manages(actor, customer.owner):
            raise Forbidden(_("Only the owner's manager can put a customer on hold."))
        customer.on_hold = hold
        customer.release_warned_at = None
        customer.save(update_fields=["on_hold", "release_warned_at"])
        audit_record(
            actor=actor,
            action="customer.held" if hold else "customer.hold_lifted",
            target=customer,
            changes={"on_hold": hold, "reason": reason},
        )
    return customer
