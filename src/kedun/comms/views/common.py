from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.access import acting_user
from kedun.org.models import User

from ..sending import Upload

PER_PAGE = 25


def viewer_of(request: HttpRequest, *roles: str) -> User:
    viewer = acting_user(request)
    if roles and not viewer.has_role(*roles):
        raise Forbidden()
    return viewer


def page_of(request: HttpRequest, rows, per_page: int = PER_PAGE) -> Page:
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def refused(error: DomainError) -> str:
    """Missing and not allowed are the error pages' business; the rest is said on the page."""
    if isinstance(error, NotFound | Forbidden):
        raise error
    return str(error.message)


def uploads_of(files: list[UploadedFile]) -> list[Upload]:
    return [
        Upload(f.name or "attachment", f.content_type or "application/octet-stream", f.read())
        for f in files
    ]
