"""Spending the daily budgets, granting more, and leaver mode.

The rule (MISSION §8): per role and per day, a user may open so many other people's customers
and a manager may reveal so many masked values. Spending is one conditional UPDATE on the
user's row for the day — `count = count + 1 WHERE count < limit` — so parallel requests can
never spend past the limit: the database decides, one row at a time, and a CHECK constraint
refuses a count above its limit whatever the code does. At the warning share (80 %) the user's
manager is told once (a second conditional UPDATE claims the warning). Past the limit the user
is refused until a manager over them grants more (audited).

Leaver mode: a manager marks a user as leaving — exports are off (exports.services asks
`is_leaving`), the day's budgets are cut to the leaver's, every customer the user opens is
reported to the manager each morning — until the handover ends it (audited).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kedun.audit.models import AccessEvent, AccessKind
from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.notifications.services import notify
from kedun.org.models import User
from kedun.org.selectors import is_above

from .models import BudgetGrant, BudgetKind, DailyBudget, Leaver

MAX_GRANT = 10_000


class BudgetExceeded(Forbidden):
    """Refused: the day's budget is spent. Pages show errors/budget.html, in the user's
    language; the API answers 403 with code "budget_exceeded"."""

    code = "budget_exceeded"
    template = "errors/budget.html"
    default_message = gettext_lazy("Your daily budget is used up.")


def local_today() -> dt.date:
    return timezone.localdate(clock.now())


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def is_leaving(user: User) -> bool:
    return Leaver.objects.filter(user=user, ended_at__isnull=True).exists()


def role_limits(user: User, *, leaving: bool) -> tuple[int | None, int | None]:
    """(customers a day, reveals a day) for the user's role; None: no limit."""
    views = settings.KEDUN_VIEW_BUDGETS.get(user.role)
    reveals = settings.KEDUN_REVEAL_BUDGETS.get(user.role)
    if leaving:
        views = (
            min(views, settings.KEDUN_LEAVER_VIEW_BUDGET)
            if views is not None
            else (settings.KEDUN_LEAVER_VIEW_BUDGET)
        )
        reveals = (
            min(reveals, settings.KEDUN_LEAVER_REVEAL_BUDGET)
            if reveals is not None
            else settings.KEDUN_LEAVER_REVEAL_BUDGET
        )
    return views, reveals


def daily_budget_of(*, user: User, day: dt.date) -> DailyBudget:
    """The user's row for the day, made with the role's limits when it is the first use."""
    budget = DailyBudget.objects.filter(user=user, day=day).first()
    if budget is not None:
        return budget
    views, reveals = role_limits(user, leaving=is_leaving(user))
    try:
        # A savepoint: a parallel request may make the same row first.
        with transaction.atomic():
            return DailyBudget.objects.create(
                user=user, day=day, view_limit=views, reveal_limit=reveals
            )
    except IntegrityError:
        return DailyBudget.objects.get(user=user, day=day)


_COLUMNS = {
    BudgetKind.VIEW: ("views", "view_limit", "views_warned_at"),
    BudgetKind.REVEAL: ("reveals", "reveal_limit", "reveals_warned_at"),
}


