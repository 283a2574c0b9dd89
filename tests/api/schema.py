"""The API's OpenAPI schema as schemathesis reads it, and calls checked against it: no server
error, a documented status code and content type, a body that matches.

Used by the fuzz (test_fuzz.py) and by the regression tests of what it found, which live next
to each app's own tests: `documented_call(user, "GET", "/api/v1/…/{customer_id}/", …)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kedun.org.models import User
from kedun.org.services import token_for_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@cache
def api_schema() -> Any:
    """The schema the API serves at /api/schema/, with the app to call in this process."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(raw)))
    loaded.app = WSGIHandler()
    return loaded


@contextmanager
def in_this_transaction() -> Iterator[None]:
    """Requests reach Django's WSGI handler in this thread, inside the test's transaction;
    like Django's test client, keep the handler from closing that connection after each one."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def authorization(user: User) -> dict[str, str]:
    return {"Authorization": f"Token {token_for_user(actor=None, user=user).key}"}


def documented_call(
    user: User,
    method: str,
    path: str,
    *,
    path_parameters: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    body: Any = NOT_SET,
    media_type: str = "application/json",
) -> Any:
    """Call one operation as `user` and fail unless the answer is as the schema documents it."""
    case = api_schema()[path][method].Case(
        path_parameters=path_parameters,
        query=query,
        body=body,
        media_type=None if body is NOT_SET else media_type,
    )
    with in_this_transaction():
        return case.call_and_validate(headers=authorization(user), checks=CHECKS)
