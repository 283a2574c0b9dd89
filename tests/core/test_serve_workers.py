"""`kedun serve --workers N`: N web processes under gunicorn on a file SQLite data dir — killed
or worn-out workers are replaced, SIGHUP swaps them all without dropping service, SIGTERM stops,
and the job worker runs apart (`kedun worker`, here on SQLite's job store)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.core.test_run import free_port, fresh_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")

MAX_REQUESTS = 20


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("serve-workers") / "var"
    done = subprocess.run(
        [sys.executable, "-m", "kedun", "migrate", "--noinput"],
        env=fresh_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return data_dir


class Served:
    def __init__(self, data_dir: Path, tmp_path: Path) -> None:
        self.port = free_port()
        self.access_log = tmp_path / "access.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kedun",
                "serve",
                "--workers",
                "2",
                "--max-requests",
                str(MAX_REQUESTS),
                "--threads",
                "1",
                "--port",
                str(self.port),
                "--access-log",
                str(self.access_log),
            ],
            env=fresh_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=(tmp_path / "errors.log").open("w"),
            text=True,
        )
        self.first_lines = [self.process.stdout.readline(), self.process.stdout.readline()]

    def workers(self) -> set[int]:
        """The arbiter's children, read from /proc."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return {int(child) for child in children}

    def workers_settled(self, *, not_in: set[int] = frozenset(), timeout: float = 30) -> set[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.workers()
            if len(workers) == 2 and not workers & not_in:
                return workers
            time.sleep(0.1)
        raise AssertionError(f"workers {self.workers()} did not replace {not_in}")

    def get(self, path: str = "/api/v1/health/") -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as answer:
            assert answer.status == 200
            return json.loads(answer.read())

    def requests(self, count: int) -> list[dict]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda _n: self.get(), range(count)))

    def pids_in_log(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"<(\d+)> \d+ms$", self.log(), re.MULTILINE)]

    def log(self) -> str:
        return self.access_log.read_text() if self.access_log.exists() else ""


@pytest.fixture
def served(data_dir, tmp_path):
    server = Served(data_dir, tmp_path)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)


def test_it_prints_the_url_and_says_where_jobs_run(served):
    assert served.first_lines == [
        f"Kedun is running at http://127.0.0.1:{served.port}/\n",
        "2 web processes; background jobs run apart: start `kedun worker` beside them.\n",
    ]


def test_it_refuses_a_port_in_use_clearly(data_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "kedun", "serve", "--workers", "2", "--port", str(port)],
            env=fresh_env(data_dir),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_two_worker_processes_serve_requests(served):
    workers = served.workers_settled()
    assert served.process.pid not in workers

    answers = served.requests(12)

    assert answers == [{"database": "sqlite", "worker_alive": False}] * 12
    assert set(served.pids_in_log()) == workers


def test_a_killed_worker_is_replaced_and_requests_keep_succeeding(served):
    workers = served.workers_settled()
    killed = min(workers)

    os.kill(killed, signal.SIGKILL)

    replaced = served.workers_settled(not_in={killed})
    assert replaced - workers and (workers - {killed}) <= replaced
    assert len(served.requests(10)) == 10
    assert killed not in served.pids_in_log()[-10:]


def test_a_worker_is_recycled_after_max_requests(served):
    workers = served.workers_settled()

    # Two workers, each replaced after at most MAX_REQUESTS + 10 % jitter requests.
    assert len(served.requests(3 * MAX_REQUESTS)) == 3 * MAX_REQUESTS

    served_by = served.pids_in_log()
    assert len(set(served_by)) > 2
    for pid in set(served_by):
        assert served_by.count(pid) <= MAX_REQUESTS + MAX_REQUESTS // 10
    assert served.workers_settled() != workers


def test_sighup_replaces_every_worker_and_service_continues(served):
    workers = served.workers_settled()

    served.process.send_signal(signal.SIGHUP)
    assert len(served.requests(4)) == 4  # while the workers change

    served.workers_settled(not_in=workers)
    assert len(served.requests(4)) == 4
    assert served.process.poll() is None


def test_sigterm_stops_the_workers_and_the_arbiter_cleanly(served):
    workers = served.workers_settled()

    served.process.send_signal(signal.SIGTERM)

    assert served.process.wait(timeout=40) == 0
    assert served.process.stdout.read() == "Kedun stopped.\n"
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()


def test_jobs_run_in_a_separate_worker_on_the_sqlite_job_store(served, data_dir):
    worker = subprocess.Popen(
        [sys.executable, "-m", "kedun", "worker"],
        env=fresh_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not served.get()["worker_alive"]:
            time.sleep(0.5)
        assert served.get() == {"database": "sqlite", "worker_alive": True}
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
