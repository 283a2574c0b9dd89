from django.core.management.base import BaseCommand

from kedun.jobs.consumer import consumer_create


class Command(BaseCommand):
    help = "Run a background-job worker (one per machine in a multi-machine deployment)."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=None, help="worker threads")

    def handle(self, *args, **options):
        overrides = {"workers": options["threads"]} if options["threads"] else {}
        consumer = consumer_create(**overrides)
        self.stdout.write(f"Kedun job worker started ({consumer.workers} threads). Ctrl-C stops.")
        consumer.run()
