from django.core.management.base import BaseCommand

from kedun.demo.company import demo_load, demo_logins_text


class Command(BaseCommand):
    help = "Load the demo company (running it again changes nothing)."

    def handle(self, *args, **options):
        created = demo_load()
        if any(created.values()):
            self.stdout.write(
                "Demo company loaded: "
                + ", ".join(f"{count} {what}" for what, count in created.items())
            )
        else:
            self.stdout.write("Demo company already loaded; nothing changed.")
        self.stdout.write(demo_logins_text())
