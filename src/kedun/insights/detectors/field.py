"""Visits that were not where the customer is: check-ins far from the customer's location,
again and again for the same customer."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import F
from django.utils import timezone

from kedun.field.models import CheckIn

from ..data import AnalysisData
from ..models import Family
from . import Found

RADIUS_M = 500  # the field rules' default; a finding needs repeated misses, not one
MIN_FAR = 2


def field_findings(data: AnalysisData) -> list[Found]:
    start = timezone.make_aware(dt.datetime.combine(data.first_week, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(data.as_of + dt.timedelta(days=1), dt.time()))
    far: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for pk, rep_id, customer_id, at, distance, accuracy in (
        CheckIn.objects.filter(
            captured_at__gte=start,
            captured_at__lt=end,
            rep_id__in=list(data.reps),
            distance_m__gt=F("accuracy_m") + RADIUS_M,
        )
        .order_by("captured_at")
        .values_list("pk", "rep_id", "customer_id", "captured_at", "distance_m", "accuracy_m")
    ):
        far[(rep_id, customer_id)].append(
            {
                "id": pk,
                "on": at.astimezone(timezone.get_default_timezone()).date().isoformat(),
                "distance_m": round(distance or 0),
                "accuracy_m": round(accuracy),
            }
        )
    found = []
    for (rep_id, customer_id), items in far.items():
        if len(items) < MIN_FAR:
            continue
        found.append(
            Found(
                kind="visits_elsewhere",
                family=Family.FIELD,
                rep_id=rep_id,
                customer_id=customer_id,
                start=dt.date.fromisoformat(items[0]["on"]),
                end=dt.date.fromisoformat(items[-1]["on"]),
                strength=round(min(0.7, 0.3 + 0.1 * len(items)), 3),
                facts={"check_ins": items[:30], "count": len(items), "radius_m": RADIUS_M},
            )
        )
    return found
