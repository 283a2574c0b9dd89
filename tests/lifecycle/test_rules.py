"""The pool rules on a controlled clock (MISSION §4): when the sweep releases and warns, what
exempts, which follow-ups restart the clock, how overrides per department and grade apply,
and that the countdown a rep sees is exactly when the sweep acts."""

from __future__ import annotations

import datetime as dt
import io
import json
import math

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.customers.models import (
    Customer,
    FollowUp,
    FollowUpKind,
    OwnershipEvent,
    OwnershipKind,
    Stage,
)
from kedun.lifecycle.models import PoolPolicy, ReleaseRule
from kedun.lifecycle.rules import Policy, RuleBook, Terms, release_deadline
from kedun.lifecycle.selectors import countdown
from kedun.lifecycle.services import customer_hold, follow_up_log
from kedun.lifecycle.sweep import pool_sweep
from kedun.notifications.models import Notification

from .conftest import SECOND, T0, days

TEN_CHARS = "电话沟通了报价和交期"  # exactly 10 characters
NINE_CHARS = "电话沟通了报价交期"


def sweep(moment: dt.datetime, **options):
    return pool_sweep(now=moment, **options)


def owner_of(customer: Customer):
    customer.refresh_from_db()
    return customer.owner


def notifications(user, kind: str) -> int:
    return Notification.objects.filter(recipient=user, kind=kind).count()


def log(customer, *, at: dt.datetime, kind: str = FollowUpKind.CALL, content: str = TEN_CHARS):
    with clock.frozen_at(at):
        return follow_up_log(actor=customer.owner, customer=customer, kind=kind, content=content)


# -- the rules as values ------------------------------------------------------------------------


def test_the_defaults_are_the_mission_s_starting_values():
    book = RuleBook()
    assert book.terms(None, "B") == Terms(no_follow_up_days=30, no_deal_days=90)
    assert book.terms(None, "") == Terms(30, 90)
    assert book.terms(None, "A") == Terms(60, 90)
    policy = book.policy(None)
    assert (
        policy.warn_days,
        policy.max_held,
        policy.exclude_won_from_limit,
        policy.daily_claims,
        policy.cooldown_days,
        policy.embargo_hours,
        policy.order_exempt_days,
        set(policy.qualifying_kinds),
        policy.min_note_length,
    ) == (3, 200, True, 20, 30, 24, 180, {"call", "visit", "meeting", "email"}, 10)


def test_a_follow_up_qualifies_by_kind_and_by_ten_characters_of_content():
    policy = Policy()
    assert policy.qualifies("call", TEN_CHARS)
    assert policy.qualifies("visit", f"  {TEN_CHARS}  ")
    assert not policy.qualifies("call", NINE_CHARS)
    assert not policy.qualifies("call", f"   {NINE_CHARS}    ")  # spaces are not content
    assert not policy.qualifies("wechat", TEN_CHARS * 3)
    assert not policy.qualifies("other", TEN_CHARS * 3)


def test_the_most_specific_rule_wins():
    # company(1) ─ east(2) ─ team(3);  south(4) under company
    book = RuleBook(
        rules={
            (None, ""): Terms(20, 90),
            (None, "A"): Terms(70, 90),
            (2, ""): Terms(40, 90),
            (2, "B"): Terms(50, 0),
            (3, "C"): Terms(45, 100),
        },
        parents={1: None, 2: 1, 3: 2, 4: 1},
    )
    assert book.terms(3, "C") == Terms(45, 100)  # its own rule for the grade
    assert book.terms(3, "B") == Terms(50, 0)  # the parent's rule for the grade
    assert book.terms(3, "D") == Terms(40, 90)  # the parent's rule for any grade
    assert book.terms(2, "A") == Terms(40, 90)  # a department's rule beats the company's A rule
    assert book.terms(4, "A") == Terms(70, 90)  # the company's rule for A
    assert book.terms(4, "D") == Terms(20, 90)  # the company's rule for any grade
    assert RuleBook(parents={1: None}).terms(1, "A") == Terms(60, 90)  # no rows: defaults


