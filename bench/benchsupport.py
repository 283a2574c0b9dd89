"""Shared set-up for the benchmarks: an empty registry, bulk-loaded reps and customers."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from kedun.customers.bulk import NewCustomer, customers_insert
from kedun.customers.identity.keys import identity_keys
from kedun.customers.models import (
    Contact,
    Customer,
    CustomerDomain,
    CustomerName,
    CustomerNameGram,
    CustomerNameGramStat,
    CustomerPhone,
    FollowUp,
    OwnershipEvent,
    TeamMember,
)
from kedun.org.models import Department, Role, User


def customers_reset() -> None:
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        for model in (
            CustomerNameGram,
            CustomerNameGramStat,
            CustomerName,
            CustomerPhone,
            CustomerDomain,
            Contact,
            FollowUp,
            TeamMember,
            OwnershipEvent,
        ):
            model.objects.all().delete()
        Customer.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def reps(usernames: set[str]) -> dict[str, User]:
    department, _ = Department.objects.get_or_create(
        name="Bench", parent=None, defaults={"created_at": timezone.now()}
    )
    if not department.path:
        department.path = f"/{department.pk}/"
        department.save(update_fields=["path"])
    existing = {u.username: u for u in User.objects.filter(username__in=usernames)}
    missing = [
        User(username=name, role=Role.SALES, department=department)
        for name in sorted(usernames - set(existing))
    ]
    User.objects.bulk_create(missing)
    return {u.username: u for u in User.objects.filter(username__in=usernames)}


def load_registry(rows: list[dict]) -> dict[int, str]:
    owners = reps({row["owner"] for row in rows if row.get("owner")} | {"bench"})
    created = customers_insert(
        NewCustomer(
            code=row["code"],
            name=row["name"],
            phone=row.get("phone", ""),
            email=row.get("email", ""),
            website=row.get("website", ""),
            keys=identity_keys(
                name=row["name"],
                phones=[row.get("phone", "")],
                emails=[row.get("email", "")],
                websites=[row.get("website", "")],
                tax_id=row.get("tax_id", ""),
            ),
            owner=owners.get(row.get("owner", "")),
            registered_by=owners["bench"],
        )
        for row in rows
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {customer.pk: customer.code for customer in created}
