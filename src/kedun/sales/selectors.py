"""Reads of quotes, scoped to the viewer: a rep sees the quotes they own or wrote and those of
the customers whose account team they are on, a manager their people's, the back office and
the boss everyone's (the viewer's data scope decides). Also the catalogue as each viewer sees
it, and the reps whose terms the viewer may read."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet

from kedun.core.errors import NotFound
from kedun.customers.access import active_team_q
from kedun.customers.models import TeamMember
from kedun.lifecycle.services import CLAIMING_ROLES
from kedun.org.models import User
from kedun.org.selectors import scope_filter, users_in_scope_of

from .duties import Step, may
from .models import LostReason, PriceList, PriceListItem, Product, Quote, QuoteLine, QuoteStatus


def quote_list_visible_to(
    *,
    viewer: User,
    customer_id: int | None = None,
    status: str = "",
    current_only: bool = False,
) -> QuerySet[Quote]:
    """Newest first. `current_only` leaves out versions a newer one superseded."""
    if not viewer.is_active:
        return Quote.objects.none()
    visible = scope_filter(viewer=viewer, owner_field="owner")
    if visible:  # an empty Q is "everything": OR-ing it would narrow it instead
        on_team = TeamMember.objects.filter(active_team_q(), user=viewer).values("customer_id")
        visible |= Q(created_by=viewer) | Q(customer_id__in=on_team)
    quotes = (
        Quote.objects.filter(visible)
        .select_related("customer", "owner", "owner__department")
        .order_by("-created_at", "-pk")
    )
    if customer_id is not None:
        quotes = quotes.filter(customer_id=customer_id)
    if status:
        quotes = quotes.filter(status=status)
    if current_only:
        quotes = quotes.exclude(status=QuoteStatus.SUPERSEDED)
    return quotes


def quote_get_for_viewer(*, viewer: User, quote_id: int) -> Quote:
    """The quote, or NotFound — the same answer for "missing" and "not yours"."""
    quote = (
        quote_list_visible_to(viewer=viewer)
        .select_related(
            "need", "price_list", "approved_by", "created_by", "lost_reason", "customer__owner"
        )
        .filter(pk=quote_id)
        .first()
    )
    if quote is None:
        raise NotFound()
    return quote


def quote_lines_of(*, quote: Quote) -> list[QuoteLine]:
    return list(QuoteLine.objects.filter(quote=quote).select_related("product"))


def quote_versions(*, viewer: User, quote: Quote) -> list[Quote]:
    """Every version of the quote's number the viewer may see, oldest first."""
    return list(
        quote_list_visible_to(viewer=viewer).filter(number=quote.number).order_by("version")
    )


# -- the catalogue ----------------------------------------------------------------------------

PRODUCT_STATUSES = ("active", "inactive", "all")


def product_list_visible_to(
    *, viewer: User, q: str = "", status: str = "active"
) -> QuerySet[Product]:
    """Everyone sees the active products with their list and floor prices (as the API shows
    them: a rep needs the floor to know when a quote goes to approval); retired ones only
    whoever keeps the catalogue."""
    if not viewer.is_active:
        return Product.objects.none()
    products = Product.objects.order_by("sku")
    if not may(viewer, Step.CATALOGUE) or status == "active":
        products = products.filter(active=True)
    elif status == "inactive":
        products = products.filter(active=False)
    q = q.strip()
    if q:
        products = products.filter(Q(sku__icontains=q) | Q(name__icontains=q))
    return products


def product_get_for_viewer(*, viewer: User, product_id: int) -> Product:
    product = product_list_visible_to(viewer=viewer, status="all").filter(pk=product_id).first()
    if product is None:
        raise NotFound()
    return product


def price_list_list_visible_to(*, viewer: User) -> QuerySet[PriceList]:
    """Active price lists for everyone; retired ones for whoever keeps the catalogue."""
    if not viewer.is_active:
        return PriceList.objects.none()
    lists = PriceList.objects.order_by("name")
    if not may(viewer, Step.CATALOGUE):
        lists = lists.filter(active=True)
    return lists


def price_list_get_for_viewer(*, viewer: User, price_list_id: int) -> PriceList:
    price_list = price_list_list_visible_to(viewer=viewer).filter(pk=price_list_id).first()
    if price_list is None:
        raise NotFound()
    return price_list


def price_list_products(*, viewer: User, price_list: PriceList) -> list[Product]:
    """The products a price list's page shows: the active ones, and for whoever keeps the
    catalogue also retired ones still on the list (so they can be taken off)."""
    shown = Q(active=True)
    if may(viewer, Step.CATALOGUE):
        shown |= Q(pk__in=PriceListItem.objects.filter(price_list=price_list).values("product_id"))
    return list(Product.objects.filter(shown).order_by("sku"))


def price_list_prices(*, price_list: PriceList) -> dict[int, Decimal]:
    """Product id → its price on the list."""
    return dict(
        PriceListItem.objects.filter(price_list=price_list).values_list("product_id", "price")
    )


def lost_reason_get(*, reason_id: int) -> LostReason:
    """A configured reason (everyone may read the list, so no scope to apply)."""
    reason = LostReason.objects.filter(pk=reason_id).first()
    if reason is None:
        raise NotFound()
    return reason


# -- reps' terms ------------------------------------------------------------------------------


def rep_list_visible_to(*, viewer: User) -> QuerySet[User]:
    """The active people who sell (and so have terms) in the viewer's data scope, with their
    terms row if any (sales_terms)."""
    return (
        users_in_scope_of(viewer=viewer)
        .filter(is_active=True, role__in=CLAIMING_ROLES)
        .select_related("department", "sales_terms")
        .order_by("department__path", "username")
    )


def rep_get_for_viewer(*, viewer: User, rep_id: int) -> User:
    rep = rep_list_visible_to(viewer=viewer).filter(pk=rep_id).first()
    if rep is None:
        raise NotFound()
    return rep