def test_the_nearest_policy_up_the_tree_applies():
    east, company = Policy(warn_days=7), Policy(warn_days=5)
    book = RuleBook(policies={2: east, None: company}, parents={1: None, 2: 1, 3: 2, 4: 1})
    assert book.policy(3) is east
    assert book.policy(4) is company
    assert RuleBook(parents={1: None}).policy(1) == Policy()


# -- release after days without a qualifying follow-up ----------------------------------------


def test_without_a_qualifying_follow_up_a_customer_is_released_after_30_days(cast, owned):
    customer = owned(cast.east_rep, since=T0, last_follow_up=T0 + days(10))
    deadline = T0 + days(40)

    assert sweep(deadline - SECOND).released == 0
    assert owner_of(customer) == cast.east_rep
    result = sweep(deadline + SECOND)

    assert result.released == 1 and result.by_reason == {"no_follow_up:30": 1}
    customer.refresh_from_db()
    assert customer.owner is None
    assert customer.owned_since is None
    assert customer.pool_entered_at == deadline + SECOND
    assert customer.pool_department == cast.east
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.kind, event.from_owner, event.to_owner, event.actor, event.reason, event.at) == (
        OwnershipKind.RELEASED_AUTO,
        cast.east_rep,
        None,
        None,
        "no_follow_up:30",
        deadline + SECOND,
    )
    audit = AuditEvent.objects.get(action="customer.released_auto")
    assert audit.actor_label == "pool-sweep"
    assert audit.changes_data["released"] == [[customer.pk, cast.east_rep.pk, "no_follow_up:30"]]
    assert notifications(cast.east_rep, "pool_released") == 1
    assert chain_verify().ok


def test_an_a_grade_customer_gets_60_days(cast, owned):
    a_grade = owned(cast.east_rep, grade="A", since=T0)
    b_grade = owned(cast.east_rep, grade="B", since=T0)

    sweep(T0 + days(30) + SECOND)
    assert owner_of(a_grade) == cast.east_rep
    assert owner_of(b_grade) is None

    sweep(T0 + days(60) - SECOND)
    assert owner_of(a_grade) == cast.east_rep
    result = sweep(T0 + days(60) + SECOND)
    assert owner_of(a_grade) is None
    assert result.by_reason == {"no_follow_up:60": 1}


def test_a_customer_owned_90_days_without_a_deal_is_released_despite_follow_ups(cast, owned):
    customer = owned(cast.east_rep, since=T0)
    for day in (25, 50, 75):
        log(customer, at=T0 + days(day))

    assert sweep(T0 + days(90) - SECOND).released == 0
    result = sweep(T0 + days(90) + SECOND)

    assert owner_of(customer) is None
    assert result.by_reason == {"no_deal:90": 1}
    assert OwnershipEvent.objects.get(customer=customer).reason == "no_deal:90"


@pytest.mark.parametrize("stage", [Stage.WON, Stage.REPEAT])
def test_a_won_or_repeat_customer_is_not_released_for_lack_of_a_deal(cast, owned, stage):
    customer = owned(cast.east_rep, since=T0, stage=stage)
    for day in (25, 50, 75):
        log(customer, at=T0 + days(day))

    assert sweep(T0 + days(90) + SECOND).released == 0
    assert owner_of(customer) == cast.east_rep
    # A deal does not excuse silence: 30 days after the last follow-up it goes.
    assert sweep(T0 + days(105) + SECOND).released == 1


def test_a_customer_with_an_old_order_is_not_released_for_lack_of_a_deal(cast, owned):
    # The order is older than the 180-day exemption, but it is a deal all the same.
    customer = owned(cast.east_rep, since=T0, last_order=T0 - days(100))
    for day in (25, 50, 75):
        log(customer, at=T0 + days(day))

    assert sweep(T0 + days(91)).released == 0
    assert owner_of(customer) == cast.east_rep


# -- warning --------------------------------------------------------------------------------


