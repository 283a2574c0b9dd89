"""Writing a customer's identity keys to the index tables the duplicate check reads."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from typing import Any

from django.db import connection
from django.db.models import Model

from kedun.core.db import insert_values

from .identity.keys import IdentityKeys
from .identity.names import bigrams
from .models import (
    Contact,
    Customer,
    CustomerDomain,
    CustomerName,
    CustomerNameGram,
    CustomerNameGramStat,
    CustomerPhone,
    NameKind,
)

# The columns written for each index table, in the order identity_rows gives them.
COLUMNS: dict[type[Model], tuple[str, ...]] = {
    CustomerName: ("customer_id", "kind", "core", "region", "trade_name", "pinyin", "fuzzy"),
    CustomerNameGram: ("customer_id", "gram"),
    CustomerPhone: ("customer_id", "number"),
    CustomerDomain: ("customer_id", "domain"),
}


def identity_rows(customer_id: int, keys: IdentityKeys) -> dict[type[Model], list[tuple]]:
    """The index rows of one customer, as plain tuples (a model instance per row would cost
    more than the insert itself when importing)."""
    kinds = keys.name_kinds or (NameKind.NAME,) * len(keys.names)
    grams: set[str] = set()
    for name in keys.names:
        grams |= bigrams(name.core)
    return {
        CustomerName: [
            (
                customer_id,
                kind,
                name.core[:200],
                name.region.key()[:100],
                name.trade_name[:100],
                name.pinyin[:600],
                name.fuzzy[:600],
            )
            for name, kind in zip(keys.names, kinds, strict=False)
        ],
        CustomerNameGram: [(customer_id, gram) for gram in sorted(grams)],
        CustomerPhone: [(customer_id, number) for number in keys.phones],
        CustomerDomain: [(customer_id, domain[:200]) for domain in keys.domains],
    }


def insert_many(model: type[Model], rows: list[tuple[Any, ...]]) -> None:
    insert_values(model._meta.db_table, COLUMNS[model], rows)


def identity_index_write(customer: Customer, keys: IdentityKeys) -> None:
    """Replace the customer's index rows (call inside the writing transaction)."""
    old_grams = list(
        CustomerNameGram.objects.filter(customer_id=customer.pk).values_list("gram", flat=True)
    )
    rows_by_model = identity_rows(customer.pk, keys)
    for model, rows in rows_by_model.items():
        model._default_manager.filter(customer_id=customer.pk).delete()
        insert_many(model, rows)
    gram_counts_add(Counter(gram for _id, gram in rows_by_model[CustomerNameGram]))
    gram_counts_add(Counter({gram: -1 for gram in old_grams}))


# A bigram seen this often is common for good; its count stops being maintained, which spares
# the database an update of the same hot rows in every import batch (dead tuples on
# PostgreSQL slowed the duplicate check itself).
GRAM_COUNT_CEILING = 5000


def gram_counts_add(counts: Counter[str]) -> None:
    """Keep CustomerNameGramStat in step with the bigram rows: an upsert per added bigram (the
    same SQL on SQLite and PostgreSQL), a floored decrement per removed one."""
    table = connection.ops.quote_name(CustomerNameGramStat._meta.db_table)
    added = [(gram, count) for gram, count in counts.items() if count > 0]
    removed = [(-count, gram) for gram, count in counts.items() if count < 0]
    with connection.cursor() as cursor:
        if added:
            insert_values(
                CustomerNameGramStat._meta.db_table,
                ("gram", "count"),
                added,
                suffix=f" ON CONFLICT (gram) DO UPDATE SET count = {table}.count + "
                f"excluded.count WHERE {table}.count < {GRAM_COUNT_CEILING}",
            )
        if removed:
            cursor.executemany(
                f"UPDATE {table} SET count = CASE WHEN count > %s THEN count - %s ELSE 0 END "
                "WHERE gram = %s",
                [(n, n, gram) for n, gram in removed],
            )


def registry_vacuum_now() -> None:
    """PostgreSQL: VACUUM (ANALYZE) the customer table and the tables the duplicate check
    reads, after a bulk load. Outside any transaction (VACUUM cannot run inside one)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return  # SQLite needs none; inside a transaction (a test's) VACUUM cannot run
    with connection.cursor() as cursor:
        for model in (Customer, CustomerName, CustomerNameGram, CustomerPhone, CustomerDomain):
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")


def customer_identity_refresh(customer: Customer) -> None:
    """Rewrite the index rows of a stored customer from its current names, phones, emails,
    website and credit code — after its contact data changed, the duplicate check must find
    it by the new number and no longer by the old one."""
    from .identity.keys import identity_keys

    contacts = list(customer.contacts.values_list("phone", "email"))
    keys = identity_keys(
        name=customer.name,
        short_name=customer.short_name,
        english_name=customer.english_name,
        phones=[customer.phone, *(phone for phone, _email in contacts)],
        emails=[customer.email, *(email for _phone, email in contacts)],
        websites=[customer.website],
        tax_id=customer.tax_id,
    )
    identity_index_write(customer, keys)


def customers_contact_keys_refresh(customer_ids: Collection[int]) -> None:
    """Rewrite the phone and domain index rows of these stored customers from their current
    phones, emails and websites (their own and their contacts') — after a change of contact
    data only: names and their bigrams stay as they are. One statement per table for all of
    them (a batch of a history import changes hundreds; one full refresh per customer, a
    dozen statements each, was 7 % of an import). Call inside the writing transaction."""
    from .identity.keys import identity_keys

    ids = list(customer_ids)
    if not ids:
        return
    contacts: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for customer_id, phone, email in Contact.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "phone", "email"
    ):
        contacts[customer_id].append((phone, email))
    rows: dict[type[Model], list[tuple]] = {CustomerPhone: [], CustomerDomain: []}
    for pk, phone, email, website in Customer.objects.filter(pk__in=ids).values_list(
        "pk", "phone", "email", "website"
    ):
        keys = identity_keys(
            phones=[phone, *(p for p, _e in contacts[pk])],
            emails=[email, *(e for _p, e in contacts[pk])],
            websites=[website],
        )
        written = identity_rows(pk, keys)
        for model in rows:
            rows[model] += written[model]
    for model, model_rows in rows.items():
        model._default_manager.filter(customer_id__in=ids).delete()
        insert_many(model, model_rows)
