"""Leaver mode: a manager marks a user as leaving — exports off, budgets cut, every customer
the user opens reported to the manager each morning — until the handover ends it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kedun.audit.models import AuditEvent
from kedun.budgets.models import DailyBudget, Leaver
from kedun.budgets.services import leaver_end, leaver_mark, leaver_views_report, local_today
from kedun.budgets.tasks import leaver_views_daily
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden
from kedun.exports.services import export_permission_grant, export_request
from kedun.notifications.models import Notification
from tests.factories import CustomerFactory

# A Tuesday, 15:00 in the company's time zone.
T0 = timezone.make_aware(dt.datetime(2026, 3, 3, 15, 0))


@pytest.fixture
def budgets(settings):
    settings.KEDUN_VIEW_BUDGETS = {"sales": 50, "manager": 300}
    settings.KEDUN_LEAVER_VIEW_BUDGET = 3
    settings.KEDUN_LEAVER_REVEAL_BUDGET = 0
    settings.KEDUN_LEAVER_REPORT_HOUR = 7
    return settings


def test_marking_a_leaver_cuts_the_budget_stops_exports_and_is_audited(cast, client, budgets):
    others = CustomerFactory.create_batch(5, owner=cast.south_rep)
    CustomerFactory(owner=cast.east_rep)
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    client.force_login(cast.east_rep)
    client.get(f"/registry/{others[0].pk}/")  # the day's row, at the sales budget
    assert DailyBudget.objects.get(user=cast.east_rep).view_limit == 50

    leaver_mark(actor=cast.east_mgr, user=cast.east_rep, reason="resigned")

    assert DailyBudget.objects.get(user=cast.east_rep).view_limit == 3
    assert client.get(f"/registry/{others[1].pk}/").status_code == 200
    assert client.get(f"/registry/{others[2].pk}/").status_code == 200
    assert client.get(f"/registry/{others[3].pk}/").status_code == 403
    with pytest.raises(Forbidden) as refused:
        export_request(actor=cast.east_rep, kind="customers", format="csv")
    assert refused.value.code == "leaving"
    event = AuditEvent.objects.get(action="user.leaver_marked")
    assert (event.actor_id, event.object_id) == (cast.east_mgr.pk, str(cast.east_rep.pk))


def test_a_leaver_marked_before_the_first_view_of_the_day_starts_at_the_leavers_budget(
    cast, budgets
):
    leaver_mark(actor=cast.east_mgr, user=cast.east_rep)
    from kedun.budgets.services import daily_budget_of

    budget = daily_budget_of(user=cast.east_rep, day=local_today())
    assert (budget.view_limit, budget.reveal_limit) == (3, 0)


@pytest.mark.parametrize("actor", ["east_rep", "east_rep2", "south_mgr"])
def test_only_someone_above_marks_a_leaver(cast, budgets, actor):
    with pytest.raises(Forbidden):
        leaver_mark(actor=getattr(cast, actor), user=cast.east_rep)
    assert not Leaver.objects.exists()
    assert not AuditEvent.objects.filter(action="user.leaver_marked").exists()


def test_a_leaver_is_marked_once(cast, budgets):
    leaver_mark(actor=cast.east_mgr, user=cast.east_rep)
    with pytest.raises(Conflict):
        leaver_mark(actor=cast.boss, user=cast.east_rep)
    assert Leaver.objects.count() == 1


def test_every_customer_a_leaver_opens_is_reported_to_the_manager_the_next_morning(
    cast, client, budgets
):
    opened = [
        CustomerFactory(owner=cast.south_rep, name="宁波港城物流有限公司", code="C100001"),
        CustomerFactory(owner=cast.east_rep, name="杭州西溪软件有限公司", code="C100002"),
    ]
    with clock.frozen_at(T0 - dt.timedelta(hours=5)):
        leaver_mark(actor=cast.east_mgr, user=cast.east_rep)
    client.force_login(cast.east_rep)
    with clock.frozen_at(T0):
        client.get(f"/registry/{opened[0].pk}/")
        client.get(f"/customers/{opened[1].pk}/")
    # Next morning at 07:15 local the hourly job reports the day before.
    with clock.frozen_at(T0 + dt.timedelta(hours=16, minutes=15)):
        leaver_views_daily.call_local()
        leaver_views_daily.call_local()  # a second worker, a rerun: nothing twice

    report = Notification.objects.get(kind="leaver.views")
    assert report.recipient == cast.east_mgr
    assert report.title == "east_rep (leaving) opened 2 customers on 2026-03-03"
    assert (
        report.body == "15:00 宁波港城物流有限公司 (C100001)\n15:00 杭州西溪软件有限公司 (C100002)"
    )


def test_the_report_runs_only_at_its_hour(cast, budgets):
    leaver_mark(actor=cast.east_mgr, user=cast.east_rep)
    with clock.frozen_at(T0 + dt.timedelta(hours=12)):  # 03:00
        leaver_views_daily.call_local()
    assert not Notification.objects.filter(kind="leaver.views").exists()
    assert leaver_views_report(day=local_today()) == 1


def test_the_handover_ends_leaver_mode_restores_budgets_and_is_audited(cast, budgets):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory(owner=cast.east_rep)
    leaver_mark(actor=cast.east_mgr, user=cast.east_rep)
    from kedun.budgets.services import daily_budget_of

    daily_budget_of(user=cast.east_rep, day=local_today())

    with pytest.raises(Forbidden):
        leaver_end(actor=cast.east_rep, user=cast.east_rep)
    leaver_end(actor=cast.east_mgr, user=cast.east_rep)

    assert DailyBudget.objects.get(user=cast.east_rep).view_limit == 50
    assert export_request(actor=cast.east_rep, kind="customers", format="csv").status == "ready"
    assert AuditEvent.objects.filter(action="user.leaver_ended").count() == 1
    assert leaver_views_report(day=local_today()) == 0


def test_the_manager_marks_and_ends_leaver_mode_on_the_page(cast, client, budgets):
    client.force_login(cast.east_mgr)
    page = client.get("/people/budgets/")
    assert 'data-user="east_rep"' in page.content.decode()
    assert 'data-user="south_rep"' not in page.content.decode()

    client.post(
        "/people/budgets/", {"action": "leaver_mark", "user": cast.east_rep.pk, "reason": "走了"}
    )
    assert Leaver.objects.get(user=cast.east_rep, ended_at__isnull=True).reason == "走了"
    # Someone not under the manager: nothing happens.
    client.post("/people/budgets/", {"action": "leaver_mark", "user": cast.south_rep.pk})
    assert not Leaver.objects.filter(user=cast.south_rep).exists()

    client.post("/people/budgets/", {"action": "leaver_end", "user": cast.east_rep.pk})
    assert Leaver.objects.get(user=cast.east_rep).ended_by == cast.east_mgr


def test_a_salesperson_may_not_open_the_budgets_page(cast, client):
    client.force_login(cast.east_rep)
    assert client.get("/people/budgets/").status_code == 403


@pytest.mark.parametrize("by", ["east_mgr", None])
def test_the_departure_handover_ends_leaver_mode(cast, budgets, by):
    from kedun.lifecycle.handover import handover

    CustomerFactory(owner=cast.east_rep)
    leaver_mark(actor=cast.east_mgr, user=cast.east_rep)
    actor = getattr(cast, by) if by else None

    handover(actor=actor, user=cast.east_rep, to=[cast.east_rep2])

    leaver = Leaver.objects.get(user=cast.east_rep)
    assert leaver.ended_at is not None
    assert leaver.ended_by == actor
    event = AuditEvent.objects.get(action="user.leaver_ended")
    assert event.changes_data == {"by": "handover"}
    assert leaver_views_report(day=local_today()) == 0