def _spend_once(*, user: User, day: dt.date, kind: str) -> tuple[int, int, int | None, Any] | None:
    count, limit, warned = _COLUMNS[BudgetKind(kind)]
    table = DailyBudget._meta.db_table
    # RETURNING (SQLite ≥ 3.35, PostgreSQL): the count this request reached, in the same
    # statement that spent it — no second read that a parallel request could slip between.
    sql = (
        f"UPDATE {table} SET {count} = {count} + 1 "
        f"WHERE user_id = %s AND day = %s AND ({limit} IS NULL OR {count} < {limit}) "
        f"RETURNING id, {count}, {limit}, {warned}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, day.isoformat()])
        row = cursor.fetchone()
    return tuple(row) if row else None


def budget_spend(*, user: User, kind: str) -> None:
    """Spend one from the user's budget for today, or raise BudgetExceeded.

    The hot path (the day's row exists, room left) is one UPDATE. The first use of a day adds
    an INSERT; the warning adds one more UPDATE, once a day.
    """
    day = local_today()
    spent = _spend_once(user=user, day=day, kind=kind)
    if spent is None:
        daily_budget_of(user=user, day=day)
        spent = _spend_once(user=user, day=day, kind=kind)
    if spent is None:
        raise BudgetExceeded(_refusal(user=user, kind=kind))
    pk, used, limit, warned_at = spent
    if limit is not None and warned_at is None and used * 100 >= limit * warn_percent():
        _warn_manager_once(user=user, budget_pk=pk, kind=kind, used=used, limit=limit)


def warn_percent() -> int:
    return int(settings.KEDUN_BUDGET_WARN_PERCENT)


def _refusal(*, user: User, kind: str) -> str:
    limit = (
        DailyBudget.objects.filter(user=user, day=local_today())
        .values_list("view_limit" if kind == BudgetKind.VIEW else "reveal_limit", flat=True)
        .first()
    )
    manager = user.manager.display_name if user.manager_id and user.manager else _("your manager")
    if kind == BudgetKind.VIEW:
        text = _(
            "You have opened %(limit)s other people's customers today, your daily budget. "
            "Ask %(manager)s to grant you more."
        )
    else:
        text = _(
            "You have revealed contact data %(limit)s times today, your daily budget. "
            "Ask %(manager)s to grant you more."
        )
    return text % {"limit": limit or 0, "manager": manager}


def _warn_manager_once(*, user: User, budget_pk: int, kind: str, used: int, limit: int) -> None:
    warned = _COLUMNS[BudgetKind(kind)][2]
    with transaction.atomic():
        claimed = DailyBudget.objects.filter(pk=budget_pk, **{f"{warned}__isnull": True}).update(
            **{warned: clock.now()}
        )
        if claimed != 1:
            return  # a parallel request warned already
        what = (
            _("%(user)s has opened %(used)s of %(limit)s other people's customers allowed today")
            if kind == BudgetKind.VIEW
            else _("%(user)s has revealed contact data %(used)s of %(limit)s times allowed today")
        )
        notify(
            recipients=[user.manager],
            kind="budget.warning",
            title=what % {"user": user.display_name, "used": used, "limit": limit},
            url=reverse("budget-team"),
        )


def budget_grant(*, actor: User, user: User, kind: str, extra: int) -> DailyBudget:
    """A manager over the user raises today's limit by `extra` (audited)."""
    if not is_above(actor=actor, user=user):
        raise Forbidden(_("Only a manager over this person may grant more."))
    if kind not in BudgetKind.values:
        raise Invalid(_("Unknown budget."))
    if not 0 < extra <= MAX_GRANT:
        raise Invalid(_("Grant between 1 and %(max)s.") % {"max": MAX_GRANT})
    day = local_today()
    limit_field = _COLUMNS[BudgetKind(kind)][1]
    with transaction.atomic():
        budget = daily_budget_of(user=user, day=day)
        if getattr(budget, limit_field) is None:
            raise Invalid(_("This budget has no limit for this person."))
        DailyBudget.objects.filter(pk=budget.pk).update(**{limit_field: F(limit_field) + extra})
        BudgetGrant.objects.create(
            user=user, day=day, kind=kind, extra=extra, granted_by=actor, granted_at=clock.now()
        )
        audit_record(
            actor=actor,
            action="budget.granted",
            target=user,
            changes={"kind": kind, "extra": extra, "day": day.isoformat()},
        )
        notify(
            recipients=[user],
            kind="budget.granted",
            title=_("%(manager)s granted you %(extra)s more for today")
            % {"manager": actor.display_name, "extra": extra},
        )
    budget.refresh_from_db()
    return budget


def _limits_to(user: User, *, leaving: bool) -> None:
    """Today's row to the limits of the user's (new) state, never below what is spent."""
    views, reveals = role_limits(user, leaving=leaving)
    updates: dict[str, Any] = {}
    for limit, count, value in (
        ("view_limit", "views", views),
        ("reveal_limit", "reveals", reveals),
    ):
        if value is None:
            updates[limit] = None
        elif leaving:  # cut: the smaller of the present limit and the leaver's
            updates[limit] = Greatest(
                F(count), Least(Coalesce(F(limit), Value(value)), Value(value))
            )
        else:
            updates[limit] = Greatest(F(count), Value(value))
    DailyBudget.objects.filter(user=user, day=local_today()).update(**updates)


def leaver_mark(*, actor: User, user: User, reason: str = "") -> Leaver:
    """Leaver mode on: exports off, budgets cut, views reported daily to the manager."""
    if not is_above(actor=actor, user=user):
        raise Forbidden(_("Only a manager over this person may mark them as leaving."))
    try:
        with transaction.atomic():
            leaver = Leaver.objects.create(
                user=user, marked_by=actor, started_at=clock.now(), reason=reason[:300]
            )
            _limits_to(user, leaving=True)
            audit_record(
                actor=actor, action="user.leaver_marked", target=user, changes={"reason": reason}
            )
    except IntegrityError:  # leaver_one_open_per_user
        raise Conflict(
            _("This person is already marked as leaving."), code="already_leaving"
        ) from None
    return leaver


def leaver_end(*, actor: User, user: User) -> Leaver:
    """The handover is done: leaver mode off (audited)."""
    if not is_above(actor=actor, user=user):
        raise Forbidden(_("Only a manager over this person may end leaver mode."))
    with transaction.atomic():
        now = clock.now()
        ended = Leaver.objects.filter(user=user, ended_at__isnull=True).update(
            ended_at=now, ended_by=actor
        )
        if ended != 1:
            raise NotFound(_("This person is not marked as leaving."))
        _limits_to(user, leaving=False)
        audit_record(actor=actor, action="user.leaver_ended", target=user)
    return Leaver.objects.filter(user=user, ended_at=now).get()


def leaver_handed_over(*, actor: User | None, user: User) -> bool:
    """The departure handover (lifecycle.handover, which checks who may do it) ends leaver
    mode in its own transaction; `actor` None is the command line. False: not in leaver mode."""
    ended = Leaver.objects.filter(user=user, ended_at__isnull=True).update(
        ended_at=clock.now(), ended_by=actor
    )
    if ended:
        audit_record(
            actor=actor, action="user.leaver_ended", target=user, changes={"by": "handover"}
        )
    return bool(ended)


def leaver_views_report(*, day: dt.date) -> int:
    """Tell each leaver's manager which customers the leaver opened on `day` (local). Each
    leaver's day is claimed by a conditional UPDATE first, so a rerun or a second worker
    reports nothing twice. Returns the reports sent."""
    start, end = _day_bounds(day)
    sent = 0
    leavers = Leaver.objects.filter(ended_at__isnull=True, started_at__lt=end).select_related(
        "user", "user__manager"
    )
    for leaver in leavers:
        with transaction.atomic():
            claimed = (
                Leaver.objects.filter(pk=leaver.pk, ended_at__isnull=True)
                .filter(Q(reported_through__isnull=True) | Q(reported_through__lt=day))
                .update(reported_through=day)
            )
            if claimed != 1:
                continue
            views = list(
                AccessEvent.objects.filter(
                    user=leaver.user, kind=AccessKind.VIEW, at__gte=start, at__lt=end
                )
                .select_related("customer")
                .order_by("at")
            )
            lines = [
                f"{timezone.localtime(v.at):%H:%M} {v.customer.name} ({v.customer.code})"
                for v in views
                if v.customer is not None
            ]
            notify(
                recipients=[leaver.user.manager],
                kind="leaver.views",
                title=_("%(user)s (leaving) opened %(count)s customers on %(day)s")
                % {"user": leaver.user.display_name, "count": len(lines), "day": day.isoformat()},
                body="\n".join(lines),
                url=reverse("budget-team"),
            )
            sent += 1
    return sent
