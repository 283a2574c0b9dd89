"""The catalogue and quotes (MISSION §5): who may quote whom, prices from the list or the price
list, the approval rules (below the floor or over the rep's discount limit waits for a manager
of the rep, and nobody approves their own quote), sending, accepting, expiring, losing with a
reason, versions, the viewer's scope, and the printable page. Every refusal is checked to
leave the database as it was."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse
from django.utils import translation

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.models import Customer, Need, NeedStatus, Stage, TeamAccess, TeamMember
from kedun.notifications.models import Notification
from kedun.org.models import Role
from kedun.sales.catalogue import (
    DEFAULT_LOST_REASONS,
    lost_reason_create,
    lost_reason_update,
    lost_reasons,
    price_list_create,
    price_list_prices_set,
    price_list_update,
    product_create,
    product_update,
)
from kedun.sales.duties import duties_set
from kedun.sales.models import (
    LostReason,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    RepTerms,
)
from kedun.sales.quotes import (
    QuoteLineInput,
    quote_accept,
    quote_approve,
    quote_create,
    quote_expire,
    quote_lines_set,
    quote_mark_lost,
    quote_reject,
    quote_revise,
    quote_send,
    quote_submit,
    quotes_expire_due,
)
from kedun.sales.quotes import numbers as quotes_numbers
from kedun.sales.selectors import quote_get_for_viewer, quote_list_visible_to, quote_versions
from tests.factories import CustomerFactory, ProductFactory, UserFactory

from .conftest import T0, TODAY

pytestmark = pytest.mark.django_db

VALID = TODAY + dt.timedelta(days=30)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _at_t0(lost_reason_rows):
    # Messages are asserted by their English msgids, whatever the .po files say.
    with clock.frozen_at(T0), translation.override("en"):
        yield


def line(product, quantity="1", **extra):
    return {"product": product, "quantity": quantity, **extra}


def create(actor, customer, lines, *, valid_until=VALID, **extra) -> Quote:
    return quote_create(
        actor=actor, customer=customer, lines=lines, valid_until=valid_until, **extra
    )


def state() -> tuple:
    """Everything a refused action must leave as it was."""
    return (
        list(Quote.objects.order_by("pk").values()),
        list(QuoteLine.objects.order_by("pk").values()),
        list(Need.objects.order_by("pk").values_list("pk", "status")),
        list(Customer.objects.order_by("pk").values_list("pk", "stage")),
        list(Product.objects.order_by("pk").values()),
        list(PriceList.objects.order_by("pk").values()),
        list(PriceListItem.objects.order_by("pk").values()),
        list(LostReason.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


def refused(error_class, call, /, *, expect: str | None = None, **kwargs):
    """Call, expect the refusal (with its code), and check that nothing changed."""
    before = state()
    with pytest.raises(error_class) as refusal:
        call(**kwargs)
    assert state() == before
    if expect is not None:
        assert refusal.value.code == expect
    return refusal.value


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def reload(quote: Quote) -> Quote:
    return Quote.objects.get(pk=quote.pk)


def pending(cast, customer, catalogue) -> Quote:
    """A quote of east_rep's waiting for approval (15 % off a pump, over the 10 % limit)."""
    quote = create(cast.east_rep, customer, [line(catalogue["pump"], discount_rate="0.15")])
    return quote_submit(actor=cast.east_rep, quote=quote)


def sent(cast, customer, catalogue, **extra) -> Quote:
    quote = create(cast.east_rep, customer, [line(catalogue["valve"], "2")], **extra)
    quote_submit(actor=cast.east_rep, quote=quote)
    return quote_send(actor=cast.east_rep, quote=quote)


# -- the catalogue ----------------------------------------------------------------------------


def test_the_boss_adds_a_product_and_it_is_audited(cast):
    product = product_create(
        actor=cast.boss,
        sku=" FAN-9 ",
        name="轴流风机",
        list_price="2500",
        floor_price=Decimal("2000.00"),
        tax_rate="0.13",
        unit="台",
    )

    product = Product.objects.get(pk=product.pk)
    assert (product.sku, product.list_price, product.floor_price, product.tax_rate) == (
        "FAN-9",
        Decimal("2500.00"),
        Decimal("2000.00"),
        Decimal("0.1300"),
    )
    [event] = events("product.created")
    assert event.actor_id == cast.boss.pk
    assert '"floor_price":"2000.00"' in event.changes


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (product_create, {"sku": "X1", "name": "x", "list_price": "10", "floor_price": "5"}),
        (price_list_create, {"name": "经销价"}),
        (lost_reason_create, {"code": "policy", "label": "政策"}),
    ],
)
def test_salespeople_and_managers_cannot_change_the_catalogue(cast, call, kwargs):
    for actor in (cast.east_rep, cast.east_mgr, cast.finance):
        refused(Forbidden, call, expect="duty", actor=actor, **kwargs)


def test_changing_a_product_is_refused_to_a_salesperson(cast, catalogue):
    refused(
        Forbidden,
        product_update,
        expect="duty",
        actor=cast.east_rep,
        product=catalogue["pump"],
        floor_price="1",
    )


