import os
import threading

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


class Command(BaseCommand):
    help = "Run the web server and, in the same process, a background-job worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("KEDUN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--threads", type=int, default=8, help="web server threads")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="serve pages only (workers run elsewhere: `kedun worker`)",
        )

    def handle(self, *args, **options):
        from waitress.server import create_server

        from kedun.demo.company import demo_logins_text

        host = options["host"]
        port = options["port"] or _default_port()
        try:
            server = create_server(
                get_wsgi_application(),
                host=host,
                port=port,
                threads=options["threads"],
                ident="kedun",
            )
        except OSError as error:
            raise CommandError(
                f"cannot listen on {host}:{port}: {error.strerror}. "
                "Set PORT or KEDUN_PORT to use another port."
            ) from None
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.stdout.write(f"Kedun is running at http://{shown_host}:{port}/")
        logins = demo_logins_text()
        if logins:
            self.stdout.write(logins)
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
