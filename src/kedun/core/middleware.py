from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from kedun.core.request_context import client_ip


def client_address(request: HttpRequest) -> str | None:
    """The client's IP: REMOTE_ADDR, or the address our trusted proxies saw."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = client_ip.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)


def view_request_limit(request: HttpRequest) -> int:
    """The larger body a view allows, naming a setting in `max_request_setting` (check-in
    uploads carry a photo and a voice report); 0 when the view says nothing."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return 0
    view = match.func
    name = getattr(view, "max_request_setting", None) or getattr(
        getattr(view, "cls", None), "max_request_setting", None
    )
    return int(getattr(settings, name)) if name else 0


class RequestSizeLimitMiddleware:
    """Refuse an oversized body with 413 before anything reads it.

    Django alone answers 400 only once a view touches request.body; a client deserves to know
    the body was too large, and the API promises JSON.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BYTES
        if length > limit:
            limit = max(limit, view_request_limit(request))
        if length > limit:
            megabytes = limit // (1024 * 1024)
            return _refused(
                request,
                413,
                "request_too_large",
                _("The request is too large (the limit is %(mb)s MB).") % {"mb": megabytes},
                {"limit_bytes": limit, "content_length": length},
            )
        return self.get_response(request)


class NulCharacterMiddleware:
    """Refuse an address (path or query string) with a NUL character (%00) with 400.

    PostgreSQL cannot hold NUL in text, even as a query parameter: a search for "a%00b" made
    the customer list fail with a server error there (found by the API fuzz), where SQLite
    just found nothing. Forms and the API's serializers refuse NUL in what they read; the
    query string is read by the list filters directly and a path's parts (a username) by the
    views, so the address is checked once for all of them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return _refused(
                request,
                400,
                "invalid",
                _("The address contains a NUL character, which no search can contain."),
                {},
            )
        return self.get_response(request)


def _refused(
    request: HttpRequest, status: int, code: str, message: str, detail: dict
) -> HttpResponse:
    """A refusal before any view runs: the API's error shape, or the page errors/<status>.html."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message, "detail": detail}, status=status)
    body = render_to_string(f"errors/{status}.html", {"message": message}, request=None)
    return HttpResponse(body, status=status)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), microphone=(self), geolocation=(self), payment=()"
        )
        return response


class DomainErrorMiddleware:
    """Pages: a refused service call becomes the matching error page (the API has its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.core.exceptions import PermissionDenied
        from django.http import Http404

        from kedun.core.errors import DomainError, Forbidden, NotFound

        if request.path.startswith("/api/") or not isinstance(exception, DomainError):
            return None
        template = getattr(exception, "template", None)
        if template:  # a refusal with its own page (a spent budget says what to do next)
            from django.shortcuts import render

            return render(
                request, template, {"message": str(exception.message)}, status=exception.status
            )
        if isinstance(exception, NotFound):
            raise Http404(str(exception.message))
        if isinstance(exception, Forbidden):
            raise PermissionDenied(str(exception.message))
        return None


class TwoFactorMiddleware:
    """A session that passed the password but still owes the second factor (or, for a role
    that must use one, the enrolment) reaches only the pages that let it finish or leave.
    The API answers 403 to such a session; token clients are not sessions and pass."""

    ALLOWED = frozenset(
        {
            "login",
            "logout",
            "login-two-factor",
            "account-two-factor",
            "javascript-catalog",
            "set_language",
            "manifest",
            "service-worker",
            "offline",
        }
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.shortcuts import redirect
        from django.utils.http import urlencode

        from kedun.org.two_factor import NEEDS_CODE, missing_step

        if not request.user.is_authenticated:
            return self.get_response(request)
        step = missing_step(request)
        if step is None or self._allowed(request):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "two_factor_required",
                    "message": _("Finish logging in with your authenticator app first."),
                    "detail": {"missing": step},
                },
                status=403,
            )
        target = "login-two-factor" if step == NEEDS_CODE else "account-two-factor"
        response = redirect(target)
        if request.method == "GET":
            response["Location"] += "?" + urlencode({"next": request.get_full_path()})
        return response

    def _allowed(self, request: HttpRequest) -> bool:
        if request.path.startswith(settings.STATIC_URL or "/static/"):
            return True
        try:
            return resolve(request.path_info).url_name in self.ALLOWED
        except Resolver404:
            return False
