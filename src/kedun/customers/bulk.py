"""Loading many customers at once (import, benchmarks): set-based inserts, one identity
computation per row, no per-row round trips."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from kedun.core import clock
from kedun.core.db import ids_reserve
from kedun.org.models import User

from .identity.keys import IdentityKeys
from .identity_index import (
    COLUMNS,
    gram_counts_add,
    identity_rows,
    insert_many,
    insert_values,
)
from .models import (
    Customer,
    CustomerNameGram,
    LocationSource,
    OwnershipEvent,
    OwnershipKind,
    Stage,
    customer_number,
)


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
    grade: str = ""
    needs_review: bool = False
    # WGS-84 (the caller converts GCJ-02 / BD-09 input with core.geo.to_wgs84).
    lat: float | None = None
    lng: float | None = None
    address: str = ""


def customers_insert(rows: Iterable[NewCustomer], *, batch_size: int = 2000) -> list[Inserted]:
    """Insert customers with their identity index rows, batch by batch.

    The caller has already screened the rows (this writes, it does not judge) and audits the
    batch as a whole.
    """
    created: list[Inserted] = []
    batch: list[NewCustomer] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            created += _insert_batch(batch)
            batch = []
    if batch:
        created += _insert_batch(batch)
    return created


@dataclass(frozen=True)
class Inserted:
    pk: int
    code: str
    needs_review: bool


# Written as plain rows: building a model instance per row costs more than the insert.
_CUSTOMER_COLUMNS = (
    "code",
    "name",
    "short_name",
    "english_name",
    "stage",
    "owner_id",
    "registered_by_id",
    "registered_at",
    "owned_since",
    "last_follow_up_at",
    "grade",
    "needs_review",
    "tax_id",
    "phone",
    "email",
    "website",
    # Not in import files; written empty (the columns have no database default).
    "industry",
    "source",
    "province",
    "city",
    "district",
    "on_hold",
    "address",
    "lat",
    "lng",
    "location_source",
    "located_at",
)


def _location(row: NewCustomer, now: dt.datetime) -> tuple[Any, ...]:
    if row.lat is None or row.lng is None:
        return (None, None, "", None)
    return (
        row.lat,
        row.lng,
        LocationSource.IMPORTED.value,
        connection.ops.adapt_datetimefield_value(now),
    )


def _insert_batch(batch: list[NewCustomer]) -> list[Inserted]:
    now = clock.now()
    ops = connection.ops
    with transaction.atomic():
        ids = ids_reserve(Customer, len(batch))
        inserted = [
            Inserted(pk, row.code or customer_number(pk), row.needs_review)
            for pk, row in zip(ids, batch, strict=True)
        ]
        values = [
            (
                customer.pk,
                customer.code,
                row.name,
                "",
                "",
                Stage.LEAD,
                row.owner.pk if row.owner else None,
                row.registered_by.pk,
                ops.adapt_datetimefield_value(row.registered_at or now),
                # The pool clock starts at the (imported) registration, for an owned row.
                ops.adapt_datetimefield_value((row.registered_at or now) if row.owner else None),
                ops.adapt_datetimefield_value(row.last_follow_up_at),
                row.grade,
                row.needs_review,
                row.keys.tax_id,
                row.phone,
                row.email,
                row.website,
                "",
                "",
                "",
                "",
                "",
                False,  # not on hold
                row.address[:300],
                *_location(row, now),
            )
            for customer, row in zip(inserted, batch, strict=True)
        ]
        insert_values(Customer._meta.db_table, ("id", *_CUSTOMER_COLUMNS), values)
        rows: dict[type[Model], list[tuple[Any, ...]]] = {model: [] for model in COLUMNS}
        for customer, row in zip(inserted, batch, strict=True):
            for model, model_rows in identity_rows(customer.pk, row.keys).items():
                rows[model] += model_rows
        for model, model_rows in rows.items():
            insert_many(model, model_rows)
        gram_counts_add(Counter(gram for _id, gram in rows[CustomerNameGram]))
        at = ops.adapt_datetimefield_value(now)
        insert_values(
            OwnershipEvent._meta.db_table,
            ("customer_id", "kind", "from_owner_id", "to_owner_id", "actor_id", "reason", "at"),
            [
                (
                    customer.pk,
                    OwnershipKind.IMPORTED.value,
                    None,
                    row.owner.pk,
                    row.registered_by.pk,
                    "",
                    at,
                )
                for customer, row in zip(inserted, batch, strict=True)
                if row.owner is not None
            ],
        )
    return inserted
