"""Business with a customer against its own past: orders that dry up while the rep keeps in
touch, quotes lost more and more, a rep working an account harder without more business.

Each compares a customer's (or a rep-and-customer's) weekly series before and after a moment,
the moment chosen where the change is clearest, and scales the expectation by the whole
company's change over the same weeks — a market that slows for everyone is no trace.
"""

from __future__ import annotations

from itertools import accumulate

from ..data import AnalysisData, Series
from ..models import Family
from . import Found, binomial_sf, poisson_cdf, poisson_sf

# A customer needs this much past before a change can be read against it, and this much
# after it; candidate moments every STEP weeks in between.
MIN_WEEKS_BEFORE = 13
MIN_WEEKS_AFTER = 8
STEP = 2

# Orders: at least this many expected after the moment, at most this share of them seen, and
# this unlikely under the customer's own past rate.
DRIED_MIN_EXPECTED = 3.0
DRIED_MAX_SHARE = 0.45
DRIED_MAX_P = 0.02
# The rep "keeps in touch": their contact after the moment at least this share of before.
CONTACT_HELD = 0.8
CONTACT_MIN_AFTER = 5

# Quotes lost: at least this many quotes after the moment, and a lost share this unlikely
# under the share before (scaled by the company's).
LOST_MIN_QUOTES = 4
LOST_MAX_P = 0.02

# Working harder: contact up by this factor, at least this many more, this unlikely.
HARDER_MIN_RATIO = 1.4
HARDER_MIN_EXTRA = 6
HARDER_MAX_P = 0.02


def _sums(values: list[float]) -> list[float]:
    # Called for every customer and series: accumulate runs in C.
    return list(accumulate(values, initial=0.0))


class _Window:
    """Prefix sums of a series, for before/after totals at any split."""

    def __init__(self, values: list[float]):
        self.sums = _sums(values)

    def total(self, start: int, end: int) -> float:
        return self.sums[end] - self.sums[start]


def _splits(first: int, n: int) -> range:
    return range(first + MIN_WEEKS_BEFORE, n - MIN_WEEKS_AFTER + 1, STEP)


def _trend(company: _Window, exposure: _Window, first: int, split: int, n: int) -> float:
    """The company's rate after the split over its rate before: the market's own change."""
    before = company.total(first, split) / max(exposure.total(first, split), 1e-9)
    after = company.total(split, n) / max(exposure.total(split, n), 1e-9)
    if before <= 0 or after <= 0:
        return 1.0
    return min(max(after / before, 0.25), 4.0)


def business_findings(data: AnalysisData) -> list[Found]:
    found: list[Found] = []
    n = data.n_weeks
    exposure = _Window(data.exposure)
    company_orders = _Window(data.company.orders)
    company_contact = _Window(data.company.contact())
    company_quotes = _Window(data.company.orders)  # deals won, company-wide
    company_lost = _Window(data.company.lost)
    reps_of: dict[int, list[int]] = {}
    for rep_id, customer_id in data.by_pair:
        reps_of.setdefault(customer_id, []).append(rep_id)
    for customer_id, series in data.by_customer.items():
        first = data.first_active.get(customer_id, 0)
        if n - first < MIN_WEEKS_BEFORE + MIN_WEEKS_AFTER:
            continue
        dried = _orders_dried_up(data, customer_id, series, first, exposure, company_orders)
        for rep_id in reps_of.get(customer_id, []):
            if rep_id not in data.reps:
                continue
            pair = data.by_pair[(rep_id, customer_id)]
            contact = _Window(pair.contact())
            if dried is not None:
                finding = _with_contact(
                    data, dried, rep_id, customer_id, pair, contact, exposure, company_contact
                )
                if finding is not None:
                    found.append(finding)
            lost = _losses_rising(
                data, rep_id, customer_id, pair, first, exposure, company_quotes, company_lost
            )
            if lost is not None:
                found.append(lost)
            harder = _worked_harder(
                data,
                rep_id,
                customer_id,
                pair,
                series,
                first,
                exposure,
                company_contact,
                company_orders,
            )
            if harder is not None:
                found.append(harder)
    return found


def _orders_dried_up(
    data: AnalysisData,
    customer_id: int,
    series: Series,
    first: int,
    exposure: _Window,
    company: _Window,
) -> dict | None:
    orders = _Window(series.orders)
    amount = _Window(series.order_amount)
    n = data.n_weeks
    best: dict | None = None
    for split in _splits(first, n):
        weeks_before = exposure.total(first, split)
        weeks_after = exposure.total(split, n)
        before = orders.total(first, split)
        after = orders.total(split, n)
        trend = _trend(company, exposure, first, split, n)
        expected = before / weeks_before * weeks_after * trend
        if expected < DRIED_MIN_EXPECTED or after > DRIED_MAX_SHARE * expected:
            continue
        # Fewer but bigger orders is no drying up: their value must have fallen too.
        value_expected = amount.total(first, split) / weeks_before * weeks_after * trend
        if amount.total(split, n) > DRIED_MAX_SHARE * value_expected:
            continue
        p = poisson_cdf(after, expected)
        if best is None or p < best["p"]:
            best = {
                "split": split,
                "p": p,
                "orders_before": int(before),
                "orders_after": int(after),
                "expected": round(expected, 1),
                "amount_before": round(amount.total(first, split), 2),
                "amount_after": round(amount.total(split, n), 2),
                "weeks_before": round(weeks_before),
                "weeks_after": round(weeks_after),
            }
    if best is None or best["p"] > DRIED_MAX_P:
        return None
    return best


