"""The risk computation and the managers' judgements (services.py, selectors.py, tasks.py,
the `kedun insights risk` command and the case file's PDF)."""

from __future__ import annotations

import datetime as dt
import io
import json
import zoneinfo

import pytest
from django.core.management import call_command

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.insights.models import (
    CaseFile,
    CaseStatus,
    Dismissal,
    Finding,
    RepRisk,
    RiskRun,
    RunMode,
)
from kedun.insights.pdf import case_pdf
from kedun.insights.selectors import evidence_snapshot, risk_json, risk_report
from kedun.insights.services import (
    case_close,
    case_exported,
    case_note_add,
    case_open,
    finding_dismiss,
    risk_compute,
)
from kedun.insights.tasks import risk_nightly
from tests.history.builder import history_import_run

from . import stories
from .conftest import user
from .stories import LAST_DAY

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def diverting(tmp_path):
    stories.imported(stories.diverting_company(), tmp_path / "h.jsonl")


def _ranking(run: RiskRun) -> dict[str, float]:
    return {
        r.rep.username: r.score
        for r in RepRisk.objects.filter(run=run).select_related("rep").order_by("rank")
    }


def _findings(run: RiskRun) -> list[tuple]:
    return sorted(
        (f.rep.username, f.kind, f.customer_id, f.started_on, f.ended_on, f.strength,
         f.corroborated, f.dismissed, json.dumps(f.facts, sort_keys=True))
        for f in Finding.objects.filter(run=run).select_related("rep")
    )  # fmt: skip


def _audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_a_full_run_ranks_the_diverters_with_agreeing_evidence_and_honest_reps_at_zero(diverting):
    computed = risk_compute(as_of=LAST_DAY, full=True)

    run = computed.run
    assert run.mode == RunMode.FULL and run.as_of == LAST_DAY
    ranking = _ranking(run)
    assert list(ranking)[:2] == ["rep1", "rep3"]  # two customers outweigh one
    assert ranking["rep1"] > ranking["rep3"] > 0
    assert ranking["rep2"] == 0 and ranking["mgr_east"] == 0 and ranking["mgr_south"] == 0
    counted = Finding.objects.filter(run=run, corroborated=True, rep__username="rep1")
    assert {(f.kind, f.customer.code) for f in counted} == {
        ("orders_dried_up", "C1"), ("orders_dried_up", "C2"),
        ("contact_redirected", "C1"), ("contact_redirected", "C2"),
    }  # fmt: skip
    # 杨艳's dormant customer and its unknown number: shown, never counted.
    honest = Finding.objects.filter(run=run, rep__username="rep2")
    assert {f.kind for f in honest} == {"contact_redirected"}
    assert not honest.filter(corroborated=True).exists()
    (audit,) = _audits("insights.risk_computed")
    assert audit.actor_label == "insights" and audit.changes_data["reps_with_score"] == 2


def test_the_command_prints_every_salesperson_ranked_as_json(diverting):
    out = io.StringIO()
    call_command("insights", "risk", "--json", "--as-of", LAST_DAY.isoformat(), stdout=out)

    report = json.loads(out.getvalue())
    assert report["as_of"] == LAST_DAY.isoformat()
    assert [r["username"] for r in report["reps"]] == ["rep1", "rep3", "rep2"]
    rep1 = report["reps"][0]
    assert rep1["score"] > 0
    signals = {s["kind"]: s for s in rep1["signals"]}
    assert set(signals) == {"orders_dried_up", "contact_redirected"}
    assert sorted(signals["orders_dried_up"]["customers"]) == ["C1", "C2"]
    assert "C1 上海远丰机械有限公司" in signals["orders_dried_up"]["evidence"]
    assert report["reps"][2] == {"username": "rep2", "score": 0.0, "signals": []}


