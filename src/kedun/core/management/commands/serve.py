import os
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.wsgi import get_wsgi_application


def _default_port() -> int:
    raw = os.environ.get("KEDUN_PORT") or os.environ.get("PORT") or "8000"
    try:
        port = int(raw)
    except ValueError:
        raise CommandError(f"KEDUN_PORT/PORT={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise CommandError(f"port {port} is out of range (1–65535)")
    return port


def _positive(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is less than 1")
    return number


class Command(BaseCommand):
    help = (
        "Run the web server and, in the same process, a background-job worker; with --workers N, "
        "N web processes (gunicorn) and no job worker (run `kedun worker` beside them)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("KEDUN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument(
            "--threads", type=_positive, default=None, help="threads per web process (8; 4)"
        )
        parser.add_argument(
            "--workers",
            type=_positive,
            default=None,
            help="run N web processes under gunicorn (Linux, macOS); jobs run apart in "
            "`kedun worker`",
        )
        parser.add_argument(
            "--max-requests",
            type=_positive,
            default=1000,
            help="with --workers: replace a web process after about this many requests (±10%%)",
        )
        parser.add_argument(
            "--access-log",
            default=None,
            help="with --workers: log each request to this file ('-': standard output)",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="serve pages only (workers run elsewhere: `kedun worker`)",
        )

    def handle(self, *args, **options):
        host = options["host"]
        port = options["port"] or _default_port()
        if options["workers"] is not None:
            self._serve_processes(host, port, options)
        else:
            self._serve_one_process(host, port, options)

    def _banner(self, host: str, port: int) -> str:
        from kedun.demo.company import demo_logins_text

        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        lines = [f"Kedun is running at http://{shown_host}:{port}/"]
        logins = demo_logins_text()
        if logins:
            lines.append(logins)
        return "\n".join(lines)

    def _serve_one_process(self, host: str, port: int, options: dict[str, Any]) -> None:
        from waitress.server import create_server

        try:
            server = create_server(
                get_wsgi_application(),
                host=host,
                port=port,
                threads=options["threads"] or 8,
                ident="kedun",
            )
        except OSError as error:
            raise CommandError(
                f"cannot listen on {host}:{port}: {error.strerror}. "
                "Set PORT or KEDUN_PORT to use another port."
            ) from None
        self.stdout.write(self._banner(host, port))
        self.stdout.flush()

        web = threading.Thread(target=server.run, name="kedun-web", daemon=True)
        web.start()
        run_worker = not options["no_worker"] and not settings.HUEY.get("immediate")
        try:
            if run_worker:
                from kedun.jobs.consumer import consumer_create

                # The consumer owns the main thread: it needs it for its signal handling
                # (Ctrl-C or SIGTERM stops the worker gracefully, then the process exits).
                consumer_create().run()
            else:
                web.join()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
        self.stdout.write("Kedun stopped.")

    def _serve_processes(self, host: str, port: int, options: dict[str, Any]) -> None:
        import socket

        from django.db import connections

        try:
            from kedun.core.web_processes import WebProcesses
        except ImportError as error:  # gunicorn needs fcntl: not on Windows
            raise CommandError(
                f"--workers needs gunicorn, which does not run here ({error}); "
                "serve without --workers."
            ) from None

        # Checked here, before gunicorn, whose own message for it is a retry loop and a log line.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise CommandError(
                    f"cannot listen on {host}:{port}: {error.strerror}. "
                    "Set PORT or KEDUN_PORT to use another port."
                ) from None
        banner = self._banner(host, port)
        if not settings.HUEY.get("immediate"):
            banner += (
                f"\n{options['workers']} web processes; background jobs run apart: "
                "start `kedun worker` beside them."
            )
        # The banner read the database: no connection may cross the fork into the workers.
        connections.close_all()
        WebProcesses(
            bind=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            workers=options["workers"],
            threads=options["threads"] or 4,
            max_requests=options["max_requests"],
            access_log=options["access_log"],
            ready=lambda: (self.stdout.write(banner), self.stdout.flush()),
        ).run()
        self.stdout.write("Kedun stopped.")
        self.stdout.flush()
