"""The risk view for managers and the boss: reps ranked with their signals, a rep's signals on
a timeline, a customer's evidence with its records, dismissals and case files.

Salespeople get 403 on every page here (they never see scores, not even their own); a manager
asking for a rep outside their scope gets 404, as for any record that is not theirs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kedun.core.errors import DomainError, NotFound
from kedun.customers.models import ContactChange, Customer
from kedun.org.models import User
from kedun.sales.charts import line_chart
from kedun.sales.models import Order

from .models import CaseStatus, Finding, Outcome, RiskRun
from .pdf import case_pdf
from .selectors import (
    activity_monthly,
    case_get_for_viewer,
    case_list_visible_to,
    evidence_snapshot,
    may_see_risk,
    risk_report,
    risk_run_latest,
)
from .services import case_close, case_exported, case_note_add, case_open, finding_dismiss


def _viewer(request: HttpRequest) -> User:
    viewer = request.user
    assert isinstance(viewer, User)
    if not may_see_risk(viewer):
        raise PermissionDenied
    return viewer


def _run(request: HttpRequest) -> RiskRun | None:
    as_of = request.GET.get("as_of", "")
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        day = None
    return risk_run_latest(as_of=day) or risk_run_latest()


@login_required
def risk_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    run = _run(request)
    reps = risk_report(run=run, viewer=viewer) if run else []
    runs = RiskRun.objects.order_by("-as_of", "-started_at").values_list("as_of", flat=True)
    return render(
        request,
        "insights/risk_list.html",
        {
            "run": run,
            "reps": reps,
            "flagged": [r for r in reps if r.score > 0],
            "quiet": sum(1 for r in reps if r.score <= 0),
            "runs": sorted(set(runs), reverse=True)[:30],
        },
    )


class DismissForm(forms.Form):
    finding = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Why this is explained"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CaseOpenForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title of the case file"), max_length=200)


def _rep(viewer: User, rep_id: int) -> User:
    rep = User.objects.filter(pk=rep_id).select_related("department").first()
    if rep is None:
        raise NotFound()
    return rep


@login_required
def rep_risk(request: HttpRequest, rep_id: int) -> HttpResponse:
    viewer = _viewer(request)
    run = _run(request)
    if run is None:
        raise NotFound()
    rep = _rep(viewer, rep_id)
    view = risk_report(run=run, viewer=viewer, rep=rep)[0]
    dismiss_form = DismissForm()
    case_form = CaseOpenForm(initial={"title": _("Review of %(rep)s") % {"rep": rep.display_name}})
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "dismiss":
            dismiss_form = DismissForm(request.POST)
            if dismiss_form.is_valid():
                finding = Finding.objects.filter(
                    pk=dismiss_form.cleaned_data["finding"], run=run, rep=rep
                ).first()
                if finding is None:
                    raise NotFound()
                try:
                    finding_dismiss(
                        actor=viewer, finding=finding, reason=dismiss_form.cleaned_data["reason"]
                    )
                except DomainError as error:
                    dismiss_form.add_error(None, str(error.message))
                else:
                    messages.success(request, _("Dismissed, with your reason, in the audit trail."))
                    return redirect(request.get_full_path())
        elif action == "case":
            case_form = CaseOpenForm(request.POST)
            if case_form.is_valid():
                try:
                    case = case_open(
                        actor=viewer,
                        rep=rep,
                        title=case_form.cleaned_data["title"],
                        evidence=evidence_snapshot(run=run, rep=rep),
                    )
                except DomainError as error:
                    case_form.add_error(None, str(error.message))
                else:
                    messages.success(request, _("Case file opened with the evidence as it stands."))
                    return redirect("insights-case", case_id=case.pk)
    customers = view.by_customer
    involved = [c.customer_id for c in customers]
    title = (
        _("%(rep)s with the customers in the signals, per month")
        if involved
        else _("%(rep)s with all customers, per month")
    ) % {"rep": rep.display_name}
    chart = _activity_chart(rep, involved or None, run.as_of, title=title)
    # The heaviest customers each get their own timeline; the rest link to theirs.
    timelines = {
        c.customer_id: _activity_chart(rep, [c.customer_id], run.as_of, title="", small=True)
        for c in customers[:CUSTOMER_CHARTS]
    }
    return render(
        request,
        "insights/rep.html",
        {
            "run": run,
            "rep": rep,
            "view": view,
            "chart": chart,
            "customers": [(c, timelines.get(c.customer_id)) for c in customers],
            "dismiss_form": dismiss_form,
            "case_form": case_form,
            "cases": case_list_visible_to(viewer=viewer).filter(rep=rep),
        },
    )


@login_required
def customer_evidence(request: HttpRequest, rep_id: int, customer_id: int) -> HttpResponse:
    """One customer's evidence against one rep, with the records behind it."""
    viewer = _viewer(request)
    run = _run(request)
    if run is None:
        raise NotFound()
    rep = _rep(viewer, rep_id)
    view = risk_report(run=run, viewer=viewer, rep=rep)[0]
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound()
    findings = [
        f
        for f in [*[w for s in view.signals for w in s.findings], *view.single, *view.dismissed]
        if f.finding.customer_id == customer.pk
    ]
    if not findings:
        raise NotFound()
    chart = _activity_chart(
        rep,
        [customer.pk],
        run.as_of,
        title=_("%(customer)s with %(rep)s, per month")
        % {"customer": customer.name, "rep": rep.display_name},
    )
    orders = Order.objects.filter(customer=customer).order_by("-created_at")[:20]
    changes = ContactChange.objects.filter(customer=customer).select_related("changed_by")
    return render(
        request,
        "insights/customer.html",
        {
            "run": run,
            "rep": rep,
            "customer": customer,
            "findings": findings,
            "chart": chart,
            "orders": orders,
            "changes": [_change_row(c) for c in changes.order_by("-changed_at")[:30]],
            "records": _records(findings),
        },
    )