def test_the_catalogue_step_follows_the_admins_grants(cast):
    duties_set(actor=cast.boss, step="catalogue", roles={Role.MANAGER})

    product = product_create(
        actor=cast.east_mgr, sku="M-1", name="x", list_price="10", floor_price="8"
    )

    assert product.pk
    refused(
        Forbidden,
        product_create,
        actor=cast.boss,
        sku="M-2",
        name="x",
        list_price="10",
        floor_price="8",
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"list_price": "100", "floor_price": "100.01"}, "floor_above_list"),
        ({"list_price": "100.005", "floor_price": "1"}, "invalid"),
        ({"list_price": "-1", "floor_price": "0"}, "invalid"),
        ({"list_price": "abc", "floor_price": "0"}, "invalid"),
        ({"list_price": "100", "floor_price": "1", "tax_rate": "1"}, "invalid"),
        ({"list_price": "100", "floor_price": "1", "tax_rate": "0.13005"}, "invalid"),
        ({"list_price": "1000000000000", "floor_price": "1"}, "invalid"),
    ],
)
def test_a_product_with_impossible_prices_is_refused(cast, kwargs, code):
    refused(Invalid, product_create, expect=code, actor=cast.boss, sku="BAD", name="坏", **kwargs)


def test_a_product_code_is_taken_once(cast, catalogue):
    refused(
        Conflict,
        product_create,
        expect="sku_taken",
        actor=cast.boss,
        sku="PUMP-100",
        name="另一个泵",
        list_price="10",
        floor_price="5",
    )


def test_product_update_writes_and_audits_only_what_changed(cast, catalogue):
    pump = catalogue["pump"]
    product_update(actor=cast.boss, product=pump, commission_rate="0.02")
    product_update(actor=cast.boss, product=pump, list_price="1100", name=pump.name)
    product_update(actor=cast.boss, product=pump, commission_rate=None, active=False)

    pump.refresh_from_db()
    assert (pump.list_price, pump.commission_rate, pump.active) == (
        Decimal("1100.00"),
        None,
        False,
    )
    changes = [e.changes for e in events("product.updated")]
    assert changes == [
        '{"commission_rate":[null,"0.0200"]}',
        '{"list_price":["1000.00","1100.00"]}',
        '{"active":[true,false],"commission_rate":["0.0200",null]}',
    ]


def test_a_floor_raised_above_the_list_price_is_refused(cast, catalogue):
    refused(
        Invalid,
        product_update,
        expect="floor_above_list",
        actor=cast.boss,
        product=catalogue["pump"],
        floor_price="1000.01",
    )


def test_a_price_list_sets_and_removes_prices(cast, catalogue):
    price_list = price_list_create(
        actor=cast.boss,
        name="经销价",
        prices={catalogue["pump"]: "900", catalogue["valve"]: "110.00"},
    )
    price_list_prices_set(
        actor=cast.boss,
        price_list=price_list,
        prices={catalogue["pump"]: "880.00", catalogue["valve"]: None},
    )

    assert dict(price_list.items.values_list("product__sku", "price")) == {
        "PUMP-100": Decimal("880.00")
    }
    assert [e.action for e in AuditEvent.objects.order_by("seq")] == [
        "price_list.created",
        "price_list.prices_set",
        "price_list.prices_set",
    ]
    refused(
        Conflict,
        price_list_create,
        expect="name_taken",
        actor=cast.boss,
        name="经销价",
    )
    refused(
        Invalid,
        price_list_update,
        actor=cast.boss,
        price_list=price_list,
        valid_from=TODAY,
        valid_until=TODAY - DAY,
    )


def test_the_migration_writes_the_default_reasons_into_an_empty_table(db):
    migration = importlib.import_module("kedun.sales.migrations.0002_default_lost_reasons")
    editor = SimpleNamespace(connection=connection)
    LostReason.objects.all().delete()

    migration.write_defaults(django_apps, editor)
    migration.write_defaults(django_apps, editor)  # a table with rows is left alone

    assert [(r.code, r.label, r.needs_competitor) for r in lost_reasons()] == list(
        DEFAULT_LOST_REASONS
    )
    assert all(r.pk for r in lost_reasons())


def test_with_no_reasons_configured_the_defaults_are_offered_and_nothing_is_written(db):
    LostReason.objects.all().delete()

    offered = lost_reasons()

    assert [r.code for r in offered] == [code for code, _l, _n in DEFAULT_LOST_REASONS]
    assert [r.pk for r in offered] == [None] * len(DEFAULT_LOST_REASONS)
    assert not LostReason.objects.exists()


def test_a_reason_of_ones_own_adds_to_the_defaults(cast):
    LostReason.objects.all().delete()

    lost_reason_create(actor=cast.boss, code="Policy", label="政策变化")

    assert [r.code for r in lost_reasons()] == [
        *(code for code, _l, _n in DEFAULT_LOST_REASONS),
        "policy",
    ]
    refused(
        Conflict, lost_reason_create, expect="code_taken", actor=cast.boss, code="price", label="x"
    )
    refused(Invalid, lost_reason_create, expect="code", actor=cast.boss, code="价格", label="x")


def test_a_retired_reason_is_no_longer_offered(cast):
    budget = LostReason.objects.get(code="budget")

    lost_reason_update(actor=cast.boss, reason=budget, active=False)

    assert "budget" not in [r.code for r in lost_reasons()]
    assert "budget" in [r.code for r in lost_reasons(include_inactive=True)]


# -- writing a quote --------------------------------------------------------------------------