def test_the_owner_is_warned_3_days_before_once_and_again_after_a_new_follow_up(cast, owned):
    customer = owned(cast.east_rep, since=T0)  # released at T0 + 30 days

    assert sweep(T0 + days(27) - SECOND).warned == 0
    assert sweep(T0 + days(27) + SECOND).warned == 1
    customer.refresh_from_db()
    assert customer.release_warned_at == T0 + days(27) + SECOND
    assert notifications(cast.east_rep, "pool_warning") == 1
    warning = Notification.objects.get(kind="pool_warning")
    assert customer.name in warning.body

    # The sweep runs again (hourly, or twice by hand): no second warning.
    assert sweep(T0 + days(28)).warned == 0
    assert sweep(T0 + days(29)).warned == 0
    assert notifications(cast.east_rep, "pool_warning") == 1

    log(customer, at=T0 + days(29))  # the clock restarts: released at T0 + 59 days
    customer.refresh_from_db()
    assert customer.release_warned_at is None
    assert sweep(T0 + days(30) + SECOND).released == 0
    assert sweep(T0 + days(56) - SECOND).warned == 0
    assert sweep(T0 + days(56) + SECOND).warned == 1
    assert notifications(cast.east_rep, "pool_warning") == 2
    assert sweep(T0 + days(59) + SECOND).released == 1


def test_a_customer_due_at_once_is_released_not_warned(cast, owned):
    owned(cast.east_rep, since=T0)
    result = sweep(T0 + days(45))
    assert (result.released, result.warned) == (1, 0)
    assert notifications(cast.east_rep, "pool_warning") == 0


# -- exemptions -------------------------------------------------------------------------------


def test_an_order_in_the_last_180_days_exempts(cast, owned):
    now = T0 + days(120)
    recent = owned(cast.east_rep, since=T0, last_order=now - days(180) + SECOND)
    old = owned(cast.east_rep, since=T0, last_order=now - days(180) - SECOND)

    assert release_deadline(recent, now=now) is None
    assert release_deadline(old, now=now).at == T0 + days(30)
    result = sweep(now)

    assert (result.released, result.warned) == (1, 0)
    assert owner_of(recent) == cast.east_rep
    assert owner_of(old) is None


def test_a_customer_on_a_manager_s_hold_is_neither_warned_nor_released(cast, owned):
    customer = owned(cast.east_rep, since=T0)
    customer_hold(actor=cast.east_mgr, customer_id=customer.pk, hold=True, reason="年度框架谈判中")
    customer.refresh_from_db()

    assert release_deadline(customer, now=T0 + days(100)) is None
    assert countdown(customer, now=T0 + days(100)).days_left is None
    result = sweep(T0 + days(100))
    assert (result.released, result.warned) == (0, 0)
    assert owner_of(customer) == cast.east_rep

    customer_hold(actor=cast.east_mgr, customer_id=customer.pk, hold=False, reason="谈判已结束")
    assert sweep(T0 + days(100)).released == 1
    assert owner_of(customer) is None


# -- which follow-ups count --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        (FollowUpKind.WECHAT, "微信上详细聊了下一季度的采购计划"),
        (FollowUpKind.OTHER, "展会上碰到了采购部经理，聊了很久"),
        (FollowUpKind.CALL, NINE_CHARS),
        (FollowUpKind.VISIT, "拜访"),
    ],
)
def test_a_non_qualifying_follow_up_does_not_restart_the_clock(cast, owned, kind, content):
    customer = owned(cast.east_rep, since=T0)
    follow_up = log(customer, at=T0 + days(20), kind=kind, content=content)

    assert follow_up.qualifying is False
    customer.refresh_from_db()
    assert customer.last_follow_up_at is None
    assert release_deadline(customer, now=T0 + days(20)).at == T0 + days(30)
    assert sweep(T0 + days(30) + SECOND).released == 1


@pytest.mark.parametrize(
    "kind", [FollowUpKind.CALL, FollowUpKind.VISIT, FollowUpKind.MEETING, FollowUpKind.EMAIL]
)
def test_a_qualifying_follow_up_restarts_the_clock(cast, owned, kind):
    customer = owned(cast.east_rep, since=T0)
    follow_up = log(customer, at=T0 + days(20), kind=kind, content=f" {TEN_CHARS} ")

    assert follow_up.qualifying is True
    customer.refresh_from_db()
    assert customer.last_follow_up_at == T0 + days(20)
    assert sweep(T0 + days(30) + SECOND).released == 0
    assert sweep(T0 + days(50) - SECOND).released == 0
    assert sweep(T0 + days(50) + SECOND).released == 1


