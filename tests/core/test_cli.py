"""The `kedun` command contract: names and outputs scripts rely on."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.customers.models import Contact, Customer
from kedun.demo.company import DEMO_PASSWORD
from kedun.org.models import Department, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createuser_creates_the_missing_department_and_links_the_manager():
    run(
        "createuser",
        "li",
        "--role",
        "manager",
        "--department",
        "华东",
        "--password",
        "Kedun-pass-1",
    )
    output = run(
        "createuser",
        "zhang",
        "--role",
        "sales",
        "--department",
        "华东",
        "--manager",
        "li",
        "--password",
        "Kedun-pass-2",
    )
    assert output.strip() == "created zhang (sales) in 华东, reporting to li"
    zhang = User.objects.get(username="zhang")
    assert zhang.department.name == "华东"
    assert zhang.department.parent == Department.objects.get(parent__isnull=True)
    assert zhang.manager.username == "li"
    assert zhang.check_password("Kedun-pass-2")
    assert Department.objects.filter(name="华东").count() == 1
    assert AuditEvent.objects.filter(action="user.created", actor_label="system").count() == 2


def test_createuser_refuses_an_unknown_role_a_missing_manager_and_a_duplicate():
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        run("createuser", "a", "--role", "boss")
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        run("createuser", "a", "--role", "sales", "--manager", "ghost")
    run("createuser", "a", "--role", "sales")
    with pytest.raises(CommandError, match="已存在"):
        run("createuser", "A", "--role", "sales")
    assert User.objects.count() == 1


def test_createuser_without_password_makes_a_user_who_cannot_log_in_yet():
    run("createuser", "later", "--role", "finance")
    assert not User.objects.get(username="later").has_usable_password()


def test_token_prints_the_key_as_the_last_line_and_keeps_it(cast):
    first = run("token", "east_rep").splitlines()[-1]
    again = run("token", "east_rep").splitlines()[-1]
    assert first == again == Token.objects.get(user=cast.east_rep).key
    assert len(first) == 40
    with pytest.raises(CommandError, match="no user named"):
        run("token", "nobody")


def test_deactivate_command(cast):
    run("token", "east_rep")
    assert run("deactivate", "east_rep").strip() == "deactivated east_rep"
    cast.east_rep.refresh_from_db()
    assert not cast.east_rep.is_active
    with pytest.raises(CommandError, match="已停用"):
        run("token", "east_rep")


def test_demo_loads_the_company_once():
    output = run("demo")
    assert "Demo company loaded" in output
    assert f"password for all: {DEMO_PASSWORD}" in output
    counts = (
        User.objects.count(),
        Department.objects.count(),
        Customer.objects.count(),
        Contact.objects.count(),
        AuditEvent.objects.count(),
    )
    assert "already loaded" in run("demo")
    assert (
        User.objects.count(),
        Department.objects.count(),
        Customer.objects.count(),
        Contact.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    # The company the README promises.
    managers = User.objects.filter(role="manager")
    assert {m.department.name for m in managers} == {"华东销售部", "华南销售部", "华北销售部"}
    for manager in managers:
        reps = User.objects.filter(role="sales", department=manager.department)
        assert 3 <= reps.count() <= 4
        assert all(rep.manager == manager for rep in reps)
    assert {u.role for u in User.objects.all()} == {
        "admin",
        "manager",
        "sales",
        "orders",
        "logistics",
        "finance",
        "auditor",
    }
    assert 200 <= counts[2] <= 500
    assert Contact.objects.count() >= counts[2]
    assert User.objects.get(username="boss").check_password(DEMO_PASSWORD)
    assert chain_verify().ok


def test_demo_sales_cover_every_step_once():
    from kedun.sales.models import (
        CommissionEntry,
        Invoice,
        Order,
        OrderStatus,
        Payment,
        Product,
        Quote,
        QuoteStatus,
    )
    from kedun.sales.receivables import ageing_bucket, receivable_of

    run("demo")
    counts = [m.objects.count() for m in (Product, Quote, Order, Invoice, Payment)]
    entries = CommissionEntry.objects.count()
    assert "already loaded" in run("demo")
    assert [m.objects.count() for m in (Product, Quote, Order, Invoice, Payment)] == counts
    assert CommissionEntry.objects.count() == entries
    assert counts[0] == 12
    assert set(Quote.objects.values_list("status", flat=True)) == set(QuoteStatus.values)
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    # Something for every regional manager to approve, none of it their own.
    pending = Quote.objects.filter(status=QuoteStatus.PENDING_APPROVAL).select_related("owner")
    assert {q.owner.manager.username for q in pending} == {"east_mgr", "south_mgr", "north_mgr"}
    assert all(q.approval_reasons for q in pending)
    # Delivered late and early against the promise.
    delivered = Order.objects.filter(delivered_at__isnull=False)
    lateness = {(o.delivered_at.date() - o.promised_date).days > 0 for o in delivered}
    assert lateness == {True, False}
    assert Payment.objects.filter(payer_differs=True).count() == 1
    # One acceptance bill bounced: the invoice is open again, its commission clawed back.
    [bounced] = Payment.objects.filter(reversals__kind="bounced")
    assert bounced.reversed_amount == bounced.amount
    assert sum(e.amount for e in CommissionEntry.objects.filter(payment=bounced)) == 2 * sum(
        e.amount for e in CommissionEntry.objects.filter(payment=bounced, reversal=None)
    )
    # Commission accrued on every payment, payable and retained.
    assert set(CommissionEntry.objects.values_list("payment", flat=True)) == set(
        Payment.objects.values_list("pk", flat=True)
    )
    open_buckets = {
        ageing_bucket(receivable_of(i).days_overdue)
        for i in Invoice.objects.all()
        if i.paid_amount < i.amount
    }
    assert open_buckets == {"not_due", "0_30", "31_60", "61_90"}
    # Written through the services: audited, the chain intact.
    assert AuditEvent.objects.filter(action="sales.payment_recorded").count() == counts[4]
    assert chain_verify().ok