def test_a_rep_quotes_their_customer_priced_from_the_catalogue(cast, catalogue, owned_customer):
    quote = create(
        cast.east_rep,
        owned_customer,
        [
            line(catalogue["pump"], "2", discount_rate="0.05"),
            line(catalogue["valve"], "3"),
            QuoteLineInput(product=catalogue["install"], quantity=1, description="现场安装"),
        ],
    )

    quote = reload(quote)
    assert (quote.number, quote.version, quote.status) == ("Q202603020001", 1, "draft")
    assert (quote.owner_id, quote.created_by_id, quote.created_at) == (
        cast.east_rep.pk,
        cast.east_rep.pk,
        T0,
    )
    assert [
        (q.product.sku, q.quantity, q.unit_price, q.discount_rate, q.net_amount, q.tax_amount)
        for q in quote.lines.all()
    ] == [
        ("PUMP-100", Decimal("2.000"), Decimal("1000.00"), Decimal("0.0500"),
         Decimal("1900.00"), Decimal("247.00")),
        # 361.50 × 13 % = 46.995: half up to 47.00, never the banker's 46.99
        ("VALVE-20", Decimal("3.000"), Decimal("120.50"), Decimal("0"),
         Decimal("361.50"), Decimal("47.00")),
        ("SVC-INSTALL", Decimal("1.000"), Decimal("500.00"), Decimal("0"),
         Decimal("500.00"), Decimal("30.00")),
    ]  # fmt: skip
    assert (quote.net_total, quote.tax_total, quote.list_total, quote.gross_total) == (
        Decimal("2761.50"),
        Decimal("324.00"),
        Decimal("2861.50"),
        Decimal("3085.50"),
    )
    [event] = events("quote.created")
    assert (event.actor_id, event.object_id) == (cast.east_rep.pk, str(quote.pk))


def test_quote_numbers_run_per_day(cast, catalogue, owned_customer):
    first = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    second = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    with clock.frozen_at(T0 + DAY):
        next_day = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    assert [first.number, second.number, next_day.number] == [
        "Q202603020001",
        "Q202603020002",
        "Q202603030001",
    ]


def test_a_number_taken_meanwhile_is_skipped(cast, catalogue, owned_customer, monkeypatch):
    taken = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    real_next = quotes_numbers._next_number
    answers = iter([taken.number])  # what a parallel writer read before our insert

    monkeypatch.setattr(
        quotes_numbers, "_next_number", lambda day: next(answers, None) or real_next(day)
    )
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    assert quote.number == "Q202603020002"
    assert Quote.objects.count() == 2


def test_quotes_written_at_the_same_moment_get_distinct_numbers(
    transactional_db, cast, catalogue, owned_customer
):
    writers = 12
    barrier = threading.Barrier(writers)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait(timeout=60)
            numbers.append(create(cast.east_rep, owned_customer, [line(catalogue["pump"])]).number)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:  # the clock is frozen at T0 for every thread (a module global)
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    assert sorted(numbers) == [f"Q20260302{n:04d}" for n in range(1, writers + 1)]
    assert chain_verify().ok


def test_the_unit_price_comes_from_the_price_list_when_given(cast, catalogue, owned_customer):
    price_list = price_list_create(actor=cast.boss, name="经销价", prices={catalogue["pump"]: 900})

    quote = create(
        cast.east_rep,
        owned_customer,
        [
            line(catalogue["pump"]),
            line(catalogue["valve"]),
            line(catalogue["install"], unit_price="450"),
        ],
        price_list=price_list,
    )

    assert [q.unit_price for q in quote.lines.all()] == [
        Decimal("900.00"),
        Decimal("120.50"),
        Decimal("450.00"),
    ]
    assert quote.list_total == Decimal("1620.50")  # measured at list prices


def test_a_price_list_out_of_its_period_cannot_be_used(cast, catalogue, owned_customer):
    price_list = price_list_create(
        actor=cast.boss, name="旧价", valid_until=TODAY - DAY, prices={catalogue["pump"]: 900}
    )

    refused(
        Invalid,
        create,
        expect="price_list",
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[line(catalogue["pump"])],
        price_list=price_list,
    )


def test_a_price_list_that_ended_is_dropped_by_the_next_version(cast, catalogue, owned_customer):
    price_list = price_list_create(
        actor=cast.boss, name="春季价", valid_until=TODAY + DAY, prices={catalogue["pump"]: 900}
    )
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])], price_list=price_list)

    with clock.frozen_at(T0 + 2 * DAY):
        refused(
            Invalid,
            quote_lines_set,
            expect="price_list",
            actor=cast.east_rep,
            quote=quote,
            lines=[line(catalogue["pump"])],
        )
        revised = quote_revise(actor=cast.east_rep, quote=quote)
        quote_lines_set(actor=cast.east_rep, quote=revised, lines=[line(catalogue["pump"])])

    assert revised.price_list_id is None
    assert reload(revised).net_total == Decimal("1000.00")


@pytest.mark.parametrize("who", ["south_rep", "east_rep2", "south_mgr", "east_lead"])
def test_only_the_customers_people_may_quote_it(cast, catalogue, owned_customer, who):
    refused(
        Forbidden,
        create,
        actor=getattr(cast, who),
        customer=owned_customer,
        lines=[line(catalogue["pump"])],
    )


@pytest.mark.parametrize("who", ["orders", "logistics", "finance", "auditor", "boss"])
def test_roles_without_the_quote_step_are_refused(cast, catalogue, owned_customer, who):
    refused(
        Forbidden,
        create,
        expect="duty",
        actor=getattr(cast, who),
        customer=owned_customer,
        lines=[line(catalogue["pump"])],
    )