def test_an_older_follow_up_logged_late_does_not_move_the_clock_back(cast, owned):
    customer = owned(cast.east_rep, since=T0)
    log(customer, at=T0 + days(20))
    with clock.frozen_at(T0 + days(21)):
        follow_up_log(
            actor=cast.east_rep,
            customer=customer,
            kind=FollowUpKind.VISIT,
            content="补记上周的一次拜访，谈了价格",
            happened_at=T0 + days(5),
        )
    customer.refresh_from_db()
    assert customer.last_follow_up_at == T0 + days(20)
    assert FollowUp.objects.filter(customer=customer, qualifying=True).count() == 2


def test_imported_registration_and_last_follow_up_dates_count(cast, tmp_path):
    csv = (
        "客户编号,客户名称,负责人,等级,登记时间,最后跟进时间\n"
        "X001,杭州市蓝海科技有限公司,east_rep,B,2026-01-01,2026-02-05\n"
        "X002,宁波恒远五金有限公司,east_rep,B,2026-01-20,\n"
    )
    path = tmp_path / "customers.csv"
    path.write_text(csv, encoding="utf-8")
    call_command("import-customers", str(path), stdout=io.StringIO())
    followed = Customer.objects.get(code="X001")
    silent = Customer.objects.get(code="X002")
    local = timezone.get_current_timezone()
    midnight = dt.time(0, 0)

    assert followed.owned_since == dt.datetime.combine(dt.date(2026, 1, 1), midnight, local)
    followed_deadline = dt.datetime.combine(dt.date(2026, 3, 7), midnight, local)  # 02-05 + 30
    silent_deadline = dt.datetime.combine(dt.date(2026, 2, 19), midnight, local)  # 01-20 + 30
    assert release_deadline(followed, now=T0 - days(30)).at == followed_deadline
    assert release_deadline(silent, now=T0 - days(30)).at == silent_deadline

    assert sweep(silent_deadline - SECOND).released == 0
    assert sweep(silent_deadline + SECOND).released == 1
    assert owner_of(silent) is None
    assert sweep(followed_deadline - SECOND).released == 0
    assert sweep(followed_deadline + SECOND).released == 1
    assert owner_of(followed) is None


# -- overrides per department and grade ------------------------------------------------------


def test_release_rules_per_department_and_grade_most_specific_wins(cast, owned):
    ReleaseRule.objects.create(department=None, grade="", no_follow_up_days=20)
    ReleaseRule.objects.create(department=cast.east, grade="", no_follow_up_days=40)
    ReleaseRule.objects.create(department=cast.east, grade="B", no_follow_up_days=50)
    south_c = owned(cast.south_rep, grade="C")  # the company's rule: 20
    south_a = owned(cast.south_rep, grade="A")  # the company's rule for any grade: 20
    east_c = owned(cast.east_rep, grade="C")  # east's rule: 40
    east_a = owned(cast.east_rep, grade="A")  # east's rule for any grade beats the default 60
    east_b = owned(cast.east_rep, grade="B")  # east's rule for B: 50
    team_b = owned(cast.east_team_rep, grade="B")  # under east: east's rule for B
    expected = {south_c: 20, south_a: 20, east_c: 40, east_a: 40, east_b: 50, team_b: 50}

    book = RuleBook.load()
    for customer, days_ in expected.items():
        assert release_deadline(customer, now=T0, book=book).at == T0 + days(days_)
    for days_ in (20, 40, 50):
        assert sweep(T0 + days(days_) - SECOND).released == 0
        assert sweep(T0 + days(days_) + SECOND).released == sum(
            1 for d in expected.values() if d == days_
        )
    for customer in expected:
        assert owner_of(customer) is None


