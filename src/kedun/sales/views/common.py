"""What every sales page does: who is asking, a page of rows, how a refusal is shown."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.access import acting_user
from kedun.org.models import Role, User

PER_PAGE = 25
BACK_OFFICE = (Role.ADMIN, Role.ORDERS, Role.LOGISTICS, Role.FINANCE, Role.AUDITOR)


def viewer_with(request: HttpRequest, *roles: str) -> User:
    viewer = acting_user(request)
    if roles and not viewer.has_role(*roles):
        raise Forbidden()
    return viewer


def page_of(request: HttpRequest, rows: Any) -> Page:
    return Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))


def refused(error: DomainError) -> str:
    """Missing and not allowed are the error pages' business; the rest is said on the page."""
    if isinstance(error, NotFound | Forbidden):
        raise error
    return str(error.message)
