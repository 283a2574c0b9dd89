"""The demo customers' lives: registered over the last months, followed up now and then (so
the release countdowns differ, a few run out soon and a few follow-ups are due today), graded,
some moved along the stages, some released to the pool, one on hold, a couple with an account
team. Written through the services with the clock set back, as if it had happened.

Only a customer registered in this same run gets a history, so loading twice changes nothing."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kedun.core import clock
from kedun.customers.models import Customer, FollowUpKind, Stage, TeamAccess
from kedun.lifecycle.services import (
    customer_grade_set,
    customer_hold,
    customer_release,
    customer_stage_set,
    follow_up_log,
    team_member_add,
)
from kedun.org.models import User

NOTES: dict[str, list[str]] = {
    FollowUpKind.CALL: [
        "电话沟通了下季度的采购计划，对方预计三月下单",
        "客户来电询问交期，已答复四周内可以发货",
        "打电话确认样品收到了，技术部正在测试",
        "电话回访使用情况，客户反馈设备运行稳定",
    ],
    FollowUpKind.VISIT: [
        "上门拜访采购经理，介绍了新款产品并留下样册",
        "到工厂现场查看了产线，客户有扩产计划",
        "陪同技术工程师上门解决安装调试问题",
    ],
    FollowUpKind.WECHAT: ["微信发了报价单", "微信问候，客户说月底再联系"],
    FollowUpKind.EMAIL: [
        "邮件发送了产品规格书和认证资料",
        "邮件确认了合同条款的修改意见，等待对方法务回复",
    ],
    FollowUpKind.MEETING: [
        "在展会上与客户总经理会面，谈了年度框架协议",
        "参加客户的供应商大会，了解明年的招标安排",
    ],
}
GRADES = ["A", "B", "C", "D"]
GRADE_WEIGHTS = [15, 35, 35, 15]
LATER_STAGES = [Stage.NEEDS_CONFIRMED, Stage.QUOTED, Stage.WON, Stage.LOST]
# How long ago each rep's extra customers went back to the pool: one a few days ago,
# claimable by anyone but its previous owner; one this morning, claimable by nobody until
# tomorrow (the fresh-release embargo).
RELEASED = [dt.timedelta(days=4), dt.timedelta(hours=3)]
RELEASE_REASONS = ["客户已转向其他供应商，暂不跟进", "联系不上采购负责人，先退回公海"]


def registration_moment(number: int, now: dt.datetime) -> dt.datetime:
    """When demo customer `number` was registered: 10 to 85 days ago, in office hours."""
    life = random.Random(number)
    day = timezone.localtime(now - dt.timedelta(days=life.randint(10, 85)))
    return day.replace(hour=life.randint(9, 17), minute=life.randint(0, 59), second=0)


def customer_life(
    customer: Customer,
    *,
    number: int,
    index: int,
    now: dt.datetime,
    manager: User | None,
    colleague: User | None,
    released_ago: dt.timedelta | None = None,
) -> None:
    """The history of one new demo customer; `index` is its place among its owner's."""
    life = random.Random(number * 7919)
    owner = customer.owner
    assert owner is not None and customer.owned_since is not None
    registered = customer.owned_since
    grade = life.choices(GRADES, GRADE_WEIGHTS)[0]
    with clock.frozen_at(registered + dt.timedelta(minutes=5)):
        customer_grade_set(actor=owner, customer=customer, grade=grade)

    # Follow-ups: the last one 0–29 days ago, so the countdowns spread over the month (a
    # young customer may have none yet).
    age = (now - registered).days
    silent_for = min(life.randint(0, 29), age - 1)
    if released_ago is not None:  # given up below, after a quiet week or more
        silent_for = max(silent_for, 7)
    if age >= 28 or life.random() > 0.2:
        last = now - dt.timedelta(days=silent_for, hours=life.randint(0, 5))
        first = registered + dt.timedelta(days=1)
        earlier = life.randint(0, 2) if last > first else 0
        for moment in sorted(first + (last - first) * life.random() for _ in range(earlier)):
            kind = life.choice(list(NOTES))
            next_on = timezone.localdate(moment) + dt.timedelta(days=life.randint(1, 10))
            _follow_up(life, customer, owner, moment, kind, next_on)
        # The last one counts for the pool clock, and plans the next: mostly in the coming
        # two weeks, some today, a few already overdue.
        today = timezone.localdate(now)
        next_on = max(
            today + dt.timedelta(days=life.randint(-3, 14)),
            timezone.localdate(last) + dt.timedelta(days=1),
        )
        kind = life.choice([FollowUpKind.CALL, FollowUpKind.VISIT, FollowUpKind.EMAIL])
        _follow_up(life, customer, owner, last, kind, next_on)
        if life.random() < 0.35:
            with clock.frozen_at(last + dt.timedelta(minutes=30)):
                stage = life.choice(LATER_STAGES)
                customer_stage_set(actor=owner, customer=customer, stage=stage)

    if released_ago is not None:
        with clock.frozen_at(now - released_ago):
            reason = life.choice(RELEASE_REASONS)
            customer_release(actor=owner, customer_id=customer.pk, reason=reason)
    elif index == 2 and manager is not None and owner.username == "zhangwei":
        reason = "战略客户，年度框架协议谈判中"
        customer_hold(actor=manager, customer_id=customer.pk, hold=True, reason=reason)
    elif index == 3 and colleague is not None and grade == "A":
        team_member_add(actor=owner, customer=customer, user=colleague, access=TeamAccess.READ)
    elif index == 4 and manager is not None and grade in ("A", "B"):
        team_member_add(actor=owner, customer=customer, user=manager, access=TeamAccess.WRITE)


def _follow_up(
    life: random.Random,
    customer: Customer,
    owner: User,
    moment: dt.datetime,
    kind: str,
    next_on: dt.date,
) -> None:
    with clock.frozen_at(moment):
        follow_up_log(
            actor=owner,
            customer=customer,
            kind=kind,
            content=life.choice(NOTES[kind]),
            next_follow_up_on=next_on,
        )
