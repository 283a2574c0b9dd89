"""The OpenAPI schema's shared parts: the error shape every endpoint answers with
(kedun.core.api.exception_handler) and the refusals every endpoint can give.

Documented once here instead of on each view, so that the schema cannot forget one: the API
is fuzzed against it (tests/api/test_fuzz.py) and every undocumented status fails there.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorOutput(serializers.Serializer):
    """Every refusal: a stable code, a message for people, and details (or null)."""

    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.JSONField(allow_null=True)


WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the refusals an operation can give that its view does
    not declare itself (a view's own description of a status wins)."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, description in self._shared_refusals().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOutput, description=description), code, direction=direction
                )
        return responses

    def _shared_refusals(self) -> dict[str, str]:
        refusals: dict[str, str] = {}
        if not any(p is AllowAny for p in getattr(self.view, "permission_classes", [])):
            refusals["401"] = "not authenticated (code `not_authenticated`)"
            refusals["403"] = "forbidden: not for your role or data scope"
        query = {p["name"] for p in self._get_parameters() if p.get("in") == "query"}
        if self.method in WRITES or query:
            refusals["400"] = "invalid (code `invalid` lists the fields; others say why)"
        # A path parameter, or an id in a body, names something that may be missing or out of
        # your scope; a page past the end of a list is missing too.
        paged = "page" in query or getattr(self.view, "pagination_class", None)
        if "{" in self.path or paged or self.method in WRITES:
            refusals["404"] = "not found, or not yours to see"
        if self.method in WRITES:
            refusals["409"] = "conflict with the current state"
            refusals["413"] = "the request is too large (code `request_too_large`)"
            refusals["415"] = "a body in a media type this operation does not read"
        return refusals
