"""Pages of the customer lifecycle and the pool (being written: see the session notes)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def my_customers_view(request: HttpRequest) -> HttpResponse:
    raise Http404


def pool_view(request: HttpRequest) -> HttpResponse:
    raise Http404


def follow_ups_today_view(request: HttpRequest) -> HttpResponse:
    raise Http404
