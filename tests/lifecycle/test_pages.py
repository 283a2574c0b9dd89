"""The lifecycle pages (MISSION §3–§4): my customers with their release countdowns, today's
follow-ups, the pool with its claim and assign buttons, the lifecycle sections of a customer's
page, the pool settings, the departure handover and the key-customer report — each shown to
the roles that may use it, refused to the others, and a refusal changes nothing.

Pages are read in English (Accept-Language), so the assertions hold whatever the catalogues."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.customers.models import (
    Customer,
    FollowUp,
    OwnershipEvent,
    OwnershipKind,
    TeamAccess,
    TeamMember,
)
from kedun.customers.services import ContactInput, customer_register
from kedun.lifecycle.models import PoolPolicy, ReleaseRule
from kedun.lifecycle.services import customer_release, team_member_add
from kedun.lifecycle.sweep import pool_sweep

from .conftest import T0, days

pytestmark = pytest.mark.django_db

REASON = "客户长期无回应"


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with clock.frozen_at(T0):
        yield client


def page(client, user, name, *args, **params):
    client.force_login(user)
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def row_of(html: str, code: str) -> str:
    start = html.index(f'data-customer="{code}"')
    return html[start : html.index("</tr>", start)]


# -- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("sales", {"my-customers", "follow-ups-today", "pool"}),
        (
            "manager",
            {
                "my-customers",
                "follow-ups-today",
                "pool",
                "pool-settings",
                "handover",
                "key-customers-report",
            },
        ),
        (
            "admin",
            {
                "my-customers",
                "follow-ups-today",
                "pool",
                "pool-settings",
                "handover",
                "key-customers-report",
            },
        ),
        ("finance", set()),
        ("auditor", set()),
    ],
)
def test_each_page_opens_for_its_roles_only(cast, client, role, allowed):
    client.force_login(cast.by_role(role))
    for name in (
        "my-customers",
        "follow-ups-today",
        "pool",
        "pool-settings",
        "handover",
        "key-customers-report",
    ):
        status = client.get(reverse(name)).status_code
        assert status == (200 if name in allowed else 403), (name, status)


def test_anonymous_visitors_are_sent_to_log_in(client):
    for name in ("my-customers", "follow-ups-today", "pool", "pool-settings", "handover"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_menu_offers_the_lifecycle_pages_by_role(cast, client):
    menu = page(client, cast.east_rep, "home").split('<nav id="nav"')[1].split("</nav>")[0]
    assert "My customers" in menu and "Follow-ups today" in menu and "Pool" in menu
    assert "Pool rules" not in menu and "Departure handover" not in menu
    menu = page(client, cast.east_mgr, "pool-settings").split('<nav id="nav"')[1]
    assert "Pool rules" in menu and "Departure handover" in menu and "Key customers" in menu
    # On /pool/settings/ the settings entry is the active one, not the pool's.
    assert 'href="/pool/settings/" class="active"' in menu
    assert 'href="/pool/" class="active"' not in menu


# -- my customers, today's follow-ups ---------------------------------------------------------


def test_my_customers_shows_each_release_countdown(cast, client, owned):
    calm = owned(since=T0 - days(25), name="杭州恒达机械有限公司")  # 30 days: 5 left
    urgent = owned(since=T0 - days(28), name="上海宏远电子有限公司")  # 2 left
    held = owned(since=T0 - days(29), on_hold=True, name="苏州新辉包装材料有限公司")
    owned(owner=cast.east_rep2, name="别人的客户有限公司")
    html = page(client, cast.east_rep, "my-customers")
    assert "别人的客户有限公司" not in html
    assert 'data-days-left="5"' in row_of(html, calm.code)
    assert "Released in 5 days" in row_of(html, calm.code)
    assert 'class="countdown"' in row_of(html, calm.code)  # not highlighted
    assert "Released in 2 days" in row_of(html, urgent.code)
    assert 'class="countdown error"' in row_of(html, urgent.code)  # highlighted: ≤ 3 days
    assert "On hold" in row_of(html, held.code) and "Released in" not in row_of(html, held.code)


def test_my_customers_search_answers_htmx_with_the_rows_only(cast, client, owned):
    owned(name="杭州恒达机械有限公司")
    owned(name="上海宏远电子有限公司")
    client.force_login(cast.east_rep)
    response = client.get(reverse("my-customers"), {"q": "恒达"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "杭州恒达机械有限公司" in body and "上海宏远电子有限公司" not in body


def test_todays_follow_ups_are_those_due_today_or_overdue(cast, client, owned):
    today = T0.date()
    due = owned(next_follow_up_on=today, name="今天要跟进有限公司")
    late = owned(next_follow_up_on=today - days(3), name="逾期三天有限公司")
    owned(next_follow_up_on=today + days(1), name="明天再说有限公司")
    html = page(client, cast.east_rep, "follow-ups-today")
    assert "明天再说有限公司" not in html
    assert 'data-late="0"' in row_of(html, due.code)
    assert "3 days overdue" in row_of(html, late.code)


def test_a_reminder_is_cleared_from_the_list(cast, client, owned):
    due = owned(next_follow_up_on=T0.date(), name="今天要跟进有限公司")
    client.force_login(cast.east_rep)
    back = reverse("follow-ups-today")
    response = client.post(
        reverse("customer-detail", args=[due.pk]), {"action": "follow_up_done", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    due.refresh_from_db()
    assert due.next_follow_up_on is None


# -- the pool ---------------------------------------------------------------------------------


def test_a_rep_claims_a_customer_through_the_pool_page(cast, client, in_pool):
    customer = in_pool(since=T0 - days(2), department=cast.east, name="无锡新锐电子有限公司")
    html = page(client, cast.east_rep, "pool")
    assert reverse("pool-claim", args=[customer.pk]) in row_of(html, customer.code)
    response = client.post(reverse("pool-claim", args=[customer.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customer-detail", args=[customer.pk])
    customer.refresh_from_db()
    assert customer.owner == cast.east_rep and customer.owned_since == T0
    assert OwnershipEvent.objects.filter(customer=customer, kind=OwnershipKind.CLAIMED).exists()
    detail = client.get(response["Location"]).content.decode()
    assert "is now your customer" in detail and "Released in 30 days" in detail


def test_a_refused_claim_shows_the_services_reason_and_changes_nothing(cast, client, owned):
    customer = owned(since=T0 - days(10), name="宁波海天塑胶有限公司")
    with clock.frozen_at(T0 - days(2)):
        customer_release(actor=cast.east_rep, customer_id=customer.pk, reason=REASON)
    client.force_login(cast.east_rep)  # the previous owner: 30 days' cooldown
    response = client.post(reverse("pool-claim", args=[customer.pk]), {"q": "海天"}, follow=True)
    assert response.redirect_chain[0][0] == "/pool/?q=%E6%B5%B7%E5%A4%A9"
    assert "you can claim it again on 2026-03-30" in response.content.decode()
    customer.refresh_from_db()
    assert customer.owner is None


def test_nobody_claims_a_customer_in_its_first_day_in_the_pool(cast, client, in_pool):
    customer = in_pool(since=T0 - days(0.5), department=cast.east)
    html = page(client, cast.east_rep2, "pool")
    assert "data-embargo" in row_of(html, customer.code)
    assert "Claimable from 03-02 22:00" in row_of(html, customer.code)
    response = client.post(reverse("pool-claim", args=[customer.pk]), follow=True)
    assert "nobody can claim it before 2026-03-02 22:00" in response.content.decode()
    customer.refresh_from_db()
    assert customer.owner is None


def test_the_pool_page_never_shows_contact_data(cast, client):
    customer = customer_register(
        actor=cast.east_rep,
        name="上海市恒达机械有限公司",
        phone="021-62345678 / 13912345678",
        email="canary.buyer@hengda-jx.com",
        contacts=[ContactInput(name="欧阳锋", phone="13787654321", email="ouyang@hengda-jx.com")],
        details={
            "province": "上海",
            "city": "上海",
            "industry": "机械制造",
            "address": "漕宝路 88 号",
        },
    )
    with clock.frozen_at(T0 - days(3)):
        customer_release(actor=cast.east_rep, customer_id=customer.pk, reason=REASON)
    html = page(client, cast.east_rep2, "pool")
    row = row_of(html, customer.code)
    assert "上海市恒达机械有限公司" in row and "机械制造" in row and "华东" in row
    for secret in ("62345678", "13912345678", "canary.buyer", "欧阳锋", "13787654321", "漕宝路"):
        assert secret not in html


def test_the_pool_page_lists_only_the_viewers_pools(cast, client, in_pool):
    mine = in_pool(department=cast.east_team, name="华东公海客户有限公司")
    company = in_pool(department=None, name="公司公海客户有限公司")
    south = in_pool(department=cast.south, name="华南公海客户有限公司")
    html = page(client, cast.east_rep, "pool")
    assert mine.name in html and company.name in html and south.name not in html


def test_a_manager_assigns_a_pool_customer_to_a_rep(cast, client, in_pool):
    customer = in_pool(department=cast.east)
    html = page(client, cast.east_mgr, "pool")
    assert reverse("pool-assign", args=[customer.pk]) in html
    assert f'<option value="{cast.south_rep.pk}"' not in html  # not one of theirs
    client.post(reverse("pool-assign", args=[customer.pk]), {"to": cast.east_rep2.pk})
    customer.refresh_from_db()
    assert customer.owner == cast.east_rep2


def test_a_rep_cannot_assign(cast, client, in_pool):
    customer = in_pool(department=cast.east)
    html = page(client, cast.east_rep, "pool")
    assert reverse("pool-assign", args=[customer.pk]) not in html
    response = client.post(reverse("pool-assign", args=[customer.pk]), {"to": cast.east_rep.pk})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.owner is None


# -- the customer's page ----------------------------------------------------------------------


def test_the_owner_logs_a_follow_up_and_the_countdown_starts_again(cast, client, owned):
    customer = owned(since=T0 - days(28))
    html = page(client, cast.east_rep, "customer-detail", customer.pk)
    assert "Released in 2 days" in html
    next_day = (T0 + days(7)).date().isoformat()
    response = client.post(
        reverse("customer-detail", args=[customer.pk]),
        {
            "action": "follow_up",
            "follow_up-kind": "call",
            "follow_up-content": "电话沟通了新一季度的采购计划",
            "follow_up-next_follow_up_on": next_day,
        },
        follow=True,
    )
    html = response.content.decode()
    assert "the release countdown starts again" in html
    assert "Released in 30 days" in html and "电话沟通了新一季度的采购计划" in html
    customer.refresh_from_db()
    assert customer.last_follow_up_at == T0
    assert customer.next_follow_up_on.isoformat() == next_day


def test_a_follow_up_the_service_refuses_is_shown_again_with_the_reason(cast, client, owned):
    customer = owned()
    client.force_login(cast.east_rep)
    response = client.post(
        reverse("customer-detail", args=[customer.pk]),
        {
            "action": "follow_up",
            "follow_up-kind": "visit",
            "follow_up-content": "上门拜访，客户要样品",
            "follow_up-next_follow_up_on": "2026-03-01",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The next follow-up date is in the past." in html
    assert "上门拜访，客户要样品" in html  # what was typed is kept
    assert not FollowUp.objects.filter(customer=customer).exists()


def controls(html: str) -> set[str]:
    import re

    return set(re.findall(r'name="action" value="([a-z_]+)"', html))


def test_each_viewer_gets_the_controls_the_services_allow(cast, client, owned):
    customer = owned(owner=cast.east_rep)
    owner = {"follow_up", "stage", "grade", "release", "team_add"}
    # Contact data is changed by those who see it unmasked: the owner and collaborators.
    contact = {"contact", "contact_person"}
    assert controls(page(client, cast.east_rep, "customer-detail", customer.pk)) == owner | contact
    manager = owner | {"transfer", "hold"}
    assert controls(page(client, cast.east_mgr, "customer-detail", customer.pk)) == manager
    assert controls(page(client, cast.boss, "customer-detail", customer.pk)) == manager
    assert controls(page(client, cast.finance, "customer-detail", customer.pk)) == set()
    assert controls(page(client, cast.auditor, "customer-detail", customer.pk)) == set()
    with clock.frozen_at(T0):
        team_member_add(
            actor=cast.east_rep, customer=customer, user=cast.south_rep, access=TeamAccess.WRITE
        )
    assert controls(page(client, cast.south_rep, "customer-detail", customer.pk)) == {
        "follow_up",
        *contact,
    }


def test_someone_without_the_control_is_refused_and_nothing_changes(cast, client, owned):
    customer = owned(owner=cast.east_rep)
    client.force_login(cast.finance)
    url = reverse("customer-detail", args=[customer.pk])
    assert client.post(url, {"action": "release", "release-reason": REASON}).status_code == 403
    client.force_login(cast.east_rep)
    response = client.post(
        url, {"action": "hold", "hold-hold": "True", "hold-reason": "大客户，经理特批保留"}
    )
    assert response.status_code == 403
    client.force_login(cast.east_rep2)  # not theirs: not even visible
    assert client.post(url, {"action": "release", "release-reason": REASON}).status_code == 404
    customer.refresh_from_db()
    assert customer.owner == cast.east_rep and not customer.on_hold


def test_the_owner_releases_a_customer_with_a_reason(cast, client, owned):
    customer = owned(owner=cast.east_rep)
    client.force_login(cast.east_rep)
    url = reverse("customer-detail", args=[customer.pk])
    response = client.post(url, {"action": "release", "release-reason": "短"})
    assert response.status_code == 200 and "at least 5 characters" in response.content.decode()
    response = client.post(url, {"action": "release", "release-reason": REASON})
    assert response["Location"] == reverse("my-customers")  # the customer is out of sight
    customer.refresh_from_db()
    assert customer.owner is None and customer.pool_entered_at == T0


def test_a_manager_transfers_and_holds_a_customer(cast, client, owned):
    customer = owned(owner=cast.east_rep, since=T0 - days(10))
    client.force_login(cast.east_mgr)
    url = reverse("customer-detail", args=[customer.pk])
    client.post(
        url, {"action": "transfer", "transfer-to": cast.east_rep2.pk, "transfer-reason": REASON}
    )
    customer.refresh_from_db()
    assert customer.owner == cast.east_rep2
    client.post(url, {"action": "hold", "hold-hold": "True", "hold-reason": "大客户，经理特批保留"})
    html = page(client, cast.east_mgr, "customer-detail", customer.pk)
    assert 'data-exempt="hold"' in html and "Lift the hold" in html
    customer.refresh_from_db()
    assert customer.on_hold


def test_the_owner_changes_stage_and_grade(cast, client, owned):
    customer = owned(owner=cast.east_rep)
    client.force_login(cast.east_rep)
    url = reverse("customer-detail", args=[customer.pk])
    client.post(url, {"action": "stage", "stage-stage": "quoted"})
    client.post(url, {"action": "grade", "grade-grade": "A"})
    customer.refresh_from_db()
    assert (customer.stage, customer.grade) == ("quoted", "A")


def test_the_owner_adds_and_removes_a_collaborator(cast, client, owned):
    customer = owned(owner=cast.east_rep)
    client.force_login(cast.east_rep)
    url = reverse("customer-detail", args=[customer.pk])
    client.post(
        url,
        {
            "action": "team_add",
            "team_add-user": cast.south_rep.pk,
            "team_add-access": "read",
            "team_add-until": "2026-06-30",
        },
    )
    member = TeamMember.objects.get(customer=customer)
    assert (member.user, member.access, str(member.until)) == (cast.south_rep, "read", "2026-06-30")
    html = page(client, cast.east_rep, "customer-detail", customer.pk)
    assert 'data-member="south_rep"' in html
    client.post(url, {"action": "team_remove", "team_remove-user": cast.south_rep.pk})
    assert not TeamMember.objects.filter(customer=customer).exists()


def test_the_ownership_history_names_each_change_and_its_rule(cast, client, owned):
    customer = owned(owner=cast.east_rep, since=T0 - days(40))
    with clock.frozen_at(T0 - days(5)):
        pool_sweep()
    with clock.frozen_at(T0 - days(3)):
        from kedun.lifecycle.services import customer_claim

        customer_claim(actor=cast.east_rep2, customer_id=customer.pk)
    html = page(client, cast.east_mgr, "customer-detail", customer.pk)
    history = html.split('id="ownership-history"')[1].split("</table>")[0]
    assert "Released automatically" in history
    assert "30 days without a qualifying follow-up" in history
    assert "the system" in history
    assert "Claimed from the pool" in history and "east_rep2" in history


# -- pool settings ----------------------------------------------------------------------------


def test_the_boss_sets_the_release_rules_and_each_change_is_audited(cast, client):
    client.force_login(cast.boss)
    response = client.post(
        reverse("pool-settings"),
        {
            "department": "company",
            "save": "rules",
            "rules-A_no_follow_up_days": "45",
            "rules-A_no_deal_days": "120",
        },
    )
    assert response.status_code == 302
    rule = ReleaseRule.objects.get(department=None, grade="A")
    assert (rule.no_follow_up_days, rule.no_deal_days, rule.updated_by) == (45, 120, cast.boss)
    event = AuditEvent.objects.get(action="pool.release_rules_set")
    assert event.actor_id == cast.boss.pk and '"A":[[60,90],' not in event.changes
    html = page(client, cast.boss, "pool-settings")
    assert 'value="45"' in html


def test_pool_settings_say_what_is_wrong_and_save_nothing(cast, client):
    client.force_login(cast.boss)
    response = client.post(
        reverse("pool-settings"),
        {
            "department": "company",
            "save": "rules",
            "rules-B_no_follow_up_days": "0",
            "rules-B_no_deal_days": "90",
            "rules-C_no_follow_up_days": "40",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 1." in html
    assert "Fill in both numbers of the row" in html
    assert not ReleaseRule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="pool.").exists()


def test_the_pool_settings_errors_are_in_the_users_language(cast, client):
    client.force_login(cast.boss)
    response = client.post(
        reverse("pool-settings"),
        {"department": "company", "save": "rules", "rules-any_no_follow_up_days": "0"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "确保该值大于或等于1。" in response.content.decode()


def test_the_boss_sets_the_company_policy(cast, client):
    client.force_login(cast.boss)
    data = {
        "department": "company",
        "save": "policy",
        "policy-warn_days": "5",
        "policy-max_held": "150",
        "policy-exclude_won_from_limit": "on",
        "policy-daily_claims": "10",
        "policy-cooldown_days": "30",
        "policy-embargo_hours": "24",
        "policy-order_exempt_days": "180",
        "policy-qualifying_kinds": ["call", "visit"],
        "policy-min_note_length": "10",
    }
    assert client.post(reverse("pool-settings"), data).status_code == 302
    policy = PoolPolicy.objects.get(department=None)
    assert (policy.max_held, policy.qualifying_kinds) == (150, ["call", "visit"])
    assert AuditEvent.objects.filter(action="pool.policy_set", actor_id=cast.boss.pk).exists()


def test_a_manager_sets_their_department_but_not_the_company(cast, client):
    client.force_login(cast.east_mgr)
    html = page(client, cast.east_mgr, "pool-settings", department="company")
    assert 'id="read-only"' in html
    rules = {"save": "rules", "rules-any_no_follow_up_days": "20", "rules-any_no_deal_days": "60"}
    response = client.post(reverse("pool-settings"), {"department": "company", **rules})
    assert response.status_code == 403
    response = client.post(reverse("pool-settings"), {"department": cast.south.pk, **rules})
    assert response.status_code == 403
    assert not ReleaseRule.objects.exists()
    response = client.post(reverse("pool-settings"), {"department": cast.east.pk, **rules})
    assert response.status_code == 302
    assert ReleaseRule.objects.get().department == cast.east


# -- departure handover, key customers --------------------------------------------------------


def test_a_manager_hands_a_leavers_customers_over_after_confirming(cast, client, owned):
    customers = [owned(owner=cast.east_rep) for _ in range(3)]
    client.force_login(cast.east_mgr)
    choice = {"user": cast.east_rep.pk, "to": [cast.east_rep2.pk], "reason": "离职"}
    preview = client.post(reverse("handover"), choice).content.decode()
    assert 'id="handover-confirm"' in preview and "3 customers" in preview
    cast.east_rep.refresh_from_db()
    assert cast.east_rep.is_active  # nothing happens before the confirmation
    report = client.post(reverse("handover"), {**choice, "confirmed": "1"}).content.decode()
    assert 'id="handover-report"' in report
    assert '<dd data-field="customers">3</dd>' in report
    cast.east_rep.refresh_from_db()
    assert not cast.east_rep.is_active
    assert {c.owner for c in Customer.objects.filter(pk__in=[c.pk for c in customers])} == {
        cast.east_rep2
    }


def test_a_handover_needs_reps_or_the_pool(cast, client):
    client.force_login(cast.east_mgr)
    response = client.post(reverse("handover"), {"user": cast.east_rep.pk})
    assert "Choose who takes the customers over, or the pool." in response.content.decode()
    response = client.post(
        reverse("handover"), {"user": cast.south_rep.pk, "to_pool": "on", "confirmed": "1"}
    )
    assert "Select a valid choice" in response.content.decode()  # not theirs to hand over
    cast.south_rep.refresh_from_db()
    assert cast.south_rep.is_active


def test_the_report_lists_key_customers_known_to_one_person(cast, client, owned):
    alone = owned(owner=cast.east_rep, grade="A", name="独家大客户有限公司")
    helped = owned(owner=cast.east_rep, grade="A", name="有人协作大客户有限公司")
    owned(owner=cast.east_rep, grade="B", name="普通客户有限公司")
    owned(owner=cast.south_rep, grade="A", name="华南大客户有限公司")
    with clock.frozen_at(T0):
        team_member_add(
            actor=cast.east_rep, customer=helped, user=cast.east_rep2, access=TeamAccess.READ
        )
    html = page(client, cast.east_mgr, "key-customers-report")
    assert alone.name in html
    for other in (helped.name, "普通客户有限公司", "华南大客户有限公司"):
        assert other not in html
