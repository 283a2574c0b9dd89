"""Database triggers that make the audit table append-only, on SQLite and PostgreSQL.

TRUNCATE (PostgreSQL only; SQLite has none) is refused too, unless the session has explicitly set
`kedun.audit_maintenance = 'on'`: the test suite's table flush needs that door, and an operator
who can set it could as well drop the trigger — the signed checkpoint is what catches either.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"

_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END""",
]
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
]

_POSTGRES_INSTALL = [
    """CREATE OR REPLACE FUNCTION kedun_audit_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'TRUNCATE'
            AND coalesce(current_setting('kedun.audit_maintenance', true), '') = 'on' THEN
           RETURN NULL;
         END IF;
         RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    f"""CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION kedun_audit_append_only()""",
    f"""CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION kedun_audit_append_only()""",
]
_POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_event_no_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS kedun_audit_append_only()",
]


# The marker of where keying began (migration 0004) is append-only too.
KEYING_TABLE = "audit_auditchainkeying"

_SQLITE_KEYING_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_keying_no_update BEFORE UPDATE ON {KEYING_TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit keying marker is append-only: UPDATE refused');
        END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_keying_no_delete BEFORE DELETE ON {KEYING_TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit keying marker is append-only: DELETE refused');
        END""",
]
_SQLITE_KEYING_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_keying_no_update",
    "DROP TRIGGER IF EXISTS audit_keying_no_delete",
]
# kedun_audit_append_only() is the events' function (installed first, by migration 0002).
_POSTGRES_KEYING_INSTALL = [
    f"""CREATE TRIGGER audit_keying_append_only BEFORE UPDATE OR DELETE ON {KEYING_TABLE}
        FOR EACH ROW EXECUTE FUNCTION kedun_audit_append_only()""",
    f"""CREATE TRIGGER audit_keying_no_truncate BEFORE TRUNCATE ON {KEYING_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION kedun_audit_append_only()""",
]
_POSTGRES_KEYING_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_keying_append_only ON {KEYING_TABLE}",
    f"DROP TRIGGER IF EXISTS audit_keying_no_truncate ON {KEYING_TABLE}",
]


def _statements(connection: BaseDatabaseWrapper, *, install: bool) -> list[str]:
    if connection.vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_REMOVE
    if connection.vendor == "postgresql":
        return _POSTGRES_INSTALL if install else _POSTGRES_REMOVE
    raise NotImplementedError(f"no audit triggers for {connection.vendor}")


def _keying_statements(connection: BaseDatabaseWrapper, *, install: bool) -> list[str]:
    if connection.vendor == "sqlite":
        return _SQLITE_KEYING_INSTALL if install else _SQLITE_KEYING_REMOVE
    if connection.vendor == "postgresql":
        return _POSTGRES_KEYING_INSTALL if install else _POSTGRES_KEYING_REMOVE
    raise NotImplementedError(f"no audit triggers for {connection.vendor}")


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(connection: BaseDatabaseWrapper) -> None:
    """The events' triggers (migration 0002: the keying table does not exist yet there)."""
    _run(connection, _statements(connection, install=True))


def remove(connection: BaseDatabaseWrapper) -> None:
    _run(connection, _statements(connection, install=False))


def keying_install(connection: BaseDatabaseWrapper) -> None:
    _run(connection, _keying_statements(connection, install=True))


def keying_remove(connection: BaseDatabaseWrapper) -> None:
    _run(connection, _keying_statements(connection, install=False))


@contextlib.contextmanager
def suspended(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Lift the protection of both tables inside the caller's transaction (tests of tampering;
    test teardown).

    Both engines run DDL transactionally, so a rollback restores the triggers as well.
    """
    keying_remove(connection)
    remove(connection)
    try:
        yield
    finally:
        install(connection)
        keying_install(connection)
