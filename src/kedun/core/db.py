"""Database helpers shared by the apps' bulk writers."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


@contextlib.contextmanager
def bulk_write_mode() -> Iterator[None]:
    """SQLite: no automatic WAL checkpoint between the batches of one bulk write (an import,
    the pool sweep). At a million customers each batch dirties thousands of index pages, and
    checkpointing after every commit wrote the same pages again and again (import 1,086 →
    1,886 rows/s; the sweep's commits took a third of its time); one checkpoint at the end
    writes them once."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=1000")
            if not connection.in_atomic_block:  # a checkpoint cannot run inside a transaction
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def planner_statistics_refresh(*, tables: Sequence[str] | None = None) -> None:
    """Refresh the statistics the query planner chooses indexes by (ANALYZE). SQLite gathers
    none on its own: without them it met the report indexes added by a migration blind and
    read a million rows through the wrong one (bench/sales_reports.py: wins and losses
    199 → 766 ms). SQLite samples at most 1,000 rows per index, so this takes seconds at a
    million customers; PostgreSQL's autovacuum analyses too, this only makes it prompt.
    Run after every migration and daily (jobs.tasks); with `tables`, only those (a bulk writer
    refreshing what it writes)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
        if tables is None:
            cursor.execute("ANALYZE")
        elif not tables:
            return
        elif connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(quote(t) for t in tables)}")
        else:
            for table in tables:
                cursor.execute(f"ANALYZE {quote(table)}")


def ids_reserve(model: type[Model], count: int) -> list[int]:
    """Ids for `count` new rows of `model`, taken before the insert so that each row is written
    once with its final id (children can point at it in the same batch) instead of inserted
    and read back. Call inside the writing transaction."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the caller's IMMEDIATE transaction holds the write lock, so nobody else can
        # take these ids before the insert; sqlite_sequence covers ids freed by deletes.
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(highest, row[0] if row else 0) + 1
        return list(range(start, start + count))


def insert_values(
    table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *, suffix: str = ""
) -> None:
    """INSERT … VALUES (…), (…), … in chunks: one statement per few hundred rows instead of
    one per row (on PostgreSQL every row of an executemany is a statement of its own)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql" and not suffix:
        # COPY: PostgreSQL's bulk path; a long VALUES list costs more to parse client-side
        # than to run. Same connection, so the same transaction as the caller's.
        connection.ensure_connection()
        names = ", ".join(quote(c) for c in columns)
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    per_statement = max(1, min(500, 30000 // len(columns)))  # under every parameter limit
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    if connection.vendor == "sqlite":
        # The driver's own "?" on the raw connection (same transaction): Django's cursor
        # rewrites every "%s" of a statement with a regex, which for these long statements cost
        # more than the insert (3 s of a 60 s history import). Errors still come out as
        # Django's (IntegrityError …).
        connection.ensure_connection()
        one = f"({', '.join(['?'] * len(columns))})"
        raw = connection.connection
        with connection.wrap_database_errors:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                raw.execute(
                    head + ", ".join([one] * len(chunk)) + suffix,
                    [value for row in chunk for value in row],
                )
        return
    one = f"({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                head + ", ".join([one] * len(chunk)) + suffix,
                [value for row in chunk for value in row],
            )


def rows_update(
    model: type[Model], columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Set `columns` (attribute names) of many rows by id: each row is its values in the order
    of `columns`, then its id. Values go to the driver as they are (adapted by the caller).

    PostgreSQL: one UPDATE … FROM unnest(arrays) for all rows — an executemany is a statement
    per row, and at 100,000 rows a history import spent more on them than on its inserts.
    SQLite: an executemany (in-process, no round trips)."""
    if not rows:
        return
    fields = {f.attname: f for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    if connection.vendor == "postgresql":
        names = [*columns, "id"]
        types = [fields[name].db_type(connection) for name in names]
        arrays = ", ".join(f"%s::{_array_type(t)}" for t in types)
        assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {assignments} "
                f"FROM unnest({arrays}) AS v({', '.join(quote(n) for n in names)}) "
                f"WHERE {table}.id = v.id",
                [[row[i] for row in rows] for i in range(len(names))],
            )
        return
    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", list(rows))


def _array_type(db_type: str | None) -> str:
    # "numeric(14, 2)" → "numeric[]", "varchar(30)" → "varchar[]": the array of the base type
    # (the values were validated on the way in; the column checks its own length).
    base = (db_type or "text").split("(")[0].strip()
    return f"{base}[]"