def _with_contact(
    data: AnalysisData,
    dried: dict,
    rep_id: int,
    customer_id: int,
    pair: Series,
    contact: _Window,
    exposure: _Window,
    company_contact: _Window,
) -> Found | None:
    """Orders dried up — and this rep kept in touch all the same."""
    n = data.n_weeks
    split = dried["split"]
    first = max(0, split - 26)  # the half-year before the change is the rep's own normal
    before = contact.total(first, split)
    after = contact.total(split, n)
    weeks_before = exposure.total(first, split)
    weeks_after = exposure.total(split, n)
    if after < CONTACT_MIN_AFTER or weeks_before <= 0:
        return None
    trend = _trend(company_contact, exposure, first, split, n)
    expected = before / weeks_before * weeks_after * trend
    if after < CONTACT_HELD * expected:
        return None  # the rep let the customer go quiet too: a dormant customer, not a trace
    ratio = after / expected if expected > 0 else 2.0
    drop = 1 - dried["orders_after"] / max(dried["expected"], 1e-9)
    strength = min(1.0, 0.45 + 0.35 * drop + 0.2 * min(1.0, max(0.0, ratio - 1.0)))
    follow_ups = _Window(pair.follow_ups)
    check_ins = _Window(pair.check_ins)
    return Found(
        kind="orders_dried_up",
        family=Family.BUSINESS,
        rep_id=rep_id,
        customer_id=customer_id,
        start=data.week_start(split),
        end=data.as_of,
        strength=round(strength, 3),
        facts={
            **{k: v for k, v in dried.items() if k != "split"},
            "p": float(f"{dried['p']:.2g}"),
            "since": data.week_start(split).isoformat(),
            "contact_before": int(before),
            "contact_after": int(after),
            "contact_expected": round(expected, 1),
            "follow_ups_after": int(follow_ups.total(split, n)),
            "check_ins_after": int(check_ins.total(split, n)),
        },
    )


def _losses_rising(
    data: AnalysisData,
    rep_id: int,
    customer_id: int,
    pair: Series,
    first: int,
    exposure: _Window,
    company_quotes: _Window,
    company_lost: _Window,
) -> Found | None:
    """This rep's deals with this customer lost more and more, beyond the company's change.

    A deal is decided when its quote is lost or it becomes an order; the share lost among the
    deals decided before and after a moment is compared, scaled by the company's own."""
    n = data.n_weeks
    lost = _Window(pair.lost)
    won = _Window(pair.orders)
    to_competitor = _Window(pair.lost_competitor)
    company_won = company_quotes  # the company's decided deals: see business_findings
    best: dict | None = None
    for split in _splits(first, n):
        l_before, l_after = lost.total(first, split), lost.total(split, n)
        d_before = l_before + won.total(first, split)
        d_after = l_after + won.total(split, n)
        if d_after < LOST_MIN_QUOTES or d_before < LOST_MIN_QUOTES:
            continue
        share_before = (l_before + 0.5) / (d_before + 1)  # a little smoothing: 0 of 4 is not 0 %
        c_lost_before = company_lost.total(first, split)
        c_lost_after = company_lost.total(split, n)
        c_before = c_lost_before / max(c_lost_before + company_won.total(first, split), 1)
        c_after = c_lost_after / max(c_lost_after + company_won.total(split, n), 1)
        expected_share = min(0.95, share_before * (c_after / c_before if c_before > 0 else 1.0))
        if l_after / d_after < max(0.5, 1.5 * expected_share):
            continue
        p = binomial_sf(int(l_after), int(d_after), expected_share)
        if best is None or p < best["p"]:
            best = {
                "split": split,
                "p": p,
                "decided_before": int(d_before),
                "lost_before": int(l_before),
                "decided_after": int(d_after),
                "lost_after": int(l_after),
                "to_competitor_after": int(to_competitor.total(split, n)),
                "to_competitor_before": int(to_competitor.total(first, split)),
                "expected_share": round(expected_share, 2),
            }
    if best is None or best["p"] > LOST_MAX_P:
        return None
    share = best["lost_after"] / best["decided_after"]
    strength = min(1.0, 0.35 + 0.4 * share + (0.15 if best["to_competitor_after"] >= 2 else 0))
    split = best.pop("split")
    best["p"] = float(f"{best['p']:.2g}")
    return Found(
        kind="losses_rising",
        family=Family.BUSINESS,
        rep_id=rep_id,
        customer_id=customer_id,
        start=data.week_start(split),
        end=data.as_of,
        strength=round(strength, 3),
        facts={**best, "since": data.week_start(split).isoformat()},
    )


