"""The duplicate check: a company recognised however it is written, every match explained."""

from __future__ import annotations

import pytest

from kedun.customers.identity.keys import identity_keys
from kedun.customers.identity.names import parse_company_name
from kedun.customers.matching import DUPLICATE, POSSIBLE
from kedun.customers.services import customer_register, matches_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def tencent(cast):
    return customer_register(
        actor=cast.east_rep,
        name="深圳市腾讯计算机系统有限公司",
        phone="0755-86013388",
        website="https://www.tencent.com",
        tax_id="91440300708461136T",
    )


def check(**typed) -> list:
    typed.setdefault("name", "")
    return matches_for(
        identity_keys(
            name=typed["name"],
            phones=[typed.get("phone", "")],
            emails=[typed.get("email", "")],
            websites=[typed.get("website", "")],
            tax_id=typed.get("tax_id", ""),
        )
    )


@pytest.mark.parametrize(
    "written",
    [
        "深圳市腾讯计算机系统有限公司",
        "腾讯计算机系统（深圳）有限公司",
        "腾讯计算机系统(深圳)有限公司",
        "深圳腾讯计算机系统公司",
        "騰訊計算機系統有限公司",
        "腾讯计算机系统",
        "广东省深圳市腾讯计算机系统有限公司",
        " 深圳市 腾讯计算机系统  有限公司。",
        "深圳市腾讯计算机系统有限责任公司",
        "深圳市\u200b腾讯计算机系统有限公司",
        "ＳＨＥＮＺＨＥＮ腾讯计算机系统有限公司".replace("ＳＨＥＮＺＨＥＮ", "深圳"),
    ],
)
def test_the_same_company_however_written_is_a_duplicate(tencent, written):
    found = check(name=written)
    assert found[0].customer == tencent
    assert found[0].level == DUPLICATE
    assert any("腾讯计算机系统" in reason for reason in found[0].reasons)


def test_a_homophone_typo_is_possible_and_says_why(tencent):
    found = check(name="深圳市腾迅计算机系统有限公司")
    assert [(m.customer, m.level) for m in found] == [(tencent, POSSIBLE)]
    assert "teng xun ji suan ji xi tong" in found[0].reasons[0]


def test_a_different_trade_name_one_character_away_is_another_company(tencent):
    assert check(name="深圳市腾达计算机系统有限公司") == []


def test_the_same_name_in_another_region_is_possible(tencent):
    found = check(name="上海市腾讯计算机系统有限公司")
    assert [(m.customer, m.level) for m in found] == [(tencent, POSSIBLE)]
    assert "所在地区不同" in found[0].reasons[0]


def test_a_trade_name_typed_alone_is_possible(tencent):
    found = check(name="腾讯")
    assert [(m.customer, m.level) for m in found] == [(tencent, POSSIBLE)]


def test_the_same_credit_code_is_a_duplicate_whatever_the_name(tencent):
    found = check(name="某某有限公司", tax_id="91440300708461136T")
    assert found[0].customer == tencent and found[0].level == DUPLICATE
    assert "91440300708461136T" in found[0].reasons[0]


def test_a_phone_with_a_compatible_name_is_a_duplicate(tencent):
    found = check(name="腾讯公司", phone="+86 755 8601 3388")
    assert found[0].customer == tencent and found[0].level == DUPLICATE
    assert any("0755" in r and "3388" not in r.replace("**88", "") for r in found[0].reasons)


def test_a_phone_alone_is_not_identity(tencent):
    found = check(name="华美五金制品有限公司", phone="0755-86013388")
    assert [(m.customer, m.level) for m in found] == [(tencent, POSSIBLE)]


def test_a_phone_shared_by_many_customers_is_no_evidence(cast):
    agent_phone = "13800138000"  # an accounting agent registers companies under its number
    for name in ["甲乙商贸有限公司", "丙丁物流有限公司", "戊己包装有限公司", "庚辛建材有限公司"]:
        customer_register(actor=cast.east_rep, name=name, phone=agent_phone, confirm_possible=True)
    assert check(name="壬癸食品有限公司", phone=agent_phone) == []


def test_a_company_domain_with_a_compatible_name_is_a_duplicate(tencent):
    found = check(name="腾讯", email="pony@tencent.com")
    assert found[0].customer == tencent and found[0].level == DUPLICATE


def test_a_free_mail_domain_identifies_nobody(cast):
    customer_register(actor=cast.east_rep, name="甲乙商贸有限公司", email="boss@qq.com")
    assert check(name="丙丁物流有限公司", email="other@qq.com") == []


def test_an_invalid_credit_code_is_noted_not_matched(tencent):
    keys = identity_keys(name="某某", tax_id="91440300708461136X")
    assert keys.tax_id == ""
    assert keys.problems


def test_matches_come_best_first_and_at_most_five(cast):
    for city in ["北京", "上海", "广州", "杭州", "南京", "成都", "武汉"]:
        customer_register(
            actor=cast.east_rep, name=f"{city}市蓝海科技有限公司", confirm_possible=True
        )
    found = check(name="杭州蓝海科技有限公司")
    assert len(found) == 5
    assert found[0].level == DUPLICATE and found[0].customer.name == "杭州市蓝海科技有限公司"
    assert all(m.level == POSSIBLE for m in found[1:])


@pytest.mark.parametrize(
    ("name", "core", "region", "trade", "form"),
    [
        ("腾讯计算机系统（深圳）有限公司", "腾讯计算机系统", "广东/深圳", "腾讯", "有限公司"),
        ("杭州阿里巴巴网络技术有限公司", "阿里巴巴网络技术", "浙江/杭州", "阿里巴巴", "有限公司"),
        ("阿里巴巴网络技术有限公司", "阿里巴巴网络技术", "", "阿里巴巴", "有限公司"),
        (
            "红河哈尼族彝族自治州开坛服装辅料有限公司",
            "开坛服装辅料",
            "云南/红河",
            "开坛",
            "有限公司",
        ),
        ("攀枝花电机（乌鲁木齐市）有限公司", "攀枝花电机", "新疆/乌鲁木齐", "攀枝花", "有限公司"),
        ("腾讯科技（深圳）有限公司上海分公司", "腾讯科技", "广东/深圳", "腾讯", "有限公司"),
        ("三一重工股份有限公司", "三一重工", "", "三一重工", "股份有限公司"),
    ],
)
def test_names_are_split_into_their_parts(name, core, region, trade, form):
    parsed = parse_company_name(name)
    assert (parsed.core, parsed.region.key(), parsed.trade_name, parsed.legal_form) == (
        core,
        region,
        trade,
        form,
    )


def test_a_name_typed_from_the_middle_is_found_through_the_bigram_index(cast):
    from kedun.customers.models import CustomerNameGramStat

    market = customer_register(actor=cast.east_rep, name="深圳市华强北电子市场有限公司")
    customer_register(actor=cast.east_rep, name="上海市东方电子有限公司")
    assert CustomerNameGramStat.objects.get(gram="电子").count == 2
    found = check(name="强北电子")
    assert [(m.customer, m.level) for m in found] == [(market, POSSIBLE)]
    assert "华强北电子市场" in found[0].reasons[0]