def test_a_collaborator_with_write_access_quotes_for_the_owner(cast, catalogue, owned_customer):
    for user, access in ((cast.east_rep2, TeamAccess.WRITE), (cast.south_rep, TeamAccess.READ)):
        TeamMember.objects.create(
            customer=owned_customer, user=user, access=access, added_by=cast.east_rep, added_at=T0
        )

    quote = create(cast.east_rep2, owned_customer, [line(catalogue["pump"])])

    assert (quote.owner_id, quote.created_by_id) == (cast.east_rep.pk, cast.east_rep2.pk)
    refused(
        Forbidden,
        create,
        actor=cast.south_rep,
        customer=owned_customer,
        lines=[line(catalogue["pump"])],
    )


def test_a_manager_quotes_for_their_rep_who_stays_the_owner(cast, catalogue, owned_customer):
    quote = create(cast.east_mgr, owned_customer, [line(catalogue["pump"])])

    assert (quote.owner_id, quote.created_by_id) == (cast.east_rep.pk, cast.east_mgr.pk)


def test_a_customer_in_the_pool_is_claimed_before_it_is_quoted(cast, catalogue):
    pooled = CustomerFactory(owner=None, registered_by=cast.east_rep, pool_entered_at=T0)

    refused(
        Conflict,
        create,
        expect="in_pool",
        actor=cast.east_mgr,
        customer=pooled,
        lines=[line(catalogue["pump"])],
    )


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "no_lines"),
        ([{"product": "PUMP-100"}], "line"),
        ([{"quantity": "1"}], "line"),
        ([{"product": None, "quantity": "1"}], "product"),
        ([{"product": "pump", "quantity": "0"}], "invalid"),
        ([{"product": "pump", "quantity": "1.0005"}], "invalid"),
        ([{"product": "pump", "quantity": "1", "discount_rate": "1"}], "invalid"),
        ([{"product": "pump", "quantity": "1", "discount_rate": "-0.1"}], "invalid"),
        ([{"product": "pump", "quantity": "1", "unit_price": "99.999"}], "invalid"),
        ([{"product": "pump", "quantity": "1", "unit_price": "-1"}], "invalid"),
        ([{"product": "pump", "quantity": "1", "colour": "red"}], "line"),
        ([{"product": "retired", "quantity": "1"}], "product"),
        ([{"product": "pump", "quantity": "99999999999"}], "invalid"),
    ],
)
def test_impossible_lines_are_refused(cast, catalogue, owned_customer, lines, code):
    catalogue["retired"] = ProductFactory(active=False)
    given = [
        {**spec, "product": catalogue[spec["product"]]}
        if spec.get("product") in catalogue
        else spec
        for spec in lines
    ]

    refused(Invalid, create, expect=code, actor=cast.east_rep, customer=owned_customer, lines=given)


def test_a_quote_valid_until_yesterday_is_refused(cast, catalogue, owned_customer):
    refused(
        Invalid,
        create,
        expect="valid_until",
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[line(catalogue["pump"])],
        valid_until=TODAY - DAY,
    )


def test_the_need_must_be_the_customers_and_still_open(cast, catalogue, owned_customer, need):
    other = CustomerFactory(owner=cast.east_rep, registered_by=cast.east_rep)
    refused(
        Invalid,
        create,
        expect="need",
        actor=cast.east_rep,
        customer=other,
        lines=[line(catalogue["pump"])],
        need=need,
    )
    Need.objects.filter(pk=need.pk).update(status=NeedStatus.LOST)
    refused(
        Invalid,
        create,
        expect="need",
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[line(catalogue["pump"])],
        need=need,
    )


