from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from kedun.core import clock
from kedun.org.models import User

from .models import Notification


def notify(
    *, recipients: Iterable[User | None], kind: str, title: str, body: str = "", url: str = ""
) -> list[Notification]:
    """Write notifications in the caller's transaction (the caller's audit event covers them).
    Each active recipient once; nobody is told about their own action by the caller."""
    now = clock.now()
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                recipient=user,
                kind=kind,
                title=title[:200],
                body=body,
                url=url[:300],
                created_at=now,
            )
        )
    return Notification.objects.bulk_create(rows)


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    with transaction.atomic():
        unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
        if ids is not None:
            unread = unread.filter(pk__in=ids)
        return unread.update(read_at=clock.now())
