"""Pages of field work: the check-in form, check-out, the customer's location, a rep's day
(drawn), the manager's field dashboard with its review queue, one check-in, the field rules.

Thin: a form checks the shape, a service decides and writes, a selector reads (scoped to the
viewer). Controls are shown only to those the services would allow; the services still enforce.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kedun.core import clock
from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.customers.selectors import customer_get_for_viewer
from kedun.lifecycle.services import MANAGING_ROLES, manages, works_the_account
from kedun.lifecycle.views.common import refused, viewer_with
from kedun.org.access import acting_user
from kedun.org.models import Department, Role, User
from kedun.org.selectors import department_list

from .drawing import day_svg
from .forms import CheckInForm, CheckOutForm, FieldRuleForm, LocationForm, ReviewForm
from .models import CheckIn, CheckInSource, Review
from .presentation import Reasons, distance_text, remarks_of, time_spent
from .rules import FieldRuleBook
from .selectors import (
    check_in_get_for_viewer,
    location_candidates,
    rep_day,
    reps_day_summary,
    reps_visible_to,
    review_queue,
)
from .services import (
    check_in_record,
    check_in_review,
    check_out,
    customer_locate,
    location_learnable,
)
from .settings_services import RULE_FIELDS, field_rule_set, field_settings_editable


def may_review(viewer: User, check_in: CheckIn) -> bool:
    """The services' rule, asked in advance: the rep's manager, never the rep."""
    return (
        check_in.rep_id != viewer.pk
        and viewer.has_role(*MANAGING_ROLES)
        and manages(viewer, check_in.rep)
    )


def _back(request: HttpRequest, fallback: str) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback


def _minutes(spent: dt.timedelta | None) -> int | None:
    return round(spent.total_seconds() / 60) if spent is not None else None


def _flag_summary(check_in: CheckIn) -> str:
    flags = list(check_in.flags.all())
    reasons = Reasons(flags)
    return " · ".join(reasons.of(flag) for flag in flags)


# -- the check-in form ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def check_in_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = acting_user(request)
    customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
    if not works_the_account(viewer, customer):
        raise Forbidden(
            _(
                "Only the owner, a collaborator with write access or their manager can check "
                "in at this customer."
            )
        )
    form = CheckInForm(request.POST or None, request.FILES or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recorded = check_in_record(
                actor=viewer,
                customer=customer,
                captured_at=data["captured_at"] or clock.now(),
                lat=data["lat"],
                lng=data["lng"],
                accuracy_m=data["accuracy"],
                mock=data["mock"],
                photo=data["photo"].read(),
                audio=data["audio"].read() if data["audio"] else None,
                note=data["note"],
                need_id=data["need"],
                quote_id=data["quote"],
                idempotency_key=data["idempotency_key"],
                source=CheckInSource.APP,
            )
        except DomainError as error:
            refused(error)
            form.add_error(None, str(error.message))
        else:
            summary = _flag_summary(recorded.check_in)
            if not recorded.created:
                messages.info(request, _("This check-in had already arrived; it is kept once."))
            elif summary:
                messages.warning(
                    request,
                    _("Checked in at %(name)s. Your manager will look at: %(flags)s")
                    % {"name": customer.name, "flags": summary},
                )
            else:
                messages.success(request, _("Checked in at %(name)s.") % {"name": customer.name})
            return redirect(f"{reverse('customer-detail', args=[customer.pk])}#field")
    return render(
        request,
        "field/check_in_new.html",
        {"customer": customer, "form": form},
        status=400 if form.errors else 200,
    )


# A photo and a voice report of up to 20 MB each (core.middleware reads this).
check_in_new.max_request_setting = "KEDUN_FIELD_MAX_REQUEST_BYTES"  # type: ignore[attr-defined]


@login_required
@require_POST
def check_out_view(request: HttpRequest, check_in_id: int) -> HttpResponse:
    viewer = acting_user(request)
    check_in = check_in_get_for_viewer(viewer=viewer, check_in_id=check_in_id)
    fallback = f"{reverse('customer-detail', args=[check_in.customer_id])}#field"
    form = CheckOutForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(_back(request, fallback))
    data = form.cleaned_data
    try:
        done = check_out(
            actor=viewer,
            check_in_id=check_in.pk,
            captured_at=data["captured_at"] or clock.now(),
            lat=data["lat"],
            lng=data["lng"],
            accuracy_m=data["accuracy"],
        )
    except DomainError as error:
        refused(error)
        messages.error(request, str(error.message))
    else:
        spent = time_spent(done)
        minutes = round(spent.total_seconds() / 60) if spent else 0
        messages.success(
            request,
            _("Checked out of %(name)s after %(minutes)d min.")
            % {"name": done.customer.name, "minutes": minutes},
        )
    return redirect(_back(request, fallback))


@login_required
@require_POST
def customer_location_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = acting_user(request)
    customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
    back = f"{reverse('customer-detail', args=[customer.pk])}#field"
    form = LocationForm(request.POST)
    if not form.is_valid():
        if "lat" in form.errors or "lng" in form.errors:
            messages.error(request, _("Give the latitude and the longitude as numbers."))
        else:
            messages.error(request, " ".join(str(e) for v in form.errors.values() for e in v))
        return redirect(back)
    data = form.cleaned_data
    try:
        customer_locate(
            actor=viewer,
            customer_id=customer.pk,
            lat=data["lat"],
            lng=data["lng"],
            coord_system=data["coord_system"],
            accuracy_m=data["accuracy"],
        )
    except DomainError as error:
        refused(error)
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The location of %(name)s is set.") % {"name": customer.name})
    return redirect(back)


# -- one check-in and its review --------------------------------------------------------------


@login_required
def check_in_detail(request: HttpRequest, check_in_id: int) -> HttpResponse:
    viewer = acting_user(request)
    check_in = check_in_get_for_viewer(viewer=viewer, check_in_id=check_in_id)
    flags = list(check_in.flags.all())
    reasons = Reasons(flags)
    spent = time_spent(check_in)
    return render(
        request,
        "field/check_in.html",
        {
            "check_in": check_in,
            "flags": [(flag, reasons.of(flag)) for flag in flags],
            "remarks": remarks_of(check_in),
            "spent_minutes": _minutes(spent),
            "distance": distance_text(check_in.distance_m)
            if check_in.distance_m is not None
            else "",
            "review_form": ReviewForm(prefix=f"review-{check_in.pk}")
            if may_review(viewer, check_in)
            else None,
            "can_check_out": check_in.rep_id == viewer.pk and check_in.checked_out_at is None,
        },
    )


@login_required
@require_POST
def check_in_review_view(request: HttpRequest, check_in_id: int) -> HttpResponse:
    viewer = acting_user(request)
    check_in = check_in_get_for_viewer(viewer=viewer, check_in_id=check_in_id)
    back = _back(request, reverse("field-check-in", args=[check_in.pk]))
    form = ReviewForm(request.POST, prefix=f"review-{check_in.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose accept or question."))
        return redirect(back)
    try:
        reviewed = check_in_review(
            actor=viewer,
            check_in_id=check_in.pk,
            decision=form.cleaned_data["decision"],
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        refused(error)
        messages.error(request, str(error.message))
        return redirect(back)
    name = reviewed.check_in.customer.name
    if reviewed.check_in.review == Review.QUESTIONED:
        messages.success(
            request, _("Questioned; %(rep)s is told.") % {"rep": check_in.rep.display_name}
        )
    elif reviewed.location_learned:
        messages.success(
            request,
            _("Accepted. %(name)s now has its location from this check-in.") % {"name": name},
        )
    elif check_in.customer.lat is None and not location_learnable(reviewed.check_in):
        messages.success(
            request,
            _(
                "Accepted. Its position was not made the customer's location: it was mocked "
                "or rougher than ±100 m."
            ),
        )
    else:
        messages.success(request, _("Accepted."))
    return redirect(back)


# -- a rep's day ------------------------------------------------------------------------------


def _day(request: HttpRequest) -> dt.date:
    raw = request.GET.get("date", "").strip()
    if raw:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            messages.error(request, _("“%(date)s” is no date: today is shown.") % {"date": raw})
    return timezone.localdate(clock.now())


def _tile_policy(policy: str, tile_url: str) -> str:
    """The page's CSP with the tile server's origin (and only it) allowed for images."""
    parsed = urlparse(tile_url)
    origin = f"{parsed.scheme}://{parsed.netloc}"
    return policy.replace("img-src 'self'", f"img-src 'self' {origin}", 1)


@login_required
def rep_day_view(request: HttpRequest) -> HttpResponse:
    viewer = acting_user(request)
    reps = reps_visible_to(viewer=viewer)
    rep: User | None = viewer
    wanted = request.GET.get("user", "").strip()
    if wanted:
        rep = reps.filter(pk=int(wanted)).first() if wanted.isdigit() else None
        if rep is None:
            raise NotFound()
    assert rep is not None
    day = _day(request)
    plan = rep_day(viewer=viewer, rep=rep, day=day)
    flags = [flag for check_in in plan.check_ins for flag in check_in.flags.all()]
    reasons = Reasons(flags)
    rows = [
        {
            "number": number,
            "check_in": check_in,
            "spent": time_spent(check_in),
            "minutes": _minutes(time_spent(check_in)),
            "distance": distance_text(check_in.distance_m)
            if check_in.distance_m is not None
            else "",
            "flags": [(flag, reasons.of(flag)) for flag in check_in.flags.all()],
            "remarks": remarks_of(check_in),
        }
        for number, check_in in enumerate(plan.check_ins, start=1)
    ]
    tiles = settings.KEDUN_MAP_TILE_URL
    spent = [t for t in (time_spent(c) for c in plan.check_ins) if t is not None]
    total = sum(spent, dt.timedelta()) if spent else None
    response = render(
        request,
        "field/day.html",
        {
            "rep": rep,
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "reps": list(reps) if reps.count() > 1 else [],
            "rows": rows,
            "drawing": day_svg(plan.check_ins, plan.customers, tiles=tiles),
            "customers_unlocated": [c for c in plan.customers if c.lat is None],
            "total_spent": total,
            "total_minutes": _minutes(total),
            "flagged_count": sum(1 for row in rows if row["flags"]),
            "tiles": bool(tiles),
        },
    )
    if tiles:
        response["Content-Security-Policy"] = _tile_policy(settings.CONTENT_SECURITY_POLICY, tiles)
    return response


# -- the manager's dashboard ------------------------------------------------------------------


@login_required
def field_dashboard(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, Role.ADMIN, Role.MANAGER)
    day = _day(request)
    queue = Paginator(review_queue(viewer=viewer), 20).get_page(request.GET.get("page"))
    candidates = list(location_candidates(viewer=viewer)[:20])
    flags = [flag for check_in in [*queue, *candidates] for flag in check_in.flags.all()]
    reasons = Reasons(flags)
    return render(
        request,
        "field/dashboard.html",
        {
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "summary": reps_day_summary(viewer=viewer, day=day),
            "queue": queue,
            "queue_rows": [
                (
                    c,
                    [(f, reasons.of(f)) for f in c.flags.all()],
                    ReviewForm(prefix=f"review-{c.pk}"),
                )
                for c in queue
            ],
            "candidates": [(c, ReviewForm(prefix=f"review-{c.pk}")) for c in candidates],
        },
    )


# -- the field rules --------------------------------------------------------------------------


def _level(request: HttpRequest, viewer: User) -> Department | None:
    raw = request.POST.get("department") if request.method == "POST" else None
    raw = raw if raw is not None else request.GET.get("department")
    if raw is None:
        return None if viewer.role == Role.ADMIN else viewer.department
    if raw in ("", "company"):
        return None
    if not raw.isdigit():
        raise NotFound()
    department = department_list().filter(pk=int(raw)).first()
    if department is None:
        raise NotFound()
    return department


@login_required
def field_settings_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, Role.ADMIN, Role.MANAGER)
    department = _level(request, viewer)
    editable = field_settings_editable(actor=viewer, department=department)
    if request.method == "POST" and not editable:
        raise Forbidden()
    book = FieldRuleBook.load()
    level = department.pk if department else None
    own = book.rules.get(level)
    inherited = book.inherited(level)
    current = own or inherited
    initial: dict[str, Any] = {name: getattr(current, name) for name in RULE_FIELDS}
    initial["inherit"] = own is None
    form = FieldRuleForm(
        request.POST if request.method == "POST" else None,
        company=department is None,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            field_rule_set(actor=viewer, department=department, values=form.values())
        except DomainError as error:
            refused(error)
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Field rules saved."))
            query = urlencode({"department": department.pk if department else "company"})
            return redirect(f"{reverse('field-settings')}?{query}")
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    levels = department_list()
    if viewer.role != Role.ADMIN:
        levels = levels.filter(path__startswith=viewer.department.path)
    return render(
        request,
        "field/settings.html",
        {
            "department": department,
            "levels": levels,
            "editable": editable,
            "form": form,
            "inherited": inherited,
        },
    )