def test_a_drafts_lines_are_replaced_and_totalled_again(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    quote_lines_set(
        actor=cast.east_rep,
        quote=quote,
        lines=[line(catalogue["valve"], "10", discount_rate="0.1")],
        valid_until=VALID + DAY,
    )

    quote = reload(quote)
    assert [(q.product_id, q.net_amount) for q in quote.lines.all()] == [
        (catalogue["valve"].pk, Decimal("1084.50"))
    ]
    assert (quote.net_total, quote.tax_total, quote.list_total, quote.valid_until) == (
        Decimal("1084.50"),
        Decimal("140.99"),  # 1084.50 × 13 % = 140.985
        Decimal("1205.00"),
        VALID + DAY,
    )
    [event] = events("quote.lines_set")
    assert '"net_total":["1000.00","1084.50"]' in event.changes


def test_only_a_draft_has_its_lines_replaced(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    quote_submit(actor=cast.east_rep, quote=quote)

    refused(
        Conflict,
        quote_lines_set,
        expect="status",
        actor=cast.east_rep,
        quote=quote,
        lines=[line(catalogue["valve"])],
    )
    refused(
        Forbidden,
        quote_lines_set,
        actor=cast.south_rep,
        quote=quote,
        lines=[line(catalogue["valve"])],
    )


# -- approval ---------------------------------------------------------------------------------


def test_a_quote_within_the_limits_is_approved_at_once(cast, catalogue, owned_customer):
    quote = create(
        cast.east_rep,
        owned_customer,
        [line(catalogue["pump"], discount_rate="0.10"), line(catalogue["valve"], "4")],
    )

    quote_submit(actor=cast.east_rep, quote=quote)

    quote = reload(quote)
    assert (quote.status, quote.approved_by_id, quote.approved_at, quote.approval_reasons) == (
        "approved",
        None,
        T0,
        "",
    )
    assert not Notification.objects.exists()
    [event] = events("quote.submitted")
    assert event.changes == '{"reasons":[],"status":["draft","approved"]}'


def test_a_discount_over_the_reps_limit_waits_for_their_manager(cast, catalogue, owned_customer):
    quote = create(
        cast.east_rep, owned_customer, [line(catalogue["valve"], discount_rate="0.1001")]
    )

    quote_submit(actor=cast.east_rep, quote=quote)

    quote = reload(quote)
    assert quote.status == "pending_approval"
    assert quote.approval_reasons == (
        "Line 1, VALVE-20 闸阀: 10.01 % off is over the discount limit of 10 %."
    )
    [notice] = Notification.objects.all()
    assert (notice.recipient_id, notice.kind) == (cast.east_mgr.pk, "quote_approval")
    assert notice.url == reverse("quote-print", args=[quote.pk])


def test_a_lowered_unit_price_counts_as_a_discount(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"], unit_price="880")])

    quote_submit(actor=cast.east_rep, quote=quote)

    assert reload(quote).approval_reasons == (
        "Line 1, PUMP-100 离心泵: 12 % off is over the discount limit of 10 %."
    )


def test_below_the_floor_waits_whatever_the_reps_limit(cast, catalogue, owned_customer):
    RepTerms.objects.create(rep=cast.east_rep, max_discount_rate="0.30", commission_rate="0.02")
    quote = create(
        cast.east_rep,
        owned_customer,
        [line(catalogue["valve"]), line(catalogue["pump"], "2", discount_rate="0.16")],
    )

    quote_submit(actor=cast.east_rep, quote=quote)

    quote = reload(quote)
    assert quote.status == "pending_approval"
    assert quote.approval_reasons == (
        "Line 2, PUMP-100 离心泵: 840.00 per unit after discount is below the floor price 850.00."
    )


def test_a_rep_with_a_wider_limit_gives_it_without_approval(cast, catalogue, owned_customer):
    RepTerms.objects.create(rep=cast.east_rep, max_discount_rate="0.20", commission_rate="0.02")
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"], discount_rate="0.15")])

    quote_submit(actor=cast.east_rep, quote=quote)

    assert reload(quote).status == "approved"  # 850.00: on the floor, not below it


def test_the_discount_is_measured_on_the_price_list(cast, catalogue, owned_customer):
    price_list = price_list_create(actor=cast.boss, name="经销价", prices={catalogue["pump"]: 900})
    quote = create(
        cast.east_rep,
        owned_customer,
        [line(catalogue["pump"], discount_rate="0.05")],  # 855.00: 14.5 % off the list price
        price_list=price_list,
    )

    quote_submit(actor=cast.east_rep, quote=quote)

    assert reload(quote).status == "approved"


def test_the_reps_manager_approves(cast, catalogue, owned_customer):
    quote = pending(cast, owned_customer, catalogue)

    quote_approve(actor=cast.east_mgr, quote=quote, note="大客户，同意")

    quote = reload(quote)
    assert (quote.status, quote.approved_by_id, quote.approved_at, quote.decision_note) == (
        "approved",
        cast.east_mgr.pk,
        T0,
        "大客户，同意",
    )
    assert list(
        Notification.objects.filter(kind="quote_decided").values_list("recipient", flat=True)
    ) == [cast.east_rep.pk]
    assert [e.actor_id for e in events("quote.approved")] == [cast.east_mgr.pk]


def test_a_manager_of_another_team_cannot_decide(cast, catalogue, owned_customer):
    quote = pending(cast, owned_customer, catalogue)

    error = refused(
        Forbidden, quote_approve, expect="not_their_manager", actor=cast.south_mgr, quote=quote
    )
    assert "east_rep" in str(error.message)
    refused(
        Forbidden,
        quote_reject,
        expect="not_their_manager",
        actor=cast.south_mgr,
        quote=quote,
        note="价格太低了",
    )


@pytest.mark.parametrize("who", ["east_rep", "east_rep2", "east_lead", "finance"])
def test_people_without_the_approve_step_cannot_approve(cast, catalogue, owned_customer, who):
    quote = pending(cast, owned_customer, catalogue)

    refused(Forbidden, quote_approve, expect="duty", actor=getattr(cast, who), quote=quote)


def test_a_manager_does_not_approve_a_quote_they_own(cast, catalogue):
    own_customer = CustomerFactory(owner=cast.east_mgr, registered_by=cast.east_mgr)
    quote = create(cast.east_mgr, own_customer, [line(catalogue["pump"], discount_rate="0.2")])
    quote_submit(actor=cast.east_mgr, quote=quote)
    # The manager's own manager is told, not the manager.
    assert list(Notification.objects.values_list("recipient", flat=True)) == [cast.boss.pk]

    refused(Forbidden, quote_approve, expect="own_quote", actor=cast.east_mgr, quote=quote)
    quote_approve(actor=cast.boss, quote=quote)

    assert reload(quote).approved_by_id == cast.boss.pk


def test_a_manager_does_not_approve_a_quote_they_wrote(cast, catalogue, owned_customer):
    quote = create(cast.east_mgr, owned_customer, [line(catalogue["pump"], discount_rate="0.2")])
    quote_submit(actor=cast.east_mgr, quote=quote)
    assert list(Notification.objects.values_list("recipient", flat=True)) == [cast.boss.pk]

    refused(Forbidden, quote_approve, expect="own_quote", actor=cast.east_mgr, quote=quote)
    refused(
        Forbidden,
        quote_reject,
        expect="own_quote",
        actor=cast.east_mgr,
        quote=quote,
        note="不可以的",
    )
    quote_approve(actor=cast.boss, quote=quote)

    assert reload(quote).status == "approved"


def test_the_database_refuses_a_self_approval(cast, catalogue, owned_customer):
    quote = pending(cast, owned_customer, catalogue)

    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.filter(pk=quote.pk).update(approved_by=cast.east_rep)


def test_a_rejection_needs_a_note_and_goes_back_to_the_rep(cast, catalogue, owned_customer):
    quote = pending(cast, owned_customer, catalogue)
    for note in ("", "  太低  "):
        refused(Invalid, quote_reject, expect="note", actor=cast.east_mgr, quote=quote, note=note)

    quote_reject(actor=cast.east_mgr, quote=quote, note="折扣太大，  请重报")

    quote = reload(quote)
    assert (quote.status, quote.decision_note, quote.approved_by_id) == (
        "rejected",
        "折扣太大， 请重报",
        None,
    )
    [notice] = Notification.objects.filter(kind="quote_decided")
    assert (notice.recipient_id, notice.body) == (cast.east_rep.pk, "折扣太大， 请重报")


def test_only_a_waiting_quote_is_decided(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    refused(Conflict, quote_approve, expect="status", actor=cast.east_mgr, quote=quote)
    quote_submit(actor=cast.east_rep, quote=quote)
    refused(Conflict, quote_approve, expect="status", actor=cast.east_mgr, quote=quote)
    refused(Conflict, quote_submit, expect="status", actor=cast.east_rep, quote=quote)


def test_a_quote_past_its_validity_cannot_be_submitted(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])], valid_until=TODAY)

    with clock.frozen_at(T0 + DAY):
        refused(Invalid, quote_submit, expect="valid_until", actor=cast.east_rep, quote=quote)


# -- sending, accepting, expiring -------------------------------------------------------------


def test_sending_moves_the_need_and_the_customer_to_quoted(cast, catalogue, owned_customer, need):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])], need=need)
    refused(Conflict, quote_send, expect="status", actor=cast.east_rep, quote=quote)
    quote_submit(actor=cast.east_rep, quote=quote)

    quote_send(actor=cast.east_rep, quote=quote)

    assert reload(quote).status == "sent"
    need.refresh_from_db()
    owned_customer.refresh_from_db()
    assert (need.status, owned_customer.stage) == ("quoted", "quoted")
    [event] = events("quote.sent")
    assert event.changes == (
        '{"customer_stage":["lead","quoted"],"need":["open","quoted"],"status":["approved","sent"]}'
    )


