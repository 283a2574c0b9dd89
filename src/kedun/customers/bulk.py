"""Loading many customers at once (import, benchmarks): set-based inserts, one identity
computation per row, no per-row round trips."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Model

from kedun.core import clock
from kedun.org.models import User

from .identity.keys import IdentityKeys
from .identity_index import COLUMNS, identity_rows, insert_many
from .models import Customer


@dataclass(frozen=True)
class NewCustomer:
    code: str
    name: str
    keys: IdentityKeys
    owner: User | None
    registered_by: User
    phone: str = ""
    email: str = ""
    website: str = ""
    registered_at: dt.datetime | None = None
    last_follow_up_at: dt.datetime | None = None


def customers_insert(rows: Iterable[NewCustomer], *, batch_size: int = 2000) -> list[Customer]:
    """Insert customers with their identity index rows, batch by batch.

    The caller has already screened the rows (this writes, it does not judge) and audits the
    batch as a whole.
    """
    created: list[Customer] = []
    batch: list[NewCustomer] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            created += _insert_batch(batch)
            batch = []
    if batch:
        created += _insert_batch(batch)
    return created


def _insert_batch(batch: list[NewCustomer]) -> list[Customer]:
    now = clock.now()
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    code=row.code,
                    name=row.name,
                    tax_id=row.keys.tax_id,
                    phone=row.phone,
                    email=row.email,
                    website=row.website,
                    owner=row.owner,
                    registered_by=row.registered_by,
                    registered_at=row.registered_at or now,
                    last_follow_up_at=row.last_follow_up_at,
                )
                for row in batch
            ]
        )
        if any(c.pk is None for c in customers):  # backends without RETURNING ids
            by_code = dict(
                Customer.objects.filter(code__in=[c.code for c in customers]).values_list(
                    "code", "pk"
                )
            )
            for customer in customers:
                customer.pk = by_code[customer.code]
        rows: dict[type[Model], list[tuple[Any, ...]]] = {model: [] for model in COLUMNS}
        for customer, row in zip(customers, batch, strict=True):
            for model, model_rows in identity_rows(customer.pk, row.keys).items():
                rows[model] += model_rows
        for model, model_rows in rows.items():
            insert_many(model, model_rows)
    return customers
