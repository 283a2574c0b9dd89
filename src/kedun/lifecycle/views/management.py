"""A manager's pages: the pool settings and the departure handover."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.lifecycle.forms import (
    HandoverForm,
    PoolPolicyForm,
    ReleaseRulesForm,
)
from kedun.lifecycle.handover import handover
from kedun.lifecycle.rules import RuleBook, grades
from kedun.lifecycle.selectors import (
    my_customers,
    reps_managed_by,
)
from kedun.lifecycle.settings_services import (
    POLICY_FIELDS,
    pool_policy_set,
    pool_settings_editable,
    release_rules_set,
)
from kedun.org.models import Department, Role, User
from kedun.org.selectors import department_list

from .common import refused, viewer_with

# -- pool settings ----------------------------------------------------------------------------


def _levels(viewer: User) -> Any:
    if viewer.role == Role.ADMIN:
        return department_list()
    return department_list().filter(path__startswith=viewer.department.path)


def _level(request: HttpRequest, viewer: User) -> Department | None:
    """The level being set: the company (None) or a department; a manager starts at theirs."""
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


def _inherited(book: RuleBook, level: int | None) -> tuple[Any, dict[str, Any]]:
    """What applies at `level` without its own rows: the policy and the terms per grade."""
    without_policy = dataclasses.replace(
        book, policies={k: v for k, v in book.policies.items() if k != level}
    )
    terms = {}
    for grade in ["", *grades()]:
        without = dataclasses.replace(
            book, rules={k: v for k, v in book.rules.items() if k != (level, grade)}
        )
        terms[grade] = without.terms(level, grade)
    return without_policy.policy(level), terms


def _policy_initial(book: RuleBook, level: int | None, inherited: Any) -> dict[str, Any]:
    own = book.policies.get(level)
    policy = own or inherited
    initial = {name: getattr(policy, name) for name in POLICY_FIELDS}
    initial["qualifying_kinds"] = list(policy.qualifying_kinds)
    initial["inherit"] = own is None
    return initial


def _rules_initial(book: RuleBook, level: int | None) -> dict[str, Any]:
    initial = {}
    for grade in ["", *grades()]:
        terms = book.rules.get((level, grade))
        if terms is not None:
            initial[f"{grade or 'any'}_no_follow_up_days"] = terms.no_follow_up_days
            initial[f"{grade or 'any'}_no_deal_days"] = terms.no_deal_days
    return initial


@login_required
def pool_settings_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, Role.ADMIN, Role.MANAGER)
    department = _level(request, viewer)
    level = department.pk if department else None
    editable = pool_settings_editable(actor=viewer, department=department)
    book = RuleBook.load()
    inherited_policy, inherited_terms = _inherited(book, level)
    saving = request.POST.get("save", "") if request.method == "POST" else ""
    if saving and not editable:
        raise Forbidden()
    company = department is None
    policy_form = PoolPolicyForm(
        request.POST if saving == "policy" else None,
        prefix="policy",
        company=company,
        initial=_policy_initial(book, level, inherited_policy),
    )
    rules_form = ReleaseRulesForm(
        request.POST if saving == "rules" else None,
        prefix="rules",
        initial=_rules_initial(book, level),
    )
    done = ""
    try:
        if saving == "policy" and policy_form.is_valid():
            pool_policy_set(actor=viewer, department=department, values=policy_form.values())
            done = _("Pool policy saved.")
        elif saving == "rules" and rules_form.is_valid():
            release_rules_set(actor=viewer, department=department, terms=rules_form.terms())
            done = _("Release rules saved.")
    except DomainError as error:
        refused(error)
        (policy_form if saving == "policy" else rules_form).add_error(None, str(error.message))
    if done:
        messages.success(request, done)
        query = urlencode({"department": department.pk if department else "company"})
        return redirect(f"{reverse('pool-settings')}?{query}")
    if not editable:
        for form in (policy_form, rules_form):
            for field in form.fields.values():
                field.disabled = True
    rows = []
    for grade, days, deal in rules_form.rows():
        inherited = inherited_terms[grade]
        days.field.widget.attrs["placeholder"] = str(inherited.no_follow_up_days)
        deal.field.widget.attrs["placeholder"] = str(inherited.no_deal_days)
        rows.append((grade, days, deal, inherited))
    return render(
        request,
        "lifecycle/pool_settings.html",
        {
            "department": department,
            "levels": _levels(viewer),
            "editable": editable,
            "policy_form": policy_form,
            "rules_form": rules_form,
            "rule_rows": rows,
            "inherited_policy": inherited_policy,
        },
    )


# -- departure handover -----------------------------------------------------------------------


@login_required
def handover_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, Role.ADMIN, Role.MANAGER)
    reps = reps_managed_by(actor=viewer)
    form = HandoverForm(request.POST or None, reps=reps, leavers=reps.exclude(pk=viewer.pk))
    preview: dict[str, Any] | None = None
    report = None
    if request.method == "POST" and form.is_valid():
        leaver: User = form.cleaned_data["user"]
        to: list[User] = list(form.cleaned_data["to"])
        if request.POST.get("confirmed") != "1":
            preview = {
                "leaver": leaver,
                "to": to,
                "customers": my_customers(viewer=leaver).count(),
                "reason": form.cleaned_data["reason"],
            }
        else:
            try:
                report = handover(
                    actor=viewer, user=leaver, to=to or None, reason=form.cleaned_data["reason"]
                )
            except DomainError as error:
                refused(error)
                form.add_error(None, str(error.message))
            else:
                messages.success(
                    request,
                    _("%(name)s is deactivated; %(count)d customers were handed over.")
                    % {"name": leaver.display_name, "count": report.customers},
                )
    names = {u.username: u.display_name for u in reps} if report else {}
    return render(
        request,
        "lifecycle/handover.html",
        {
            "form": form,
            "preview": preview,
            "report": report,
            "report_by": [
                (names.get(username, username) if username else "", count)
                for username, count in (report.by_recipient.items() if report else [])
            ],
            "report_moved": [
                (code, name, names.get(username, username) if username else "")
                for code, name, username in (report.moved if report else [])
            ],
        },
    )
