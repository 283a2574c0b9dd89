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

from .models import CaseFile, Finding, RepRisk, RiskRun
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
class RepView:
    rep: User
    score: float
    rank: int
    customers: int
    signals: list[Signal]  # counted: agreeing evidence
    single: list[FindingView]  # shown, not counted
    dismissed: list[FindingView]


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
