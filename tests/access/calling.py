"""Calling one route as one actor inside a savepoint that is rolled back, and the database's
fingerprint after it (every table's rows, hashed), so a refused call can be shown to have
changed nothing."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from rest_framework.test import APIClient

from .routes_enum import Route
from .world import World

# Who each actor is: a role, or a salesperson's or manager's relation to the customer at the
# centre of the world (owned by east_rep, manager east_mgr, east_rep2 on its account team).
ACTORS: dict[str, str] = {
    "boss": "boss",
    "owner": "east_rep",
    "collaborator": "east_rep2",
    "reader": "east_reader",  # on the account team with read access
    "colleague": "east_peer",  # same department as the owner, not on the team
    "other_dept": "south_rep",
    "manager": "east_mgr",  # the owner's manager
    "other_manager": "south_mgr",
    "orders": "orders",
    "logistics": "logistics",
    "finance": "finance",
    "auditor": "auditor",
    "anonymous": "",
}

# Tables a refused call may write on purpose:
# - django_session: Django saves a session the request touched (messages, language);
#   it is the caller's own session, not data.
UNWATCHED = {"django_session"}

# URL kwargs → the world's objects; a few routes name another object of the same kind.
KWARG_OVERRIDES: dict[str, dict[str, str]] = {
    "pool-claim": {"customer_id": "pool_customer_id"},
    "pool-assign": {"customer_id": "pool_customer_id"},
    "api-pool-claim": {"customer_id": "pool_customer_id"},
    "api-pool-assign": {"customer_id": "pool_customer_id"},
    "api-export-approve": {"export_id": "pending_export_id"},
    "api-export-reject": {"export_id": "pending_export_id"},
    "api-customer-team-member": {"username": "collaborator_username"},
    "api-leaver": {"user_id": "leaver_id"},
}

_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def url_of(route: Route, world: World) -> str:
    overrides = KWARG_OVERRIDES.get(route.name, {})

    def value(match: re.Match) -> str:
        name = match.group("name")
        return str(world.ids[overrides.get(name, name)])

    return "/" + _PARAMETER.sub(value, route.pattern)


@dataclass
class Outcome:
    status: int
    location: str
    changed: list[str]

    def describe(self) -> str:
        text = str(self.status)
        if self.location:
            text += f" → {self.location}"
        if self.changed:
            text += f", changed {', '.join(self.changed)}"
        return text


def fingerprint() -> dict[str, str]:
    """Every watched table's rows, hashed: any insert, update or delete changes its print."""
    tables = sorted(set(connection.introspection.table_names()) - UNWATCHED)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One round trip: each table's rows as text, hashed by the server.
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT '{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text),"
                    f" '')) FROM {quote(table)} t"
                    for table in tables
                )
            )
            return dict(cursor.fetchall())
        prints = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {quote(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            prints[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return prints


def call(
    world: World,
    route: Route,
    method: str,
    actor: str,
    *,
    body: dict[str, Any] | None = None,
    multipart: bool = False,
    query: str = "",
    before: dict[str, str] | None = None,
) -> Outcome:
    """Call the route as the actor (a token for the API, a session cookie for pages, on a
    client of its own so that a logout or a language cookie does not outlive the call) and
    roll back whatever it wrote; with `before`, say which tables it changed."""
    username = ACTORS[actor]
    url = url_of(route, world) + query
    client: Client
    if route.api:
        client = APIClient(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
        if username:
            client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[username]}")
    else:
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
        if username:
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[username]
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif route.api and not multipart:
            payload = json.dumps(body or {}).encode()
            response = client.generic(method, url, payload, content_type="application/json")
        elif method == "POST":
            response = client.post(url, body or {})
        else:
            response = client.generic(method, url)
        after = fingerprint() if before is not None else {}
        transaction.set_rollback(True)
    changed = sorted(t for t, digest in after.items() if before and before.get(t) != digest)
    return Outcome(response.status_code, response.headers.get("Location", ""), changed)