class _TableWriter:
    """How to write plain rows of one model: its columns, their defaults and adapters."""

    def __init__(self, model: type[Model]):
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns: tuple[str, ...] = tuple(str(f.column) for f in self.fields)
        self.names = [f.attname for f in self.fields]
        # The values the backend needs converted, done here without Django's per-value field
        # machinery (it cost most of an import's time): SQLite takes datetimes as UTC text
        # and dates as text; JSON is text everywhere; the rest goes to the driver as it is.
        self.adapt = [_adapter(f) for f in self.fields]
        self._maker: Any = None
        pk = model._meta.pk
        self.pk_name = pk.attname if pk is not None else "id"
        self.auto_pk = pk is not None and pk.get_internal_type() in (
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
        )

    def tuples(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        make = self._row_maker()
        try:
            return [make(row) for row in rows]
        except KeyError as error:
            raise ValueError(f"{self.table}.{error.args[0]} needs a value") from None

    def _row_maker(self) -> Any:
        """A function row → tuple written out for this model's fields (generated once: the
        generic loop over fields and defaults cost more than the database's insert)."""
        if self._maker is not None:
            return self._maker
        scope: dict[str, Any] = {}
        parts = []
        for i, field in enumerate(self.fields):
            name = repr(field.attname)
            if field.primary_key and self.auto_pk:
                value = f"row.get({name})"
            elif field.has_default() and callable(field.default):
                scope[f"F{i}"] = field.default
                value = f"(row[{name}] if {name} in row else F{i}())"
            elif field.has_default():
                scope[f"D{i}"] = field.get_default()
                value = f"row.get({name}, D{i})"
            elif field.has_db_default():
                scope[f"D{i}"] = field.db_default
                value = f"row.get({name}, D{i})"
            elif field.null:
                value = f"row.get({name})"
            elif field.blank and field.empty_strings_allowed:
                value = f"row.get({name}, '')"  # what a form leaves in an optional text field
            else:
                value = f"row[{name}]"
            adapt = self.adapt[i]
            if adapt is not None:
                scope[f"A{i}"] = adapt
                value = f"(A{i}(v) if (v := {value}) is not None else None)"
            parts.append(value)
        source = "def make(row):\n    return (" + ", ".join(parts) + ",)\n"
        exec(compile(source, f"<rows_insert {self.table}>", "exec"), scope)
        self._maker = scope["make"]
        return self._maker


_MISSING = object()


def _adapter(field: Any) -> Any:
    kind = field.get_internal_type()
    if kind == "JSONField":
        return lambda value: json.dumps(value, ensure_ascii=False)
    if connection.vendor != "sqlite":
        return None
    if kind == "DateTimeField":
        return _sqlite_datetime
    if kind in ("DateField", "TimeField"):
        return str
    return None


def _sqlite_datetime(value: dt.datetime) -> str:
    # As Django's SQLite backend stores it: naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    if value.tzinfo is None:
        raise ValueError(f"a naive datetime cannot be stored: {value!r}")
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


_writers: dict[type[Model], _TableWriter] = {}


def tables_written() -> list[str]:
    """The tables rows_insert has written in this process (for a bulk writer's ANALYZE)."""
    return sorted(writer.table for writer in _writers.values())


def rows_insert(model: type[Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert plain rows (dicts by attribute name: `customer_id`, not `customer`) without
    building a model instance per row — the bulk writers' path, several times faster than
    bulk_create. Unspecified fields take their defaults; a row without "id" gets the
    database's. No signals, no save(): the caller validated and audits the batch."""
    if not rows:
        return
    writer = _writers.get(model) or _writers.setdefault(model, _TableWriter(model))
    if not writer.auto_pk:
        insert_values(writer.table, writer.columns, writer.tuples(rows))
        return
    with_id = [r for r in rows if r.get(writer.pk_name) is not None]
    without_id = [r for r in rows if r.get(writer.pk_name) is None]
    if with_id:
        insert_values(writer.table, writer.columns, writer.tuples(with_id))
    if without_id:
        keep = [i for i, f in enumerate(writer.fields) if not f.primary_key]
        columns = tuple(writer.columns[i] for i in keep)
        insert_values(
            writer.table,
            columns,
            [tuple(t[i] for i in keep) for t in writer.tuples(without_id)],
        )
