"""Pages: ask for an export and see one's own, approve as a manager, download, find a canary."""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kedun.budgets.selectors import people_under
from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.customers.models import Stage
from kedun.org.access import acting_user
from kedun.org.models import Role

from .models import ExportFormat, ExportGrant, ExportKind
from .selectors import canary_find_for, exports_awaiting, exports_of
from .services import (
    approval_threshold,
    export_approve,
    export_file_open,
    export_permission_grant,
    export_permission_revoke,
    export_reject,
    export_request,
    holds_export_permission,
)


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What"), choices=ExportKind.choices)
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=ExportFormat.choices)
    q = forms.CharField(
        label=gettext_lazy("Customer name contains"), required=False, max_length=200
    )
    stage = forms.ChoiceField(
        label=gettext_lazy("Stage"), required=False, choices=[("", "—"), *Stage.choices]
    )
    reason = forms.CharField(label=gettext_lazy("Why"), required=False, max_length=300)


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    viewer = acting_user(request)
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            export = export_request(
                actor=viewer,
                kind=data["kind"],
                format=data["format"],
                filters={"q": data["q"], "stage": data["stage"]},
                reason=data["reason"],
            )
        except (Forbidden, NotFound):
            raise  # no export permission (or leaving): the error page, as the API's 403
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            if export.status == "ready":
                messages.success(request, _("Export #%(id)s is ready.") % {"id": export.pk})
            else:
                messages.success(
                    request,
                    _("Export #%(id)s has %(rows)s rows: it waits for your manager's approval.")
                    % {"id": export.pk, "rows": export.rows},
                )
            return redirect("export-list")
    page = Paginator(exports_of(viewer=viewer), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "exports/list.html",
        {
            "form": form,
            "page": page,
            "may_export": holds_export_permission(viewer),
            "threshold": approval_threshold(),
        },
    )


@login_required
def export_approvals(request: HttpRequest) -> HttpResponse:
    viewer = acting_user(request)
    if not viewer.has_role(Role.ADMIN, Role.MANAGER):
        raise Forbidden()
    if request.method == "POST":
        action = request.POST.get("action", "")
        note = request.POST.get("note", "")[:300]
        try:
            if action in ("approve", "reject"):
                export_id = int(request.POST.get("export") or 0)
                if action == "approve":
                    export_approve(actor=viewer, export_id=export_id, note=note)
                    messages.success(request, _("Approved."))
                else:
                    export_reject(actor=viewer, export_id=export_id, note=note)
                    messages.success(request, _("Rejected."))
            elif action in ("grant", "revoke"):
                person = (
                    people_under(viewer=viewer).filter(pk=request.POST.get("user") or 0).first()
                )
                if person is None:
                    raise Forbidden()
                if action == "grant":
                    export_permission_grant(actor=viewer, user=person)
                else:
                    export_permission_revoke(actor=viewer, user=person)
                messages.success(request, _("Saved."))
        except (DomainError, ValueError) as error:
            messages.error(request, str(getattr(error, "message", error)))
        return redirect("export-approvals")
    people = list(people_under(viewer=viewer))
    granted = set(
        ExportGrant.objects.filter(user__in=people, revoked_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    return render(
        request,
        "exports/approvals.html",
        {
            "pending": exports_awaiting(viewer=viewer),
            "people": [(p, p.pk in granted, holds_export_permission(p)) for p in people],
        },
    )


@login_required
def export_download(request: HttpRequest, export_id: int) -> FileResponse:
    viewer = acting_user(request)
    handle, filename, content_type = export_file_open(viewer=viewer, export_id=export_id)
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = (
        f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def canary_lookup(request: HttpRequest) -> HttpResponse:
    viewer = acting_user(request)
    value = request.GET.get("value", "").strip()[:200]
    canary = canary_find_for(viewer=viewer, value=value) if value else None
    if not value:
        canary_find_for(viewer=viewer, value="")  # the permission check alone
    return render(
        request, "exports/canary.html", {"value": value, "canary": canary, "searched": bool(value)}
    )
