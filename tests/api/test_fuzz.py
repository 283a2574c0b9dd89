"""The API fuzzed against its own OpenAPI schema (schemathesis), as a salesperson and as a
manager, over a small seeded company: no server error, and every answer documented — its
status code, its content type and its body.

Every operation of the schema is one test per role. Path parameters are drawn from the seeded
rows (the caller's own customer, a colleague's, one in the pool, one of another department,
a quote, an order, …) so that most calls reach real code instead of a 404; query strings and
bodies are generated, both valid ones and invalid ones.

Bounded for CI: a few examples per operation, derandomized (a fixed seed), no deadline.
`KEDUN_FUZZ_EXAMPLES=200 pytest tests/api/test_fuzz.py` runs it longer.

Not stateful: drf-spectacular emits no OpenAPI links, and the seeded rows already give every
path parameter a real value, which is what links would buy us here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kedun.exports.services import export_permission_grant
from kedun.org.services import token_for_user
from tests.conftest import Cast, make_cast
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("KEDUN_FUZZ_EXAMPLES", "4"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _schema() -> schemathesis.schemas.BaseSchema:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(raw)))
    loaded.app = WSGIHandler()
    return loaded


SCHEMA = _schema()
OPERATIONS = sorted(
    (operation.ok().method.upper(), operation.ok().path)
    for operation in SCHEMA.get_all_operations()
)


@pytest.fixture
def in_process():
    """Requests reach Django's WSGI handler in this thread, inside the test's transaction;
    like Django's test client, keep the handler from closing that connection after each one."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _created(response: Any) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture(scope="module")
def company(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:
    """Seeded once for the module, in a transaction rolled back at its end; each test runs in
    a savepoint inside it (pytest-django's `db`), so one operation's fuzz leaves nothing behind
    for the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        cast = make_cast()
        yield {
            "tokens": {
                user.username: token_for_user(actor=None, user=user).key
                for user in (cast.east_rep, cast.east_mgr)
            },
            "ids": _seed(cast),
        }
        transaction.set_rollback(True)


def _seed(cast: Cast) -> dict[str, list[Any]]:
    """A small company at work; each path parameter's name → the values to draw from."""
    today = dt.date.today()
    pump = ProductFactory(sku="PUMP-100", list_price="1000.00", floor_price="850.00")
    ProductFactory(sku="VALVE-20", list_price="120.50", floor_price="100.00")
    mine = CustomerFactory(name="杭州远望机械有限公司", owner=cast.east_rep)
    CustomerFactory.create_batch(2, owner=cast.east_rep)
    colleagues = CustomerFactory(name="宁波海天塑机有限公司", owner=cast.east_rep2)
    pooled = CustomerFactory(
        name="苏州金螳螂建筑有限公司",
        owner=None,
        registered_by=cast.east_mgr,
        pool_entered_at=timezone.now() - dt.timedelta(days=2),
    )
    southern = CustomerFactory(name="广州白云电器有限公司", owner=cast.south_rep)

    rep = APIClient()
    rep.force_authenticate(cast.east_rep)
    quote = _created(
        rep.post(
            "/api/v1/quotes/",
            {
                "customer": mine.pk,
                "lines": [{"product": pump.pk, "quantity": "2", "unit_price": "900.00"}],
                "valid_until": (today + dt.timedelta(days=30)).isoformat(),
            },
            format="json",
        )
    )
    order = _created(
        rep.post(
            "/api/v1/orders/",
            {
                "customer": mine.pk,
                "lines": [{"product": pump.pk, "quantity": "1"}],
                "promised_date": (today + dt.timedelta(days=20)).isoformat(),
            },
            format="json",
        )
    )
    finance = APIClient()
    finance.force_authenticate(cast.finance)
    invoice = _created(
        finance.post(
            f"/api/v1/orders/{order['id']}/invoices/",
            {"number": "FP00000001", "amount": "500.00", "issued_on": today.isoformat()},
            format="json",
        )
    )
    payment = _created(
        finance.post(
            f"/api/v1/invoices/{invoice['id']}/payments/",
            {
                "amount": "100.00",
                "received_on": today.isoformat(),
                "payer_name": mine.name,
                "payer_account": "6222 0202 0011 2233",
            },
            format="json",
        )
    )
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    export = _created(rep.post("/api/v1/exports/", {"kind": "customers", "format": "csv"}))
    south = APIClient()
    south.force_authenticate(cast.south_rep)
    south.post(f"/api/v1/customers/{mine.pk}/ownership-request/", {"reason": "我先谈的"})

    from kedun.customers.models import Dispute

    users = [cast.east_rep, cast.east_rep2, cast.east_mgr, cast.south_rep]
    return {
        "customer_id": [mine.pk, colleagues.pk, pooled.pk, southern.pk],
        "quote_id": [quote["id"]],
        "order_id": [order["id"]],
        "invoice_id": [invoice["id"]],
        "payment_id": [payment["id"]],
        "export_id": [export["id"]],
        "dispute_id": list(Dispute.objects.values_list("pk", flat=True)) or [1],
        "product_id": [pump.pk],
        "user_id": [user.pk for user in users],
        "rep_id": [user.pk for user in users],
        "username": [user.username for user in users],
    }


def _path_parameters(path: str, seeded: dict[str, list[Any]]) -> st.SearchStrategy[dict]:
    names = [name for name in re.findall(r"{(\w+)}", path) if name in seeded]
    return st.fixed_dictionaries({name: st.sampled_from(seeded[name]) for name in names})


def _fuzz(method: str, path: str, token: str, seeded: dict[str, list[Any]]) -> None:
    operation = SCHEMA[path][method]
    cases = _path_parameters(path, seeded).flatmap(
        lambda known: st.one_of(
            operation.as_strategy(generation_mode=mode, path_parameters=known or None)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        )
    )

    @seed(13)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def call(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)

    call()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
@pytest.mark.parametrize("username", ["east_rep", "east_mgr"])
def test_every_operation_answers_as_documented(company, db, in_process, username, method, path):
    _fuzz(method, path, company["tokens"][username], company["ids"])


def test_the_fuzz_covers_every_operation_of_the_schema() -> None:
    assert len(OPERATIONS) >= 120
    assert ("GET", "/api/v1/customers/{customer_id}/") in OPERATIONS
