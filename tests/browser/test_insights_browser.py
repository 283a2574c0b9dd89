"""The diversion risk view in Chromium (MISSION §9): the manager opens the risk view, follows
a diverter's signal to the customer's evidence, opens a case file and exports it as a PDF for
HR; the diverter himself gets 403 on every risk page and endpoint."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from kedun.customers.models import Customer
from kedun.insights import urls
from kedun.insights.models import CaseFile, Finding
from kedun.insights.services import risk_compute
from kedun.org.models import User
from tests.conftest import PASSWORD
from tests.insights import stories
from tests.insights.stories import LAST_DAY

from .test_collaboration_scene import log_in
from .test_pool_browser import log_out
from .test_shell import shot

pytestmark = pytest.mark.browser


@pytest.fixture
def company(tmp_path):
    stories.imported(stories.diverting_company(), tmp_path / "history.jsonl")
    for user in User.objects.filter(username__in=["mgr_east", "rep1"]):
        user.set_password(PASSWORD)  # imported users have none
        user.save(update_fields=["password"])
    return risk_compute(as_of=LAST_DAY, full=True).run


def test_the_manager_follows_a_signal_to_a_case_file_and_the_rep_sees_none_of_it(
    live_server, phone, company
):
    base = live_server.url
    rep1 = User.objects.get(username="rep1")
    c1 = Customer.objects.get(code="C1")

    # 何经理 opens the risk view: 何涛 first, 林峰 (华南, not hers) absent.
    log_in(phone, base, "mgr_east")
    expect(phone.locator("a[href='/insights/']").first).to_be_attached()  # in her menu
    phone.goto(f"{base}/insights/")
    rows = phone.locator("[data-risk-table] tbody tr[data-rep]")
    expect(rows.first).to_have_attribute("data-rep", "rep1")
    expect(phone.locator("tr[data-rep=rep3]")).to_have_count(0)
    shot(phone, "insights-1-risk-view")

    # She follows his signal to the customer's evidence.
    rows.first.get_by_role("link", name="何涛").click()
    expect(phone.locator("[data-signal=orders_dried_up]")).to_be_visible()
    c1_card = phone.locator("section[data-customer=C1]")
    expect(c1_card.locator("[data-kind=contact_redirected]")).to_be_visible()
    shot(phone, "insights-2-rep")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows
    rep_page = phone.url
    c1_card.locator("[data-evidence-link]").click()
    expect(phone.locator("h1")).to_contain_text("C1 上海远丰机械有限公司")
    evidence = phone.locator("[data-customer-evidence]")
    expect(evidence.locator("[data-kind=orders_dried_up]")).to_be_visible()
    expect(evidence.locator("[data-kind=contact_redirected]")).to_be_visible()
    shot(phone, "insights-3-customer-evidence")

    # Back on his page she opens a case file, and exports it for HR.
    phone.goto(rep_page)
    phone.fill("[data-case-form] input[name=title]", "何涛 飞单复核")
    phone.locator("[data-open-case]").click()
    expect(phone.locator("h1")).to_have_text("何涛 飞单复核")
    expect(phone.locator("ul.evidence").first).to_contain_text("上海远丰机械有限公司")
    shot(phone, "insights-4-case-file")
    with phone.expect_download() as download_info:
        phone.locator("[data-export-pdf]").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    case = CaseFile.objects.get()
    assert case.rep == rep1 and case.evidence["as_of"] == LAST_DAY.isoformat()
    log_out(phone)

    # 何涛 himself: 403 on every risk page and endpoint, with real ids in them.
    log_in(phone, base, "rep1")
    ids = {
        "rep_id": rep1.pk,
        "customer_id": c1.pk,
        "case_id": case.pk,
        "finding_id": Finding.objects.filter(run=company, rep=rep1).first().pk,
    }
    csrf = next(c["value"] for c in phone.context.cookies() if c["name"] == "csrftoken")
    checked = 0
    for pattern in [*urls.pages, *urls.api_v1]:
        path = reverse(pattern.name, kwargs={k: ids[k] for k in pattern.pattern.converters})
        got = phone.request.get(f"{base}{path}", max_redirects=0)
        posted = phone.request.post(
            f"{base}{path}",
            headers={"X-CSRFToken": csrf, "Referer": f"{base}/"},
            form={"action": "case", "title": "我自己看看", "reason": "看过了", "text": "看看"},
            max_redirects=0,
        )
        assert got.status in (403, 405), (path, got.status)
        assert posted.status in (403, 405), (path, posted.status)
        assert 403 in (got.status, posted.status), path
        checked += 1
    assert checked == 14
    assert CaseFile.objects.count() == 1 and not Finding.objects.filter(dismissed=True).exists()
    phone.goto(f"{base}/")  # and no way there from his pages
    expect(phone.locator("a[href^='/insights/']")).to_have_count(0)
