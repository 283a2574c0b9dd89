"""Receivables (finance and managers) and the sales reports with their charts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from kedun.core import clock
from kedun.org.models import Role

from ..charts import bar_chart
from ..receivables import AGEING_BUCKETS, receivable_of, receivables_open
from ..reports import (
    collection_by_rep,
    delivery_by_product,
    orders_in_execution,
    pipeline_by_stage,
    receivables_ageing,
    wins_and_losses,
)
from .common import page_of, viewer_with

MONEY_VIEWERS = (Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.AUDITOR)
REPORT_VIEWERS = (Role.ADMIN, Role.MANAGER, Role.AUDITOR)
DEFAULT_PERIOD_DAYS = 90


@login_required
def receivables_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, *MONEY_VIEWERS)
    today = timezone.localdate(clock.now())
    bucket = request.GET.get("bucket", "")
    if bucket not in AGEING_BUCKETS:
        bucket = ""
    page = page_of(request, receivables_open(viewer=viewer, bucket=bucket or None, today=today))
    ageing = receivables_ageing(viewer=viewer, today=today)
    context = {
        "page": page,
        "rows": [receivable_of(invoice, today=today) for invoice in page],
        "bucket": bucket,
        "ageing": ageing,
        "chart": bar_chart(
            title=_("Open receivables by age"),
            bars=[(row.label, row.open_amount) for row in ageing.buckets],
            unit="¥",
        ),
    }
    return render(request, "sales/receivables.html", context)


def _period(request: HttpRequest, today: dt.date) -> tuple[dt.date, dt.date]:
    until = parse_date(request.GET.get("until", "") or "") or today
    since = parse_date(request.GET.get("since", "") or "") or until - dt.timedelta(
        days=DEFAULT_PERIOD_DAYS
    )
    return min(since, until), until


def _percent(rate: Any) -> Any:
    return None if rate is None else rate * 100


@login_required
def sales_reports_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request, *REPORT_VIEWERS)
    today = timezone.localdate(clock.now())
    since, until = _period(request, today)
    pipeline = pipeline_by_stage(viewer=viewer, since=since, until=until)
    execution = orders_in_execution(viewer=viewer, today=today)
    delivery = delivery_by_product(viewer=viewer, since=since, until=until)
    ageing = receivables_ageing(viewer=viewer, today=today)
    collection = collection_by_rep(viewer=viewer, since=since, until=until)
    wins = wins_and_losses(viewer=viewer, since=since, until=until)
    charts = {
        "pipeline": bar_chart(
            title=_("Quotes by status (amount before tax)"),
            bars=[(row.label, row.amount) for row in pipeline.quotes if row.count],
            unit="¥",
        ),
        "orders": bar_chart(
            title=_("Orders by status (amount before tax)"),
            bars=[(row.label, row.amount) for row in pipeline.orders if row.count],
            unit="¥",
        ),
        "execution": bar_chart(
            title=_("Orders in execution"),
            bars=[
                (_("On time"), execution.count - execution.late),
                (_("Past the promised date"), execution.late),
            ],
        ),
        "delivery": bar_chart(
            title=_("Average days late by product (negative: early)"),
            bars=[
                (f"{row['sku']} {row['name']}", row["average_days_late"] or 0) for row in delivery
            ],
            unit=_("days"),
        ),
        "ageing": bar_chart(
            title=_("Open receivables by age"),
            bars=[(row.label, row.open_amount) for row in ageing.buckets],
            unit="¥",
        ),
        "collection": bar_chart(
            title=_("Collection rate by rep"),
            bars=[
                (row.full_name or row.username, _percent(row.rate) or 0)
                for row in collection.by_rep
            ],
            unit="%",
        ),
        "losses": bar_chart(
            title=_("Losses by reason"),
            bars=[(row.label, row.quotes + row.orders) for row in wins.reasons],
        ),
    }
    context = {
        "since": since,
        "until": until,
        "execution": execution,
        "late_orders": execution.orders.filter(promised_date__lt=today)[:20],
        "collection": collection,
        "collection_rate": _percent(collection.rate),
        "wins": wins,
        "win_rate": _percent(wins.quote_win_rate),
        "charts": charts,
    }
    return render(request, "sales/reports.html", context)
