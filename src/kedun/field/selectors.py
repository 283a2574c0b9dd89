"""Reads of field work, every one scoped to the viewer: a rep sees their own check-ins, a
manager those of the reps they manage (lifecycle.services.manages, as a query), the boss all,
nobody else — not the back office, not a colleague on the account team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.core import clock
from kedun.core.errors import Invalid, NotFound
from kedun.customers.models import Customer
from kedun.org.models import DataScope, Role, User
from kedun.org.selectors import subordinate_ids

from .models import CheckIn, CheckInFlag, Review


def check_ins_visible_q(*, viewer: User, rep_field: str = "rep") -> Q:
    """Whose check-ins the viewer may read, as a Q on `rep_field` ("" when filtering users)."""

    def on(lookup: str) -> str:
        return f"{rep_field}__{lookup}" if rep_field else lookup

    if not viewer.is_active:
        return Q(pk__in=[])
    if viewer.role == Role.ADMIN:
        return Q()
    visible = Q(**{on("pk"): viewer.pk})
    if viewer.role != Role.MANAGER:
        return visible
    visible |= Q(**{on("pk__in"): subordinate_ids(manager=viewer)})
    if viewer.data_scope in (DataScope.DEPARTMENT_TREE, DataScope.ALL):
        visible |= Q(**{on("department__path__startswith"): viewer.department.path})
    return visible


def customer_for_check_in(*, reference: str | int) -> Customer:
    """The customer a check-in names by id or by customer number (客户编号); NotFound for
    either unknown — the caller then checks that the actor may see it. A number that is one
    customer's id and another's customer number is refused rather than guessed."""
    text = str(reference).strip()
    found = Customer.objects.select_related("owner", "owner__department", "merged_into")
    by_code = found.filter(code=text).first() if text else None
    by_id = found.filter(pk=int(text)).first() if text.isdigit() else None
    if by_code is not None and by_id is not None and by_code.pk != by_id.pk:
        raise Invalid(
            _("%(ref)s is one customer's id and another's customer number: send the id.")
            % {"ref": text},
            code="ambiguous_customer",
        )
    customer = by_id or by_code
    if customer is None:
        raise NotFound()
    while customer.merged_into is not None:  # a merged record leads to the one it became
        customer = customer.merged_into
    return customer


def check_ins_visible_to(*, viewer: User) -> QuerySet[CheckIn]:
    return (
        CheckIn.objects.filter(check_ins_visible_q(viewer=viewer))
        .select_related("customer", "rep", "reviewed_by")
        .prefetch_related(Prefetch("flags", queryset=CheckInFlag.objects.order_by("kind")))
    )


def check_in_get_for_viewer(*, viewer: User, check_in_id: int) -> CheckIn:
    """The check-in, or NotFound — the same answer for "missing" and "not yours"."""
    check_in = check_ins_visible_to(viewer=viewer).filter(pk=check_in_id).first()
    if check_in is None:
        raise NotFound()
    return check_in


def reps_visible_to(*, viewer: User) -> QuerySet[User]:
    """The people whose days the viewer may look at (themselves first in the lists)."""
    return (
        User.objects.filter(check_ins_visible_q(viewer=viewer, rep_field=""))
        .select_related("department")
        .order_by("department__path", "username")
    )


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A local day as [start, end) in aware datetimes (the company's time zone)."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min).replace(tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min).replace(tzinfo=zone)
    return start, end


def check_in_list(
    *, viewer: User, rep: User | None = None, day: dt.date | None = None
) -> QuerySet[CheckIn]:
    """Check-ins the viewer may read, optionally one rep's and one local day's; a day reads in
    visit order, otherwise newest first."""
    check_ins = check_ins_visible_to(viewer=viewer)
    if rep is not None:
        check_ins = check_ins.filter(rep=rep)
    if day is not None:
        start, end = day_bounds(day)
        check_ins = check_ins.filter(captured_at__gte=start, captured_at__lt=end)
        return check_ins.order_by("captured_at", "pk")
    return check_ins.order_by("-captured_at", "-pk")


def open_check_in(*, rep: User, customer: Customer) -> CheckIn | None:
    """The rep's latest check-in at the customer still waiting for its check-out (in the last
    day: a visit nobody closed yesterday is not "open" today)."""
    return (
        CheckIn.objects.filter(
            rep=rep,
            customer=customer,
            checked_out_at__isnull=True,
            captured_at__gte=clock.now() - dt.timedelta(hours=24),
        )
        .order_by("-captured_at", "-pk")
        .first()
    )


def customer_check_ins(*, viewer: User | None, customer: Customer) -> QuerySet[CheckIn]:
    """The customer's visits the viewer may read, newest first."""
    if viewer is None:
        return CheckIn.objects.none()
    return check_ins_visible_to(viewer=viewer).filter(customer=customer).order_by("-captured_at")


