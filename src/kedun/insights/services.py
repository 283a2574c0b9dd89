"""Writes of the insights: computing the risk view, dismissing a finding, case files.

The computation is a job (nightly, and `kedun insights risk`); it reads records and writes
only its own tables, so it runs beside the users without locking what they write. Managers'
judgements — dismissals, case files and their notes — are audited like every other write.
Nothing here acts on a rep: no score changes an owner, a commission or an account.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid, NotFound
from kedun.history.models import ImportedLine
from kedun.lifecycle.services import manages
from kedun.org.models import Role, User

from .activity import REFRESH_WEEKS, activity_refresh
from .data import analysis_data_load
from .detectors import Found
from .detectors.access import access_findings
from .detectors.business import business_findings, business_pattern_findings
from .detectors.contacts import redirect_findings
from .detectors.field import field_findings
from .detectors.mail import mail_findings
from .detectors.money import money_findings
from .models import (
    ActivityWeek,
    CaseFile,
    CaseNote,
    CaseStatus,
    Dismissal,
    Finding,
    Outcome,
    RepRisk,
    RiskRun,
    RunMode,
    finding_key,
)
from .scoring import RepResult, risk_score

RUNS_KEPT = 60


@dataclass(frozen=True)
class Computed:
    run: RiskRun
    results: list[RepResult]


def risk_compute(*, as_of: dt.date, full: bool = False) -> Computed:
    """Compute the risk view with everything up to the end of `as_of` (local date).

    Incremental when the previous run is recent and nothing was imported since: only the
    last REFRESH_WEEKS weeks of activity are re-read. `full` re-reads everything (weekly,
    after an import, or on demand)."""
    started = time.monotonic()
    started_at = clock.now()
    previous = RiskRun.objects.order_by("-started_at").first()
    incremental = (
        not full
        and previous is not None
        and ActivityWeek.objects.exists()
        and abs((as_of - previous.as_of).days) <= 7
        and not ImportedLine.objects.filter(imported_at__gte=previous.started_at).exists()
    )
    since = None
    if incremental and previous is not None:
        since = min(previous.as_of, as_of) - dt.timedelta(weeks=REFRESH_WEEKS)
    activity_refresh(since=since, until=as_of)
    data = analysis_data_load(as_of)
    findings: list[Found] = []
    for detector in (
        business_findings,
        redirect_findings,
        money_findings,
        mail_findings,
        access_findings,
        field_findings,
    ):
        findings += detector(data)
    findings += business_pattern_findings(data, findings)
    dismissed = {
        key: timezone.localtime(at).date()
        for key, at in Dismissal.objects.values_list("key", "dismissed_at")
    }
    results = risk_score(data, findings, dismissed)
    with transaction.atomic():
        run = RiskRun.objects.create(
            as_of=as_of,
            mode=RunMode.INCREMENTAL if incremental else RunMode.FULL,
            started_at=started_at,
            reps=len(results),
            findings=len(findings),
        )
        RepRisk.objects.bulk_create(
            RepRisk(
                run=run,
                rep_id=result.rep_id,
                score=result.score,
                rank=rank,
                customers=result.customers,
            )
            for rank, result in enumerate(results, start=1)
        )
        Finding.objects.bulk_create(
            (
                Finding(
                    run=run,
                    rep_id=scored.found.rep_id,
                    kind=scored.found.kind,
                    family=scored.found.family,
                    customer_id=scored.found.customer_id,
                    started_on=scored.found.start,
                    ended_on=max(scored.found.end, scored.found.start),
                    strength=scored.found.strength,
                    corroborated=scored.corroborated,
                    dismissed=scored.dismissed,
                    facts=scored.found.facts,
                )
                for result in results
                for scored in result.findings
            ),
            batch_size=1000,
        )
        run.seconds = round(time.monotonic() - started, 2)
        run.save(update_fields=["seconds"])
        audit_record(
            actor=None,
            actor_label="insights",
            action="insights.risk_computed",
            target=run,
            changes={
                "as_of": as_of,
                "mode": run.mode,
                "findings": len(findings),
                "reps_with_score": sum(1 for r in results if r.score > 0),
            },
        )
        stale = RiskRun.objects.order_by("-started_at").values_list("pk", flat=True)[RUNS_KEPT:]
        RiskRun.objects.filter(pk__in=list(stale)).delete()
    return Computed(run, results)


# -- managers' judgements ------------------------------------------------------------------------


def may_review(actor: User, rep: User) -> bool:
    """The boss, or a manager whose scope covers the rep; never the rep themself."""
    return actor.pk != rep.pk and actor.has_role(Role.ADMIN, Role.MANAGER) and manages(actor, rep)


def _reason(text: str, *, what: str) -> str:
    text = " ".join(text.split())
    if len(text) < 5:
        raise Invalid(_("Give %(what)s (at least 5 characters).") % {"what": what})
    return text


def finding_dismiss(*, actor: User, finding: Finding, reason: str) -> Dismissal:
    """A manager judges a finding explained. It stays visible, marked, and stops counting for
    this episode (a finding of the same kind that starts later is new)."""
    rep = User.objects.get(pk=finding.rep_id)
    if not may_review(actor, rep):
        raise NotFound()
    reason = _reason(reason, what=_("a reason"))
    with transaction.atomic():
        dismissal = Dismissal.objects.create(
            key=finding_key(finding.kind, finding.rep_id, finding.customer_id),
            rep=rep,
            reason=reason,
            dismissed_by=actor,
            dismissed_at=clock.now(),
        )
        Finding.objects.filter(pk=finding.pk).update(dismissed=True)
        audit_record(
            actor=actor,
            action="insights.finding_dismissed",
            target=finding,
            changes={
                "rep": rep.username,
                "kind": finding.kind,
                "customer": finding.customer_id,
                "reason": reason,
            },
        )
    return dismissal


def case_open(*, actor: User, rep: User, title: str, evidence: dict) -> CaseFile:
    """Open a case file on a rep with the evidence as it stands now, frozen."""
    if not may_review(actor, rep):
        raise NotFound()
    title = _reason(title, what=_("a title"))[:200]
    with transaction.atomic():
        case = CaseFile.objects.create(
            rep=rep, title=title, opened_by=actor, opened_at=clock.now(), evidence=evidence
        )
        audit_record(
            actor=actor,
            action="insights.case_opened",
            target=case,
            changes={"rep": rep.username, "title": title, "as_of": evidence.get("as_of")},
        )
    return case


def _case_for(actor: User, case: CaseFile) -> CaseFile:
    if not may_review(actor, case.rep):
        raise NotFound()
    return case


def case_note_add(*, actor: User, case: CaseFile, text: str) -> CaseNote:
    case = _case_for(actor, case)
    if case.status != CaseStatus.OPEN:
        raise Forbidden(_("The case is closed."))
    text = _reason(text, what=_("a note"))
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=actor, text=text, written_at=clock.now())
        audit_record(
            actor=actor, action="insights.case_note_added", target=case, changes={"note": text}
        )
    return note


def case_close(*, actor: User, case: CaseFile, outcome: str, note: str) -> CaseFile:
    case = _case_for(actor, case)
    if outcome not in Outcome.values:
        raise Invalid(_("Choose an outcome."))
    note = _reason(note, what=_("a note on the outcome"))
    with transaction.atomic():
        changed = CaseFile.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
            status=CaseStatus.CLOSED,
            outcome=outcome,
            outcome_note=note,
            closed_by=actor,
            closed_at=clock.now(),
        )
        if changed != 1:
            raise Forbidden(_("The case is closed."))
        audit_record(
            actor=actor,
            action="insights.case_closed",
            target=case,
            changes={"outcome": outcome, "note": note},
        )
    case.refresh_from_db()
    return case


def case_exported(*, actor: User, case: CaseFile) -> None:
    """Record that the case file left Kedun as a PDF (for HR): who, when."""
    case = _case_for(actor, case)
    with transaction.atomic():
        audit_record(actor=actor, action="insights.case_exported", target=case, changes={})
