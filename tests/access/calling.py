"""Calling one route as one actor inside a savepoint that is rolled back, and the database's
fingerprint after it (every table's rows, hashed), so a refused call can be shown to have
changed nothing."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db import connection, transaction
from rest_framework.test import APIClient

from .routes_enum import Route
from .world import World

# Who each actor is: a role, or a salesperson's or manager's relation to the customer at the
# centre of the world (owned by east_rep, manager east_mgr, east_rep2 on its account team).
ACTORS: dict[str, str] = {
    "boss": "boss",
    "owner": "east_rep",
    "collaborator": "east_rep2",
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
    tables = sorted(set(connection.introspection.table_names()) - UNWATCHED)
    prints = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            prints[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return prints


def call(world: World, route: Route, method: str, actor: str, before: dict[str, str]) -> Outcome:
    username = ACTORS[actor]
    url = url_of(route, world)
    if route.api:
        client = APIClient(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
        if username:
            client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[username]}")
    else:
        client = world.sessions[username or "anonymous"]
    with transaction.atomic():
        if route.api:
            response = client.generic(method, url, b"{}", content_type="application/json")
        elif method == "POST":
            response = client.post(url, {})
        else:
            response = client.generic(method, url)
        after = fingerprint()
        transaction.set_rollback(True)
    changed = sorted(table for table, digest in after.items() if before.get(table) != digest)
    return Outcome(response.status_code, response.headers.get("Location", ""), changed)
