"""Background jobs: side effects after commit only; the heartbeat shows the worker is alive."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from kedun.core import clock
from kedun.jobs.models import WorkerHeartbeat
from kedun.jobs.queue import enqueue_on_commit
from kedun.jobs.services import heartbeat_record, worker_status
from kedun.jobs.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_jobs_run_only_after_the_transaction_commits(django_capture_on_commit_callbacks):
    ran: list[str] = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit(ran.append, "sent")
        assert ran == []
    assert ran == ["sent"]


def test_jobs_are_dropped_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    ran: list[str] = []
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue_on_commit(ran.append, "sent")
        raise RuntimeError
    assert callbacks == []
    assert ran == []


def test_the_heartbeat_task_marks_the_worker_alive():
    assert worker_status()["alive"] is False
    heartbeat()  # immediate mode in tests: runs the real task body
    assert WorkerHeartbeat.objects.count() == 1
    assert worker_status()["alive"] is True


def test_a_silent_worker_is_shown_as_stopped():
    with clock.frozen_at(timezone.now() - dt.timedelta(minutes=10)):
        heartbeat_record()
    status = worker_status()
    assert status["alive"] is False and status["seen_at"] is not None


def test_the_heartbeat_is_a_periodic_task_every_minute():
    for minute in (0, 1, 37):
        due = HUEY.read_periodic(dt.datetime(2026, 11, 27, 4, minute))
        assert "heartbeat" in {task.name.rsplit(".", 1)[-1] for task in due}


def test_the_boss_sees_the_worker_status_on_the_home_page(cast, client):
    heartbeat_record()
    client.force_login(cast.boss)
    page = client.get(reverse("home")).content.decode()
    assert 'id="worker-status"' in page and "worker ok" in page
    client.force_login(cast.east_rep)
    assert 'id="worker-status"' not in client.get(reverse("home")).content.decode()


def test_the_job_store_follows_the_configuration():
    from django.conf import settings

    assert settings.HUEY["huey_class"] == (
        "huey.RedisHuey" if settings.REDIS_URL else "huey.SqliteHuey"
    )


@override_settings()
def test_a_redis_url_selects_the_redis_store(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDUN_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(KEDUN_DATA_DIR=str(tmp_path), KEDUN_REDIS_URL="redis://127.0.0.1:6379/5")
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='kedun.config.settings';"
        "django.setup(); from huey.contrib.djhuey import HUEY; print(type(HUEY).__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "RedisHuey", result.stderr


def _statistics_of(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if not cursor.fetchone()[0]:  # no ANALYZE has ever run
                return 0
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
        else:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [table])
        return cursor.fetchone()[0]


def test_the_planner_statistics_are_refreshed_at_night_local_time(db):
    """The query planner picks report indexes by their statistics; SQLite gathers none on its
    own. The job refreshes them at 04:00 local time (huey's clock is UTC), not at other hours."""
    from django.db import connection

    from kedun.jobs.tasks import planner_statistics_daily
    from tests.factories import CustomerFactory

    CustomerFactory.create_batch(3)
    if connection.vendor == "sqlite" and _statistics_of("customers_customer"):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sqlite_stat1")
    with clock.frozen_at(timezone.make_aware(dt.datetime(2026, 3, 2, 3, 40))):
        planner_statistics_daily.call_local()
    if connection.vendor == "sqlite":
        assert _statistics_of("customers_customer") == 0
    with clock.frozen_at(timezone.make_aware(dt.datetime(2026, 3, 2, 4, 40))):
        planner_statistics_daily.call_local()
    assert _statistics_of("customers_customer") > 0
