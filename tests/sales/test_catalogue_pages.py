"""The catalogue and sales settings pages: products, price lists, lost reasons, the duty matrix
and reps' terms. Everyone reads the active catalogue; whoever keeps it (the boss by default)
writes it; a refused write changes nothing; bad input is said on the page and stores nothing;
a write shows and is audited. Pages are read in English (Accept-Language)."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.org.models import Role
from kedun.sales.catalogue import rep_terms_set
from kedun.sales.duties import duties_set, roles_for
from kedun.sales.models import DutyGrant, LostReason, PriceList, PriceListItem, Product, RepTerms
from tests.factories import PriceListFactory, PriceListItemFactory, ProductFactory, RepTermsFactory

from .conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english(client, lost_reason_rows):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with clock.frozen_at(T0), translation.override("en"):
        yield


def state() -> tuple:
    """Everything these pages may write."""
    return (
        list(Product.objects.order_by("pk").values()),
        list(PriceList.objects.order_by("pk").values()),
        list(PriceListItem.objects.order_by("pk").values()),
        list(LostReason.objects.order_by("pk").values()),
        list(DutyGrant.objects.order_by("pk").values()),
        list(RepTerms.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def page_of(response) -> str:
    return html.unescape(response.content.decode())


def as_user(client, user):
    client.force_login(user)
    return client


PRODUCT = {
    "sku": "FAN-9",
    "name": "轴流风机",
    "unit": "台",
    "list_price": "2500",
    "floor_price": "2000",
    "tax_percent": "13",
    "commission_percent": "",
    "lead_time_days": "10",
}


# -- products ---------------------------------------------------------------------------------


def test_a_salesperson_reads_active_products_with_list_and_floor_prices(cast, client, catalogue):
    ProductFactory(sku="OLD-1", name="旧泵", active=False)
    page = page_of(as_user(client, cast.east_rep).get(reverse("product-list")))

    assert 'data-product="PUMP-100"' in page and 'data-product="VALVE-20"' in page
    # The API shows floor prices to everyone (serializers.ProductOutput): so does the page.
    assert "¥1,000.00" in page and "¥850.00" in page
    assert "OLD-1" not in page
    assert "data-new-product" not in page and 'id="read-only"' in page
    assert reverse("product-edit", args=[catalogue["pump"].pk]) not in page
    # Retired products stay hidden whatever the filter asks.
    page = page_of(client.get(reverse("product-list"), {"status": "inactive"}))
    assert "OLD-1" not in page and "PUMP-100" in page


def test_the_boss_filters_active_and_retired_products_and_searches(cast, client, catalogue):
    ProductFactory(sku="OLD-1", name="旧泵", active=False)
    as_user(client, cast.boss)

    page = page_of(client.get(reverse("product-list")))
    assert "data-new-product" in page and "PUMP-100" in page and "OLD-1" not in page
    page = page_of(client.get(reverse("product-list"), {"status": "inactive"}))
    assert "OLD-1" in page and "PUMP-100" not in page
    page = page_of(client.get(reverse("product-list"), {"status": "all", "q": "泵"}))
    assert "OLD-1" in page and "PUMP-100" in page and "VALVE-20" not in page
    page = page_of(client.get(reverse("product-list"), {"q": "valve"}))
    assert "VALVE-20" in page and "PUMP-100" not in page


def test_the_product_search_answers_htmx_with_the_rows_only(cast, client, catalogue):
    response = as_user(client, cast.east_rep).get(
        reverse("product-list"), {"q": "SVC"}, HTTP_HX_REQUEST="true"
    )
    body = page_of(response)
    assert "<html" not in body
    assert "SVC-INSTALL" in body and "PUMP-100" not in body


def test_the_product_list_is_paginated_and_keeps_its_filters(cast, client):
    ProductFactory.create_batch(30, name="风机")
    response = as_user(client, cast.boss).get(reverse("product-list"), {"q": "风机"})
    assert len(response.context["page"]) == 25
    assert "?q=%E9%A3%8E%E6%9C%BA&amp;status=active&amp;page=2" in response.content.decode()
    second = client.get(reverse("product-list"), {"q": "风机", "page": 2})
    assert len(second.context["page"]) == 5


@pytest.mark.parametrize("role", ["manager", "sales", "finance", "orders", "auditor"])
def test_only_whoever_keeps_the_catalogue_opens_the_product_forms(cast, client, catalogue, role):
    as_user(client, cast.by_role(role))
    assert client.get(reverse("product-list")).status_code == 200
    assert client.get(reverse("product-new")).status_code == 403
    assert client.get(reverse("product-edit", args=[catalogue["pump"].pk])).status_code == 403


@pytest.mark.parametrize("role", ["manager", "sales", "finance"])
def test_a_forged_product_write_is_refused_and_changes_nothing(cast, client, catalogue, role):
    as_user(client, cast.by_role(role))
    before = state()

    assert client.post(reverse("product-new"), PRODUCT).status_code == 403
    edit = {**PRODUCT, "list_price": "1", "floor_price": "1", "active": "on"}
    url = reverse("product-edit", args=[catalogue["pump"].pk])
    assert client.post(url, edit).status_code == 403

    assert state() == before


def test_the_boss_adds_a_product_and_it_shows_and_is_audited(cast, client):
    response = as_user(client, cast.boss).post(
        reverse("product-new"), {**PRODUCT, "commission_percent": "2.5"}, follow=True
    )

    assert "Product FAN-9 added." in page_of(response)
    product = Product.objects.get(sku="FAN-9")
    assert (
        product.name,
        product.unit,
        product.list_price,
        product.floor_price,
        product.tax_rate,
        product.commission_rate,
        product.lead_time_days,
        product.active,
    ) == ("轴流风机", "台", Decimal("2500.00"), Decimal("2000.00"), Decimal("0.1300"),
          Decimal("0.0250"), 10, True)  # fmt: skip
    assert 'data-product="FAN-9"' in page_of(response)
    [event] = events("product.created")
    assert event.actor_id == cast.boss.pk and event.object_id == str(product.pk)
    assert event.changes_data["floor_price"] == "2000.00"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"floor_price": "2600"}, "The floor price cannot be above the list price."),
        ({"list_price": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"sku": "PUMP-100"}, "Product code PUMP-100 is taken."),
        ({"tax_percent": "100"}, "Ensure this value is less than or equal to 99.99."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_bad_product_input_is_said_on_the_page_and_stores_nothing(
    cast, client, catalogue, change, message
):
    as_user(client, cast.boss)
    before = state()

    response = client.post(reverse("product-new"), {**PRODUCT, **change})

    assert response.status_code == 200
    assert message in page_of(response)
    assert state() == before


def test_the_boss_changes_and_retires_a_product_and_only_the_change_is_audited(
    cast, client, catalogue
):
    pump = catalogue["pump"]
    url = reverse("product-edit", args=[pump.pk])
    as_user(client, cast.boss)
    form = client.get(url).context["form"]
    assert form.initial["tax_percent"] == Decimal("13.00")
    data = {
        "name": "离心泵",
        "unit": "台",
        "list_price": "1000.00",
        "floor_price": "900.00",
        "tax_percent": "13.00",
        "commission_percent": "",
        "lead_time_days": "20",
    }  # no "active": the box is unticked

    response = client.post(url, data, follow=True)

    assert "Product PUMP-100 saved." in page_of(response)
    pump.refresh_from_db()
    assert (pump.floor_price, pump.active) == (Decimal("900.00"), False)
    [event] = events("product.updated")
    assert event.actor_id == cast.boss.pk
    assert event.changes_data == {"active": [True, False], "floor_price": ["850.00", "900.00"]}
    # Retired: gone from a salesperson's list.
    page = page_of(as_user(client, cast.east_rep).get(reverse("product-list")))
    assert "PUMP-100" not in page


def test_a_bad_edit_stores_nothing(cast, client, catalogue):
    url = reverse("product-edit", args=[catalogue["pump"].pk])
    as_user(client, cast.boss)
    before = state()
    data = {
        "name": "离心泵",
        "unit": "台",
        "list_price": "800",
        "floor_price": "850.00",
        "tax_percent": "13",
        "lead_time_days": "20",
        "active": "on",
    }

    response = client.post(url, data)

    assert "The floor price cannot be above the list price." in page_of(response)
    assert state() == before


def test_the_product_pages_follow_the_catalogue_duty(cast, client, catalogue):
    duties_set(actor=cast.boss, step="catalogue", roles={Role.ORDERS})
    as_user(client, cast.orders)
    assert client.get(reverse("product-new")).status_code == 200
    assert client.post(reverse("product-new"), PRODUCT).status_code == 302
    assert Product.objects.filter(sku="FAN-9").exists()
    as_user(client, cast.boss)
    assert client.get(reverse("product-new")).status_code == 403


# -- price lists ------------------------------------------------------------------------------


@pytest.fixture
def dealers(catalogue) -> PriceList:
    """经销价: the pump at 900.00."""
    price_list = PriceListFactory(name="经销价")
    PriceListItemFactory(price_list=price_list, product=catalogue["pump"], price="900.00")
    return price_list


def test_a_salesperson_reads_active_price_lists_and_their_prices(cast, client, dealers):
    PriceListFactory(name="旧价目", active=False)
    as_user(client, cast.east_rep)

    page = page_of(client.get(reverse("price-list-list")))
    assert 'data-price-list="经销价"' in page and "旧价目" not in page
    assert "data-new-price-list" not in page
    prices = client.get(reverse("price-list-prices", args=[dealers.pk]))
    page = page_of(prices)
    assert "900.00" in page and 'name="price_' not in page
    assert client.get(reverse("price-list-new")).status_code == 403
    assert client.get(reverse("price-list-edit", args=[dealers.pk])).status_code == 403
    retired = PriceList.objects.get(name="旧价目")
    assert client.get(reverse("price-list-prices", args=[retired.pk])).status_code == 404


def test_a_forged_price_list_write_is_refused_and_changes_nothing(cast, client, catalogue, dealers):
    as_user(client, cast.east_mgr)
    before = state()

    assert client.post(reverse("price-list-new"), {"name": "大客户价"}).status_code == 403
    edit_url = reverse("price-list-edit", args=[dealers.pk])
    assert client.post(edit_url, {"name": "改名"}).status_code == 403
    prices_url = reverse("price-list-prices", args=[dealers.pk])
    pump = catalogue["pump"]
    assert client.post(prices_url, {f"price_{pump.pk}": "1.00"}).status_code == 403

    assert state() == before


def test_the_boss_creates_a_price_list_and_sets_its_prices(cast, client, catalogue):
    as_user(client, cast.boss)
    response = client.post(
        reverse("price-list-new"),
        {"name": "经销价", "valid_from": "2026-03-01", "valid_until": "2026-12-31"},
        follow=True,
    )
    price_list = PriceList.objects.get()
    assert response.redirect_chain[-1][0] == reverse("price-list-prices", args=[price_list.pk])
    assert "Price list 经销价 added: set its prices." in page_of(response)
    [created] = events("price_list.created")
    assert created.actor_id == cast.boss.pk

    pump, valve = catalogue["pump"], catalogue["valve"]
    url = reverse("price-list-prices", args=[price_list.pk])
    response = client.post(url, {f"price_{pump.pk}": "900", f"price_{valve.pk}": ""}, follow=True)

    assert "Prices saved." in page_of(response)
    assert dict(PriceListItem.objects.values_list("product__sku", "price")) == {
        "PUMP-100": Decimal("900.00")
    }
    [prices_set] = events("price_list.prices_set")
    assert prices_set.changes_data == {"PUMP-100": [None, "900.00"]}

    # A blank price takes the product off the list.
    client.post(url, {f"price_{pump.pk}": ""})
    assert not PriceListItem.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "春季价", "valid_from": "2026-06-01", "valid_until": "2026-03-01"},
            "A price list cannot end before it starts.",
        ),
        ({"name": "经销价"}, "A price list named 经销价 exists."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_a_bad_price_list_is_said_on_the_page_and_stores_nothing(
    cast, client, dealers, data, message
):
    as_user(client, cast.boss)
    before = state()

    response = client.post(reverse("price-list-new"), data)

    assert response.status_code == 200 and message in page_of(response)
    assert state() == before


def test_the_boss_renames_and_retires_a_price_list(cast, client, dealers):
    as_user(client, cast.boss)
    url = reverse("price-list-edit", args=[dealers.pk])

    response = client.post(url, {"name": "经销价 2026"}, follow=True)

    assert "Price list 经销价 2026 saved." in page_of(response)
    dealers.refresh_from_db()
    assert (dealers.name, dealers.active) == ("经销价 2026", False)
    [event] = events("price_list.updated")
    assert event.changes_data == {"active": [True, False], "name": ["经销价", "经销价 2026"]}


def test_a_negative_or_bad_price_is_said_and_no_price_is_stored(cast, client, catalogue, dealers):
    pump, valve = catalogue["pump"], catalogue["valve"]
    url = reverse("price-list-prices", args=[dealers.pk])
    as_user(client, cast.boss)
    before = state()

    response = client.post(url, {f"price_{pump.pk}": "950", f"price_{valve.pk}": "-1"})
    assert "Ensure this value is greater than or equal to 0." in page_of(response)
    response = client.post(url, {f"price_{pump.pk}": "950", f"price_{valve.pk}": "1.005"})
    assert "Ensure that there are no more than 2 decimal places." in page_of(response)

    assert state() == before


# -- lost reasons -----------------------------------------------------------------------------


def test_everyone_reads_the_active_lost_reasons_and_only_the_keeper_changes_them(cast, client):
    LostReason.objects.filter(code="budget").update(active=False)
    as_user(client, cast.east_rep)
    page = page_of(client.get(reverse("lost-reason-list")))
    assert 'data-reason="price"' in page and 'data-reason="budget"' not in page
    assert 'id="lost-reason-new"' not in page

    before = state()
    price = LostReason.objects.get(code="price")
    assert (
        client.post(
            reverse("lost-reason-list"), {"action": "create", "code": "policy", "label": "政策"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("lost-reason-list"), {"action": "deactivate", "reason": price.pk}
        ).status_code
        == 403
    )
    url = reverse("lost-reason-edit", args=[price.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"label": "x", "position": "1", "active": "on"}).status_code == 403
    assert state() == before

    page = page_of(as_user(client, cast.boss).get(reverse("lost-reason-list")))
    assert 'data-reason="budget"' in page and 'id="lost-reason-new"' in page


def test_the_boss_adds_retires_and_edits_a_lost_reason(cast, client):
    as_user(client, cast.boss)
    response = client.post(
        reverse("lost-reason-list"),
        {"action": "create", "code": "Policy", "label": "政策变化", "needs_competitor": "on"},
        follow=True,
    )
    assert "Lost reason 政策变化 added." in page_of(response)
    reason = LostReason.objects.get(code="policy")
    assert (reason.label, reason.needs_competitor, reason.active) == ("政策变化", True, True)
    assert [e.actor_id for e in events("lost_reason.created")] == [cast.boss.pk]

    response = client.post(
        reverse("lost-reason-list"), {"action": "deactivate", "reason": reason.pk}, follow=True
    )
    assert "Lost reason 政策变化 retired: lost deals keep it." in page_of(response)
    reason.refresh_from_db()
    assert reason.active is False
    [retired] = events("lost_reason.updated")
    assert retired.changes_data == {"active": [True, False]}

    url = reverse("lost-reason-edit", args=[reason.pk])
    client.post(url, {"label": "政策", "position": "5", "active": "on"})
    reason.refresh_from_db()
    assert (reason.label, reason.needs_competitor, reason.position, reason.active) == (
        "政策",
        False,
        5,
        True,
    )
    assert len(events("lost_reason.updated")) == 2


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("price", "The code price is taken."),
        ("no spaces", "A code has 1 to 30 letters, digits, '-' or '_' (e.g. lead_time)."),
    ],
)
def test_a_bad_lost_reason_is_said_on_the_page_and_stores_nothing(cast, client, code, message):
    as_user(client, cast.boss)
    before = state()

    response = client.post(
        reverse("lost-reason-list"), {"action": "create", "code": code, "label": "某原因"}
    )

    assert response.status_code == 200 and message in page_of(response)
    assert state() == before


# -- duties -----------------------------------------------------------------------------------


def matrix(**changes: set[str]) -> dict[str, list[str]]:
    """The current matrix as the page posts it, with some steps changed."""
    steps = ["catalogue", "quote", "approve", "order", "production", "ship", "documents"]
    grants = {step: sorted(roles_for(step)) for step in [*steps, "invoice", "payment"]}
    grants.update({step: sorted(roles) for step, roles in changes.items()})
    return grants


@pytest.mark.parametrize("role", ["manager", "sales", "finance", "orders", "auditor"])
def test_only_the_boss_opens_the_duty_matrix(cast, client, role):
    as_user(client, cast.by_role(role))
    before = state()
    assert client.get(reverse("sales-duties")).status_code == 403
    assert client.post(reverse("sales-duties"), matrix(catalogue={role})).status_code == 403
    assert state() == before


def test_the_matrix_shows_who_takes_each_step(cast, client):
    page = as_user(client, cast.boss).get(reverse("sales-duties")).content.decode()
    assert 'id="duty-catalogue-admin" aria-label="Maintain products and prices: Boss" checked' in (
        page
    )
    assert (
        'id="duty-catalogue-manager" aria-label="Maintain products and prices: Sales manager">'
        in (page)
    )
    assert 'id="duty-payment-finance" aria-label="Record payments: Finance" checked' in page


def test_the_boss_regrants_a_step_and_it_is_audited(cast, client):
    as_user(client, cast.boss)

    response = client.post(
        reverse("sales-duties"), matrix(catalogue={"admin", "orders"}), follow=True
    )

    assert "Duties saved: Maintain products and prices." in page_of(response)
    assert roles_for("catalogue") == {"admin", "orders"}
    assert list(DutyGrant.objects.values_list("step", flat=True).distinct()) == ["catalogue"]
    [event] = events("sales.duties_set")
    assert event.actor_id == cast.boss.pk
    assert event.changes_data == {"roles": [["admin"], ["admin", "orders"]]}
    # Posting the same matrix again changes nothing and writes nothing.
    client.post(reverse("sales-duties"), matrix())
    assert len(events("sales.duties_set")) == 1


def test_a_collecting_step_for_sales_is_refused_on_the_page_and_nothing_is_saved(cast, client):
    as_user(client, cast.boss)
    before = state()

    # The catalogue change comes first in the matrix and is rolled back with the refusal.
    response = client.post(
        reverse("sales-duties"),
        matrix(catalogue={"admin", "orders"}, payment={"finance", "sales"}),
    )

    page = page_of(response)
    assert response.status_code == 200
    assert (
        "Salespeople can never record invoices or payments: that is the road to 飞单. "
        "Nothing was saved." in page
    )
    # The page keeps what was ticked so the boss can correct it.
    assert 'id="duty-payment-sales" aria-label="Record payments: Salesperson" checked' in page
    assert state() == before
    assert roles_for("catalogue") == {"admin"}


# -- reps' terms ------------------------------------------------------------------------------


def terms_post(rep, discount: str, commission: str) -> dict[str, str]:
    return {
        "rep": str(rep.pk),
        f"rep{rep.pk}-max_discount_percent": discount,
        f"rep{rep.pk}-commission_percent": commission,
    }


def test_a_salesperson_reads_only_their_own_terms(cast, client):
    RepTermsFactory(rep=cast.east_rep, max_discount_rate="0.1500", commission_rate="0.0200")
    page = page_of(as_user(client, cast.east_rep).get(reverse("rep-terms")))
    assert 'data-rep="east_rep"' in page and 'data-rep="east_rep2"' not in page
    assert "<input" not in page.split('id="rep-terms"')[1]
    assert "15" in page.split('data-rep="east_rep"')[1]
    before = state()
    response = client.post(reverse("rep-terms"), terms_post(cast.east_rep, "50", "10"))
    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize("role", ["orders", "logistics"])
def test_the_goods_back_office_does_not_read_reps_terms(cast, client, role):
    assert as_user(client, cast.by_role(role)).get(reverse("rep-terms")).status_code == 403


def test_a_manager_sees_their_reps_and_edits_theirs_but_not_their_own(cast, client):
    as_user(client, cast.east_mgr)
    response = client.get(reverse("rep-terms"))
    rows = {row["rep"].username: row for row in response.context["rows"]}
    assert "east_rep" in rows and "east_team_rep" in rows
    assert "south_rep" not in rows and "boss" not in rows
    assert rows["east_rep"]["form"] is not None
    assert rows["east_mgr"]["form"] is None

    before = state()
    # Out of scope: as if it did not exist.
    assert (
        client.post(reverse("rep-terms"), terms_post(cast.south_rep, "50", "10")).status_code == 404
    )
    # Their own terms: refused.
    assert (
        client.post(reverse("rep-terms"), terms_post(cast.east_mgr, "50", "10")).status_code == 403
    )
    assert state() == before


def test_a_manager_sets_a_reps_terms_and_it_shows_and_is_audited(cast, client):
    as_user(client, cast.east_mgr)

    response = client.post(
        reverse("rep-terms"), terms_post(cast.east_rep, "15", "2.5"), follow=True
    )

    assert "Terms of" in page_of(response) and "saved." in page_of(response)
    terms = RepTerms.objects.get(rep=cast.east_rep)
    assert (terms.max_discount_rate, terms.commission_rate) == (
        Decimal("0.1500"),
        Decimal("0.0250"),
    )
    [event] = events("rep_terms.set")
    assert event.actor_id == cast.east_mgr.pk
    assert event.changes_data == {
        "rep": cast.east_rep.pk,
        "commission_rate": [None, "0.0250"],
        "max_discount_rate": [None, "0.1500"],
    }
    page = page_of(as_user(client, cast.east_rep).get(reverse("rep-terms")))
    assert "15" in page.split('data-rep="east_rep"')[1]


@pytest.mark.parametrize(
    ("discount", "commission", "message"),
    [
        ("100", "2", "Ensure this value is less than or equal to 99.99."),
        ("-1", "2", "Ensure this value is greater than or equal to 0."),
        ("10", "", "This field is required."),
    ],
)
def test_bad_terms_are_said_on_the_page_and_store_nothing(
    cast, client, discount, commission, message
):
    as_user(client, cast.boss)
    before = state()

    response = client.post(reverse("rep-terms"), terms_post(cast.east_rep, discount, commission))

    assert response.status_code == 200 and message in page_of(response)
    assert state() == before


def test_rep_terms_set_writes_and_audits_only_a_change(cast):
    rep_terms_set(
        actor=cast.boss, rep=cast.east_rep, max_discount_rate="0.2", commission_rate="0.03"
    )
    rep_terms_set(
        actor=cast.boss, rep=cast.east_rep, max_discount_rate="0.2", commission_rate="0.04"
    )
    rep_terms_set(
        actor=cast.boss, rep=cast.east_rep, max_discount_rate="0.20", commission_rate="0.04"
    )

    terms = RepTerms.objects.get(rep=cast.east_rep)
    assert (terms.max_discount_rate, terms.commission_rate) == (
        Decimal("0.2000"),
        Decimal("0.0400"),
    )
    assert [e.changes_data for e in events("rep_terms.set")] == [
        {
            "rep": cast.east_rep.pk,
            "commission_rate": [None, "0.0300"],
            "max_discount_rate": [None, "0.2000"],
        },
        {"rep": cast.east_rep.pk, "commission_rate": ["0.0300", "0.0400"]},
    ]


@pytest.mark.parametrize(
    ("actor", "rep"),
    [
        ("east_mgr", "south_rep"),  # not their rep
        ("east_mgr", "east_mgr"),  # their own
        ("east_rep", "east_rep"),
        ("finance", "east_rep"),
        ("boss", "finance"),  # not a rep
    ],
)
def test_rep_terms_set_is_refused_to_all_but_the_boss_and_the_reps_manager(cast, actor, rep):
    before = state()
    with pytest.raises(Forbidden):
        rep_terms_set(
            actor=getattr(cast, actor),
            rep=getattr(cast, rep),
            max_discount_rate="0.5",
            commission_rate="0.1",
        )
    assert state() == before


@pytest.mark.parametrize(
    ("discount", "commission"), [("1", "0.02"), ("0.1", "-0.01"), ("0.12345", "0.02"), ("x", "0")]
)
def test_rep_terms_set_refuses_a_rate_out_of_range(cast, discount, commission):
    before = state()
    with pytest.raises(Invalid):
        rep_terms_set(
            actor=cast.boss,
            rep=cast.east_rep,
            max_discount_rate=discount,
            commission_rate=commission,
        )
    assert state() == before


# -- the settings page and the menu -----------------------------------------------------------


def test_the_settings_page_links_what_the_viewer_may_open(cast, client):
    page = as_user(client, cast.boss).get(reverse("sales-settings")).content.decode()
    assert reverse("sales-duties") in page and reverse("rep-terms") in page
    page = as_user(client, cast.east_rep).get(reverse("sales-settings")).content.decode()
    assert reverse("sales-duties") not in page and reverse("lost-reason-list") in page
    page = as_user(client, cast.logistics).get(reverse("sales-settings")).content.decode()
    assert reverse("rep-terms") not in page


@pytest.mark.parametrize(
    "url",
    [
        "product-list",
        "product-new",
        "price-list-list",
        "price-list-new",
        "sales-settings",
        "lost-reason-list",
        "sales-duties",
        "rep-terms",
    ],
)
def test_every_page_opens_for_the_boss(cast, client, url):
    assert as_user(client, cast.boss).get(reverse(url)).status_code == 200


def test_the_object_pages_open_for_the_boss(cast, client, catalogue, dealers):
    as_user(client, cast.boss)
    price = LostReason.objects.get(code="price")
    for url in (
        reverse("product-edit", args=[catalogue["pump"].pk]),
        reverse("price-list-edit", args=[dealers.pk]),
        reverse("price-list-prices", args=[dealers.pk]),
        reverse("lost-reason-edit", args=[price.pk]),
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("product-edit", args=[999999])).status_code == 404
