"""Catalogue pages: products and price lists. Everyone reads the active catalogue with its list
and floor prices (as the API shows it); whoever holds the CATALOGUE step (the boss by default)
writes it, and the services check again."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kedun.core.errors import DomainError, Forbidden
from kedun.org.models import User

from ..catalogue import (
    price_list_create,
    price_list_prices_set,
    price_list_update,
    price_list_usable,
    product_create,
    product_update,
)
from ..duties import Step, may
from ..forms import PriceListForm, PriceListPricesForm, ProductForm, percent_of
from ..selectors import (
    PRODUCT_STATUSES,
    price_list_get_for_viewer,
    price_list_list_visible_to,
    price_list_prices,
    price_list_products,
    product_get_for_viewer,
    product_list_visible_to,
)
from .common import page_of, refused, viewer_with

STATUS_LABELS = {
    "active": gettext_lazy("Active"),
    "inactive": gettext_lazy("Retired"),
    "all": gettext_lazy("All"),
}


def _keeper(request: HttpRequest) -> User:
    """The viewer, who must keep the catalogue to be here."""
    viewer = viewer_with(request)
    if not may(viewer, Step.CATALOGUE):
        raise Forbidden()
    return viewer


# -- products ---------------------------------------------------------------------------------


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request)
    keeps = may(viewer, Step.CATALOGUE)
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "active")
    if not keeps or status not in PRODUCT_STATUSES:
        status = "active"
    products = product_list_visible_to(viewer=viewer, q=q, status=status)
    page = page_of(request, products)
    context = {
        "page": page,
        "rows": [(p, percent_of(p.tax_rate), percent_of(p.commission_rate)) for p in page],
        "q": q,
        "status": status,
        "statuses": list(STATUS_LABELS.items()) if keeps else [],
        "query": urlencode({"q": q, "status": status}) + "&",
        "keeps": keeps,
    }
    # htmx search-as-you-type swaps only the table.
    template = (
        "sales/_product_rows.html" if request.headers.get("HX-Request") else "sales/products.html"
    )
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    viewer = _keeper(request)
    form = ProductForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            product = product_create(actor=viewer, **form.values())
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Product %(sku)s added.") % {"sku": product.sku})
            return redirect("product-list")
    return render(request, "sales/product_form.html", {"form": form, "product": None})


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    viewer = _keeper(request)
    product = product_get_for_viewer(viewer=viewer, product_id=product_id)
    form = ProductForm(request.POST if request.method == "POST" else None, product=product)
    if form.is_valid():
        try:
            product = product_update(actor=viewer, product=product, **form.values())
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Product %(sku)s saved.") % {"sku": product.sku})
            return redirect("product-list")
    return render(request, "sales/product_form.html", {"form": form, "product": product})


# -- price lists ------------------------------------------------------------------------------


@login_required
def price_list_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request)
    page = page_of(request, price_list_list_visible_to(viewer=viewer))
    rows = [(price_list, price_list_usable(price_list)) for price_list in page]
    context = {"page": page, "rows": rows, "keeps": may(viewer, Step.CATALOGUE), "query": ""}
    return render(request, "sales/price_lists.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def price_list_new(request: HttpRequest) -> HttpResponse:
    viewer = _keeper(request)
    form = PriceListForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            price_list = price_list_create(actor=viewer, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(
                request, _("Price list %(name)s added: set its prices.") % {"name": price_list}
            )
            return redirect("price-list-prices", price_list.pk)
    return render(request, "sales/price_list_form.html", {"form": form, "price_list": None})


@login_required
@require_http_methods(["GET", "POST"])
def price_list_edit(request: HttpRequest, price_list_id: int) -> HttpResponse:
    viewer = _keeper(request)
    price_list = price_list_get_for_viewer(viewer=viewer, price_list_id=price_list_id)
    form = PriceListForm(request.POST if request.method == "POST" else None, price_list=price_list)
    if form.is_valid():
        try:
            price_list = price_list_update(actor=viewer, price_list=price_list, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Price list %(name)s saved.") % {"name": price_list.name})
            return redirect("price-list-list")
    return render(request, "sales/price_list_form.html", {"form": form, "price_list": price_list})


@login_required
@require_http_methods(["GET", "POST"])
def price_list_prices_view(request: HttpRequest, price_list_id: int) -> HttpResponse:
    """The list's price for each product: the active ones, and retired ones still on it."""
    viewer = viewer_with(request)
    keeps = may(viewer, Step.CATALOGUE)
    if request.method == "POST" and not keeps:
        raise Forbidden()
    price_list = price_list_get_for_viewer(viewer=viewer, price_list_id=price_list_id)
    prices = price_list_prices(price_list=price_list)
    products = price_list_products(viewer=viewer, price_list=price_list)
    form = PriceListPricesForm(
        request.POST if request.method == "POST" else None, products=products, prices=prices
    )
    if form.is_valid():
        try:
            price_list_prices_set(actor=viewer, price_list=price_list, prices=form.prices())
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Prices saved."))
            return redirect("price-list-prices", price_list.pk)
    if not keeps:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "price_list": price_list,
        "usable": price_list_usable(price_list),
        "form": form,
        "rows": [(product, field, prices.get(product.pk)) for product, field in form.rows()],
        "keeps": keeps,
    }
    return render(request, "sales/price_list_prices.html", context)