CUSTOMER_CHARTS = 12


def _activity_chart(
    rep: User, customer_ids: list[int] | None, as_of: dt.date, *, title: str, small: bool = False
) -> Any:
    monthly = activity_monthly(rep=rep, customer_ids=customer_ids, as_of=as_of)
    return line_chart(
        title=title,
        labels=monthly.labels,
        series=[
            (_("Orders"), monthly.orders),
            (_("Follow-ups and visits"), monthly.contacts),
            (_("Deals lost"), monthly.lost),
        ],
        width=360 if small else 640,
        height=180 if small else 280,
    )


def _change_row(change: ContactChange) -> dict[str, Any]:
    from kedun.customers.contact_identity import mask_email, mask_phone

    mask = mask_email if "email" in change.field else mask_phone
    return {
        "at": change.changed_at,
        "who": change.changed_by.display_name,
        "field": change.get_field_display(),
        "old": mask(change.old_value) if change.old_value else "—",
        "new": mask(change.new_value) if change.new_value else "—",
    }


def _records(findings: list[Any]) -> list[dict[str, str]]:
    """Links to the records a finding names, for a manager to check by hand."""
    from django.urls import reverse

    from kedun.sales.models import Payment, Shipment

    links: list[dict[str, str]] = []
    for item in findings:
        facts = item.finding.facts
        kind = item.finding.kind
        if kind in ("paid_by_other", "delivered_elsewhere"):
            model = Payment if kind == "paid_by_other" else Shipment
            path = "invoice__order_id" if kind == "paid_by_other" else "order_id"
            ids = [r["id"] for r in facts.get("records", [])]
            for pk, order_id in model.objects.filter(pk__in=ids).values_list("pk", path):
                links.append(
                    {
                        "label": f"{item.label} #{pk}",
                        "url": reverse("order-detail", args=[order_id]),
                    }
                )
        elif kind == "mail_outside":
            for message in facts.get("messages", [])[:10]:
                links.append(
                    {
                        "label": f"{message['on']} {message['subject']}",
                        "url": reverse("mail-thread", args=[message["id"]]),
                    }
                )
        elif kind == "visits_elsewhere":
            for check_in in facts.get("check_ins", [])[:10]:
                links.append(
                    {
                        "label": f"{check_in['on']} · {check_in['distance_m']} m",
                        "url": reverse("field-check-in", args=[check_in["id"]]),
                    }
                )
    return links


class NoteForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=Outcome.choices)
    note = forms.CharField(
        label=gettext_lazy("What was found"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    return render(request, "insights/cases.html", {"cases": case_list_visible_to(viewer=viewer)})


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    viewer = _viewer(request)
    case = case_get_for_viewer(viewer=viewer, case_id=case_id)
    note_form, close_form = NoteForm(), CloseForm()
    if request.method == "POST":
        action = request.POST.get("action")
        form: forms.Form = NoteForm(request.POST) if action == "note" else CloseForm(request.POST)
        if form.is_valid():
            try:
                if action == "note":
                    case_note_add(actor=viewer, case=case, text=form.cleaned_data["text"])
                else:
                    case_close(
                        actor=viewer,
                        case=case,
                        outcome=form.cleaned_data["outcome"],
                        note=form.cleaned_data["note"],
                    )
            except DomainError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, _("Saved."))
                return redirect("insights-case", case_id=case.pk)
        if action == "note":
            note_form = form  # type: ignore[assignment]
        else:
            close_form = form  # type: ignore[assignment]
    return render(
        request,
        "insights/case.html",
        {
            "case": case,
            "notes": case.notes.select_related("author"),
            "note_form": note_form if case.status == CaseStatus.OPEN else None,
            "close_form": close_form if case.status == CaseStatus.OPEN else None,
        },
    )


@login_required
def case_download(request: HttpRequest, case_id: int) -> HttpResponse:
    viewer = _viewer(request)
    case = case_get_for_viewer(viewer=viewer, case_id=case_id)
    case_exported(actor=viewer, case=case)
    body = case_pdf(case, exported_by=viewer.display_name)
    response = HttpResponse(body, content_type="application/pdf")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="kedun-case-{case.pk}-{stamp}.pdf"'
    return response
