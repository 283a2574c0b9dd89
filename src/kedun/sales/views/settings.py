"""Sales settings pages: the lost reasons, who takes which step of an order (the boss's duty
matrix), and each rep's discount limit and commission rate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.models import Role, User

from ..catalogue import (
    lost_reason_create,
    lost_reason_update,
    lost_reasons,
    rep_terms_editable,
    rep_terms_set,
)
from ..duties import COLLECTING_STEPS, DEFAULT_GRANTS, Step, duties_matrix_set, may, roles_for
from ..forms import LostReasonForm, RepTermsForm, percent_of
from ..models import LostReason
from ..quotes.common import DEFAULT_MAX_DISCOUNT_RATE
from ..selectors import lost_reason_get, rep_get_for_viewer, rep_list_visible_to
from .common import page_of, refused, viewer_with

# Commission rates and discount limits are pay: the back office that handles goods does not
# read them.
REP_TERMS_READERS = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.FINANCE, Role.AUDITOR)


@login_required
def sales_settings(request: HttpRequest) -> HttpResponse:
    """The settings of the sales road, each linked for whoever may open it."""
    viewer = viewer_with(request)
    context = {
        "keeps": may(viewer, Step.CATALOGUE),
        "sets_duties": viewer.has_role(Role.ADMIN),
        "reads_rep_terms": viewer.has_role(*REP_TERMS_READERS),
    }
    return render(request, "sales/settings.html", context)


# -- lost reasons -----------------------------------------------------------------------------


def _reason_of(raw: str) -> LostReason:
    if not raw.isdigit():
        raise NotFound()
    return lost_reason_get(reason_id=int(raw))


@login_required
@require_http_methods(["GET", "POST"])
def lost_reason_list(request: HttpRequest) -> HttpResponse:
    """The reasons (retired ones too, for whoever keeps them); a new one; retire or restore."""
    viewer = viewer_with(request)
    keeps = may(viewer, Step.CATALOGUE)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and not keeps:
        raise Forbidden()
    form = LostReasonForm(request.POST if action == "create" else None)
    try:
        if action == "create" and form.is_valid():
            data = form.cleaned_data
            reason = lost_reason_create(actor=viewer, **data)
            messages.success(request, _("Lost reason %(label)s added.") % {"label": reason.label})
            return redirect("lost-reason-list")
        if action in ("deactivate", "activate"):
            reason = _reason_of(request.POST.get("reason", ""))
            lost_reason_update(actor=viewer, reason=reason, active=action == "activate")
            done = (
                _("Lost reason %(label)s is back in the list.")
                if action == "activate"
                else _("Lost reason %(label)s retired: lost deals keep it.")
            )
            messages.success(request, done % {"label": reason.label})
            return redirect("lost-reason-list")
    except DomainError as error:
        message = refused(error)
        if action == "create":
            form.add_error(None, message)
        else:
            messages.error(request, message)
    context = {"reasons": lost_reasons(include_inactive=keeps), "keeps": keeps, "form": form}
    return render(request, "sales/lost_reasons.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def lost_reason_edit(request: HttpRequest, reason_id: int) -> HttpResponse:
    viewer = viewer_with(request)
    if not may(viewer, Step.CATALOGUE):
        raise Forbidden()
    reason = lost_reason_get(reason_id=reason_id)
    form = LostReasonForm(request.POST if request.method == "POST" else None, reason=reason)
    if form.is_valid():
        try:
            lost_reason_update(actor=viewer, reason=reason, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Lost reason saved."))
            return redirect("lost-reason-list")
    return render(request, "sales/lost_reason_form.html", {"form": form, "reason": reason})


# -- duties -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def duties_view(request: HttpRequest) -> HttpResponse:
    """The boss's matrix of steps × roles. One refusal (a collecting step for sales) keeps
    every step as it was; the page then shows what was ticked, and why it was refused."""
    viewer = viewer_with(request, Role.ADMIN)
    error = ""
    grants = {step: set(roles_for(step)) for step in Step.values}
    if request.method == "POST":
        grants = {step: set(request.POST.getlist(step)) for step in Step.values}
        try:
            changed = duties_matrix_set(actor=viewer, grants=grants)
        except DomainError as refusal:
            error = refused(refusal)
        else:
            if changed:
                labels = ", ".join(str(Step(step).label) for step in changed)
                messages.success(request, _("Duties saved: %(steps)s.") % {"steps": labels})
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("sales-duties")
    rows = [
        {
            "step": step,
            "label": label,
            "collecting": step in COLLECTING_STEPS,
            "defaults": [str(name) for role, name in Role.choices if role in DEFAULT_GRANTS[step]],
            "cells": [(role, name, role in grants[step]) for role, name in Role.choices],
        }
        for step, label in Step.choices
    ]
    context = {"rows": rows, "roles": Role.choices, "error": error}
    return render(request, "sales/duties.html", context)


# -- reps' terms ------------------------------------------------------------------------------


def _terms_row(viewer: User, rep: User, form: RepTermsForm | None) -> dict[str, Any]:
    terms = getattr(rep, "sales_terms", None)
    discount = terms.max_discount_rate if terms else None
    commission = terms.commission_rate if terms else None
    editable = rep_terms_editable(actor=viewer, rep=rep)
    if editable and form is None:
        form = RepTermsForm(
            prefix=f"rep{rep.pk}",
            initial={
                "max_discount_percent": percent_of(
                    DEFAULT_MAX_DISCOUNT_RATE if discount is None else discount
                ),
                "commission_percent": percent_of(
                    _default_commission() if commission is None else commission
                ),
            },
        )
    return {
        "rep": rep,
        "discount": percent_of(discount),
        "commission": percent_of(commission),
        "form": form if editable else None,
    }


def _default_commission() -> Decimal:
    return Decimal(settings.KEDUN_COMMISSION_RATE)


@login_required
@require_http_methods(["GET", "POST"])
def rep_terms_view(request: HttpRequest) -> HttpResponse:
    """The reps in the viewer's scope with their terms; the boss or a rep's manager sets them."""
    viewer = viewer_with(request, *REP_TERMS_READERS)
    bound: RepTermsForm | None = None
    bound_rep: int | None = None
    if request.method == "POST":
        raw = request.POST.get("rep", "")
        if not raw.isdigit():
            raise NotFound()
        rep = rep_get_for_viewer(viewer=viewer, rep_id=int(raw))
        if not rep_terms_editable(actor=viewer, rep=rep):
            raise Forbidden()
        bound, bound_rep = RepTermsForm(request.POST, prefix=f"rep{rep.pk}"), rep.pk
        if bound.is_valid():
            try:
                rep_terms_set(actor=viewer, rep=rep, **bound.rates())
            except DomainError as error:
                bound.add_error(None, refused(error))
            else:
                messages.success(
                    request, _("Terms of %(name)s saved.") % {"name": rep.display_name}
                )
                return redirect("rep-terms")
    page = page_of(request, rep_list_visible_to(viewer=viewer))
    rows = [_terms_row(viewer, rep, bound if rep.pk == bound_rep else None) for rep in page]
    context = {
        "page": page,
        "rows": rows,
        "query": "",
        "default_discount": percent_of(DEFAULT_MAX_DISCOUNT_RATE),
        "default_commission": percent_of(_default_commission()),
    }
    return render(request, "sales/rep_terms.html", context)
