from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from kedun.core.errors import DomainError
from kedun.org.models import Department, Role, User
from kedun.org.services import department_create, department_root, user_create


class Command(BaseCommand):
    help = (
        "Create a user: kedun createuser USERNAME --role ROLE [--department NAME] "
        "[--manager USERNAME] [--password PW]"
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--department",
            default="",
            help="department name; created under the company when missing",
        )
        parser.add_argument("--manager", default="", help="the user's manager (a username)")
        parser.add_argument(
            "--password",
            default="",
            help="without it the user cannot log in until a password is set",
        )
        parser.add_argument("--full-name", default="")

    def handle(self, *args, **options):
        manager = None
        if options["manager"]:
            manager = User.objects.filter(username__iexact=options["manager"]).first()
            if manager is None:
                raise CommandError(f"no user named {options['manager']!r} (--manager)")
        try:
            with transaction.atomic():
                department = _department(options["department"])
                user = user_create(
                    actor=None,
                    username=options["username"],
                    role=options["role"],
                    department=department,
                    manager=manager,
                    password=options["password"] or None,
                    full_name=options["full_name"],
                )
        except DomainError as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(
            f"created {user.username} ({user.role}) in {department.name}"
            + (f", reporting to {manager.username}" if manager else "")
        )


def _department(name: str) -> Department:
    name = name.strip()
    if not name:
        return department_root()
    matches = list(Department.objects.filter(name=name)[:2])
    if len(matches) > 1:
        raise CommandError(f"more than one department is named {name!r}")
    if matches:
        return matches[0]
    root = department_root()
    if root.name == name:
        return root
    return department_create(actor=None, name=name, parent=root)
