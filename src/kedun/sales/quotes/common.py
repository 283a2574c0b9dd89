"""Limits, line input, and who may write, sell or approve a quote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.models import Customer, Stage
from kedun.lifecycle.services import manages, works_the_account
from kedun.org.models import User

from ..catalogue import (
    Number,
)
from ..duties import Step, may, require
from ..models import Product, Quote, QuoteStatus, RepTerms

# A rep without RepTerms gives at most this discount without a manager's approval.
DEFAULT_MAX_DISCOUNT_RATE = Decimal("0.10")
MAX_LINES = 200
NOTE_MIN_LENGTH = 5

REVISABLE = (QuoteStatus.DRAFT, QuoteStatus.REJECTED, QuoteStatus.APPROVED, QuoteStatus.SENT)
# A deal can be lost at any point before the customer accepts.
LOSABLE = (
    QuoteStatus.DRAFT,
    QuoteStatus.PENDING_APPROVAL,
    QuoteStatus.APPROVED,
    QuoteStatus.SENT,
    QuoteStatus.REJECTED,
    QuoteStatus.EXPIRED,
)
# A customer at one of these stages moves to "quoted" when a quote goes out.
_BEFORE_QUOTED = (Stage.LEAD, Stage.CONTACTED, Stage.NEEDS_CONFIRMED)


@dataclass(frozen=True)
class QuoteLineInput:
    """One line as a caller gives it. No unit price: the price list's, else the list price."""

    product: Product | int
    quantity: Number
    unit_price: Number | None = None
    discount_rate: Number = Decimal(0)
    description: str = ""


LineSpec = QuoteLineInput | Mapping[str, Any]


def discount_limit_of(rep: User) -> Decimal:
    terms = RepTerms.objects.filter(rep=rep).values_list("max_discount_rate", flat=True).first()
    return DEFAULT_MAX_DISCOUNT_RATE if terms is None else terms


def _today() -> dt.date:
    return timezone.localdate(clock.now())


def _percent(rate: Decimal) -> str:
    value = (rate * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    return f"{value:f}"


# -- who may --------------------------------------------------------------------------------


def may_quote_for(actor: User, customer: Customer) -> bool:
    """The customer's owner, a collaborator with write access, or a manager of the owner."""
    if customer.owner_id is None or not may(actor, Step.QUOTE):
        return False
    return works_the_account(actor, customer)


def _check_may_quote_for(actor: User, customer: Customer) -> None:
    require(actor, Step.QUOTE)
    if customer.merged_into_id is not None:
        raise Invalid(_("This customer was merged into another one: quote that one."))
    if customer.owner_id is None:
        raise Conflict(_("This customer is in the pool: claim it before quoting."), code="in_pool")
    if not may_quote_for(actor, customer):
        raise Forbidden(
            _(
                "Only the customer's owner, a collaborator with write access or their manager "
                "can quote this customer."
            )
        )


def _check_seller(actor: User, quote: Quote) -> None:
    """The quote's own people: its owner, the customer's people, or a manager of the owner."""
    require(actor, Step.QUOTE)
    if quote.owner_id == actor.pk or manages(actor, quote.owner):
        return
    if may_quote_for(actor, quote.customer):
        return
    raise Forbidden(
        _("Only the quote's owner, the customer's account team or their manager can do this.")
    )


def _locked(quote_id: int) -> Quote:
    quote = (
        Quote.objects.select_for_update(of=("self",))
        .select_related(
            "owner", "owner__department", "owner__manager", "customer", "need", "price_list"
        )
        .filter(pk=quote_id)
        .first()
    )
    if quote is None:
        raise NotFound()
    return quote


def _require_status(quote: Quote, *allowed: str) -> None:
    if quote.status not in allowed:
        raise Conflict(
            _("Quote %(quote)s is %(status)s: this cannot be done now.")
            % {"quote": quote, "status": quote.get_status_display()},
            code="status",
        )


def _note(note: str, *, what: str) -> str:
    note = " ".join(note.split())
    if len(note) < NOTE_MIN_LENGTH:
        raise Invalid(
            _("%(what)s needs a note of at least %(min)d characters.")
            % {"what": what, "min": NOTE_MIN_LENGTH},
            code="note",
        )
    return note


def _check_valid_until(valid_until: dt.date | None) -> dt.date:
    if valid_until is None:
        raise Invalid(_("Say until when the quote is valid."), code="valid_until")
    if valid_until < _today():
        raise Invalid(
            _("The validity date %(date)s has passed.") % {"date": valid_until.isoformat()},
            code="valid_until",
        )
    return valid_until
