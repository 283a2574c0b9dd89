"""Errors raised by services and selectors; the API and the pages translate them for people."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal a user should see, with a stable machine code and a translated message."""

    code = "invalid"
    status = 400
    default_message: Any = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, detail: Any = None, code: str | None = None):
        self.message = message if message is not None else self.default_message
        self.detail = detail
        if code:
            self.code = code
        super().__init__(str(self.message))


class Invalid(DomainError):
    code = "invalid"
    status = 400


class NotFound(DomainError):
    """Missing, or not yours: callers cannot tell the two apart (no existence leaks)."""

    code = "not_found"
    status = 404
    default_message = _("Not found.")


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    default_message = _("You do not have permission to do this.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
