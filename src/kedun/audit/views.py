from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kedun.org.models import User

from .selectors import audit_events_visible_to


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    action = request.GET.get("action", "").strip()
    events = audit_events_visible_to(viewer=viewer, action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page, "action": action})
