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
from kedun.org.models import User

from .identity.keys import IdentityKeys
from .identity_index import (
    COLUMNS,
    gram_counts_add,
    identity_rows,
    insert_many,
    insert_values,
)
from .models import Customer, CustomerNameGram, Stage


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
    "address",
)


_EMPTY_DETAILS = ("",) * 6


def _insert_batch(batch: list[NewCustomer]) -> list[Inserted]:
    now = clock.now()
    ops = connection.ops
    values = [
        (
            row.code,
            row.name,
            "",
            "",
            Stage.LEAD,
            row.owner.pk if row.owner else None,
            row.registered_by.pk,
            ops.adapt_datetimefield_value(row.registered_at or now),
            ops.adapt_datetimefield_value(row.last_follow_up_at),
            row.grade,
            row.needs_review,
            row.keys.tax_id,
            row.phone,
            row.email,
            row.website,
            *_EMPTY_DETAILS,
        )
        for row in batch
    ]
    with transaction.atomic():
        insert_values(Customer._meta.db_table, _CUSTOMER_COLUMNS, values)
        # The codes are unique (a provisional one where the file had none): they give back
        # the ids, in one indexed query per chunk.
        ids: dict[str, int] = {}
        codes = [row.code for row in batch]
        for start in range(0, len(codes), 500):
            ids.update(
                Customer.objects.filter(code__in=codes[start : start + 500]).values_list(
                    "code", "pk"
                )
            )
        inserted = [Inserted(ids[row.code], row.code, row.needs_review) for row in batch]
        rows: dict[type[Model], list[tuple[Any, ...]]] = {model: [] for model in COLUMNS}
        for customer, row in zip(inserted, batch, strict=True):
            for model, model_rows in identity_rows(customer.pk, row.keys).items():
                rows[model] += model_rows
        for model, model_rows in rows.items():
            insert_many(model, model_rows)
        gram_counts_add(Counter(gram for _id, gram in rows[CustomerNameGram]))
    return inserted