@dataclass
class RepDay:
    """One rep's visits of a day on the manager's dashboard."""

    rep: User
    visits: int = 0
    flagged: int = 0
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    customers: int = 0


def reps_day_summary(*, viewer: User, day: dt.date) -> list[RepDay]:
    """Each rep in the viewer's scope who visited anyone that day, with counts."""
    start, end = day_bounds(day)
    flagged = CheckInFlag.objects.filter(check_in=OuterRef("pk"))
    rows = (
        CheckIn.objects.filter(check_ins_visible_q(viewer=viewer))
        .filter(captured_at__gte=start, captured_at__lt=end)
        .annotate(has_flag=Exists(flagged))
        .values("rep")
        .annotate(
            visits=Count("pk"),
            flagged=Count("pk", filter=Q(has_flag=True)),
            first_at=Min("captured_at"),
            last_at=Max("captured_at"),
            customers=Count("customer", distinct=True),
        )
    )
    people = {user.pk: user for user in User.objects.filter(pk__in=[r["rep"] for r in rows])}
    summary = [
        RepDay(
            rep=people[row["rep"]],
            visits=row["visits"],
            flagged=row["flagged"],
            first_at=row["first_at"],
            last_at=row["last_at"],
            customers=row["customers"],
        )
        for row in rows
    ]
    return sorted(summary, key=lambda r: (-r.flagged, r.rep.username))


def review_queue(*, viewer: User) -> QuerySet[CheckIn]:
    """Flagged check-ins of reps the viewer manages that nobody reviewed yet, newest first;
    never the viewer's own (nobody reviews themselves)."""
    flagged = CheckInFlag.objects.filter(check_in=OuterRef("pk"))
    return (
        check_ins_visible_to(viewer=viewer)
        .exclude(rep=viewer)
        .filter(Exists(flagged), review=Review.NONE)
        .order_by("-captured_at", "-pk")
    )


def location_candidates(*, viewer: User) -> QuerySet[CheckIn]:
    """Unreviewed check-ins at customers that have no location yet: confirming one teaches
    the customer where it is."""
    return (
        check_ins_visible_to(viewer=viewer)
        .exclude(rep=viewer)
        .filter(review=Review.NONE, customer__lat__isnull=True, mock=False)
        .order_by("-captured_at", "-pk")
    )


@dataclass
class DayPlan:
    """A rep's day as drawn: visits in order and the customers' locations."""

    rep: User
    day: dt.date
    check_ins: list[CheckIn] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)


def rep_day(*, viewer: User, rep: User, day: dt.date) -> DayPlan:
    check_ins = list(check_in_list(viewer=viewer, rep=rep, day=day))
    seen: dict[int, Customer] = {}
    for check_in in check_ins:
        seen.setdefault(check_in.customer_id, check_in.customer)
    return DayPlan(rep=rep, day=day, check_ins=check_ins, customers=list(seen.values()))
