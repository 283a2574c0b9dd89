"""Every URL pattern Kedun serves, with the HTTP methods its view accepts."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Methods every view answers without touching data (HEAD is GET without a body).
_IGNORED = {"OPTIONS", "HEAD", "TRACE"}


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str  # e.g. "api/v1/customers/<int:customer_id>/"
    methods: tuple[str, ...]
    api: bool  # a DRF view (token and session auth)
    declared: bool  # methods read from the view (DRF class, require_POST…) or guessed


def _methods_of(callback) -> tuple[tuple[str, ...], bool, bool]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        from rest_framework.views import APIView

        names = [
            m.upper()
            for m in view_class.http_method_names
            if hasattr(view_class, m) and m.upper() not in _IGNORED
        ]
        return tuple(sorted(names)), issubclass(view_class, APIView), True
    # A function view: require_POST / require_http_methods keep their list in a closure.
    function = callback
    while function is not None:
        closure = inspect.getclosurevars(function).nonlocals if function.__closure__ else {}
        methods = closure.get("request_method_list")
        if methods:
            names = {m.upper() for m in methods} - _IGNORED
            return tuple(sorted(names)), False, True
        function = getattr(function, "__wrapped__", None)
    return ("GET", "POST"), False, False


def _walk(patterns, prefix: str):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def all_routes() -> list[Route]:
    routes = []
    for pattern, entry in _walk(get_resolver().url_patterns, ""):
        # Django's set_language has a name of its own only inside its include.
        name = f"i18n:{entry.name}" if pattern.startswith("i18n/") else entry.name or pattern
        methods, api, declared = _methods_of(entry.callback)
        routes.append(Route(name, pattern, methods, api, declared))
    return routes
