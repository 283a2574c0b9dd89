"""The commission ledger pages (提成台账, MISSION §5). What a viewer sees is decided by their data
scope, as the ledger API decides it: whoever sees only their own records (a salesperson by
default) gets their own ledger; anyone whose scope reaches further (a manager their part of the
company; the boss and the back office, whose default scope is the whole company) gets a table
of the reps in that scope, each opening that rep's ledger. A manager of the rep, or the boss,
finds the control to forfeit the rep's retained commission; the service checks again."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kedun.core.errors import DomainError, Forbidden
from kedun.org.models import DataScope, User

from ..commission import (
    FORFEITING_ROLES,
    LedgerTotals,
    commission_by_rep,
    commission_forfeit,
    commission_ledger,
    commission_release_schedule,
    commission_rep_get_for_viewer,
)
from ..forms import ReasonForm
from ..models import CommissionStatus
from ..money import to_cents
from .common import page_of, refused, viewer_with


def _may_forfeit(viewer: User, rep: User) -> bool:
    """commission_forfeit's check asked in advance (the rep is already in the viewer's scope):
    a manager or the boss, never on their own ledger."""
    return viewer.has_role(*FORFEITING_ROLES) and rep.pk != viewer.pk


@login_required
@require_http_methods(["GET", "POST"])
def commission_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request)
    if request.method == "POST":  # forfeiting is done on the rep's own page, never one's own
        raise Forbidden()
    if viewer.data_scope == DataScope.OWN:
        return _ledger_page(request, viewer, viewer)
    page = page_of(request, commission_by_rep(viewer=viewer))
    statuses = CommissionStatus.values
    context = {
        "page": page,
        "rows": [(row, LedgerTotals(**{s: to_cents(row[s]) for s in statuses})) for row in page],
        "totals": commission_ledger(viewer=viewer).totals,
        "query": "",
    }
    return render(request, "sales/commission_reps.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def commission_rep_view(request: HttpRequest, rep_id: int) -> HttpResponse:
    viewer = viewer_with(request)
    rep = commission_rep_get_for_viewer(viewer=viewer, rep_id=rep_id)
    return _ledger_page(request, viewer, rep)


def _ledger_page(request: HttpRequest, viewer: User, rep: User) -> HttpResponse:
    forfeits = _may_forfeit(viewer, rep)
    if request.method == "POST" and not forfeits:
        raise Forbidden()
    form = ReasonForm(request.POST if request.method == "POST" else None, prefix="forfeit")
    if form.is_valid():
        try:
            settled = commission_forfeit(actor=viewer, rep=rep, reason=form.cleaned_data["reason"])
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(
                request,
                _("Retained commission of %(amount)s forfeited.") % {"amount": settled.amount},
            )
            return redirect("commission-rep", rep.pk)
    ledger = commission_ledger(viewer=viewer, rep=rep)
    status = request.GET.get("status", "")
    entries = ledger.entries.select_related("reversal")
    if status in CommissionStatus.values:
        entries = entries.filter(status=status)
    else:
        status = ""
    context: dict[str, Any] = {
        "rep": rep,
        "own": rep.pk == viewer.pk,
        "all_reps": viewer.data_scope != DataScope.OWN,
        "totals": ledger.totals,
        "releases": commission_release_schedule(ledger=ledger),
        "page": page_of(request, entries),
        "status": status,
        "statuses": CommissionStatus.choices,
        "query": f"status={status}&",
        "form": form if forfeits and (ledger.totals.retained or form.is_bound) else None,
    }
    return render(request, "sales/commission_ledger.html", context)
