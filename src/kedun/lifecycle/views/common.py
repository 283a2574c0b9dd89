"""What every lifecycle page does first: who is asking, what they typed, how a refusal is shown."""

from __future__ import annotations

from django.http import HttpRequest

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.access import acting_user
from kedun.org.models import User

PER_PAGE = 25


def viewer_with(request: HttpRequest, *roles: str) -> User:
    viewer = acting_user(request)
    if not viewer.has_role(*roles):
        raise Forbidden()
    return viewer


def search_text(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:200]


def rows_or_page(request: HttpRequest, page: str, rows: str) -> str:
    """htmx search-as-you-type swaps only the table."""
    return rows if request.headers.get("HX-Request") else page


def refused(error: DomainError) -> None:
    """Missing and not allowed are the error pages' business; the rest is said on the page."""
    if isinstance(error, NotFound | Forbidden):
        raise error
