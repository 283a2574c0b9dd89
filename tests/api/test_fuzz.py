"""The API fuzzed against its own OpenAPI schema (schemathesis), as a salesperson and as a
manager, over a small seeded company: no server error, and every answer documented — its
status code, its content type and its body.

Every operation of the schema is one test per role. Path parameters are drawn from the seeded
rows (the caller's own customer, a colleague's, one in the pool, one of another department,
a quote, an order, …) so that most calls reach real code instead of a 404; query strings and
bodies are generated, both valid ones and invalid ones.

Bounded for CI: a few examples per operation, derandomized (a fixed seed), no deadline.
`KEDUN_FUZZ_EXAMPLES=200 pytest tests/api/test_fuzz.py` runs it longer.

Stateful too: drf-spectacular emits no OpenAPI links, but schemathesis infers them from the
schema (about 170: an `id` in one answer feeds a `{…_id}` of another) and walks sequences of
calls from the seeded company (`KEDUN_FUZZ_SEQUENCES`, 15 by default).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode

from kedun.exports.services import export_permission_grant
from kedun.org.services import token_for_user
from tests.api.schema import CHECKS, api_schema, in_this_transaction
from tests.conftest import Cast, make_cast
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("KEDUN_FUZZ_EXAMPLES", "4"))
SEQUENCES = int(os.environ.get("KEDUN_FUZZ_SEQUENCES", "15"))
SCHEMA = api_schema()
OPERATIONS = sorted(
    (result.ok().method.upper(), result.ok().path)
    for result in SCHEMA.get_all_operations()
    if not isinstance(result, Err)
)


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


def _created(response: Any) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


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
    _created(
        south.post(
            f"/api/v1/customers/{mine.pk}/ownership-request/",
            {"reason": "三月起我一直在跟进这家客户"},
        )
    )

    from kedun.customers.models import Dispute

    users = [cast.east_rep, cast.east_rep2, cast.east_mgr, cast.south_rep]
    return {
        "customer_id": [mine.pk, colleagues.pk, pooled.pk, southern.pk],
        "quote_id": [quote["id"]],
        "order_id": [order["id"]],
        "invoice_id": [invoice["id"]],
        "payment_id": [payment["id"]],
        "export_id": [export["id"]],
        "dispute_id": [Dispute.objects.get(customer=mine).pk],
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
def test_every_operation_answers_as_documented(company, db, username, method, path):
    with in_this_transaction():
        _fuzz(method, path, company["tokens"][username], company["ids"])


@pytest.mark.parametrize("username", ["east_rep", "east_mgr"])
def test_call_sequences_answer_as_documented(company, db, username):
    """Stateful: schemathesis infers links from the schema (an `id` in one answer feeds a
    `{…_id}` of another: export → approve → file, check-in → check-out → review, …) and walks
    sequences of calls, each from the seeded company again (a savepoint per sequence)."""
    token = company["tokens"][username]

    class Sequences(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.savepoint = transaction.savepoint()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Token {token}"}}

        def validate_response(self, response: Any, case: Any, *_: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    with in_this_transaction():
        Sequences.run(
            settings=settings(
                max_examples=SEQUENCES,
                stateful_step_count=8,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
        )


def test_schemathesis_reads_every_operation_of_the_schema() -> None:
    unreadable = [str(r.err()) for r in SCHEMA.get_all_operations() if isinstance(r, Err)]
    assert unreadable == []
    assert len(OPERATIONS) == len(set(OPERATIONS)) > 100
