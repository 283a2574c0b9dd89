"""Real threads started together, for the race tests (each thread closes its own connection)."""

from __future__ import annotations

import threading

from django.db import connection


def at_once(*calls):
    """Run each call in its own thread, started together; results (or the exception each
    raised) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as error:  # a refusal is a result here
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
