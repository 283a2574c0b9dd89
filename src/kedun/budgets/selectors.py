"""Reads of budgets and leavers, for the people a viewer stands over."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from kedun.org.models import Role, User
from kedun.org.selectors import subordinate_ids

from .models import DailyBudget, Leaver
from .services import is_leaving, local_today, role_limits


def people_under(*, viewer: User) -> QuerySet[User]:
    """Whom the viewer stands over (org.selectors.is_above, as a query)."""
    people = User.objects.filter(is_active=True).exclude(pk=viewer.pk)
    if viewer.is_active and viewer.role == Role.ADMIN:
        return people.order_by("username")
    if not viewer.is_active or viewer.role != Role.MANAGER:
        return people.none()
    return people.filter(pk__in=subordinate_ids(manager=viewer)).order_by("username")


@dataclass(frozen=True)
class BudgetLine:
    user: User
    views: int
    view_limit: int | None
    reveals: int
    reveal_limit: int | None
    leaver: Leaver | None


def team_budgets(*, viewer: User, day: dt.date | None = None) -> list[BudgetLine]:
    day = day or local_today()
    people = list(people_under(viewer=viewer))
    rows = {b.user_id: b for b in DailyBudget.objects.filter(user__in=people, day=day)}
    leavers = {
        leaver.user_id: leaver
        for leaver in Leaver.objects.filter(user__in=people, ended_at__isnull=True)
    }
    lines = []
    for person in people:
        row = rows.get(person.pk)
        if row is None:
            views, reveals = role_limits(person, leaving=person.pk in leavers)
            lines.append(BudgetLine(person, 0, views, 0, reveals, leavers.get(person.pk)))
        else:
            lines.append(
                BudgetLine(
                    person,
                    row.views,
                    row.view_limit,
                    row.reveals,
                    row.reveal_limit,
                    leavers.get(person.pk),
                )
            )
    return lines


def leaving_now(*, user: User) -> bool:
    return is_leaving(user)
