"""What `make run` does, end to end, on a fresh data directory: migrate, load the demo once,
serve pages and run the job worker in one process, log in with a demo login."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDUN_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env["KEDUN_DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture
def served(tmp_path):
    env = fresh_env(tmp_path / "var")
    for args in (["migrate", "--noinput"], ["demo"]):
        done = subprocess.run(
            [sys.executable, "-m", "kedun", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    port = free_port()
    env["PORT"] = str(port)
    server = subprocess.Popen(
        [sys.executable, "-m", "kedun", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first_line = server.stdout.readline()
    try:
        yield server, first_line, port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()


def test_serve_prints_the_url_and_demo_logins_work(served):
    _server, first_line, port = served
    assert first_line.strip() == f"Kedun is running at http://127.0.0.1:{port}/"
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(f"{base}/login/", timeout=10).read().decode()
    assert "登录" in login_page  # Simplified Chinese by default
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    form = urllib.parse.urlencode(
        {"username": "zhangwei", "password": "kedun-demo", "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        f"{base}/login/", data=form, headers={"Referer": f"{base}/login/"}
    )
    home = opener.open(request, timeout=10)
    assert home.geturl() == f"{base}/"
    page = home.read().decode()
    assert "张伟" in page
    assert re.search(r'data-count="my_customers">30<', page)

    # The embedded worker announces itself at start-up.
    deadline = time.monotonic() + 30
    alive = False
    while time.monotonic() < deadline and not alive:
        alive = (
            b'"worker_alive":true'
            in urllib.request.urlopen(f"{base}/api/v1/health/", timeout=10).read()
        )
        time.sleep(0.5)
    assert alive


def test_serve_refuses_a_port_in_use_clearly(tmp_path):
    env = fresh_env(tmp_path / "var")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "kedun", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
