from django.core.management.base import BaseCommand, CommandError

from kedun.core.errors import DomainError
from kedun.org.models import User
from kedun.org.services import token_for_user


class Command(BaseCommand):
    help = "Print a user's API token (issued on first use) as the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = User.objects.filter(username__iexact=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        try:
            token = token_for_user(actor=None, user=user)
        except DomainError as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(token.key)
