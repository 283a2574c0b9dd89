"""My customers with their countdowns, today's follow-ups, the pool (claim, assign) and the
key-customer report."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kedun.core import clock
from kedun.core.errors import DomainError
from kedun.lifecycle import services
from kedun.lifecycle.forms import AssignForm
from kedun.lifecycle.rules import RuleBook, grades
from kedun.lifecycle.selectors import (
    follow_ups_due,
    key_customers_single_threaded,
    my_customers,
    pool_list,
    reps_managed_by,
    with_countdowns,
)
from kedun.org.models import Role

from .common import PER_PAGE, refused, rows_or_page, search_text, viewer_with

# -- my customers, today's follow-ups ---------------------------------------------------------


@login_required
def my_customers_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, *services.CLAIMING_ROLES)
    q = search_text(request)
    page = Paginator(my_customers(viewer=viewer, search=q), PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "rows": with_countdowns(list(page.object_list)), "q": q}
    template = rows_or_page(request, "lifecycle/my_customers.html", "lifecycle/_my_rows.html")
    return render(request, template, context)


@login_required
def follow_ups_today_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, *services.CLAIMING_ROLES)
    today = timezone.localdate(clock.now())
    page = Paginator(follow_ups_due(viewer=viewer, on=today), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [
        (customer, left, (today - customer.next_follow_up_on).days)
        for customer, left in with_countdowns(list(page.object_list))
        if customer.next_follow_up_on is not None
    ]
    return render(
        request, "lifecycle/follow_ups_today.html", {"page": page, "rows": rows, "today": today}
    )


# -- the pool ---------------------------------------------------------------------------------


@login_required
def pool_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, *services.CLAIMING_ROLES)
    q = search_text(request)
    page = Paginator(pool_list(viewer=viewer, search=q), PER_PAGE).get_page(request.GET.get("page"))
    # The viewer's own embargo: their department's policy decides when they may claim.
    embargo = dt.timedelta(hours=RuleBook.load().policy(viewer.department_id).embargo_hours)
    now = clock.now()
    rows = []
    for customer in page:
        free_at = customer.pool_entered_at + embargo if customer.pool_entered_at else None
        rows.append((customer, free_at if free_at and free_at > now else None))
    reps = (
        list(reps_managed_by(actor=viewer)) if viewer.has_role(*services.MANAGING_ROLES) else None
    )
    context = {"page": page, "rows": rows, "q": q, "reps": reps, "now": now}
    template = rows_or_page(request, "lifecycle/pool.html", "lifecycle/_pool_rows.html")
    return render(request, template, context)


def _back_to_pool(request: HttpRequest) -> HttpResponse:
    q = request.POST.get("q", "").strip()[:200]
    return redirect(reverse("pool") + (f"?{urlencode({'q': q})}" if q else ""))


@login_required
@require_POST
def pool_claim_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = viewer_with(request, *services.CLAIMING_ROLES)
    try:
        customer = services.customer_claim(actor=viewer, customer_id=customer_id)
    except DomainError as error:
        refused(error)
        messages.error(request, str(error.message))
        return _back_to_pool(request)
    messages.success(request, _("%(name)s is now your customer.") % {"name": customer.name})
    return redirect("customer-detail", customer_id=customer.pk)


@login_required
@require_POST
def pool_assign_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = viewer_with(request, *services.MANAGING_ROLES)
    form = AssignForm(request.POST, reps=reps_managed_by(actor=viewer))
    if not form.is_valid():
        messages.error(request, _("Choose one of your reps to assign the customer to."))
        return _back_to_pool(request)
    to = form.cleaned_data["to"]
    try:
        customer = services.customer_assign(actor=viewer, customer_id=customer_id, to=to)
    except DomainError as error:
        refused(error)
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("%(name)s is now %(rep)s's customer.")
            % {"name": customer.name, "rep": to.display_name},
        )
    return _back_to_pool(request)


# -- report -----------------------------------------------------------------------------------


@login_required
def key_customers_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, Role.ADMIN, Role.MANAGER)
    known = grades()
    grade = request.GET.get("grade", "")
    grade = grade if grade in known else (known[0] if known else "")
    customers = key_customers_single_threaded(viewer=viewer, grade=grade)
    page = Paginator(customers, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "lifecycle/key_customers.html",
        {"page": page, "grade": grade, "grades": known},
    )