def test_no_deal_days_zero_means_no_limit(cast, owned):
    ReleaseRule.objects.create(department=cast.east, grade="", no_follow_up_days=30, no_deal_days=0)
    east = owned(cast.east_rep, since=T0)
    south = owned(cast.south_rep, since=T0)
    for customer in (east, south):
        for day in (25, 50, 75):
            log(customer, at=T0 + days(day))

    sweep(T0 + days(91))
    assert owner_of(east) == cast.east_rep
    assert owner_of(south) is None


def test_pool_policies_per_department_apply_below_it(cast, owned):
    PoolPolicy.objects.create(department=None, warn_days=5)
    PoolPolicy.objects.create(
        department=cast.east,
        warn_days=7,
        order_exempt_days=30,
        qualifying_kinds=["call", "wechat"],
        min_note_length=4,
    )
    team = owned(cast.east_team_rep, since=T0)  # east's policy
    south = owned(cast.south_rep, since=T0)  # the company's

    assert sweep(T0 + days(23) - SECOND).warned == 0
    assert sweep(T0 + days(23) + SECOND).warned == 1
    assert owner_of(team) and team.release_warned_at is not None
    assert sweep(T0 + days(25) + SECOND).warned == 1
    south.refresh_from_db()
    assert south.release_warned_at == T0 + days(25) + SECOND

    assert log(team, at=T0 + days(26), kind=FollowUpKind.WECHAT, content="聊了需求").qualifying
    assert not log(south, at=T0 + days(26), kind=FollowUpKind.WECHAT, content=TEN_CHARS).qualifying
    assert not log(team, at=T0 + days(26), kind=FollowUpKind.EMAIL, content=TEN_CHARS).qualifying
    sweep(T0 + days(30) + SECOND)
    assert owner_of(team) == cast.east_team_rep
    assert owner_of(south) is None


def test_the_order_exemption_follows_the_department_s_policy(cast, owned):
    PoolPolicy.objects.create(department=cast.east, order_exempt_days=30)
    now = T0 + days(60)
    east = owned(cast.east_rep, since=T0, last_order=now - days(40))
    south = owned(cast.south_rep, since=T0, last_order=now - days(40))

    sweep(now)
    assert owner_of(east) is None
    assert owner_of(south) == cast.south_rep


# -- the countdown is the sweep -------------------------------------------------------------------


def test_the_countdown_counts_whole_days_rounded_up(cast, owned):
    customer = owned(cast.east_rep, since=T0)
    assert countdown(customer, now=T0).days_left == 30
    assert countdown(customer, now=T0 + days(25) + SECOND).days_left == 5
    assert countdown(customer, now=T0 + days(29) + SECOND).days_left == 1
    assert countdown(customer, now=T0 + days(30)).days_left == 0
    assert countdown(customer, now=T0 + days(31)).days_left == 0
    assert countdown(customer, now=T0 + days(28)).urgent
    assert countdown(customer, now=T0 + days(28)).deadline.describe()


@pytest.fixture
def mixed_rules(cast):
    ReleaseRule.objects.create(department=None, grade="C", no_follow_up_days=20, no_deal_days=45)
    ReleaseRule.objects.create(department=cast.east, grade="", no_follow_up_days=40)
    ReleaseRule.objects.create(
        department=cast.east, grade="B", no_follow_up_days=15, no_deal_days=0
    )
    ReleaseRule.objects.create(department=cast.east_team, grade="A", no_follow_up_days=7)
    PoolPolicy.objects.create(department=cast.south, order_exempt_days=60)


