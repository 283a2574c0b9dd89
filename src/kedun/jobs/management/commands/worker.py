from django.core.management.base import BaseCommand

from kedun.jobs.consumer import consumer_create


class Command(BaseCommand):
    help = "Run a background-job worker (one per machine in a multi-machine deployment)."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=None, help="worker threads")
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="do not schedule periodic jobs (run them on exactly one worker)",
        )

    def handle(self, *args, **options):
        overrides: dict[str, object] = {"periodic": not options["no_periodic"]}
        if options["threads"]:
            overrides["workers"] = options["threads"]
        consumer = consumer_create(**overrides)
        self.stdout.write(f"Kedun job worker started ({consumer.workers} threads). Ctrl-C stops.")
        consumer.run()
