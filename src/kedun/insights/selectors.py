"""Reads of the insights, scoped to the viewer: managers see the reps they manage, the boss
everyone; reps never see scores (not their own either: a score is a question for a manager)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from kedun.core.errors import NotFound
from kedun.customers.models import Customer
from kedun.org.models import Role, User

from .models import ActivityWeek, CaseFile, Finding, RepRisk, RiskRun
from .services import may_review
from .wording import finding_sentence, kind_label

# How many customers a signal's evidence sentence quotes before "and N more".
QUOTED = 3


def may_see_risk(viewer: User) -> bool:
    return viewer.has_role(Role.ADMIN, Role.MANAGER)


def risk_run_latest(*, as_of: dt.date | None = None) -> RiskRun | None:
    runs = RiskRun.objects.order_by("-as_of", "-started_at")
    if as_of is not None:
        runs = runs.filter(as_of=as_of)
    return runs.first()


@dataclass
class FindingView:
    finding: Finding
    label: str
    sentence: str
    customer_code: str
    customer_name: str


@dataclass
class Signal:
    kind: str
    label: str
    customers: list[str]
    evidence: str
    findings: list[FindingView] = field(default_factory=list)


@dataclass
class CustomerEvidence:
    """A customer's counted evidence against the rep, for the rep's page."""

    customer_id: int
    code: str
    name: str
    weight: float
    findings: list[FindingView]

    @property
    def labels(self) -> list[str]:
        return sorted({str(f.label) for f in self.findings})


@dataclass
class RepView:
    rep: User
    score: float
    rank: int
    customers: int
    signals: list[Signal]  # counted: agreeing evidence
    single: list[FindingView]  # shown, not counted
    dismissed: list[FindingView]

    @property
    def about_rep(self) -> list[FindingView]:
        """Counted traces about the rep as a whole (data taken, many customers at once)."""
        return [w for s in self.signals for w in s.findings if not w.finding.customer_id]

    @property
    def by_customer(self) -> list[CustomerEvidence]:
        """Counted evidence grouped per customer, the heaviest first."""
        grouped: dict[int, list[FindingView]] = defaultdict(list)
        for signal in self.signals:
            for item in signal.findings:
                if item.finding.customer_id:
                    grouped[item.finding.customer_id].append(item)
        result = []
        for customer_id, items in grouped.items():
            families: dict[str, float] = {}
            for item in items:
                family = item.finding.family
                families[family] = max(families.get(family, 0.0), item.finding.strength)
            result.append(
                CustomerEvidence(
                    customer_id=customer_id,
                    code=items[0].customer_code,
                    name=items[0].customer_name,
                    weight=round(sum(families.values()), 2),
                    findings=sorted(items, key=lambda i: -i.finding.strength),
                )
            )
        return sorted(result, key=lambda c: (-c.weight, c.code))


def _reps_visible(viewer: User | None, run: RiskRun) -> QuerySet[RepRisk]:
    rows = RepRisk.objects.filter(run=run).select_related("rep").order_by("rank")
    if viewer is None or viewer.role == Role.ADMIN:
        return rows
    return rows.filter(rep_id__in=[r.rep_id for r in rows if may_review(viewer, r.rep)])


def risk_report(
    *, run: RiskRun, viewer: User | None = None, rep: User | None = None
) -> list[RepView]:
    """The reps of a run (those the viewer may review; None: the command line, everyone)
    with their findings worded, highest risk first."""
    if viewer is not None and not may_see_risk(viewer):
        raise NotFound()
    rows = list(_reps_visible(viewer, run))
    if rep is not None:
        rows = [r for r in rows if r.rep_id == rep.pk]
        if not rows:
            raise NotFound()
    findings: dict[int, list[Finding]] = defaultdict(list)
    for finding in Finding.objects.filter(run=run, rep_id__in=[r.rep_id for r in rows]).order_by(
        "-strength", "pk"
    ):
        findings[finding.rep_id].append(finding)
    customers = {
        c.pk: c
        for c in Customer.objects.filter(
            pk__in={f.customer_id for items in findings.values() for f in items if f.customer_id}
        ).only("pk", "code", "name")
    }
    views = []
    for row in rows:
        rep_name = row.rep.display_name
        worded = [_worded(f, customers, rep_name) for f in findings.get(row.rep_id, [])]
        counted = [w for w in worded if w.finding.corroborated and not w.finding.dismissed]
        views.append(
            RepView(
                rep=row.rep,
                score=row.score,
                rank=row.rank,
                customers=row.customers,
                signals=_signals(counted),
                single=[
                    w for w in worded if not w.finding.corroborated and not w.finding.dismissed
                ],
                dismissed=[w for w in worded if w.finding.dismissed],
            )
        )
    return views


def _worded(finding: Finding, customers: dict[int, Customer], rep_name: str) -> FindingView:
    customer = customers.get(finding.customer_id) if finding.customer_id else None
    label = f"{customer.code} {customer.name}" if customer else ""
    return FindingView(
        finding=finding,
        label=kind_label(finding.kind),
        sentence=finding_sentence(finding.kind, finding.facts, customer=label, rep=rep_name),
        customer_code=customer.code if customer else "",
        customer_name=customer.name if customer else "",
    )


def _signals(counted: list[FindingView]) -> list[Signal]:
    by_kind: dict[str, list[FindingView]] = defaultdict(list)
    for item in counted:
        by_kind[item.finding.kind].append(item)
    signals = []
    for kind, items in sorted(
        by_kind.items(), key=lambda entry: -sum(i.finding.strength for i in entry[1])
    ):
        quoted = "；".join(i.sentence for i in items[:QUOTED])
        if len(items) > QUOTED:
            quoted += f" (+{len(items) - QUOTED})"
        signals.append(
            Signal(
                kind=kind,
                label=kind_label(kind),
                customers=[i.customer_code for i in items if i.customer_code],
                evidence=quoted,
                findings=items,
            )
        )
    return signals


def risk_json(*, run: RiskRun) -> dict[str, Any]:
    """`kedun insights risk --json`: every salesperson (and anyone else with a score), highest
    first, with the counted signals and the sentence a manager reads."""
    reps = []
    for view in risk_report(run=run):
        if view.rep.role != Role.SALES and view.score <= 0:
            continue
        reps.append(
            {
                "username": view.rep.username,
                "score": view.score,
                "signals": [
                    {"kind": s.kind, "customers": s.customers, "evidence": s.evidence}
                    for s in view.signals
                ],
            }
        )
    return {"as_of": run.as_of.isoformat(), "reps": reps}


def case_list_visible_to(*, viewer: User) -> QuerySet[CaseFile]:
    if not may_see_risk(viewer):
        raise NotFound()
    cases = CaseFile.objects.select_related("rep", "opened_by").order_by("-opened_at")
    if viewer.role == Role.ADMIN:
        return cases
    return cases.filter(pk__in=[c.pk for c in cases if may_review(viewer, c.rep)])


def case_get_for_viewer(*, viewer: User, case_id: int) -> CaseFile:
    case = (
        CaseFile.objects.select_related("rep", "opened_by", "closed_by").filter(pk=case_id).first()
    )
    if case is None or not may_see_risk(viewer) or not may_review(viewer, case.rep):
        raise NotFound()
    return case


def evidence_snapshot(*, run: RiskRun, rep: User) -> dict[str, Any]:
    """What a case file freezes: the run's date, the rep's score and every finding with its
    sentence as written now (in the opener's language) and its facts."""
    views = risk_report(run=run, rep=rep)
    view = views[0]

    def entry(w: FindingView) -> dict[str, Any]:
        return {
            "kind": w.finding.kind,
            "label": str(w.label),
            "customer": w.customer_code,
            "customer_name": w.customer_name,
            "sentence": w.sentence,
            "strength": w.finding.strength,
            "from": w.finding.started_on.isoformat(),
            "to": w.finding.ended_on.isoformat(),
            "facts": w.finding.facts,
        }

    return {
        "as_of": run.as_of.isoformat(),
        "run": run.pk,
        "score": view.score,
        "rank": view.rank,
        "counted": [entry(w) for s in view.signals for w in s.findings],
        "single": [entry(w) for w in view.single],
        "dismissed": [entry(w) for w in view.dismissed],
    }


@dataclass
class Monthly:
    labels: list[str]
    orders: list[float]
    contacts: list[float]
    lost: list[float]


def activity_monthly(
    *, rep: User, customer_ids: list[int] | None, as_of: dt.date, months: int = 12
) -> Monthly:
    """The rep's orders, contacts (follow-ups, check-ins, mail) and lost deals per month, with
    the given customers (None: all of them), for the charts on the risk pages."""
    first = (as_of.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    labels = []
    month = first
    while month <= as_of:
        labels.append(month.strftime("%Y-%m"))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    index = {label: i for i, label in enumerate(labels)}
    orders = [0.0] * len(labels)
    contacts = [0.0] * len(labels)
    lost = [0.0] * len(labels)
    weeks = ActivityWeek.objects.filter(rep=rep, week__gte=first, week__lte=as_of)
    if customer_ids is not None:
        weeks = weeks.filter(customer_id__in=customer_ids)
    for week, o, f, c, m, lo in weeks.values_list(
        "week", "orders", "follow_ups", "check_ins", "mails", "lost"
    ):
        i = index.get(week.strftime("%Y-%m"))
        if i is None:
            continue
        orders[i] += o
        contacts[i] += f + c + m
        lost[i] += lo
    return Monthly(labels, orders, contacts, lost)
