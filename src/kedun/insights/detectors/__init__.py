"""The traces diversion leaves, each found by one detector with its evidence (MISSION §9).

A detector reads the run's AnalysisData (and, for sparse evidence, the records themselves) and
returns Found items: a kind, the family of evidence it belongs to, the rep, the customer (None
for a trace about the rep as a whole), the period it covers, a strength between 0 and 1, and
the facts — figures, dates, record ids — the sentence a manager reads is built from.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Found:
    kind: str
    family: str
    rep_id: int
    customer_id: int | None
    start: dt.date
    end: dt.date
    strength: float
    facts: dict[str, Any] = field(default_factory=dict)


def poisson_cdf(k: float, mu: float) -> float:
    """P(X ≤ k) for X ~ Poisson(mu): how likely this few, were nothing different."""
    if mu <= 0:
        return 1.0
    k = math.floor(k)
    if k < 0:
        return 0.0
    term = math.exp(-mu)
    total = term
    for i in range(1, int(k) + 1):
        term *= mu / i
        total += term
    return min(1.0, total)


def poisson_sf(k: float, mu: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mu): how likely this many, were nothing different."""
    if k <= 0:
        return 1.0
    return max(0.0, 1.0 - poisson_cdf(math.ceil(k) - 1, mu))


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    p = min(max(p, 1e-9), 1 - 1e-9)
    total = 0.0
    for i in range(k, n + 1):
        total += math.comb(n, i) * p**i * (1 - p) ** (n - i)
    return min(1.0, total)
