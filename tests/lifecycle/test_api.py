"""The lifecycle API (/api/v1/…): my customers and their countdowns, the pool and its refusals,
changes of hands, follow-ups, the account team, reports, handover and the pool settings."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.customers.models import Customer, OwnershipEvent, OwnershipKind, TeamMember
from kedun.lifecycle.models import PoolPolicy, ReleaseRule
from kedun.lifecycle.selectors import key_customers_single_threaded
from kedun.lifecycle.services import team_member_add
from kedun.org.services import token_for_user
from tests.factories import ContactFactory, CustomerFactory, UserFactory

from .conftest import T0, days

pytestmark = pytest.mark.django_db

# Canaries: contact data that must never reach someone who may not see it.
PHONE = "13912345678"
EMAIL = "canary.zhao@hengda-jx.com"
CONTACT_PHONE = "13700001111"
CONTACT_EMAIL = "canary.qian@hengda-jx.com"


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def canaries_in(response) -> list[str]:
    text = json.dumps(response.json(), ensure_ascii=False)
    return [c for c in (PHONE, EMAIL, CONTACT_PHONE, CONTACT_EMAIL) if c in text]


@pytest.fixture
def api():
    """An API client that asks for English, so that messages can be read in assertions."""
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


def as_(client: APIClient, user) -> APIClient:
    client.force_authenticate(user)
    return client


def post(client: APIClient, url: str, data: dict | None = None):
    return client.post(url, data or {}, format="json")


def with_canaries(customer: Customer) -> Customer:
    customer.phone, customer.email = PHONE, EMAIL
    customer.save(update_fields=["phone", "email"])
    ContactFactory(customer=customer, name="钱经理", phone=CONTACT_PHONE, email=CONTACT_EMAIL)
    return customer


def refusal(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    return body["message"]


# -- my customers and follow-ups ---------------------------------------------------------------


def test_my_customers_carry_the_countdown_to_their_release(cast, api, owned):
    quiet = owned(cast.east_rep, since=T0 - days(25), phone=PHONE)
    held = owned(cast.east_rep, since=T0 - days(80), on_hold=True)
    owned(cast.east_rep2, since=T0 - days(25))
    with clock.frozen_at(T0):
        response = as_(api, cast.east_rep).get("/api/v1/my/customers/")
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {quiet.pk, held.pk}
    assert rows[quiet.pk]["release_in_days"] == 5
    assert rows[quiet.pk]["release_reason"] == "no_follow_up"
    assert rows[quiet.pk]["release_rule"] == "30 days without a qualifying follow-up"
    release_at = rows[quiet.pk]["release_at"]
    assert dt.datetime.fromisoformat(release_at) == T0 + days(5)
    assert rows[quiet.pk]["phone"] == PHONE  # the owner sees their own customer plain
    assert rows[held.pk]["release_in_days"] is None
    assert rows[held.pk]["release_at"] is None and rows[held.pk]["release_reason"] is None


def test_my_customers_answer_a_token_and_search_by_name(cast, client, owned):
    owned(cast.east_rep, name="杭州蓝海科技有限公司")
    owned(cast.east_rep, name="宁波远航物流有限公司")
    token = token_for_user(actor=None, user=cast.east_rep)
    response = client.get(
        "/api/v1/my/customers/", {"q": "远航"}, HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["宁波远航物流有限公司"]


@pytest.mark.parametrize(
    "url", ["/api/v1/my/customers/", "/api/v1/my/follow-ups-due/", "/api/v1/pool/"]
)
def test_a_list_costs_the_same_queries_for_2_rows_as_for_20(cast, api, owned, in_pool, url):
    client = as_(api, cast.east_rep)

    def queries_for(rows: int) -> int:
        for _ in range(rows):
            owned(cast.east_rep, next_follow_up_on=timezone.localdate(T0), phone=PHONE)
            in_pool(email=EMAIL)
        with clock.frozen_at(T0), CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200 and len(response.json()["results"]) == rows
        Customer.objects.all().delete()
        return len(queries)

    assert queries_for(2) == queries_for(20)


def test_follow_ups_due_lists_what_i_own_or_help_on_today_or_overdue(cast, api, owned):
    today = timezone.localdate(T0)
    mine = owned(cast.east_rep, next_follow_up_on=today, phone=PHONE)
    owned(cast.east_rep, next_follow_up_on=today + days(1))
    helped = owned(cast.east_rep2, next_follow_up_on=today - days(2))
    owned(cast.east_rep2, next_follow_up_on=today)
    with clock.frozen_at(T0):
        team_member_add(actor=cast.east_rep2, customer=helped, user=cast.east_rep, access="read")
        response = as_(api, cast.east_rep).get("/api/v1/my/follow-ups-due/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["id"], r["owner"]) for r in rows] == [
        (helped.pk, "east_rep2"),
        (mine.pk, "east_rep"),
    ]
    assert rows[1]["phone"] == PHONE


def test_a_follow_up_is_logged_listed_and_restarts_the_pool_clock(cast, api, owned):
    customer = owned(cast.east_rep, since=T0 - days(25))
    next_on = timezone.localdate(T0) + days(7)
    with clock.frozen_at(T0):
        logged = post(
            as_(api, cast.east_rep),
            f"/api/v1/customers/{customer.pk}/follow-ups/",
            {
                "kind": "call",
                "content": "电话沟通了报价细节，客户下周回复",
                "next_follow_up_on": next_on,
            },
        )
        listed = api.get(f"/api/v1/customers/{customer.pk}/follow-ups/")
        mine = api.get("/api/v1/my/customers/").json()["results"][0]
    assert logged.status_code == 201, logged.content
    body = logged.json()
    assert body["author"] == "east_rep" and body["kind"] == "call" and body["qualifying"] is True
    assert body["next_follow_up_on"] == next_on.isoformat()
    assert [row["id"] for row in listed.json()["results"]] == [body["id"]]
    assert mine["release_in_days"] == 30 and mine["next_follow_up_on"] == next_on.isoformat()
    customer.refresh_from_db()
    assert customer.last_follow_up_at == T0 and customer.stage == "contacted"


def test_follow_ups_are_refused_to_outsiders_and_checked(cast, api, owned):
    customer = owned(cast.east_rep)
    url = f"/api/v1/customers/{customer.pk}/follow-ups/"
    bad = post(as_(api, cast.east_rep), url, {"kind": "telepathy", "content": "……"})
    assert refusal(bad, 400, "invalid") and "kind" in bad.json()["detail"]
    outsider = as_(api, cast.south_rep)
    message = refusal(
        post(outsider, url, {"kind": "call", "content": "打电话问候"}), 403, "forbidden"
    )
    assert "Only the owner" in message
    refusal(outsider.get(url), 404, "not_found")
    assert customer.follow_ups.count() == 0


# -- the pool ----------------------------------------------------------------------------------


def test_the_pool_is_listed_searched_and_masked(cast, api, in_pool):
    fresh = with_canaries(in_pool(since=T0 - days(1) + hours(2), name="宁波远航物流有限公司"))
    old = in_pool(since=T0 - days(10), name="杭州蓝海科技有限公司")
    with clock.frozen_at(T0):
        everything = as_(api, cast.south_rep).get("/api/v1/pool/")
        searched = api.get("/api/v1/pool/", {"q": "蓝海"})
    assert everything.status_code == 200
    rows = everything.json()["results"]
    assert [row["id"] for row in rows] == [fresh.pk, old.pk]
    assert rows[0]["phone"] == "139****5678" and rows[0]["email"].endswith("@hengda-jx.com")
    assert dt.datetime.fromisoformat(rows[0]["claimable_from"]) == (
        fresh.pool_entered_at + hours(24)
    )
    assert canaries_in(everything) == []
    assert [row["id"] for row in searched.json()["results"]] == [old.pk]


def test_a_rep_claims_a_pool_customer_and_then_sees_its_contacts(cast, api, in_pool):
    customer = with_canaries(in_pool(since=T0 - days(3)))
    with clock.frozen_at(T0):
        response = post(as_(api, cast.east_rep), f"/api/v1/pool/{customer.pk}/claim/")
        history = api.get(f"/api/v1/customers/{customer.pk}/ownership/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["owner"] == "east_rep" and body["contact_access"] == "full"
    assert body["phone"] == PHONE and body["contacts"][0]["phone"] == CONTACT_PHONE
    assert body["pool_entered_at"] is None and body["release_in_days"] == 30
    [claimed] = history.json()["results"]
    assert claimed["kind"] == "claimed" and claimed["to_owner"] == "east_rep"
    assert claimed["actor"] == "east_rep" and claimed["from_owner"] is None


def test_nobody_may_claim_a_fresh_release_for_24_hours(cast, api, owned):
    customer = owned(cast.east_rep, since=T0 - days(20))
    with clock.frozen_at(T0):
        released = post(
            as_(api, cast.east_rep),
            f"/api/v1/customers/{customer.pk}/release/",
            {"reason": "客户已转向其他供应商"},
        )
    assert released.status_code == 200
    with clock.frozen_at(T0 + hours(1)):
        early = post(as_(api, cast.east_rep2), f"/api/v1/pool/{customer.pk}/claim/")
    message = refusal(early, 409, "embargo")
    assert timezone.localtime(T0 + hours(24)).strftime("%Y-%m-%d %H:%M") in message
    assert Customer.objects.get(pk=customer.pk).owner is None
    with clock.frozen_at(T0 + hours(24) + days(0.01)):
        later = post(api, f"/api/v1/pool/{customer.pk}/claim/")
    assert later.status_code == 200 and later.json()["owner"] == "east_rep2"


def test_the_previous_owner_is_told_when_the_cooldown_ends(cast, api, owned):
    customer = owned(cast.east_rep, since=T0 - days(20))
    client = as_(api, cast.east_rep)
    with clock.frozen_at(T0):
        post(client, f"/api/v1/customers/{customer.pk}/release/", {"reason": "暂时没有需求了"})
    with clock.frozen_at(T0 + days(2)):
        again = post(client, f"/api/v1/pool/{customer.pk}/claim/")
    message = refusal(again, 409, "cooldown")
    assert timezone.localdate(T0 + days(30)).isoformat() in message
    with clock.frozen_at(T0 + days(30) + hours(1)):
        assert post(client, f"/api/v1/pool/{customer.pk}/claim/").status_code == 200


def test_a_rep_at_the_holding_limit_cannot_claim(cast, api, owned, in_pool):
    PoolPolicy.objects.create(department=None, max_held=2)
    owned(cast.east_rep)
    owned(cast.east_rep)
    owned(cast.east_rep, stage="won")  # won customers do not count
    customer = in_pool()
    with clock.frozen_at(T0):
        response = post(as_(api, cast.east_rep), f"/api/v1/pool/{customer.pk}/claim/")
    message = refusal(response, 409, "holding_limit")
    assert "2 of 2" in message
    assert Customer.objects.get(pk=customer.pk).owner is None


def test_a_rep_cannot_claim_more_than_the_daily_limit(cast, api, in_pool):
    PoolPolicy.objects.create(department=None, daily_claims=2)
    first, second, third = in_pool(), in_pool(), in_pool()
    client = as_(api, cast.east_rep)
    with clock.frozen_at(T0):
        assert post(client, f"/api/v1/pool/{first.pk}/claim/").status_code == 200
        assert post(client, f"/api/v1/pool/{second.pk}/claim/").status_code == 200
        message = refusal(post(client, f"/api/v1/pool/{third.pk}/claim/"), 409, "daily_claim_limit")
    assert "2 customers today" in message
    with clock.frozen_at(T0 + days(1)):
        assert post(client, f"/api/v1/pool/{third.pk}/claim/").status_code == 200


def test_claiming_an_owned_or_missing_customer_is_refused(cast, api, owned):
    customer = owned(cast.east_rep)
    client = as_(api, cast.south_rep)
    with clock.frozen_at(T0):
        refusal(post(client, f"/api/v1/pool/{customer.pk}/claim/"), 409, "taken")
        refusal(post(client, "/api/v1/pool/999999/claim/"), 404, "not_found")
        refusal(
            post(as_(api, cast.finance), f"/api/v1/pool/{customer.pk}/claim/"), 403, "forbidden"
        )
    assert Customer.objects.get(pk=customer.pk).owner == cast.east_rep


def test_a_manager_assigns_a_pool_customer_to_a_rep_they_manage(cast, api, in_pool):
    customer = with_canaries(in_pool())
    url = f"/api/v1/pool/{customer.pk}/assign/"
    with clock.frozen_at(T0):
        by_rep = post(as_(api, cast.east_rep), url, {"to": "east_rep", "reason": "我想要"})
        unknown = post(as_(api, cast.east_mgr), url, {"to": "nobody"})
        outside = post(api, url, {"to": "south_rep"})
        assert Customer.objects.get(pk=customer.pk).owner is None
        done = post(api, url, {"to": "east_rep2", "reason": "熟悉该行业"})
    refusal(by_rep, 403, "forbidden")
    assert refusal(unknown, 400, "invalid") == "There is no user nobody."
    assert unknown.json()["detail"] == {"to": ["nobody"]}
    refusal(outside, 403, "forbidden")
    assert done.status_code == 200
    assert done.json()["owner"] == "east_rep2" and done.json()["masked"] is True
    assert canaries_in(done) == []
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.to_owner, event.actor) == ("assigned", cast.east_rep2, cast.east_mgr)


# -- changes of hands --------------------------------------------------------------------------


def test_a_release_shows_in_the_history_and_the_audit_trail(cast, api, owned):
    customer = owned(cast.east_rep, since=T0 - days(20))
    url = f"/api/v1/customers/{customer.pk}/release/"
    client = as_(api, cast.east_rep)
    with clock.frozen_at(T0):
        no_reason = post(client, url, {"reason": ""})
        before = as_(APIClient(), cast.east_rep2).get(f"/api/v1/customers/{customer.pk}/ownership/")
        response = post(client, url, {"reason": "客户公司已经注销"})
        history = client.get(f"/api/v1/customers/{customer.pk}/ownership/")
        again = post(client, url, {"reason": "客户公司已经注销"})
        # In the pool, anyone who may claim it may read how it got there.
        seen_from_pool = as_(APIClient(), cast.east_rep2).get(
            f"/api/v1/customers/{customer.pk}/ownership/"
        )
    assert refusal(no_reason, 400, "invalid") == "Give a reason (at least 5 characters)."
    assert response.status_code == 200
    body = response.json()
    assert body["owner"] is None and body["pool_department"] == "华东"
    assert body["masked"] is True and body["release_in_days"] is None
    latest = history.json()["results"][0]
    assert latest["kind"] == "released_manual" and latest["kind_label"] == "Released by hand"
    assert (latest["from_owner"], latest["to_owner"], latest["actor"]) == (
        "east_rep",
        None,
        "east_rep",
    )
    assert latest["reason"] == "客户公司已经注销"
    event = AuditEvent.objects.get(action="customer.released_manual")
    assert event.object_id == str(customer.pk) and event.actor_id == cast.east_rep.pk
    assert event.changes_data == {"owner": [cast.east_rep.pk, None], "reason": "客户公司已经注销"}
    assert chain_verify().ok
    refusal(again, 409, "in_pool")
    refusal(before, 404, "not_found")  # a colleague's customer: not in east_rep2's scope
    # The same events; the label is in each reader's language (this client asked for none).
    assert [e | {"kind_label": ""} for e in seen_from_pool.json()["results"]] == [
        e | {"kind_label": ""} for e in history.json()["results"]
    ]
    assert seen_from_pool.json()["results"][0]["kind_label"] == "手动退回公海"


def test_only_the_owner_or_their_manager_may_release(cast, api, owned):
    customer = owned(cast.east_rep)
    url = f"/api/v1/customers/{customer.pk}/release/"
    with clock.frozen_at(T0):
        message = refusal(
            post(as_(api, cast.east_rep2), url, {"reason": "我觉得没希望"}), 403, "forbidden"
        )
        refusal(post(as_(api, cast.south_mgr), url, {"reason": "我觉得没希望"}), 403, "forbidden")
    assert message == "Only the owner or their manager can release a customer."
    assert Customer.objects.get(pk=customer.pk).owner == cast.east_rep
    assert not OwnershipEvent.objects.filter(customer=customer).exists()
    with clock.frozen_at(T0):
        by_manager = post(as_(api, cast.east_mgr), url, {"reason": "长期无人跟进"})
    assert by_manager.status_code == 200 and by_manager.json()["owner"] is None


def test_a_collaborator_helps_but_cannot_release_or_transfer(cast, api, owned):
    customer = owned(cast.east_rep)
    with clock.frozen_at(T0):
        team_member_add(actor=cast.east_rep, customer=customer, user=cast.east_rep2, access="write")
        helper = as_(api, cast.east_rep2)
        release = post(
            helper, f"/api/v1/customers/{customer.pk}/release/", {"reason": "帮他释放掉"}
        )
        transfer = post(
            helper,
            f"/api/v1/customers/{customer.pk}/transfer/",
            {"to": "east_rep2", "reason": "我跟进得更多"},
        )
        follow_up = post(
            helper,
            f"/api/v1/customers/{customer.pk}/follow-ups/",
            {"kind": "visit", "content": "上门拜访了采购部门"},
        )
    refusal(release, 403, "forbidden")
    refusal(transfer, 403, "forbidden")
    assert follow_up.status_code == 201
    assert Customer.objects.get(pk=customer.pk).owner == cast.east_rep
    assert not OwnershipEvent.objects.filter(customer=customer).exists()


def test_a_manager_transfers_between_reps_and_sees_the_contacts_masked(cast, api, owned):
    customer = with_canaries(owned(cast.east_rep))
    url = f"/api/v1/customers/{customer.pk}/transfer/"
    with clock.frozen_at(T0):
        by_rep = post(as_(api, cast.east_rep), url, {"to": "east_rep2", "reason": "我要出差一个月"})
        no_reason = post(as_(api, cast.east_mgr), url, {"to": "east_rep2"})
        response = post(api, url, {"to": "east_rep2", "reason": "区域调整，转给同事"})
        history = api.get(f"/api/v1/customers/{customer.pk}/ownership/")
    assert refusal(by_rep, 403, "forbidden") == (
        "You can transfer customers only to people you manage."
    )
    refusal(no_reason, 400, "invalid")
    assert response.status_code == 200
    body = response.json()
    assert body["owner"] == "east_rep2" and body["contact_access"] == "revealable"
    assert body["masked"] is True and body["phone"] == "139****5678"
    assert canaries_in(response) == [] and canaries_in(history) == []
    [event] = history.json()["results"]
    assert (event["kind"], event["from_owner"], event["to_owner"], event["actor"]) == (
        "transferred",
        "east_rep",
        "east_rep2",
        "east_mgr",
    )
    assert event["reason"] == "区域调整，转给同事"


def test_a_manager_holds_a_customer_and_stops_its_countdown(cast, api, owned):
    customer = owned(cast.east_rep, since=T0 - days(25))
    url = f"/api/v1/customers/{customer.pk}/hold/"
    with clock.frozen_at(T0):
        by_owner = post(as_(api, cast.east_rep), url, {"hold": True, "reason": "大单谈判中"})
        held = post(as_(api, cast.east_mgr), url, {"hold": True, "reason": "大单谈判中"})
        lifted = post(api, url, {"hold": False, "reason": "谈判结束了"})
    refusal(by_owner, 403, "forbidden")
    assert held.status_code == 200
    assert held.json()["on_hold"] is True and held.json()["release_in_days"] is None
    assert lifted.json()["on_hold"] is False and lifted.json()["release_in_days"] == 5
    assert list(
        AuditEvent.objects.filter(object_type="customers.customer", object_id=str(customer.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["customer.held", "customer.hold_lifted"]


# -- stage, grade and the account team ---------------------------------------------------------


def test_the_owner_sets_stage_and_grade(cast, api, owned):
    customer = owned(cast.east_rep)
    client = as_(api, cast.east_rep)
    with clock.frozen_at(T0):
        stage = post(client, f"/api/v1/customers/{customer.pk}/stage/", {"stage": "quoted"})
        grade = post(client, f"/api/v1/customers/{customer.pk}/grade/", {"grade": "A"})
        bad_stage = post(client, f"/api/v1/customers/{customer.pk}/stage/", {"stage": "asleep"})
        bad_grade = post(client, f"/api/v1/customers/{customer.pk}/grade/", {"grade": "Z"})
        other = post(
            as_(api, cast.east_rep2), f"/api/v1/customers/{customer.pk}/stage/", {"stage": "lost"}
        )
    assert stage.status_code == 200 and stage.json()["stage"] == "quoted"
    assert grade.status_code == 200 and grade.json()["grade"] == "A"
    assert grade.json()["release_in_days"] == 60  # A-grade customers get 60 days
    refusal(bad_stage, 400, "invalid")
    assert refusal(bad_grade, 400, "invalid") == "Unknown grade: Z."
    refusal(other, 403, "forbidden")
    customer.refresh_from_db()
    assert (customer.stage, customer.grade) == ("quoted", "A")


def test_the_owner_manages_the_account_team(cast, api, owned):
    customer = with_canaries(owned(cast.east_rep))
    url = f"/api/v1/customers/{customer.pk}/team/"
    until = timezone.localdate(T0) + days(30)
    owner = as_(APIClient(), cast.east_rep)
    with clock.frozen_at(T0):
        added = post(owner, url, {"user": "south_rep", "access": "read", "until": until})
        listed = owner.get(url)
        by_outsider = post(as_(api, cast.east_rep2), url, {"user": "east_rep2", "access": "write"})
        seen_by_helper = as_(APIClient(), cast.south_rep).get(f"/api/v1/customers/{customer.pk}/")
        removed = owner.delete(f"{url}south_rep/")
        removed_again = owner.delete(f"{url}south_rep/")
        gone = as_(APIClient(), cast.south_rep).get(url)
    assert added.status_code == 201
    assert added.json() == {
        "user": "south_rep",
        "name": "south_rep",
        "department": "华南",
        "access": "read",
        "until": until.isoformat(),
        "added_by": "east_rep",
        "added_at": added.json()["added_at"],
    }
    assert [m["user"] for m in listed.json()] == ["south_rep"]
    refusal(by_outsider, 403, "forbidden")
    assert seen_by_helper.json()["phone"] == PHONE  # collaborators see the contact data
    assert removed.status_code == 204
    assert removed_again.status_code == 404
    assert gone.status_code == 404
    assert not TeamMember.objects.filter(customer=customer).exists()


# -- for managers ------------------------------------------------------------------------------


def test_the_key_customer_report_lists_a_customers_known_to_one_person(cast, api, owned):
    alone = with_canaries(owned(cast.east_rep, grade="A", name="甲公司"))
    helped = owned(cast.east_rep, grade="A", name="乙公司")
    owned(cast.east_rep, grade="B", name="丙公司")
    owned(cast.south_rep, grade="A", name="丁公司")
    with clock.frozen_at(T0):
        team_member_add(actor=cast.east_rep, customer=helped, user=cast.east_rep2, access="read")
        report = as_(api, cast.east_mgr).get("/api/v1/reports/key-customers/")
        by_rep = as_(APIClient(), cast.east_rep).get("/api/v1/reports/key-customers/")
    assert report.status_code == 200
    assert [row["id"] for row in report.json()["results"]] == [alone.pk]
    assert canaries_in(report) == []
    refusal(by_rep, 403, "forbidden")


def test_the_key_customer_report_is_counted_without_a_group_by(cast, owned):
    # Issue 13: "no active collaborator" as a count grouped by customer, and the manager's
    # subtree through the owner's department, made SQLite read every customer for the
    # page's count; an expired collaborator leaves the customer known to one person again.
    alone = owned(cast.east_team_rep, grade="A")
    was_helped = owned(cast.east_rep, grade="A")
    helped = owned(cast.east_rep, grade="A")
    TeamMember.objects.create(
        customer=was_helped,
        user=cast.east_rep2,
        access="read",
        until=timezone.localdate(T0) - dt.timedelta(days=1),
        added_by=cast.east_rep,
        added_at=T0 - days(30),
    )
    with clock.frozen_at(T0):
        team_member_add(actor=cast.east_rep, customer=helped, user=cast.east_rep2, access="read")
        report = key_customers_single_threaded(viewer=cast.east_mgr)
        assert set(report) == {alone, was_helped}
        with CaptureQueriesContext(connection) as queries:
            assert report.all().count() == 2
    counted = queries.captured_queries[-1]["sql"]
    assert "GROUP BY" not in counted and "org_department" not in counted


def test_a_manager_hands_over_a_leavers_customers(cast, api, owned):
    first, second = owned(cast.east_rep), owned(cast.east_rep)
    url = "/api/v1/users/east_rep/handover/"
    with clock.frozen_at(T0):
        by_rep = post(as_(api, cast.east_rep2), url, {"to": ["east_rep2"], "pool": False})
        neither = post(as_(api, cast.east_mgr), url, {"to": [], "pool": False})
        both = post(api, url, {"to": ["east_rep2"], "pool": True})
        unknown = post(api, url, {"to": ["nobody"]})
        assert Customer.objects.filter(owner=cast.east_rep).count() == 2
        response = post(api, url, {"to": ["east_rep2"], "reason": "离职"})
    refusal(by_rep, 403, "forbidden")
    refusal(neither, 400, "invalid")
    refusal(both, 400, "invalid")
    refusal(unknown, 400, "invalid")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "user": "east_rep",
        "to": ["east_rep2"],
        "pool": False,
        "customers": 2,
        "open_needs": 0,
        "follow_ups_due": 0,
        "team_places_ended": 0,
        "by_recipient": {"east_rep2": 2},
        "moved": [
            {"code": first.code, "name": first.name, "to": "east_rep2"},
            {"code": second.code, "name": second.name, "to": "east_rep2"},
        ],
    }
    cast.east_rep.refresh_from_db()
    assert cast.east_rep.is_active is False
    assert Customer.objects.filter(owner=cast.east_rep2).count() == 2


def test_a_handover_to_the_pool(cast, api, owned):
    customer = owned(cast.east_rep)
    with clock.frozen_at(T0):
        response = post(as_(api, cast.boss), "/api/v1/users/east_rep/handover/", {"pool": True})
    assert response.status_code == 200
    body = response.json()
    assert body["pool"] is True and body["to"] == [] and body["by_recipient"] == {"": 1}
    assert body["moved"] == [{"code": customer.code, "name": customer.name, "to": None}]
    assert Customer.objects.get(pk=customer.pk).owner is None


def test_managers_read_the_pool_settings_in_force(cast, api):
    url = "/api/v1/pool/settings/"
    defaults = as_(api, cast.east_mgr).get(url)
    PoolPolicy.objects.create(department=None, max_held=150)
    ReleaseRule.objects.create(
        department=cast.east, grade="A", no_follow_up_days=45, no_deal_days=0
    )
    company = api.get(url)
    south = api.get(url, {"department": cast.south.pk})
    by_rep = as_(APIClient(), cast.east_rep).get(url)
    assert defaults.status_code == 200
    policy = defaults.json()["policy"]
    assert policy["level"] == "default" and policy["max_held"] == 200
    assert policy["daily_claims"] == 20 and policy["cooldown_days"] == 30
    assert policy["embargo_hours"] == 24 and policy["warn_days"] == 3
    assert defaults.json()["department_name"] == "华东"
    assert defaults.json()["release_terms"] == [
        {"grade": "A", "no_follow_up_days": 60, "no_deal_days": 90},
        {"grade": "B", "no_follow_up_days": 30, "no_deal_days": 90},
        {"grade": "C", "no_follow_up_days": 30, "no_deal_days": 90},
        {"grade": "D", "no_follow_up_days": 30, "no_deal_days": 90},
        {"grade": "", "no_follow_up_days": 30, "no_deal_days": 90},
    ]
    assert company.json()["policy"]["level"] == "company"
    assert company.json()["policy"]["max_held"] == 150
    assert company.json()["release_terms"][0] == {
        "grade": "A",
        "no_follow_up_days": 45,
        "no_deal_days": 0,
    }
    assert south.json()["department_name"] == "华南"
    assert south.json()["release_terms"][0]["no_follow_up_days"] == 60
    refusal(by_rep, 403, "forbidden")
    refusal(api.get(url, {"department": 999999}), 404, "not_found")
    PoolPolicy.objects.create(department=cast.east, daily_claims=5)
    team = api.get(url, {"department": cast.east_team.pk}).json()
    assert team["department_name"] == "华东一组"
    assert team["policy"]["level"] == "department"
    assert team["policy"]["level_department"] == "华东"
    assert (team["policy"]["daily_claims"], team["policy"]["max_held"]) == (5, 200)


def test_the_schema_lists_every_lifecycle_endpoint(cast, client):
    client.force_login(cast.east_rep)
    paths = set(json.loads(client.get("/api/v1/schema/?format=json").content)["paths"])
    assert {
        "/api/v1/my/customers/",
        "/api/v1/my/follow-ups-due/",
        "/api/v1/pool/",
        "/api/v1/pool/settings/",
        "/api/v1/pool/{customer_id}/claim/",
        "/api/v1/pool/{customer_id}/assign/",
        "/api/v1/customers/{customer_id}/release/",
        "/api/v1/customers/{customer_id}/transfer/",
        "/api/v1/customers/{customer_id}/hold/",
        "/api/v1/customers/{customer_id}/follow-ups/",
        "/api/v1/customers/{customer_id}/team/",
        "/api/v1/customers/{customer_id}/team/{username}/",
        "/api/v1/customers/{customer_id}/ownership/",
        "/api/v1/customers/{customer_id}/stage/",
        "/api/v1/customers/{customer_id}/grade/",
        "/api/v1/reports/key-customers/",
        "/api/v1/users/{username}/handover/",
    } <= paths


# -- a race through the API ----------------------------------------------------------------------


def test_thirty_reps_claiming_one_customer_at_once_leave_one_owner(transactional_db):
    reps = [UserFactory(username=f"claimer{n}") for n in range(30)]
    customer = CustomerFactory(
        owner=None,
        registered_by=reps[0],
        registered_at=timezone.now() - days(100),
        pool_entered_at=timezone.now() - days(2),
    )
    barrier = threading.Barrier(30)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def claim(rep) -> None:
        try:
            client = Client()
            client.force_login(rep)
            barrier.wait(timeout=60)
            response = client.post(f"/api/v1/pool/{customer.pk}/claim/")
            code = "" if response.status_code == 200 else response.json()["code"]
            answers.append((response.status_code, code))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(rep,)) for rep in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert sorted(answers) == [(200, "")] + [(409, "taken")] * 29
    customer.refresh_from_db()
    assert customer.owner in reps
    assert OwnershipEvent.objects.filter(customer=customer, kind=OwnershipKind.CLAIMED).count() == 1
    assert AuditEvent.objects.filter(action="customer.claimed").count() == 1
    assert chain_verify().ok
