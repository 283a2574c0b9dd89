from django.core.management.base import BaseCommand, CommandError

from kedun.org.models import User
from kedun.org.services import user_deactivate


class Command(BaseCommand):
    help = "Deactivate a user: their sessions and API token stop working at once."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = User.objects.filter(username__iexact=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        user_deactivate(actor=None, user=user)
        self.stdout.write(f"deactivated {user.username}")
