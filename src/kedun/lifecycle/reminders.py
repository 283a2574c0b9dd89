"""Due follow-ups as reminders: each morning, one notification per person with follow-ups
due today or overdue (once a day, however often the job runs)."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.core import clock
from kedun.customers.models import Customer
from kedun.notifications.models import Notification
from kedun.notifications.services import notify
from kedun.org.models import User

KIND = "follow_ups_due"


def follow_up_reminders_send() -> int:
    now = clock.now()
    today = timezone.localdate(now)
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    due_by_owner: dict[int, list[str]] = {}
    for owner_id, name in (
        Customer.objects.filter(
            owner__isnull=False, merged_into__isnull=True, next_follow_up_on__lte=today
        )
        .order_by("next_follow_up_on", "name")
        .values_list("owner_id", "name")
    ):
        due_by_owner.setdefault(owner_id, []).append(name)
    already = set(
        Notification.objects.filter(kind=KIND, created_at__gte=start_of_day).values_list(
            "recipient_id", flat=True
        )
    )
    sent = 0
    with transaction.atomic():
        for user in User.objects.filter(pk__in=set(due_by_owner) - already, is_active=True):
            names = due_by_owner[user.pk]
            notify(
                recipients=[user],
                kind=KIND,
                title=_("%(count)d follow-ups due today") % {"count": len(names)},
                body="、".join(names[:10]) + ("…" if len(names) > 10 else ""),
                url=reverse("follow-ups-today"),
            )
            sent += 1
    return sent
