"""Benchmark: the load test's slowest requests one at a time (issue 13), on its prepared data.

Times each request (median of --repeat, through Django's test client, in this process: no
server, no other users) as the first rep and the first manager of bench/load_data.py's company,
with the number of queries it ran. Point it at a prepared database — it reads, and writes
only the sessions of its two logins:

    KEDUN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/load_1m python bench/load_requests.py
    KEDUN_DATA_DIR=var/load-sqlite-1000000 python bench/load_requests.py   # SQLite
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    os.environ.setdefault("KEDUN_SECRET_KEY", "load-requests-secret-key-" + "x" * 40)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kedun.customers.models import Customer
    from kedun.org.models import User

    settings.ALLOWED_HOSTS = ["*"]
    rep = User.objects.filter(username__startswith="load-rep").order_by("pk").first()
    manager = User.objects.filter(username__startswith="load-mgr").order_by("pk").first()
    if rep is None or manager is None:
        print("no load-test company here: run bench/load.py first", file=sys.stderr)
        return 1
    name = Customer.objects.filter(owner=rep).values_list("name", flat=True).first() or "公司"
    part = name[2:5]  # as bench/load_mix.py searches
    requests = [
        (rep, "/api/v1/pool/"),
        (rep, "/pool/"),
        (rep, f"/api/v1/customers/?search={part}"),
        (manager, f"/api/v1/customers/?search={part}"),
        (manager, "/api/v1/customers/"),
        (manager, f"/api/v1/customers/?department={manager.department_id}"),
        (manager, "/customers/"),
        (manager, "/api/v1/pool/"),
        (manager, "/api/v1/reports/key-customers/"),
    ]
    for user, url in requests:
        client = Client()
        client.force_login(user)
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                print(f"{url}: {response.status_code}", file=sys.stderr)
                return 1
        who = "rep" if user == rep else "manager"
        print(
            f"{who:8s} GET {url:45s} median {statistics.median(times):7.1f} ms"
            f"  queries {len(queries)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
