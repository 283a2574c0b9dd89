from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import translation


@pytest.fixture(autouse=True)
def _sentences_in_english(request):
    """Messages are asserted by their English msgids (pages speak the user's language)."""
    with translation.override("en"):
        for name in ("client", "api_client"):
            if name in request.fixturenames:
                request.getfixturevalue(name).defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        yield


def at_once(*calls):
    """Run each call in its own thread, started together; results (or the exception each
    raised) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as error:  # the refusal is a result here
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
