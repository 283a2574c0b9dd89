"""The permission matrix (issue 13, item 4): every page and API route, called as every actor,
lets through exactly the actors tests/access/routes.py names and refuses the others with
403/404 without changing anything. A route without an entry fails the first test."""

from __future__ import annotations

import pytest

from .calling import ACTORS, Outcome, call
from .routes import EVERYONE, ROUTES, VARIANTS, Entry, Variant
from .routes_enum import Route, all_routes

pytestmark = pytest.mark.django_db

ROUTE_LIST = all_routes()


def test_every_route_has_an_entry():
    problems = []
    for route in ROUTE_LIST:
        entry = ROUTES.get(route.name)
        if entry is None:
            problems.append(f"{route.name} ({route.pattern}, {'/'.join(route.methods)}): no entry")
            continue
        declared = set(entry.methods)
        if route.declared and declared != set(route.methods):
            problems.append(
                f"{route.name}: the view takes {sorted(route.methods)}, "
                f"the entry names {sorted(declared)}"
            )
        if not route.declared and declared != {"GET", "POST"}:
            problems.append(
                f"{route.name}: the view does not say its methods, so the entry names both "
                f"GET and POST (it names {sorted(declared)})"
            )
    stale = set(ROUTES) - {route.name for route in ROUTE_LIST}
    problems += [f"{name}: an entry for a route that no longer exists" for name in sorted(stale)]
    assert not problems, "tests/access/routes.py is out of date:\n" + "\n".join(problems)


def _granted(outcome: Outcome, *, to_login: bool) -> bool:
    if outcome.status in (400, 409):
        return True  # decided on the body or the object's state, after the access check
    if 300 <= outcome.status < 400:
        return "/login/" not in outcome.location or to_login
    return 200 <= outcome.status < 300


def _refused(route: Route, actor: str, outcome: Outcome) -> bool:
    if actor == "anonymous":
        if route.api:
            return outcome.status in (401, 403)
        return outcome.status == 302 and outcome.location.startswith("/login/")
    return outcome.status in (403, 404)


def _wrong_calls(
    world,
    route: Route,
    method: str,
    allowed: frozenset[str],
    *,
    body=None,
    multipart: bool = False,
    query: str = "",
    to_login: bool = False,
    refused_writes: frozenset[str] = frozenset(),
) -> list[str]:
    wrong = []
    # A public route (the shell's files, the login page, the schema) is the same for everyone:
    # anonymous and one signed-in actor stand for all (the schema alone takes 0.8 s a call).
    actors = ("anonymous", "boss") if allowed == EVERYONE else tuple(ACTORS)
    for actor in actors:
        outcome = call(
            world,
            route,
            method,
            actor,
            body=body(world) if body else None,
            multipart=multipart,
            query=query,
            before=None if actor in allowed else world.before,
        )
        if outcome.status >= 500:
            wrong.append(f"{method} as {actor}: {outcome.describe()} (server error)")
        elif actor in allowed and not _granted(outcome, to_login=to_login):
            wrong.append(f"{method} as {actor}: {outcome.describe()}, should be let through")
        elif actor not in allowed and not _refused(route, actor, outcome):
            wrong.append(f"{method} as {actor}: {outcome.describe()}, should be refused")
        elif actor not in allowed and set(outcome.changed) - refused_writes:
            wrong.append(f"{method} as {actor}: refused but {outcome.describe()}")
    return wrong


@pytest.mark.parametrize("route", ROUTE_LIST, ids=lambda route: route.name)
def test_only_the_named_actors_get_through(route: Route, world):
    entry: Entry | None = ROUTES.get(route.name)
    if entry is None:
        pytest.fail(f"{route.name} has no entry in tests/access/routes.py")
    wrong = []
    for method, allowed in entry.methods.items():
        wrong += _wrong_calls(
            world,
            route,
            method,
            allowed,
            body=entry.bodies.get(method),
            multipart=entry.multipart,
            query=entry.query(world) if entry.query else "",
            to_login=entry.to_login,
            refused_writes=entry.refused_writes,
        )
    assert not wrong, f"{route.name} ({route.pattern}):\n" + "\n".join(wrong)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v.route}:{v.label}")
def test_every_action_of_a_page_is_decided_like_its_api(variant: Variant, world):
    route = next(route for route in ROUTE_LIST if route.name == variant.route)
    wrong = _wrong_calls(
        world,
        route,
        variant.method,
        variant.allowed,
        body=variant.body,
        query=variant.query(world) if variant.query else "",
        refused_writes=variant.refused_writes,
    )
    assert not wrong, f"{variant.route} {variant.label}:\n" + "\n".join(wrong)
