"""The locustfile of bench/load.py: reps and managers of the load-test company at work.

Each rep user is one rep of a different branch (its pool is its own: no claim races between
users); managers log in through the login form and open their reports. The settings come from
the JSON file named by KEDUN_LOAD_CONFIG; on stop, every request (kind, start, ms, status,
outcome) and the ledger of acknowledged writes are written to the files it names.

Outcomes: `ok`; `refused` (a correct refusal the mix expects: 409 `duplicate`/`possible` on
registering, a company the check had not caught); `retried` (a GET cut off, answered on the
second try); `interrupted` (a write whose connection dropped: never acknowledged, not retried,
so not in the ledger); `error` (anything else).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import time
import urllib.parse

from locust import FastHttpUser, between, events, task

CONFIG = json.loads(open(os.environ["KEDUN_LOAD_CONFIG"], encoding="utf-8").read())  # noqa: SIM115
RECORDS: list[list] = []
LEDGER: list[dict] = []
REPS = list(CONFIG["reps"])
MANAGERS = list(CONFIG["managers"])
NAMES = CONFIG["names"]  # [cities, trades, industries, forms]
THINK = CONFIG["think_seconds"]


def _cut_off(response) -> bool:
    return response.status_code == 0  # no HTTP answer: connection refused, reset, closed


class Worker(FastHttpUser):
    abstract = True
    wait_time = between(*THINK)
    # Reps' and managers' clients keep their connections open between tasks, as browsers and
    # apps do.

    def call(self, kind: str, method: str, path: str, *, ok=(200,), refused=(), **kwargs):
        if "params" in kwargs:
            path += "?" + urllib.parse.urlencode(kwargs.pop("params"))
        headers = dict(self.headers)  # the client adds to the dict it is given
        if isinstance(kwargs.get("data"), dict):
            kwargs["data"] = urllib.parse.urlencode(kwargs["data"])
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.time()
        retried = False
        while True:
            with self.client.request(
                method, path, name=kind, catch_response=True, headers=dict(headers), **kwargs
            ) as response:
                status = response.status_code
                if status in ok:
                    outcome = "retried" if retried else "ok"
                elif status in refused:
                    outcome = "refused"
                elif _cut_off(response) and method == "GET" and not retried:
                    retried = True
                    response.success()
                    continue
                elif _cut_off(response):
                    outcome = "interrupted"
                else:
                    outcome = "error"
                if outcome == "error":
                    response.failure(f"{status}: {(response.text or '')[:200]}")
                else:
                    response.success()
                RECORDS.append(
                    [kind, started, round((time.time() - started) * 1000, 1), status, outcome]
                )
                if outcome == "error" and status:
                    RECORDS[-1].append((response.text or "")[:300])
                return response if outcome in ("ok", "retried") else None


class Rep(Worker):
    weight = 9

    def on_start(self):
        self.rep = REPS.pop(0) if REPS else random.choice(CONFIG["reps"])
        self.headers = {"Authorization": f"Token {self.rep['token']}"}
        self.book: list[dict] = []
        self.pages = 1
        self.open_my_customers()

    @task(3)
    def open_my_customers(self):
        page = random.randint(1, self.pages)
        answer = self.call("my customers", "GET", f"/api/v1/my/customers/?page={page}")
        if answer is not None and answer.json()["results"]:
            self.book = answer.json()["results"]
            self.pages = max(1, -(-answer.json()["count"] // 25))  # 25 a page

    def a_customer(self) -> dict | None:
        return random.choice(self.book) if self.book else None

    @task(4)
    def open_a_customer(self):
        customer = self.a_customer()
        if customer:
            self.call("customer", "GET", f"/api/v1/customers/{customer['id']}/")

    @task(1)
    def read_follow_ups(self):
        customer = self.a_customer()
        if customer:
            self.call("follow-up list", "GET", f"/api/v1/customers/{customer['id']}/follow-ups/")

    @task(1)
    def search_my_customers(self):
        customer = self.a_customer()
        if customer:
            part = customer["name"][2:5]
            self.call("customer search", "GET", "/api/v1/customers/", params={"search": part})

    @task(3)
    def log_follow_up(self):
        customer = self.a_customer()
        if not customer:
            return
        answer = self.call(
            "follow-up log",
            "POST",
            f"/api/v1/customers/{customer['id']}/follow-ups/",
            ok=(201,),
            json={
                "kind": random.choice(["call", "visit", "wechat", "meeting"]),
                "content": f"负载测试回访：谈了报价和交期 {random.randint(1000, 9999)}",
                "next_follow_up_on": str(dt.date.today() + dt.timedelta(days=7)),
            },
        )
        if answer is not None:
            LEDGER.append({"kind": "follow_up", "id": answer.json()["id"]})

    @task(2)
    def register_a_company(self):
        cities, trades, industries, forms = NAMES
        name = random.choice(cities) + random.choice(trades) + random.choice(industries)
        name += random.choice(forms)
        phone = f"1{random.choice('3589')}{random.randint(100_000_000, 999_999_999)}"
        check = self.call(
            "duplicate check",
            "POST",
            "/api/v1/customers/duplicate-check/",
            json={"name": name, "phone": phone},
        )
        if check is None or any(m["level"] == "duplicate" for m in check.json()["matches"]):
            return  # taken (or cut off): a rep would not register it
        # Only possible matches: the rep looked at them and registers anyway, confirming.
        answer = self.call(
            "register",
            "POST",
            "/api/v1/customers/",
            ok=(201,),
            refused=(409,),
            json={"name": name, "phone": phone, "confirm_possible": True},
        )
        if answer is not None:
            created = answer.json()
            LEDGER.append({"kind": "customer", "id": created["id"], "owner": self.rep["id"]})
            self.book.append(created)

    @task(1)
    def claim_from_the_pool(self):
        pool = self.call("pool", "GET", "/api/v1/pool/")
        if pool is None or not pool.json()["results"]:
            return
        customer = random.choice(pool.json()["results"])
        answer = self.call("claim", "POST", f"/api/v1/pool/{customer['id']}/claim/")
        if answer is not None:
            LEDGER.append({"kind": "claim", "id": customer["id"], "owner": self.rep["id"]})
            self.book.append(customer)

    @task(1)
    def write_a_quote(self):
        customer = self.a_customer()
        if not customer:
            return
        products = random.sample(CONFIG["products"], k=random.randint(1, 3))
        answer = self.call(
            "quote",
            "POST",
            "/api/v1/quotes/",
            ok=(201,),
            json={
                "customer": customer["id"],
                "lines": [
                    {"product": product, "quantity": str(random.randint(1, 20))}
                    for product in products
                ],
                "valid_until": str(dt.date.today() + dt.timedelta(days=30)),
            },
        )
        if answer is not None:
            LEDGER.append({"kind": "quote", "id": answer.json()["id"]})


class Manager(Worker):
    fixed_count = CONFIG["manager_users"]

    def on_start(self):
        self.manager = MANAGERS.pop(0) if MANAGERS else random.choice(CONFIG["managers"])
        self.headers = {}
        page = self.call("login", "GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.call(
            "login",
            "POST",
            "/login/",
            ok=(302,),
            data={
                "username": self.manager["username"],
                "password": self.manager["password"],
                "csrfmiddlewaretoken": token,
            },
            allow_redirects=False,
        )
        self.api = {"Authorization": f"Token {self.manager['token']}"}

    @task(3)
    def sales_pipeline(self):
        self.call("report: pipeline", "GET", "/reports/sales/pipeline/")

    @task(2)
    def sales_execution(self):
        self.call("report: execution", "GET", "/reports/sales/execution/")

    @task(2)
    def sales_collection(self):
        self.call("report: collection", "GET", "/reports/sales/collection/")

    @task(2)
    def key_customers(self):
        self.headers, saved = self.api, self.headers
        try:
            self.call("report: key customers", "GET", "/api/v1/reports/key-customers/")
        finally:
            self.headers = saved

    @task(2)
    def department_customers(self):
        self.headers, saved = self.api, self.headers
        try:
            self.call(
                "team's customers",
                "GET",
                "/api/v1/customers/",
                params={"department": self.manager["branch"]},
            )
        finally:
            self.headers = saved


@events.test_stop.add_listener
def write_results(**_kwargs):
    with open(CONFIG["records_file"], "w", encoding="utf-8") as handle:
        json.dump(RECORDS, handle)
    with open(CONFIG["ledger_file"], "w", encoding="utf-8") as handle:
        json.dump(LEDGER, handle)
