"""Claims at the same moment, in real threads on the suite's database (a file SQLite, or
PostgreSQL in CI): one customer gets one owner, and a rep one claim short of a limit ends at
the limit, never over it, however many claims arrive together."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connections

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import Conflict
from kedun.customers.models import Customer, OwnershipEvent, OwnershipKind
from kedun.lifecycle.models import PoolPolicy
from kedun.lifecycle.services import claims_today, customer_claim
from tests.factories import CustomerFactory, UserFactory

from .conftest import T0, days

ROUNDS = range(3)


def at_once(calls: list[Callable[[], object]]) -> list[str]:
    """Run the calls in threads released together; each outcome is "won" or the refusal's
    code. Any other error fails the test."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            call()
            outcomes.append("won")
        except Conflict as refusal:
            outcomes.append(refusal.code)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    # The clock is a module global: every thread claims at the same, known moment.
    with clock.frozen_at(T0):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert errors == []
    assert len(outcomes) == len(calls)
    return outcomes


def pool_customer(cast) -> Customer:
    return CustomerFactory(owner=None, registered_by=cast.east_mgr, pool_entered_at=T0 - days(2))


def claimer(customer_id: int, rep) -> Callable[[], object]:
    return lambda: customer_claim(actor=rep, customer_id=customer_id)


@pytest.mark.parametrize("round_", ROUNDS)
def test_thirty_reps_claiming_one_customer_leave_one_owner(transactional_db, cast, round_):
    reps = [
        UserFactory(username=f"claimer{round_}_{n}", department=cast.east, manager=cast.east_mgr)
        for n in range(30)
    ]
    customer = pool_customer(cast)

    outcomes = at_once([claimer(customer.pk, rep) for rep in reps])

    assert Counter(outcomes) == {"won": 1, "taken": 29}
    customer.refresh_from_db()
    assert customer.owner in reps
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.to_owner) == (OwnershipKind.CLAIMED, customer.owner)
    assert AuditEvent.objects.filter(action="customer.claimed").count() == 1
    assert chain_verify().ok


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_rep_one_claim_from_the_daily_limit_ends_at_the_limit(transactional_db, cast, round_):
    rep = cast.east_rep
    with clock.frozen_at(T0):
        for _ in range(19):  # the default limit is 20
            customer_claim(actor=rep, customer_id=pool_customer(cast).pk)
    customers = [pool_customer(cast) for _ in range(20)]

    outcomes = at_once([claimer(customer.pk, rep) for customer in customers])

    assert Counter(outcomes) == {"won": 1, "daily_claim_limit": 19}
    assert claims_today(rep, T0) == 20
    assert Customer.objects.filter(owner=rep).count() == 20
    assert (
        Customer.objects.filter(pk__in=[c.pk for c in customers], owner__isnull=True).count() == 19
    )
    assert chain_verify().ok


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_rep_one_customer_from_the_holding_limit_ends_at_the_limit(
    transactional_db, cast, round_
):
    PoolPolicy.objects.create(department=None, max_held=5)
    rep = cast.east_rep
    for _ in range(4):
        CustomerFactory(owner=rep, owned_since=T0 - days(1))
    customers = [pool_customer(cast) for _ in range(20)]

    outcomes = at_once([claimer(customer.pk, rep) for customer in customers])

    assert Counter(outcomes) == {"won": 1, "holding_limit": 19}
    assert Customer.objects.filter(owner=rep).count() == 5
    assert OwnershipEvent.objects.filter(kind=OwnershipKind.CLAIMED).count() == 1
    assert chain_verify().ok
