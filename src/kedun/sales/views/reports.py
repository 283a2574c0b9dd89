"""Receivables (finance and managers) and the sales reports with their charts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kedun.core import clock
from kedun.org.models import Role

from ..charts import bar_chart
from ..receivables import AGEING_BUCKETS, MONEY_VIEWERS, receivable_of, receivables_open
from ..reports import (
    collection_by_rep,
    delivery_by_customer,
    delivery_by_product,
    orders_in_execution,
    pipeline_by_stage,
    receivables_ageing,
    wins_and_losses,
    with_customer_names,
)
from .common import PER_PAGE, page_of, viewer_with

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


def _date_asked(request: HttpRequest, key: str) -> dt.date | None:
    """The date in ?key=, None when absent. One that is no date (2026-02-30, "soon") is said on
    the page, and the default stands in for it — a hand-edited link is not a server error."""
    text = request.GET.get(key, "")
    try:
        day = parse_date(text) if text else None
    except ValueError:
        day = None
    if text and day is None:
        messages.warning(
            request,
            _("“%(text)s” is not a date (YYYY-MM-DD); the default period is shown.")
            % {"text": text[:40]},
        )
    return day


def _period(request: HttpRequest, today: dt.date) -> tuple[dt.date, dt.date]:
    until = _date_asked(request, "until") or today
    since = _date_asked(request, "since") or until - dt.timedelta(days=DEFAULT_PERIOD_DAYS)
    return min(since, until), until


def _period_asked(request: HttpRequest) -> dict[str, str]:
    """The period as the request gave it, for links that keep it."""
    return {key: request.GET[key] for key in ("since", "until") if request.GET.get(key)}


def _percent(rate: Any) -> Any:
    return None if rate is None else rate * 100


# One page per report (MISSION §5; bench/sales_reports.py times each page, within 500 ms at
# 100,000 customers and 500,000 orders). The tabs, in order: name, title, URL name.
REPORT_PAGES = (
    ("pipeline", _lazy("Pipeline"), "sales-report-pipeline"),
    ("execution", _lazy("Orders in execution"), "sales-report-execution"),
    ("delivery", _lazy("Delivery lead time"), "sales-report-delivery"),
    ("collection", _lazy("Collection rate"), "sales-report-collection"),
    ("wins", _lazy("Wins and losses"), "sales-report-wins"),
)


# Reports that can also cover all time (?period=all): read through indexes in group order, a
# whole history takes as long as a year. The others always cover a period.
ALL_TIME_REPORTS = frozenset({"pipeline", "wins"})


def _all_time(request: HttpRequest, name: str) -> bool:
    return name in ALL_TIME_REPORTS and request.GET.get("period") == "all"


def _report(
    request: HttpRequest, name: str, context: dict[str, Any], *, period: bool = True
) -> HttpResponse:
    query = _period_asked(request)
    if _all_time(request, name):
        query = {"period": "all"}
    return render(
        request,
        f"sales/reports/{name}.html",
        {
            **context,
            "report": name,
            "tabs": REPORT_PAGES,
            "has_period": period,
            "period_query": urlencode(query),
            "all_time_allowed": name in ALL_TIME_REPORTS,
            "all_time": _all_time(request, name),
        },
    )


def _start(request: HttpRequest) -> tuple[Any, dt.date, dt.date, dt.date]:
    viewer = viewer_with(request, *REPORT_VIEWERS)
    today = timezone.localdate(clock.now())
    since, until = _period(request, today)
    return viewer, today, since, until


def _start_or_all_time(
    request: HttpRequest, name: str
) -> tuple[Any, dt.date | None, dt.date | None]:
    """The viewer and the period, or no bounds at all for ?period=all."""
    viewer, _today, since, until = _start(request)
    if _all_time(request, name):
        return viewer, None, None
    return viewer, since, until


@login_required
def sales_reports_view(request: HttpRequest) -> HttpResponse:
    viewer_with(request, *REPORT_VIEWERS)
    query = request.GET.urlencode()
    return redirect(reverse("sales-report-pipeline") + (f"?{query}" if query else ""))


@login_required
def report_pipeline(request: HttpRequest) -> HttpResponse:
    viewer, since, until = _start_or_all_time(request, "pipeline")
    pipeline = pipeline_by_stage(viewer=viewer, since=since, until=until)
    charts = {
        "quotes": bar_chart(
            title=_("Quotes by status (amount before tax)"),
            bars=[(row.label, row.amount) for row in pipeline.quotes if row.count],
            unit="¥",
        ),
        "orders": bar_chart(
            title=_("Orders by status (amount before tax)"),
            bars=[(row.label, row.amount) for row in pipeline.orders if row.count],
            unit="¥",
        ),
    }
    context = {"since": since, "until": until, "pipeline": pipeline, "charts": charts}
    return _report(request, "pipeline", context)


@login_required
def report_execution(request: HttpRequest) -> HttpResponse:
    viewer, today, _since, _until = _start(request)
    execution = orders_in_execution(viewer=viewer, today=today)
    late = execution.orders.filter(promised_date__lt=today).select_related("customer", "owner")
    chart = bar_chart(
        title=_("Orders in execution"),
        bars=[
            (_("On time"), execution.count - execution.late),
            (_("Past the promised date"), execution.late),
        ],
    )
    page = _page_without_count(request, late)
    context = {"execution": execution, "page": page, "chart": chart}
    return _report(request, "execution", context, period=False)


@login_required
def report_delivery(request: HttpRequest) -> HttpResponse:
    """By product or, with ?by=customer, by customer: two pages, each within the budget
    (company-wide each grouping reads a few hundred thousand delivered orders)."""
    viewer, _today, since, until = _start(request)
    by = "customer" if request.GET.get("by") == "customer" else "product"
    context: dict[str, Any] = {"since": since, "until": until, "by": by}
    if by == "product":
        rows = delivery_by_product(viewer=viewer, since=since, until=until)
        context["by_product"] = rows
        context["chart"] = bar_chart(
            title=_("Average days late by product (negative: early)"),
            bars=[(f"{row['sku']} {row['name']}", row["average_days_late"] or 0) for row in rows],
            unit=_("days"),
        )
    else:
        page = _page_without_count(
            request, delivery_by_customer(viewer=viewer, since=since, until=until)
        )
        page.rows = with_customer_names(page.rows)
        context["page"] = page
        # The pager's links keep the period and this page's grouping.
        context["by_query"] = urlencode({**_period_asked(request), "by": by})
        context["chart"] = bar_chart(
            title=_("Average days late by customer, worst first (negative: early)"),
            bars=[(row["name"], row["average_days_late"] or 0) for row in page.rows[:10]],
            unit=_("days"),
        )
    return _report(request, "delivery", context)


@login_required
def report_collection(request: HttpRequest) -> HttpResponse:
    viewer, _today, since, until = _start(request)
    collection = collection_by_rep(viewer=viewer, since=since, until=until)
    chart = bar_chart(
        title=_("Collection rate by rep"),
        bars=[
            (row.full_name or row.username, _percent(row.rate) or 0) for row in collection.by_rep
        ],
        unit="%",
    )
    context = {
        "since": since,
        "until": until,
        "collection": collection,
        "collection_rate": _percent(collection.rate),
        "rows": [(row, _percent(row.rate)) for row in collection.by_rep],
        "chart": chart,
    }
    return _report(request, "collection", context)


@login_required
def report_wins(request: HttpRequest) -> HttpResponse:
    viewer, since, until = _start_or_all_time(request, "wins")
    wins = wins_and_losses(viewer=viewer, since=since, until=until)
    chart = bar_chart(
        title=_("Losses by reason"),
        bars=[(row.label, row.quotes + row.orders) for row in wins.reasons],
    )
    context = {
        "since": since,
        "until": until,
        "wins": wins,
        "win_rate": _percent(wins.quote_win_rate),
        "chart": chart,
    }
    return _report(request, "wins", context)


@dataclass
class RowsPage:
    """A page of a long grouped report without the COUNT a Paginator makes — counting the
    groups costs another full aggregate; one row more than the page says if a next exists."""

    rows: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _page_without_count(request: HttpRequest, rows: Any) -> RowsPage:
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    start = (number - 1) * PER_PAGE
    found = list(rows[start : start + PER_PAGE + 1])
    return RowsPage(rows=found[:PER_PAGE], number=number, has_next=len(found) > PER_PAGE)
