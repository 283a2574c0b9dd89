"""The idempotency key: a retried upload is one visit, a replay with other content is refused,
retries racing each other in real threads end with one row on SQLite (a file) and PostgreSQL,
and no file is left behind by an upload that did not become a check-in."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from django.db import connections
from rest_framework.test import APIClient

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.field import services
from kedun.field.models import CheckIn

from .conftest import T0, check_in_form, jpeg, located, minutes
from .test_check_in_api import stored_files


@pytest.fixture(autouse=True)
def _empty_media():
    for path in stored_files():
        path.unlink()
    yield


def test_the_same_upload_twice_is_one_visit_answered_200_the_second_time(cast, send):
    customer = located(cast.east_rep)
    photo, key = jpeg(taken_at=T0), uuid.uuid4().hex

    with clock.frozen_at(T0 + minutes(1)):
        first = send(cast.east_rep, customer, photo=photo, key=key)
    with clock.frozen_at(T0 + minutes(9)):
        again = send(cast.east_rep, customer, photo=photo, key=key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert CheckIn.objects.count() == 1
    assert AuditEvent.objects.filter(action="check_in.recorded").count() == 1
    assert len(stored_files()) == 1


def test_a_replay_with_other_content_is_refused_and_changes_nothing(cast, send):
    customer = located(cast.east_rep)
    key = uuid.uuid4().hex
    with clock.frozen_at(T0):
        first = send(cast.east_rep, customer, key=key)
    stored = CheckIn.objects.get()

    with clock.frozen_at(T0 + minutes(1)):
        replay = send(cast.east_rep, customer, key=key, note="改过的内容")

    assert replay.status_code == 409
    assert replay.json()["code"] == "replayed"
    assert CheckIn.objects.get() == stored
    assert CheckIn.objects.get().note == ""
    assert first.json()["id"] == stored.pk
    assert AuditEvent.objects.filter(action="check_in.recorded").count() == 1
    assert len(stored_files()) == 1


def test_another_rep_may_use_the_same_key(cast, send):
    key = "same-key-on-two-phones"
    with clock.frozen_at(T0):
        mine = send(cast.east_rep, located(cast.east_rep), key=key)
        theirs = send(cast.south_rep, located(cast.south_rep), key=key)

    assert (mine.status_code, theirs.status_code) == (201, 201)


def test_files_written_for_a_failed_check_in_are_removed(cast, send, monkeypatch):
    def broken_index(**kwargs):
        raise RuntimeError("the index is down")

    monkeypatch.setattr(services, "photo_index_add", broken_index)
    customer = located(cast.east_rep)

    with clock.frozen_at(T0), pytest.raises(RuntimeError):
        send(cast.east_rep, customer, audio=bytes.fromhex("1a45dfa3") + b"\x00" * 32)

    assert CheckIn.objects.count() == 0
    assert stored_files() == []
    assert not AuditEvent.objects.filter(action="check_in.recorded").exists()


def test_a_retry_meeting_the_original_at_the_unique_key_reads_it(cast, send, monkeypatch):
    """The database's constraint is the backstop behind the lock: should a retry miss the
    stored row twice, the insert fails and the retry answers with the original."""
    customer = located(cast.east_rep)
    photo, key = jpeg(taken_at=T0), uuid.uuid4().hex
    with clock.frozen_at(T0):
        first = send(cast.east_rep, customer, photo=photo, key=key)
    real_by_key = services._by_key
    misses = iter([None, None])
    monkeypatch.setattr(
        services, "_by_key", lambda rep, key: next(misses, None) or real_by_key(rep, key)
    )

    with clock.frozen_at(T0 + minutes(1)):
        again = send(cast.east_rep, customer, photo=photo, key=key)

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert CheckIn.objects.count() == 1
    assert len(stored_files()) == 1  # the retry's copy of the photo was removed


ROUNDS = range(2)


@pytest.mark.parametrize("round_", ROUNDS)
def test_retries_racing_in_threads_store_one_visit(transactional_db, cast, round_):
    customer = located(cast.east_rep)
    photo, key = jpeg(taken_at=T0), uuid.uuid4().hex
    retries = 8
    barrier = threading.Barrier(retries)
    answers: list[int] = []
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            client = APIClient()
            client.force_authenticate(cast.east_rep)
            body = check_in_form(customer, photo=photo, key=key)
            barrier.wait(timeout=60)
            answers.append(client.post("/api/v1/check-ins/", body, format="multipart").status_code)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload) for _ in range(retries)]
    with clock.frozen_at(T0 + minutes(1)):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    assert errors == []
    assert Counter(answers) == {201: 1, 200: retries - 1}
    assert CheckIn.objects.filter(idempotency_key=key).count() == 1
    assert AuditEvent.objects.filter(action="check_in.recorded").count() == 1
    assert len(stored_files()) == 1
    assert chain_verify().ok