def test_a_won_customer_stays_won_when_another_quote_goes_out(cast, catalogue, owned_customer):
    Customer.objects.filter(pk=owned_customer.pk).update(stage=Stage.WON)

    sent(cast, owned_customer, catalogue)

    owned_customer.refresh_from_db()
    assert owned_customer.stage == "won"


def test_an_approved_quote_past_its_validity_is_not_sent(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])], valid_until=TODAY)
    quote_submit(actor=cast.east_rep, quote=quote)

    with clock.frozen_at(T0 + DAY):
        refused(Invalid, quote_send, expect="valid_until", actor=cast.east_rep, quote=quote)


def test_an_accepted_quote_wins_its_need(cast, catalogue, owned_customer, need):
    quote = sent(cast, owned_customer, catalogue, need=need)

    quote_accept(actor=cast.east_rep, quote=quote)

    need.refresh_from_db()
    assert (reload(quote).status, need.status) == ("accepted", "won")
    refused(Conflict, quote_accept, expect="status", actor=cast.east_rep, quote=quote)


def test_a_quote_is_not_accepted_after_its_validity(cast, catalogue, owned_customer):
    quote = sent(cast, owned_customer, catalogue, valid_until=TODAY)

    with clock.frozen_at(T0 + DAY):
        refused(Conflict, quote_accept, expect="expired", actor=cast.east_rep, quote=quote)


def test_a_sent_quote_expires_only_after_its_validity(cast, catalogue, owned_customer):
    quote = sent(cast, owned_customer, catalogue, valid_until=TODAY)
    refused(Conflict, quote_expire, expect="still_valid", actor=cast.east_rep, quote=quote)

    with clock.frozen_at(T0 + DAY):
        quote_expire(actor=cast.east_rep, quote=quote)

    assert reload(quote).status == "expired"


def test_the_expiry_job_expires_every_sent_quote_past_its_date(cast, catalogue, owned_customer):
    yesterday = sent(cast, owned_customer, catalogue, valid_until=TODAY)
    today = sent(cast, owned_customer, catalogue, valid_until=TODAY + DAY)
    approved = create(cast.east_rep, owned_customer, [line(catalogue["pump"])], valid_until=TODAY)
    quote_submit(actor=cast.east_rep, quote=approved)
    Notification.objects.all().delete()

    assert quotes_expire_due(T0 + DAY) == 1
    assert quotes_expire_due(T0 + DAY) == 0

    assert [reload(q).status for q in (yesterday, today, approved)] == [
        "expired",
        "sent",
        "approved",
    ]
    [event] = events("quote.expired_due")
    assert (event.actor_id, event.actor_label) == (None, "quote-expiry")
    assert f'"quotes":[{yesterday.pk}]' in event.changes
    [notice] = Notification.objects.all()
    assert (notice.recipient_id, notice.kind) == (cast.east_rep.pk, "quotes_expired")


# -- lost deals -------------------------------------------------------------------------------


