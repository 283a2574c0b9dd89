"""Daily budgets (MISSION §8): other people's customers opened, masked values revealed —
spent atomically, the manager told at 80 % once, refused past the budget until a manager over
the user grants more."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kedun.audit.models import AccessEvent, AuditEvent
from kedun.budgets.models import BudgetGrant, BudgetKind, DailyBudget
from kedun.budgets.services import BudgetExceeded, budget_grant, budget_spend, local_today
from kedun.core.errors import Forbidden
from kedun.notifications.models import Notification
from tests.factories import CustomerFactory
from tests.threads import at_once


@pytest.fixture
def small_budgets(settings):
    settings.KEDUN_VIEW_BUDGETS = {"sales": 5, "manager": 5}
    settings.KEDUN_REVEAL_BUDGETS = {"manager": 2}
    settings.KEDUN_BUDGET_WARN_PERCENT = 80
    return settings


def today_of(user) -> DailyBudget:
    return DailyBudget.objects.get(user=user, day=local_today())


def test_opening_other_peoples_customers_spends_the_budget_and_ones_own_do_not(
    cast, client, small_budgets
):
    own = CustomerFactory(owner=cast.east_rep)
    others = CustomerFactory.create_batch(2, owner=cast.south_rep)
    client.force_login(cast.east_rep)

    assert client.get(f"/customers/{own.pk}/").status_code == 200
    for customer in others:
        assert client.get(f"/registry/{customer.pk}/").status_code == 200
    # The same customer again the same day costs nothing more.
    assert client.get(f"/registry/{others[0].pk}/").status_code == 200

    assert today_of(cast.east_rep).views == 2


def test_past_the_budget_the_page_refuses_in_words_and_records_nothing(cast, client, small_budgets):
    customers = CustomerFactory.create_batch(6, owner=cast.east_rep)
    client.force_login(cast.east_mgr)
    for customer in customers[:5]:
        assert client.get(f"/customers/{customer.pk}/").status_code == 200
    views_before = AccessEvent.objects.filter(user=cast.east_mgr).count()

    response = client.get(f"/customers/{customers[5].pk}/")

    assert response.status_code == 403
    text = response.content.decode()
    assert "Daily budget used up" in text
    assert "You have opened 5 other people&#x27;s customers today, your daily budget." in text
    assert "Ask boss to grant you more." in text
    assert customers[5].name not in text
    assert AccessEvent.objects.filter(user=cast.east_mgr).count() == views_before
    assert today_of(cast.east_mgr).views == 5


def test_the_api_refuses_with_budget_exceeded(cast, api_client, small_budgets):
    customers = CustomerFactory.create_batch(6, owner=cast.south_rep)
    api_client.force_authenticate(cast.south_mgr)
    for customer in customers[:5]:
        assert api_client.get(f"/api/v1/customers/{customer.pk}/").status_code == 200

    response = api_client.get(f"/api/v1/customers/{customers[5].pk}/")

    assert response.status_code == 403
    assert response.json()["code"] == "budget_exceeded"


def test_at_80_percent_the_manager_is_told_once(cast, client, small_budgets):
    customers = CustomerFactory.create_batch(5, owner=cast.south_rep)
    client.force_login(cast.east_rep)
    for customer in customers[:3]:
        client.get(f"/registry/{customer.pk}/")
    assert not Notification.objects.filter(kind="budget.warning").exists()

    client.get(f"/registry/{customers[3].pk}/")  # 4 of 5
    client.get(f"/registry/{customers[4].pk}/")  # 5 of 5

    warnings = Notification.objects.filter(kind="budget.warning")
    assert [(n.recipient, n.title) for n in warnings] == [
        (cast.east_mgr, "east_rep has opened 4 of 5 other people's customers allowed today")
    ]


def test_a_grant_by_a_manager_over_the_user_lets_them_go_on_and_is_audited(
    cast, client, small_budgets
):
    customers = CustomerFactory.create_batch(7, owner=cast.south_rep)
    client.force_login(cast.east_rep)
    for customer in customers[:5]:
        client.get(f"/registry/{customer.pk}/")
    assert client.get(f"/registry/{customers[5].pk}/").status_code == 403

    budget_grant(actor=cast.east_mgr, user=cast.east_rep, kind=BudgetKind.VIEW, extra=1)

    assert client.get(f"/registry/{customers[5].pk}/").status_code == 200
    assert client.get(f"/registry/{customers[6].pk}/").status_code == 403
    event = AuditEvent.objects.get(action="budget.granted")
    assert (event.actor_id, event.object_id) == (cast.east_mgr.pk, str(cast.east_rep.pk))
    assert event.changes_data["extra"] == 1
    assert BudgetGrant.objects.get().granted_by == cast.east_mgr


@pytest.mark.parametrize("granter", ["east_rep", "south_mgr", "east_rep2"])
def test_only_someone_above_may_grant_and_a_refusal_changes_nothing(cast, small_budgets, granter):
    with pytest.raises(Forbidden):
        budget_grant(actor=getattr(cast, granter), user=cast.east_rep, kind="view", extra=5)
    assert not DailyBudget.objects.exists()
    assert not AuditEvent.objects.filter(action="budget.granted").exists()


def test_the_boss_may_grant_a_manager_more_reveals(cast, client, small_budgets):
    customers = CustomerFactory.create_batch(3, owner=cast.east_rep, phone="13900001111")
    client.force_login(cast.east_mgr)
    for customer in customers[:2]:
        response = client.post(f"/customers/{customer.pk}/", {"reveal": "1"})
        assert "13900001111" in response.content.decode()

    refused = client.post(f"/customers/{customers[2].pk}/", {"reveal": "1"})
    assert refused.status_code == 403
    assert "You have revealed contact data 2 times today" in refused.content.decode()
    assert AuditEvent.objects.filter(action="customer.contacts_revealed").count() == 2

    budget_grant(actor=cast.boss, user=cast.east_mgr, kind=BudgetKind.REVEAL, extra=1)
    response = client.post(f"/customers/{customers[2].pk}/", {"reveal": "1"})
    assert "13900001111" in response.content.decode()


def test_opening_a_customer_costs_one_update_on_the_hot_path(cast, client, small_budgets):
    first, second = CustomerFactory.create_batch(2, owner=cast.east_rep)
    client.force_login(cast.east_mgr)
    client.get(f"/customers/{first.pk}/")  # the day's row is made here

    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/customers/{second.pk}/").status_code == 200

    budget_writes = [
        q["sql"]
        for q in queries.captured_queries
        if "budgets_" in q["sql"] and "UPDATE" in q["sql"]
    ]
    assert len(budget_writes) == 1
    assert not [
        q for q in queries.captured_queries if "INSERT" in q["sql"] and "budgets_" in q["sql"]
    ]


def test_parallel_requests_cannot_spend_past_the_budget(transactional_db, cast, settings):
    settings.KEDUN_VIEW_BUDGETS = {"sales": 7}
    settings.KEDUN_BUDGET_WARN_PERCENT = 80
    rep = cast.east_rep

    def spend():
        budget_spend(user=rep, kind=BudgetKind.VIEW)
        return "spent"

    results = at_once(*[spend for _ in range(16)])

    assert results.count("spent") == 7, results
    assert all(isinstance(r, BudgetExceeded) for r in results if r != "spent"), results
    assert DailyBudget.objects.get(user=rep).views == 7
    # Told once however many crossed 80 % together.
    assert Notification.objects.filter(kind="budget.warning", recipient=cast.east_mgr).count() == 1


def test_the_database_refuses_a_count_past_its_limit(cast):
    from django.db import IntegrityError, transaction

    DailyBudget.objects.create(user=cast.east_rep, day=local_today(), views=3, view_limit=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyBudget.objects.filter(user=cast.east_rep).update(views=4)