def _worked_harder(
    data: AnalysisData,
    rep_id: int,
    customer_id: int,
    pair: Series,
    customer: Series,
    first: int,
    exposure: _Window,
    company_contact: _Window,
    company_orders: _Window,
) -> Found | None:
    """The rep works the account clearly harder than before, and the business does not grow
    with it: the relationship is being kept warm for something other than the company."""
    n = data.n_weeks
    contact = _Window(pair.contact())
    orders = _Window(customer.orders)
    amount = _Window(customer.order_amount)
    best: dict | None = None
    for split in _splits(first, n):
        weeks_before = exposure.total(first, split)
        weeks_after = exposure.total(split, n)
        before = contact.total(first, split)
        after = contact.total(split, n)
        if before <= 0:
            continue
        expected = (
            before / weeks_before * weeks_after * _trend(company_contact, exposure, first, split, n)
        )
        if after < HARDER_MIN_RATIO * expected or after - expected < HARDER_MIN_EXTRA:
            continue
        # The business did not grow with the effort (orders and their value per week).
        o_before, o_after = orders.total(first, split), orders.total(split, n)
        a_before, a_after = amount.total(first, split), amount.total(split, n)
        order_trend = _trend(company_orders, exposure, first, split, n)
        o_expected = o_before / weeks_before * weeks_after * order_trend
        a_expected = a_before / weeks_before * weeks_after * order_trend
        if o_after > 1.15 * o_expected + 1 or (a_expected > 0 and a_after > 1.15 * a_expected):
            continue
        p = poisson_sf(after, expected)
        if best is None or p < best["p"]:
            best = {
                "split": split,
                "p": p,
                "contact_before": int(before),
                "contact_after": int(after),
                "expected": round(expected, 1),
                "weeks_before": round(weeks_before),
                "weeks_after": round(weeks_after),
                "orders_before": int(o_before),
                "orders_after": int(o_after),
                "amount_before": round(a_before, 2),
                "amount_after": round(a_after, 2),
            }
    if best is None or best["p"] > HARDER_MAX_P:
        return None
    ratio = best["contact_after"] / max(best["expected"], 1e-9)
    strength = min(0.8, 0.3 + 0.25 * min(2.0, ratio - 1.0))
    split = best.pop("split")
    best["p"] = float(f"{best['p']:.2g}")
    return Found(
        kind="worked_harder",
        family=Family.CONTACT,
        rep_id=rep_id,
        customer_id=customer_id,
        start=data.week_start(split),
        end=data.as_of,
        strength=round(strength, 3),
        facts={**best, "since": data.week_start(split).isoformat()},
    )


# Many customers at once: a rep whose customers dry up (while the rep keeps in touch) or are
# lost more and more, far more often than colleagues' customers do in the same company.
PATTERN_MIN_CUSTOMERS = 4
PATTERN_MAX_P = 1e-3


def business_pattern_findings(data: AnalysisData, found: list[Found]) -> list[Found]:
    """One finding per rep whose business traces are too many to be chance: measured against
    the rate among everyone else's customers (the rep left out of their own baseline)."""
    n = data.n_weeks
    eligible: dict[int, int] = {}
    for rep_id, customer_id in data.by_pair:
        if rep_id in data.reps and n - data.first_active.get(customer_id, 0) >= (
            MIN_WEEKS_BEFORE + MIN_WEEKS_AFTER
        ):
            eligible[rep_id] = eligible.get(rep_id, 0) + 1
    kinds: dict[tuple[int, int], set[str]] = {}
    starts: dict[tuple[int, int], list] = {}
    for item in found:
        if item.customer_id is None:
            continue
        key = (item.rep_id, item.customer_id)
        kinds.setdefault(key, set()).add(item.kind)
        starts.setdefault(key, []).append(item.start)
    traced: dict[int, list[int]] = {}
    for (rep_id, customer_id), present in kinds.items():
        if "orders_dried_up" in present or {"losses_rising", "worked_harder"} <= present:
            traced.setdefault(rep_id, []).append(customer_id)
    total_traced = sum(len(v) for v in traced.values())
    total_eligible = sum(eligible.values())
    patterns = []
    for rep_id, customers in traced.items():
        k, pairs = len(customers), eligible.get(rep_id, 0)
        others = total_eligible - pairs
        if k < PATTERN_MIN_CUSTOMERS or others <= 0 or pairs <= 0:
            continue
        rate = max((total_traced - k) / others, 1e-4)
        p = binomial_sf(k, pairs, rate)
        if p > PATTERN_MAX_P:
            continue
        begin = min(min(starts[(rep_id, c)]) for c in customers)
        patterns.append(
            Found(
                kind="many_customers_at_once",
                family=Family.PATTERN,
                rep_id=rep_id,
                customer_id=None,
                start=begin,
                end=data.as_of,
                strength=0.8 if p <= 1e-6 else 0.6,
                facts={
                    "customers": sorted(customers),
                    "traced": k,
                    "of": pairs,
                    "expected": round(rate * pairs, 1),
                    "p": float(f"{p:.2g}"),
                },
            )
        )
    return patterns
