"""Who is acting: the logged-in user of a request, typed for the services."""

from __future__ import annotations

from typing import Any

from kedun.org.models import User


def acting_user(request: Any) -> User:
    """The request's user; views and APIs call this only behind a login requirement."""
    user = request.user
    if not isinstance(user, User):  # AnonymousUser: the permission layer should have stopped it
        raise PermissionError("an authenticated user is required")
    return user