def test_a_lost_deal_needs_a_reason_and_a_note(cast, catalogue, owned_customer, need):
    quote = sent(cast, owned_customer, catalogue, need=need)
    for kwargs, code in (
        ({"reason_code": "weather", "note": "客户说不要了"}, "lost_reason"),
        ({"reason_code": "competitor", "note": "客户选了别家"}, "competitor"),
        ({"reason_code": "competitor", "competitor": "  ", "note": "客户选了别家"}, "competitor"),
        ({"reason_code": "price", "note": "太贵"}, "note"),
    ):
        refused(Invalid, quote_mark_lost, expect=code, actor=cast.east_rep, quote=quote, **kwargs)

    quote_mark_lost(
        actor=cast.east_rep,
        quote=quote,
        reason_code="competitor",
        competitor=" 宁波  华达泵业 ",
        note="对方报价低 8%",
    )

    quote = reload(quote)
    need.refresh_from_db()
    assert quote.lost_at is not None and quote.lost_at == clock.now()
    assert (quote.status, quote.lost_reason.code, quote.lost_competitor, quote.lost_note) == (
        "lost",
        "competitor",
        "宁波 华达泵业",
        "对方报价低 8%",
    )
    assert need.status == "lost"
    [event] = events("quote.lost")
    assert '"reason":"competitor"' in event.changes


