from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

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


# The app shell the service worker keeps for an offline start: what every page loads, the
# icons, and the offline page. Static names carry no hash, so the worker's cache name does: a
# digest of these files and of the worker itself, so any change installs a new cache.
SHELL_STATIC = [
    "kedun/app.css",
    "kedun/app.js",
    "kedun/upload-queue.js",
    "kedun/check-in.js",
    "vendor/htmx/htmx.min.js",
    "kedun/icon.svg",
    "kedun/bell.svg",
    "kedun/icon-192.png",
    "kedun/icon-512.png",
    "kedun/icon-maskable-512.png",
]
WORKER_TEMPLATE = "core/sw.js"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def _shell_version() -> str:
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        found = finders.find(name)
        digest.update(name.encode())
        digest.update(Path(str(found)).read_bytes() if found else b"missing")
    for template in (WORKER_TEMPLATE, "core/offline.html", "core/_upload_queue.html"):
        digest.update((TEMPLATES_DIR / template).read_bytes())
    return digest.hexdigest()[:12]


@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from the root so its scope is the whole app (a worker under /static/ could only
    control /static/). Never cached by the browser's HTTP cache: the browser compares the
    worker byte for byte to find an update."""
    response = render(
        request,
        WORKER_TEMPLATE,
        {
            "version": _shell_version(),
            # JSON, not escapejs: the worker compares these paths with request URLs.
            "shell_json": json.dumps([static(name) for name in SHELL_STATIC]),
            "queue_script_json": json.dumps(static("kedun/upload-queue.js")),
        },
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    return response


def offline(request: HttpRequest) -> HttpResponse:
    """The page the service worker shows for a page it never saw, when there is no network.
    Precached once for everyone, so it is drawn without the user: no name, no menu."""
    return render(request, "core/offline.html")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        from kedun.core.api import api_not_found

        return api_not_found(request, exception)
    return render(request, "404.html", status=404)
