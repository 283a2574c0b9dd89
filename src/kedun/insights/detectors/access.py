"""Taking the customer list: a rep opening many customers outside their own book, or exporting
far more than before — against the rep's own past and their colleagues, and most of all just
before they leave."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from django.utils import timezone

from kedun.audit.models import AccessEvent, AccessKind
from kedun.customers.models import TeamMember

from ..data import AnalysisData
from ..models import Family
from . import Found

WINDOW_DAYS = 30
BASELINE_DAYS = 180
LEAVING_WITHIN_DAYS = 60


def access_findings(data: AnalysisData) -> list[Found]:
    first_day = data.first_week
    days = (data.as_of - first_day).days + 1
    start = timezone.make_aware(dt.datetime.combine(first_day, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(data.as_of + dt.timedelta(days=1), dt.time()))
    book: dict[int, set[int]] = defaultdict(set)
    for rep_id, customer_id in data.by_pair:
        book[rep_id].add(customer_id)
    for customer in data.customers.values():
        if customer.owner_id:
            book[customer.owner_id].add(customer.id)
    for user_id, customer_id in TeamMember.objects.values_list("user_id", "customer_id"):
        book[user_id].add(customer_id)
    views: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    exported: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    outside_customers: dict[int, set[int]] = defaultdict(set)
    origin = days  # the first day any access was recorded
    for user_id, kind, customer_id, rows, at in AccessEvent.objects.filter(
        at__gte=start,
        at__lt=end,
        kind__in=(AccessKind.VIEW, AccessKind.EXPORT),
        user_id__in=list(data.reps),
    ).values_list("user_id", "kind", "customer_id", "rows", "at"):
        day = (at.astimezone(timezone.get_default_timezone()).date() - first_day).days
        origin = min(origin, day)
        if kind == AccessKind.VIEW:
            if customer_id is not None and customer_id not in book[user_id]:
                views[user_id][day] += 1
                outside_customers[user_id].add(customer_id)
        else:
            exported[user_id][day] += rows
    view_peaks = {rep: _peak(series, origin) for rep, series in views.items()}
    export_peaks = {rep: _peak(series, origin) for rep, series in exported.items()}
    found = []
    for rep_id, rep in data.reps.items():
        facts: dict = {}
        strength = 0.0
        window: tuple[int, int] | None = None
        if rep_id in view_peaks:
            total, peak_day = view_peaks[rep_id]
            baseline = _baseline(views[rep_id], peak_day, origin)
            peers = _peers(view_peaks, rep_id)
            if total >= max(30, 4 * baseline + 10, 2 * peers + 10):
                strength += 0.5
                window = (peak_day - WINDOW_DAYS + 1, peak_day)
                facts.update(
                    views=total,
                    views_baseline=round(baseline, 1),
                    views_peers=round(peers, 1),
                    outside_customers=len(outside_customers[rep_id]),
                )
        if rep_id in export_peaks:
            total, peak_day = export_peaks[rep_id]
            baseline = _baseline(exported[rep_id], peak_day, origin)
            peers = _peers(export_peaks, rep_id)
            if total >= max(300, 4 * baseline + 100, 2 * peers + 100):
                strength += 0.4
                span = (peak_day - WINDOW_DAYS + 1, peak_day)
                window = (
                    span if window is None else (min(window[0], span[0]), max(window[1], span[1]))
                )
                facts.update(
                    exported_rows=total,
                    exports_baseline=round(baseline, 1),
                    exports_peers=round(peers, 1),
                )
        if window is None:
            continue
        begin = first_day + dt.timedelta(days=max(0, window[0]))
        finish = first_day + dt.timedelta(days=window[1])
        leaving = rep.deactivated_on
        if leaving and begin <= leaving <= finish + dt.timedelta(days=LEAVING_WITHIN_DAYS):
            strength += 0.2
            facts["deactivated_on"] = leaving.isoformat()
        facts.update(window_from=begin.isoformat(), window_to=finish.isoformat())
        found += _key_accounts(data, rep_id, begin, finish, leaving)
        found.append(
            Found(
                kind="data_harvest",
                family=Family.ACCESS,
                rep_id=rep_id,
                customer_id=None,
                start=begin,
                end=finish,
                strength=round(min(1.0, strength), 3),
                facts=facts,
            )
        )
    return found


def _peak(series: list[int], origin: int = 0) -> tuple[int, int]:
    """The WINDOW_DAYS that stand out most against the rep's own past: (total, index of its
    last day). A window is weighed by how far it goes beyond the rep's usual amount over the
    half-year before it (as the thresholds below weigh it); the first weeks of the records
    (from `origin`, the first day any access was recorded), with no past to compare, compete
    only when no window has one — there any busy month would look like a jump from nothing
    (an assistant who always opens colleagues' customers)."""
    sums = [0]
    for value in series:
        sums.append(sums[-1] + value)
    best: tuple[bool, float, int] | None = None
    best_total, best_at = 0, WINDOW_DAYS - 1
    for i in range(min(WINDOW_DAYS, len(series)) - 1, len(series)):
        total = sums[i + 1] - sums[max(0, i - WINDOW_DAYS + 1)]
        end = max(0, i - WINDOW_DAYS + 1)
        begin = max(origin, end - BASELINE_DAYS)
        has_past = end - begin >= WINDOW_DAYS
        baseline = (sums[end] - sums[begin]) / (end - begin) * WINDOW_DAYS if has_past else 0.0
        key = (has_past, total - 4 * baseline, -i)
        if best is None or key > best:
            best, best_total, best_at = key, total, i
    return best_total, best_at


def _baseline(series: list[int], peak_at: int, origin: int = 0) -> float:
    """The rep's own usual amount per WINDOW_DAYS, over the half-year before the peak (and
    after `origin`: before the records begin there is no past, not a quiet one)."""
    end = max(0, peak_at - WINDOW_DAYS + 1)
    begin = max(origin, end - BASELINE_DAYS)
    if end - begin < WINDOW_DAYS:
        return 0.0
    return sum(series[begin:end]) / (end - begin) * WINDOW_DAYS


def _peers(peaks: dict[int, tuple[int, int]], rep_id: int) -> float:
    """What a busy colleague reaches: the 90th percentile of the others' peaks."""
    others = sorted(total for rep, (total, _at) in peaks.items() if rep != rep_id)
    if not others:
        return 0.0
    if len(others) < 3:
        return float(max(others))
    return float(statistics.quantiles(others, n=10)[-1])


# The accounts that leave with a rep who takes the customer list: the ones carrying most of
# their business, known to nobody else at the company.
KEY_ACCOUNTS_SHARE = 0.5
KEY_ACCOUNTS_MAX = 20


def _key_accounts(
    data: AnalysisData, rep_id: int, begin: dt.date, finish: dt.date, leaving: dt.date | None
) -> list[Found]:
    n = data.n_weeks
    last_year = max(0, n - 52)
    recent = max(0, n - 26)
    amounts: dict[int, float] = {}
    for (pair_rep, customer_id), series in data.by_pair.items():
        if pair_rep != rep_id:
            continue
        amount = sum(series.order_amount[last_year:])
        if amount <= 0:
            continue
        others = sum(
            sum(other.contact()[recent:])
            for (other_rep, other_customer), other in data.by_pair.items()
            if other_customer == customer_id and other_rep != rep_id
        )
        if others == 0:  # nobody else at the company is in touch with this customer
            amounts[customer_id] = amount
    total = sum(amounts.values())
    if total <= 0:
        return []
    found: list[Found] = []
    covered = 0.0
    for customer_id, amount in sorted(amounts.items(), key=lambda item: -item[1]):
        if covered >= KEY_ACCOUNTS_SHARE * total or len(found) >= KEY_ACCOUNTS_MAX:
            break
        covered += amount
        found.append(
            Found(
                kind="key_account_exposed",
                family=Family.ACCESS,
                rep_id=rep_id,
                customer_id=customer_id,
                start=begin,
                end=finish,
                strength=0.4,
                facts={
                    "amount_last_year": round(amount, 2),
                    "share": round(amount / total, 3),
                    "window_from": begin.isoformat(),
                    "window_to": finish.isoformat(),
                    **({"deactivated_on": leaving.isoformat()} if leaving else {}),
                },
            )
        )
    return found
