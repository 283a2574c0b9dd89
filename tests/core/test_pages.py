"""The web shell: navigation by role, real counts, languages, phone-ready markup, headers."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def menu_labels(page: str) -> list[str]:
    nav = re.search(r'<nav id="nav" class="nav">(.*?)</nav>', page, re.S).group(1)
    return re.findall(r">([^<]+)</a>", nav)


@pytest.mark.parametrize(
    ("role", "menu"),
    [
        (
            "admin",
            [
                "首页",
                "客户",
                "公海",
                "客户查询",
                "订单",
                "产品",
                "邮件",
                "应收账款",
                "提成",
                "销售报表",
                "外勤",
                "撞单申诉",
                "飞单风险",
                "关键客户",
                "人员",
                "离职交接",
                "公海规则",
                "销售设置",
                "邮箱管理",
                "竞争对手",
                "短信模板",
                "导出",
                "导出审批",
                "额度与离职",
                "泄露文件追查",
                "审计日志",
                "API",
            ],
        ),
        (
            "manager",
            [
                "首页",
                "我的客户",
                "今日跟进",
                "我的外勤",
                "报价",
                "订单",
                "客户",
                "公海",
                "客户查询",
                "产品",
                "邮件",
                "应收账款",
                "提成",
                "销售报表",
                "外勤",
                "撞单申诉",
                "飞单风险",
                "关键客户",
                "人员",
                "离职交接",
                "公海规则",
                "销售设置",
                "竞争对手",
                "短信模板",
                "导出",
                "导出审批",
                "额度与离职",
            ],
        ),
        (
            "sales",
            [
                "首页",
                "我的客户",
                "今日跟进",
                "我的外勤",
                "报价",
                "订单",
                "客户",
                "公海",
                "客户查询",
                "产品",
                "邮件",
                "提成",
                "导出",
            ],
        ),
        ("finance", ["首页", "客户", "客户查询", "订单", "邮件", "应收账款", "提成", "导出"]),
        (
            "auditor",
            [
                "首页",
                "客户",
                "客户查询",
                "订单",
                "邮件",
                "应收账款",
                "提成",
                "销售报表",
                "导出",
                "泄露文件追查",
                "审计日志",
            ],
        ),
    ],
)
def test_the_menu_follows_the_role(cast, client, role, menu):
    client.force_login(cast.by_role(role))
    assert menu_labels(client.get(reverse("home")).content.decode()) == menu


def test_the_home_page_shows_real_counts(cast, client):
    CustomerFactory.create_batch(3, owner=cast.east_rep)
    CustomerFactory.create_batch(2, owner=cast.east_rep2)
    CustomerFactory(owner=cast.south_rep)
    client.force_login(cast.east_mgr)
    counts = client.get(reverse("home")).context["counts"]
    assert counts == {"my_customers": 0, "visible_customers": 5, "people_in_scope": 6}
    client.force_login(cast.east_rep)
    assert client.get(reverse("home")).context["counts"]["my_customers"] == 3


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("customer-list"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/customers/"


def test_simplified_chinese_is_the_default(cast, client):
    page = client.get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in page and "登录客盾" in page


def test_switching_to_english_and_traditional_chinese(cast, client):
    client.force_login(cast.east_rep)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert "My customers" in page and '<html lang="en">' in page
    client.post(reverse("set_language"), {"language": "zh-hant", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert "我的客戶" in page and "業務員" in page


def test_pages_are_ready_for_a_phone(client):
    page = client.get(reverse("login")).content.decode()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert 'rel="manifest"' in page
    assert client.get(reverse("manifest")).status_code == 200


def test_htmx_is_vendored_and_served_locally(client):
    page = client.get(reverse("login")).content.decode()
    assert 'src="/static/vendor/htmx/htmx.min.js"' in page
    assert "://" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', page))
    assert client.get("/static/vendor/htmx/htmx.min.js").status_code == 200


def test_the_customer_search_answers_htmx_with_the_rows_only(cast, client):
    CustomerFactory(owner=cast.east_rep, name="杭州恒达机械有限公司")
    CustomerFactory(owner=cast.east_rep, name="上海宏远电子有限公司")
    client.force_login(cast.east_rep)
    response = client.get(reverse("customer-list"), {"q": "恒达"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "杭州恒达机械有限公司" in body and "上海宏远电子有限公司" not in body


def test_a_salesperson_registers_a_customer_from_the_page(cast, client):
    client.force_login(cast.east_rep)
    response = client.post(
        reverse("customer-new"),
        {
            "name": "苏州新辉包装材料有限公司",
            "contact_name": "周八",
            "contact_phone": "13700000000",
        },
    )
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "苏州新辉包装材料有限公司" in detail and "周八" in detail


def test_security_headers_are_set(client):
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_templates_have_no_inline_scripts_or_styles():
    # The Content-Security-Policy forbids them; a page that relies on one breaks silently.
    templates = Path(settings.PACKAGE_DIR / "templates").rglob("*.html")
    for template in templates:
        text = template.read_text()
        assert "<style" not in text, template
        assert " style=" not in text, template
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\son[a-z]+=", text), template


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_the_chinese_catalogues_are_complete(language):
    path = Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES"
    catalogue = polib.pofile(str(path / "django.po"))
    assert len(catalogue) > 100
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []
    compiled = polib.mofile(str(path / "django.mo"))
    assert {e.msgid for e in compiled} >= {e.msgid for e in catalogue}
