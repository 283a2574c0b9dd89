"""Quote numbers: one sequence per day, safe under concurrent writers."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.core.errors import Conflict

from ..models import Quote

# -- numbers --------------------------------------------------------------------------------


def _next_number(day: dt.date) -> str:
    """Q + the local date + the day's sequence: Q202603020001."""
    prefix = f"Q{day:%Y%m%d}"
    last = (
        Quote.objects.filter(number__startswith=prefix)
        .order_by(Length("number").desc(), "-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{sequence:04d}"


_NUMBERING_LOCK_KEY = 0x4B4544554E5F5154  # "KEDUN_QT"


def _insert_numbered(quote: Quote) -> None:
    """Insert with the next free number. New quotes are numbered one at a time (SQLite: the
    IMMEDIATE transaction already holds the write lock; PostgreSQL: an advisory lock, after
    which READ COMMITTED sees the number the previous holder committed). Should two writers
    still read the same number, the (number, version) constraint stops the second, which
    takes the following one."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_NUMBERING_LOCK_KEY])
    for _attempt in range(5):
        quote.number = _next_number(timezone.localdate(quote.created_at))
        try:
            with transaction.atomic():
                quote.save(force_insert=True)
            return
        except IntegrityError:
            quote.pk = None
            continue
    raise Conflict(_("Could not number the quote; try again."), code="number")