def test_the_sweep_releases_exactly_when_the_countdown_says(cast, owned, mixed_rules):
    book = RuleBook.load()
    owners = [cast.east_rep, cast.east_team_rep, cast.south_rep, cast.east_mgr]
    ref = T0 + days(100)

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        owner=st.sampled_from(owners),
        grade=st.sampled_from(["A", "B", "C", "D", "", "Z"]),
        stage=st.sampled_from(Stage.values),
        owned_before=st.integers(0, 200 * 86400),
        follow_up_after=st.none() | st.integers(-100 * 86400, 200 * 86400),
        order_before=st.none() | st.integers(0, 400 * 86400),
        on_hold=st.booleans(),
    )
    def check(owner, grade, stage, owned_before, follow_up_after, order_before, on_hold):
        since = ref - dt.timedelta(seconds=owned_before)
        with transaction.atomic():
            customer = owned(
                owner,
                since=since,
                grade=grade,
                stage=stage,
                last_follow_up=None
                if follow_up_after is None
                else since + dt.timedelta(seconds=follow_up_after),
                last_order=None
                if order_before is None
                else ref - dt.timedelta(seconds=order_before),
                on_hold=on_hold,
            )
            deadline = release_deadline(customer, now=ref, book=book)
            for moment in (
                ref,
                *((deadline.at - SECOND, deadline.at + SECOND) if deadline else ()),
            ):
                due = release_deadline(customer, now=moment, book=book)
                expected = int(due is not None and due.at < moment)
                assert sweep(moment, dry_run=True).released == expected, (moment, due)
            if deadline is not None:
                left = countdown(customer, now=ref, book=book).days_left
                assert left == max(0, math.ceil((deadline.at - ref).total_seconds() / 86400))
                assert sweep(deadline.at - SECOND, dry_run=True).released == 0
            # The deadline read at `ref` may not hold a second after it: an order exemption
            # that ends between the two (an order exactly N days old is still exempt) moves it.
            after = (
                release_deadline(customer, now=deadline.at + SECOND, book=book)
                if deadline is not None
                else None
            )
            if deadline is not None and after is not None and after.at < deadline.at + SECOND:
                result = sweep(deadline.at + SECOND)
                assert result.released == 1
                assert owner_of(customer) is None
                assert OwnershipEvent.objects.get(customer=customer).reason == (
                    f"{after.reason}:{after.days}"
                )
            transaction.set_rollback(True)

    check()


# -- the command -----------------------------------------------------------------------------


def run_sweep_command(*args: str) -> dict:
    out = io.StringIO()
    call_command("pool-sweep", *args, stdout=out)
    return json.loads(out.getvalue())


def test_a_dry_run_counts_and_changes_nothing(cast, owned):
    due = owned(cast.east_rep, since=T0)
    warned = owned(cast.east_rep, since=T0 + days(3))
    moment = (T0 + days(31)).isoformat()
    events, audits = OwnershipEvent.objects.count(), AuditEvent.objects.count()

    report = run_sweep_command("--now", moment, "--dry-run")

    assert (report["released"], report["warned"], report["dry_run"]) == (1, 1, True)
    assert owner_of(due) == cast.east_rep
    warned.refresh_from_db()
    assert warned.release_warned_at is None
    assert (OwnershipEvent.objects.count(), AuditEvent.objects.count()) == (events, audits)
    assert Notification.objects.count() == 0

    report = run_sweep_command("--now", moment)
    assert (report["released"], report["warned"], report["dry_run"]) == (1, 1, False)
    assert report["in_pool"] == 1
    assert owner_of(due) is None


def test_now_without_an_offset_is_local_time(cast, owned):
    owned(cast.east_rep, since=T0)
    report = run_sweep_command("--now", "2026-04-02T02:00:00", "--dry-run")
    assert dt.datetime.fromisoformat(report["now"]) == timezone.make_aware(
        dt.datetime(2026, 4, 2, 2, 0)
    )
    assert report["released"] == 1


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01T00:00", "01/04/2026"])
def test_a_bad_now_is_refused_saying_what_is_expected(db, text):
    with pytest.raises(CommandError) as refusal:
        run_sweep_command("--now", text)
    message = str(refusal.value)
    assert "--now" in message and "ISO" in message and f"“{text}”" in message


def test_a_batch_below_one_is_refused(db):
    with pytest.raises(CommandError, match="--batch"):
        run_sweep_command("--batch", "0")


def test_small_batches_reach_the_same_result(cast, owned):
    reps = [cast.east_rep, cast.east_rep2, cast.south_rep, cast.east_team_rep]
    for number in range(12):
        owned(reps[number % 4], since=T0 - days(number * 5))
    result = sweep(T0 + days(20), rows_per_batch=1)
    assert result.batches == 4
    assert result.released == Customer.objects.filter(owner__isnull=True).count() == 9
    assert sweep(T0 + days(20), rows_per_batch=1).released == 0