def test_a_reason_without_a_competitor_needs_no_name(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    quote_mark_lost(actor=cast.east_rep, quote=quote, reason_code="budget", note="预算砍掉了")

    assert reload(quote).lost_reason.code == "budget"


def test_an_accepted_deal_cannot_be_lost(cast, catalogue, owned_customer):
    quote = sent(cast, owned_customer, catalogue)
    quote_accept(actor=cast.east_rep, quote=quote)

    refused(
        Conflict,
        quote_mark_lost,
        expect="status",
        actor=cast.east_rep,
        quote=quote,
        reason_code="price",
        note="价格没谈拢",
    )


def test_a_retired_reason_is_refused(cast, catalogue, owned_customer):
    LostReason.objects.filter(code="budget").update(active=False)
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    refused(
        Invalid,
        quote_mark_lost,
        expect="lost_reason",
        actor=cast.east_rep,
        quote=quote,
        reason_code="budget",
        note="预算砍掉了",
    )


def test_the_default_reasons_are_written_back_when_the_table_was_emptied(
    cast, catalogue, owned_customer
):
    LostReason.objects.all().delete()
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    quote_mark_lost(
        actor=cast.east_rep,
        quote=quote,
        reason_code="competitor",
        competitor="华达",
        note="对方交期更短",
    )

    assert reload(quote).lost_reason.label == "竞争对手"
    assert LostReason.objects.count() == len(DEFAULT_LOST_REASONS)
    assert [e.action for e in AuditEvent.objects.order_by("seq")][-2:] == [
        "lost_reason.defaults_written",
        "quote.lost",
    ]


def test_a_stranger_cannot_mark_a_quote_lost(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    refused(
        Forbidden,
        quote_mark_lost,
        actor=cast.south_rep,
        quote=quote,
        reason_code="price",
        note="价格没谈拢",
    )


# -- versions ---------------------------------------------------------------------------------


def test_a_revision_copies_the_lines_and_supersedes_the_old_version(
    cast, catalogue, owned_customer, need
):
    first = sent(cast, owned_customer, catalogue, need=need)

    second = quote_revise(actor=cast.east_rep, quote=first, valid_until=VALID + DAY)

    assert (second.number, second.version, second.status, second.need_id) == (
        first.number,
        2,
        "draft",
        need.pk,
    )
    assert second.valid_until == VALID + DAY
    assert reload(first).status == "superseded"
    fields = ("product_id", "quantity", "unit_price", "discount_rate", "net_amount", "tax_amount")
    assert list(second.lines.values_list(*fields)) == list(first.lines.values_list(*fields))
    assert (second.net_total, second.tax_total) == (first.net_total, first.tax_total)

    third = quote_revise(actor=cast.east_rep, quote=second)

    assert (third.version, reload(second).status) == (3, "superseded")
    assert [e.action for e in AuditEvent.objects.order_by("seq")][-4:] == [
        "quote.superseded",
        "quote.revised",
        "quote.superseded",
        "quote.revised",
    ]


def test_a_rejected_quote_comes_back_as_a_new_version(cast, catalogue, owned_customer):
    quote = pending(cast, owned_customer, catalogue)
    quote_reject(actor=cast.east_mgr, quote=quote, note="折扣太大了")

    revised = quote_revise(actor=cast.east_rep, quote=quote)
    quote_lines_set(
        actor=cast.east_rep, quote=revised, lines=[line(catalogue["pump"], discount_rate="0.08")]
    )
    quote_submit(actor=cast.east_rep, quote=revised)

    assert (reload(revised).version, reload(revised).status) == (2, "approved")


@pytest.mark.parametrize("status", ["pending_approval", "accepted", "superseded", "lost"])
def test_some_quotes_cannot_be_revised(cast, catalogue, owned_customer, status):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    lost_at = T0 if status == "lost" else None
    Quote.objects.filter(pk=quote.pk).update(status=status, lost_at=lost_at)

    refused(Conflict, quote_revise, expect="status", actor=cast.east_rep, quote=quote)


def test_a_version_exists_once(cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.create(
            number=quote.number,
            version=1,
            customer=owned_customer,
            owner=cast.east_rep,
            created_by=cast.east_rep,
            created_at=T0,
        )


# -- who sees which quotes --------------------------------------------------------------------


@pytest.fixture
def three_quotes(cast, catalogue):
    made = {}
    for rep in (cast.east_rep, cast.east_rep2, cast.south_rep):
        customer = CustomerFactory(owner=rep, registered_by=rep)
        made[rep.username] = create(rep, customer, [line(catalogue["pump"])])
    return made


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [
        ("east_rep", {"east_rep"}),
        ("east_rep2", {"east_rep2"}),
        ("east_lead", set()),
        ("east_mgr", {"east_rep", "east_rep2"}),
        ("south_mgr", {"south_rep"}),
        ("boss", {"east_rep", "east_rep2", "south_rep"}),
        ("finance", {"east_rep", "east_rep2", "south_rep"}),
        ("auditor", {"east_rep", "east_rep2", "south_rep"}),
    ],
)
def test_quotes_are_seen_within_the_viewers_scope(cast, three_quotes, viewer, visible):
    seen = quote_list_visible_to(viewer=getattr(cast, viewer))

    assert {q.owner.username for q in seen} == visible
    for owner, quote in three_quotes.items():
        if owner in visible:
            assert quote_get_for_viewer(viewer=getattr(cast, viewer), quote_id=quote.pk)
        else:
            with pytest.raises(NotFound):
                quote_get_for_viewer(viewer=getattr(cast, viewer), quote_id=quote.pk)


def test_the_account_team_sees_the_customers_quotes_while_on_it(cast, catalogue, owned_customer):
    for user, access in ((cast.south_rep, TeamAccess.WRITE), (cast.east_rep2, TeamAccess.READ)):
        TeamMember.objects.create(
            customer=owned_customer, user=user, access=access, added_by=cast.east_rep, added_at=T0
        )
    by_owner = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    by_colleague = create(cast.south_rep, owned_customer, [line(catalogue["valve"])])

    for viewer in (cast.east_rep, cast.south_rep, cast.east_rep2):
        assert list(quote_list_visible_to(viewer=viewer)) == [by_colleague, by_owner]

    TeamMember.objects.filter(user=cast.east_rep2).update(until=TODAY - DAY)
    TeamMember.objects.filter(user=cast.south_rep).delete()
    assert list(quote_list_visible_to(viewer=cast.east_rep2)) == []
    # Whoever wrote a quote keeps seeing it.
    assert list(quote_list_visible_to(viewer=cast.south_rep)) == [by_colleague]


def test_a_deactivated_user_sees_no_quotes(cast, three_quotes):
    cast.east_rep.is_active = False

    assert not quote_list_visible_to(viewer=cast.east_rep).exists()


def test_the_current_versions_and_the_history(cast, catalogue, owned_customer):
    first = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    second = quote_revise(actor=cast.east_rep, quote=first)

    assert list(quote_list_visible_to(viewer=cast.east_rep, current_only=True)) == [second]
    assert [q.version for q in quote_versions(viewer=cast.east_rep, quote=second)] == [1, 2]
    assert list(quote_list_visible_to(viewer=cast.east_rep, status="superseded")) == [first]


# -- the printable page -----------------------------------------------------------------------


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_print_page_shows_the_lines_the_tax_and_the_totals(
    client, cast, catalogue, owned_customer
):
    quote = create(
        cast.east_rep,
        owned_customer,
        [line(catalogue["pump"], "2", discount_rate="0.05"), line(catalogue["valve"], "2.5")],
    )
    client.force_login(cast.east_mgr)

    response = client.get(reverse("quote-print", args=[quote.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Q202603020001" in html
    assert "公司" in html and "杭州远望机械有限公司" in html
    assert "PUMP-100" in html and "离心泵" in html and "VALVE-20" in html
    assert "2 台" in html and "2.5 个" in html and "5 %" in html and "13 %" in html
    assert "<td data-net>1,900.00</td>" in html
    assert "<td data-tax>39.16</td>" in html  # 301.25 × 13 % = 39.1625
    assert "<td data-net-total>2,201.25</td>" in html
    assert "<td data-tax-total>286.16</td>" in html
    assert "<strong>2,487.41</strong>" in html
    assert "2026-04-01" in html  # valid until
    assert "data-not-issued" in html  # a draft is no quotation yet


def test_an_approved_quote_prints_as_issued(client, cast, catalogue, owned_customer):
    quote = pending(cast, owned_customer, catalogue)
    quote_approve(actor=cast.east_mgr, quote=quote)
    client.force_login(cast.east_rep)

    html = client.get(reverse("quote-print", args=[quote.pk])).content.decode()

    assert "data-not-issued" not in html
    assert "Approved by east_mgr on 2026-03-02." in html


def test_the_print_page_is_not_found_outside_the_viewers_scope(
    client, cast, catalogue, owned_customer
):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])

    client.force_login(cast.south_rep)
    assert client.get(reverse("quote-print", args=[quote.pk])).status_code == 404
    assert client.get(reverse("quote-print", args=[quote.pk + 1000])).status_code == 404
    client.logout()
    response = client.get(reverse("quote-print", args=[quote.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_teammate_does_not_print_a_reps_quote(client, cast, catalogue, owned_customer):
    quote = create(cast.east_rep, owned_customer, [line(catalogue["pump"])])
    teammate = UserFactory(username="teammate", department=cast.east, manager=cast.east_mgr)
    client.force_login(teammate)

    assert client.get(reverse("quote-print", args=[quote.pk])).status_code == 404
