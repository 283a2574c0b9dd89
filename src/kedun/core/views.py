from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kedun.audit.models import AuditEvent
from kedun.customers.selectors import customer_list_visible_to
from kedun.jobs.services import worker_status
from kedun.org.models import Role, User
from kedun.org.selectors import users_in_scope_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    visible = customer_list_visible_to(viewer=user)
    counts = {
        "my_customers": visible.filter(owner=user).count(),
        "visible_customers": visible.count(),
        "people_in_scope": users_in_scope_of(viewer=user).filter(is_active=True).count(),
    }
    context = {"counts": counts, "show_admin": user.role == Role.ADMIN}
    if user.role in (Role.ADMIN, Role.AUDITOR):
        context["audit_events"] = AuditEvent.objects.count()
    if user.role == Role.ADMIN:
        context["worker"] = worker_status()
    return render(request, "core/home.html", context)


def manifest(request: HttpRequest) -> HttpResponse:
    return render(request, "core/manifest.webmanifest", content_type="application/manifest+json")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        from kedun.core.api import api_not_found

        return api_not_found(request, exception)
    return render(request, "404.html", status=404)
