"""What every Kedun API endpoint shares: authentication, pagination, error shape."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kedun.core.errors import DomainError


def _body(code: str, message: Any, detail: Any = None) -> dict[str, Any]:
    return {"code": code, "message": str(message), "detail": detail}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error is JSON {"code", "message", "detail"}."""
    if isinstance(exc, DomainError):
        return Response(_body(exc.code, exc.message, exc.detail), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            _body("request_too_large", _("The request is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _body("invalid", _("The data sent is not valid."), exc.detail)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        detail = exc.detail
        message = detail if isinstance(detail, str) else _("The request could not be completed.")
        response.data = _body(code, message, None)
    return response


def api_not_found(request: Any, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(_body("not_found", _("Not found.")), status=404)
