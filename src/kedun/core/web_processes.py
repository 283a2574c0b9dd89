"""Several web processes under gunicorn, for `kedun serve --workers N`.

The process that runs this becomes gunicorn's arbiter: it binds the port, forks N workers
(threaded, each with its own database connections) and watches them. A worker that dies —
killed, out of memory — is replaced at once; one that has served about `max_requests`
requests is replaced gracefully (the jitter keeps the workers from all restarting together).
SIGHUP starts fresh workers and retires the old ones after their requests finish; SIGTERM
stops gracefully, SIGINT and SIGQUIT at once (gunicorn's own signals).

No job consumer runs in these processes: a consumer per web process would multiply the
periodic jobs and compete with requests for the CPU; `kedun worker` runs them apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from gunicorn.app.base import BaseApplication

# The combined log format, then the worker's pid and the time taken (ms).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(p)s %(M)sms'


class WebProcesses(BaseApplication):
    def __init__(
        self,
        *,
        bind: str,
        workers: int,
        threads: int,
        max_requests: int,
        access_log: str | None,
        ready: Callable[[], object],
    ) -> None:
        self.options: dict[str, Any] = {
            "bind": [bind],
            "workers": workers,
            "worker_class": "gthread" if threads > 1 else "sync",
            "threads": threads,
            "max_requests": max_requests,
            "max_requests_jitter": max(1, max_requests // 10),
            # A request may take this long before its worker is killed and replaced.
            "timeout": 120,
            "graceful_timeout": 30,
            "keepalive": 5,
            "proc_name": "kedun",
            "loglevel": settings.LOG_LEVEL.lower(),
            "errorlog": "-",
            "accesslog": access_log,
            "access_log_format": ACCESS_LOG_FORMAT,
            # X-Forwarded-For and -Proto are Kedun's to judge (KEDUN_TRUSTED_PROXIES, KEDUN_HTTPS):
            # gunicorn passes the headers through untouched.
            "forwarded_allow_ips": "",
            "when_ready": lambda _arbiter: ready(),
            # gunicorn 25+ listens on ~/.gunicorn/gunicorn.ctl: one path for every instance of
            # the user's. Kedun is driven by signals; two instances must not share a socket.
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # an older gunicorn lacks the newest settings
                self.cfg.set(key, value)

    def load(self) -> Any:
        return get_wsgi_application()

    def run(self) -> None:
        arbiter = os.getpid()
        try:
            super().run()
        except SystemExit as stop:
            # The arbiter exits the process when it halts: a clean stop returns to the command.
            # A worker leaves with SystemExit too, through here (it was forked inside run()).
            if os.getpid() != arbiter or stop.code not in (None, 0):
                raise
