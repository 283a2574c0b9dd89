"""Reads of quotes, scoped to the viewer: a rep sees the quotes they own or wrote and those of
the customers whose account team they are on, a manager their people's, the back office and
the boss everyone's (the viewer's data scope decides)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from kedun.core.errors import NotFound
from kedun.customers.access import active_team_q
from kedun.customers.models import TeamMember
from kedun.org.models import User
from kedun.org.selectors import scope_filter

from .models import Quote, QuoteLine, QuoteStatus


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