def test_the_command_refuses_a_date_that_is_not_one(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("insights", "risk", "--as-of", "2026-13-01")


def _split_at_last_day(history):
    """The history up to the day before LAST_DAY, and the last day's events alone (with the
    entities again, which a second import skips)."""
    stories.events_sorted(history)
    entities = [line for line in history.lines if "at" not in line]
    events = [line for line in history.lines if "at" in line]
    last = [e for e in events if e["at"].startswith(LAST_DAY.isoformat())]
    before = [e for e in events if e not in last]
    return entities + before, last, entities


def test_an_incremental_run_after_one_more_day_gives_the_full_runs_result(tmp_path):
    history = stories.diverting_company()
    # The last day: a steady customer orders, 何涛 calls C1 again.
    history.order("S1", "rep2", "1000.00", at=history.day(stories.LAST, 11))
    history.follow_up("C1", "rep1", at=history.day(stories.LAST, 15))
    first, last, entities = _split_at_last_day(history)
    assert len(last) == 2
    history.lines = first
    history_import_run(history.write(tmp_path / "first.jsonl"))
    risk_compute(as_of=LAST_DAY - dt.timedelta(days=1), full=True)
    history.lines = entities + last
    history_import_run(history.write(tmp_path / "last.jsonl"))

    incremental = risk_compute(as_of=LAST_DAY).run
    full = risk_compute(as_of=LAST_DAY, full=True).run

    assert incremental.mode == RunMode.INCREMENTAL and full.mode == RunMode.FULL
    assert _ranking(incremental) == _ranking(full)
    assert _findings(incremental) == _findings(full)
    assert _ranking(full)["rep1"] > 0


def test_an_import_of_old_events_makes_the_next_nightly_run_full(tmp_path, diverting):
    risk_compute(as_of=LAST_DAY, full=True)
    assert risk_compute(as_of=LAST_DAY).run.mode == RunMode.INCREMENTAL
    late = stories.company()
    late.lines = [line for line in late.lines if "at" not in line]
    late.follow_up("C3", "rep2", at=late.day(7))  # entered months late
    history_import_run(late.write(tmp_path / "late.jsonl"))

    with clock.frozen_at(dt.datetime(2026, 4, 29, 3, 20, tzinfo=SHANGHAI)):  # a Wednesday
        risk_nightly.call_local()

    run = RiskRun.objects.order_by("-pk").first()
    assert run is not None and run.mode == RunMode.FULL and run.as_of == LAST_DAY
    # The late follow-up is in the activity the run read: C3 had none that week before.
    from kedun.insights.models import ActivityWeek

    assert ActivityWeek.objects.filter(customer__code="C3", follow_ups=2).exists()


@pytest.mark.parametrize(
    ("moment", "mode"),
    [
        (dt.datetime(2026, 4, 29, 3, 20, tzinfo=SHANGHAI), RunMode.INCREMENTAL),  # Wednesday
        (dt.datetime(2026, 5, 3, 3, 20, tzinfo=SHANGHAI), RunMode.FULL),  # Sunday
    ],
)
def test_the_nightly_task_runs_incremental_on_weekdays_and_in_full_on_sundays(
    diverting, moment, mode
):
    risk_compute(as_of=LAST_DAY - dt.timedelta(days=1), full=True)
    with clock.frozen_at(moment.replace(hour=14)):
        risk_nightly.call_local()  # not the hour: nothing
    assert RiskRun.objects.count() == 1

    with clock.frozen_at(moment):
        risk_nightly.call_local()

    run = RiskRun.objects.order_by("-pk").first()
    assert run is not None and run.mode == mode
    assert run.as_of == moment.date() - dt.timedelta(days=1)


def test_a_dismissed_finding_is_audited_and_stays_dismissed_until_new_evidence(tmp_path, diverting):
    run = risk_compute(as_of=LAST_DAY, full=True).run
    manager, rep1 = user("mgr_east"), user("rep1")
    finding = Finding.objects.get(run=run, rep=rep1, kind="contact_redirected", customer__code="C1")
    judged_at = dt.datetime.combine(LAST_DAY, dt.time(17), tzinfo=SHANGHAI)
    with clock.frozen_at(judged_at):
        finding_dismiss(actor=manager, finding=finding, reason="客户换了采购，号码已核实")

    (audit,) = _audits("insights.finding_dismissed")
    assert audit.actor_id == manager.pk and audit.object_id == str(finding.pk)
    assert audit.changes_data["reason"] == "客户换了采购，号码已核实"
    assert audit.changes_data["rep"] == "rep1"
    dismissal = Dismissal.objects.get()
    assert dismissal.dismissed_by == manager and dismissal.rep == rep1

    before = _ranking(run)["rep1"]
    again = risk_compute(as_of=LAST_DAY).run
    kept = Finding.objects.get(run=again, rep=rep1, kind="contact_redirected", customer__code="C1")
    assert kept.dismissed and not kept.corroborated
    assert 0 < _ranking(again)["rep1"] < before  # C2 still counts

    # A week later 何涛 puts his mobile on C1 again: new evidence, counted again.
    more = stories.company()
    more.lines = [line for line in more.lines if "at" not in line]
    more.contact_change("C1", "rep1", "phone", "021-60000000", "13983604450",
                        at=dt.datetime.combine(LAST_DAY + dt.timedelta(days=7), dt.time(10),
                                               tzinfo=SHANGHAI))  # fmt: skip
    history_import_run(more.write(tmp_path / "more.jsonl"))
    later = risk_compute(as_of=LAST_DAY + dt.timedelta(days=7)).run
    revived = Finding.objects.get(
        run=later, rep=rep1, kind="contact_redirected", customer__code="C1"
    )
    assert not revived.dismissed and revived.corroborated


def test_a_rep_outside_the_managers_scope_cannot_be_dismissed_or_cased(diverting):
    from kedun.core.errors import NotFound

    run = risk_compute(as_of=LAST_DAY, full=True).run
    south = Finding.objects.filter(run=run, rep__username="rep3").first()
    with pytest.raises(NotFound):
        finding_dismiss(actor=user("mgr_east"), finding=south, reason="看过了，没问题")
    with pytest.raises(NotFound):
        case_open(actor=user("mgr_east"), rep=user("rep3"), title="Review", evidence={})
    with pytest.raises(NotFound):  # nor by the rep themself
        case_open(actor=user("rep3"), rep=user("rep3"), title="Review", evidence={})
    assert not Dismissal.objects.exists() and not CaseFile.objects.exists()


def test_a_case_file_freezes_the_evidence_and_every_step_is_audited(diverting):
    run = risk_compute(as_of=LAST_DAY, full=True).run
    manager, rep1 = user("mgr_east"), user("rep1")
    case = case_open(
        actor=manager, rep=rep1, title="何涛 复核", evidence=evidence_snapshot(run=run, rep=rep1)
    )
    case_note_add(actor=manager, case=case, text="与何涛面谈，他说C1换了供应商")
    # A later run changes nothing in the case: its evidence was frozen when it was opened.
    Finding.objects.filter(run=run).delete()
    risk_compute(as_of=LAST_DAY + dt.timedelta(days=1))
    case.refresh_from_db()
    evidence = case.evidence
    assert evidence["as_of"] == LAST_DAY.isoformat() and evidence["score"] > 0
    assert {(e["kind"], e["customer"]) for e in evidence["counted"]} == {
        ("orders_dried_up", "C1"), ("orders_dried_up", "C2"),
        ("contact_redirected", "C1"), ("contact_redirected", "C2"),
    }  # fmt: skip
    assert all(e["sentence"] for e in evidence["counted"])

    closed = case_close(actor=manager, case=case, outcome="hr", note="交人事部处理")
    assert closed.status == CaseStatus.CLOSED and closed.closed_by == manager
    case_exported(actor=manager, case=closed)

    actions = [a.action for a in AuditEvent.objects.filter(object_id=str(case.pk)).order_by("seq")
               if a.action.startswith("insights.case")]  # fmt: skip
    assert actions == [
        "insights.case_opened", "insights.case_note_added", "insights.case_closed",
        "insights.case_exported",
    ]  # fmt: skip
    assert all(
        a.actor_id == manager.pk
        for a in AuditEvent.objects.filter(action__startswith="insights.case")
    )
    from kedun.core.errors import Forbidden

    with pytest.raises(Forbidden):
        case_note_add(actor=manager, case=closed, text="再补充一句说明")


def test_the_case_pdf_is_a_pdf_with_the_chinese_evidence(diverting, tmp_path):
    import subprocess

    run = risk_compute(as_of=LAST_DAY, full=True).run
    manager, rep1 = user("mgr_east"), user("rep1")
    case = case_open(
        actor=manager, rep=rep1, title="何涛 复核", evidence=evidence_snapshot(run=run, rep=rep1)
    )
    case_note_add(actor=manager, case=case, text="与何涛面谈，他说远丰换了供应商")

    body = case_pdf(case, exported_by="何经理")

    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    path = tmp_path / "case.pdf"
    path.write_bytes(body)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    flat = "".join(text.split())
    assert "何涛复核" in flat
    assert "与何涛面谈，他说远丰换了供应商" in flat
    assert "上海远丰机械有限公司" in flat  # the frozen evidence's sentences
    assert "何经理" in flat  # who exported it


def test_the_report_shows_a_rep_only_to_who_may_review_them(diverting):
    run = risk_compute(as_of=LAST_DAY, full=True).run
    boss = stories.boss()
    assert {v.rep.username for v in risk_report(run=run, viewer=boss)} >= {"rep1", "rep2", "rep3"}
    east = {v.rep.username for v in risk_report(run=run, viewer=user("mgr_east"))}
    assert east == {"rep1", "rep2"}
    assert {v.rep.username for v in risk_report(run=run, viewer=user("mgr_south"))} == {"rep3"}
    from kedun.core.errors import NotFound

    with pytest.raises(NotFound):
        risk_report(run=run, viewer=user("rep1"))
    assert [r["username"] for r in risk_json(run=run)["reps"]][:2] == ["rep1", "rep3"]
