"""The risk pages and the API, scoped: salespeople get 403 on every page and endpoint (they
never see a score, not their own); a manager sees their department's reps (another's: 404);
the boss sees everyone. And the API's shapes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kedun.customers.models import Customer
from kedun.insights import urls
from kedun.insights.models import CaseFile, Finding
from kedun.insights.selectors import evidence_snapshot
from kedun.insights.services import case_open, risk_compute

from . import stories
from .conftest import user
from .stories import LAST_DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(tmp_path):
    stories.imported(stories.diverting_company(), tmp_path / "h.jsonl")
    run = risk_compute(as_of=LAST_DAY, full=True).run
    rep1 = user("rep1")
    case = case_open(
        actor=user("mgr_east"),
        rep=rep1,
        title="何涛 复核",
        evidence=evidence_snapshot(run=run, rep=rep1),
    )
    finding = Finding.objects.filter(run=run, rep=rep1, customer__code="C1").first()
    return {
        "run": run,
        "rep_id": rep1.pk,
        "customer_id": Customer.objects.get(code="C1").pk,
        "case_id": case.pk,
        "finding_id": finding.pk,
        "boss": stories.boss(),
    }


def _every_route(scene):
    """Every page and endpoint of the insights, with real ids filled in."""
    for pattern, prefix in [*((p, "") for p in urls.pages), *((p, "api") for p in urls.api_v1)]:
        kwargs = {name: scene[name] for name in pattern.pattern.converters}
        yield prefix, reverse(pattern.name, kwargs=kwargs)


def test_a_salesperson_gets_403_on_every_risk_page_and_endpoint(scene, client, api_client):
    routes = list(_every_route(scene))
    assert len(routes) == len(urls.pages) + len(urls.api_v1) == 14
    for username in ("rep1", "rep2"):  # the diverter, and an honest rep
        rep = user(username)
        client.force_login(rep)
        api_client.force_authenticate(rep)
        for kind, path in routes:
            if kind == "api":
                assert api_client.get(path).status_code in (403, 405), path
                assert api_client.post(path, {}, format="json").status_code in (403, 405), path
            else:
                assert client.get(path).status_code == 403, path
                assert client.post(path, {"action": "case", "title": "x"}).status_code == 403
    assert CaseFile.objects.count() == 1


def test_a_manager_sees_their_departments_reps_and_the_boss_everyone(scene, client):
    client.force_login(user("mgr_east"))
    page = client.get(reverse("insights-risk")).content.decode()
    assert "何涛" in page and "林峰" not in page
    assert client.get(reverse("insights-rep", args=[scene["rep_id"]])).status_code == 200
    south = user("rep3").pk
    assert client.get(reverse("insights-rep", args=[south])).status_code == 404
    evidence = client.get(
        reverse("insights-customer", args=[scene["rep_id"], scene["customer_id"]])
    )
    assert evidence.status_code == 200
    assert "上海远丰机械有限公司" in evidence.content.decode()

    client.force_login(user("mgr_south"))
    page = client.get(reverse("insights-risk")).content.decode()
    assert "林峰" in page and "何涛" not in page
    assert client.get(reverse("insights-case", args=[scene["case_id"]])).status_code == 404

    client.force_login(scene["boss"])
    page = client.get(reverse("insights-risk")).content.decode()
    assert "何涛" in page and "林峰" in page


def test_the_api_ranking_and_a_reps_signals(scene, api_client):
    api_client.force_authenticate(user("mgr_east"))
    body = api_client.get(reverse("api-insights-risk"), {"as_of": LAST_DAY.isoformat()}).json()
    assert body["as_of"] == LAST_DAY.isoformat()
    assert [r["username"] for r in body["reps"]] == ["rep1", "rep2"]
    rep1 = body["reps"][0]
    assert set(rep1) == {
        "id",
        "username",
        "name",
        "active",
        "score",
        "rank",
        "customers",
        "signals",
    }
    assert rep1["customers"] == 2 and rep1["score"] > 0
    assert set(rep1["signals"][0]) == {"kind", "label", "customers", "evidence"}
    assert body["reps"][1]["score"] == 0 and body["reps"][1]["signals"] == []
    assert api_client.get(reverse("api-insights-risk"), {"as_of": "2020-01-01"}).status_code == 404

    detail = api_client.get(reverse("api-insights-rep", args=[scene["rep_id"]])).json()
    finding = detail["findings"][0]
    assert set(finding) == {
        "id", "kind", "label", "family", "customer", "customer_id", "started_on", "ended_on",
        "strength", "corroborated", "dismissed", "evidence", "facts",
    }  # fmt: skip
    assert {f["customer"] for f in detail["findings"] if f["corroborated"]} == {"C1", "C2"}
    south = user("rep3").pk
    assert api_client.get(reverse("api-insights-rep", args=[south])).status_code == 404

    api_client.force_authenticate(scene["boss"])
    body = api_client.get(reverse("api-insights-risk")).json()
    assert {"rep1", "rep2", "rep3"} <= {r["username"] for r in body["reps"]}


def test_the_api_dismisses_and_keeps_case_files(scene, api_client):
    api_client.force_authenticate(user("mgr_east"))
    dismiss = reverse("api-insights-dismiss", args=[scene["finding_id"]])
    assert api_client.post(dismiss, {"reason": "no"}, format="json").status_code == 400
    assert api_client.post(dismiss, {"reason": "客户换了采购"}, format="json").status_code == 204
    assert Finding.objects.get(pk=scene["finding_id"]).dismissed

    created = api_client.post(
        reverse("api-insights-cases"), {"rep": "rep1", "title": "何涛 二次复核"}, format="json"
    )
    assert created.status_code == 201
    case = created.json()
    assert set(case) == {
        "id", "rep", "title", "opened_by", "opened_at", "status", "outcome", "outcome_note",
        "closed_at", "evidence", "notes",
    }  # fmt: skip
    assert case["rep"] == "rep1" and case["status"] == "open"
    assert case["evidence"]["as_of"] == LAST_DAY.isoformat()
    outside = api_client.post(
        reverse("api-insights-cases"), {"rep": "rep3", "title": "林峰 复核"}, format="json"
    )
    assert outside.status_code == 404

    note = api_client.post(
        reverse("api-insights-case-note", args=[case["id"]]),
        {"text": "已约谈何涛本人"},
        format="json",
    )
    assert note.status_code == 201 and note.json()["notes"][0]["text"] == "已约谈何涛本人"
    closed = api_client.post(
        reverse("api-insights-case-close", args=[case["id"]]),
        {"outcome": "coaching", "note": "谈过了，继续观察"},
        format="json",
    )
    assert closed.json()["status"] == "closed" and closed.json()["outcome"] == "coaching"

    listed = api_client.get(reverse("api-insights-cases")).json()
    assert listed["count"] == 2 and {c["title"] for c in listed["results"]} == {
        "何涛 复核",
        "何涛 二次复核",
    }
    pdf = api_client.get(reverse("api-insights-case-pdf", args=[case["id"]]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert "attachment" in pdf["Content-Disposition"]

    api_client.force_authenticate(user("mgr_south"))
    assert api_client.get(reverse("api-insights-case", args=[case["id"]])).status_code == 404
    assert api_client.get(reverse("api-insights-cases")).json()["count"] == 0


def test_a_customers_evidence_links_to_the_records_behind_it(tmp_path, client):
    history = stories.company()
    stories.customer(history, "C1", "上海远丰机械有限公司", owner="rep1")
    stories.weekly(history, "C1", "rep1", orders=range(stories.TURN), calls=range(stories.WEEKS))
    turn = stories.TURN * 7
    deal = history.won_deal("C1", "rep1", [("P1", 2, "1000.00")], at=history.day(turn - 20),
                            payer="王建国")  # fmt: skip
    history.email("rep1", ["hetao88@163.com"], customer="C1", subject="转发: 远丰图纸",
                  at=history.day(turn + 3))  # fmt: skip
    for n in (4, 11):
        history.check_in("C1", "rep1", lat=stories.HERE[0] + 0.2, lng=stories.HERE[1],
                         at=history.day(turn + n, 15))  # fmt: skip
    stories.imported(history, tmp_path / "h.jsonl")
    run = risk_compute(as_of=LAST_DAY, full=True).run
    rep1 = user("rep1")
    kinds = set(
        Finding.objects.filter(run=run, rep=rep1, corroborated=True).values_list("kind", flat=True)
    )
    assert {"paid_by_other", "mail_outside", "visits_elsewhere"} <= kinds

    client.force_login(user("mgr_east"))
    page = client.get(
        reverse("insights-customer", args=[rep1.pk, Customer.objects.get(code="C1").pk])
    ).content.decode()

    from kedun.comms.models import Message
    from kedun.field.models import CheckIn
    from kedun.sales.models import Order

    order = Order.objects.get(number=deal["order"])
    assert reverse("order-detail", args=[order.pk]) in page
    assert reverse("mail-thread", args=[Message.objects.get(subject="转发: 远丰图纸").pk]) in page
    far = CheckIn.objects.filter(customer__code="C1", distance_m__gt=10000)
    assert far.count() == 2
    for check_in in far:
        assert reverse("field-check-in", args=[check_in.pk]) in page


def test_the_managers_page_dismisses_with_a_reason_and_opens_a_case(scene, client):
    from kedun.audit.models import AuditEvent

    client.force_login(user("mgr_east"))
    page = reverse("insights-rep", args=[scene["rep_id"]])
    refused = client.post(
        page, {"action": "dismiss", "finding": scene["finding_id"], "reason": "x"}
    )
    assert refused.status_code == 200 and not Finding.objects.get(pk=scene["finding_id"]).dismissed
    done = client.post(
        page,
        {"action": "dismiss", "finding": scene["finding_id"], "reason": "客户换了采购，已核实"},
    )
    assert done.status_code == 302
    assert Finding.objects.get(pk=scene["finding_id"]).dismissed
    (audit,) = AuditEvent.objects.filter(action="insights.finding_dismissed")
    assert (
        audit.actor_label == "mgr_east" and audit.changes_data["reason"] == "客户换了采购，已核实"
    )
    shown = client.get(page).content.decode()
    assert "1 dismissed" in shown

    opened = client.post(page, {"action": "case", "title": "何涛 复核（二）"})
    case = CaseFile.objects.get(title="何涛 复核（二）")
    assert opened.status_code == 302 and opened["Location"] == reverse(
        "insights-case", args=[case.pk]
    )
    assert case.evidence["dismissed"] and case.opened_by == user("mgr_east")
