"""Approval: why a quote needs a manager, who may approve it, and the decision."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.lifecycle.services import manages
from kedun.notifications.services import notify
from kedun.org.models import Role, User

from .. import money
from ..catalogue import (
    list_prices,
)
from ..duties import Step, may, require
from ..models import Quote, QuoteStatus
from .common import (
    _check_seller,
    _check_valid_until,
    _locked,
    _note,
    _percent,
    _require_status,
    discount_limit_of,
)


def approval_reasons_of(quote: Quote) -> list[str]:
    """Why the quote needs a manager: a line below the product's floor price, or a line
    cheaper than the reference price (the price list's, else the list price) by more than
    the owner's discount limit. Compared exactly, before any rounding."""
    limit = discount_limit_of(quote.owner)
    lines = list(quote.lines.select_related("product").order_by("position", "pk"))
    listed = list_prices(quote.price_list, [line.product for line in lines])
    reasons = []
    for line in lines:
        product = line.product
        effective = line.unit_price * (Decimal(1) - line.discount_rate)
        label = {"line": line.position, "product": f"{product.sku} {product.name}"}
        if effective < product.floor_price:
            reasons.append(
                _(
                    "Line %(line)d, %(product)s: %(price)s per unit after discount is below "
                    "the floor price %(floor)s."
                )
                % {
                    **label,
                    "price": money.to_cents(effective),
                    "floor": product.floor_price,
                }
            )
        reference = listed.get(product.pk, product.list_price)
        if reference > 0 and effective < reference * (Decimal(1) - limit):
            reasons.append(
                _(
                    "Line %(line)d, %(product)s: %(discount)s %% off is over the discount "
                    "limit of %(limit)s %%."
                )
                % {
                    **label,
                    "discount": _percent(Decimal(1) - effective / reference),
                    "limit": _percent(limit),
                }
            )
    return reasons


def _approvers_of(quote: Quote) -> list[User]:
    """Who is told a quote waits: the owner's manager if they may approve it, else the
    bosses — never the quote's own people."""
    own = {quote.owner_id, quote.created_by_id}
    manager = quote.owner.manager
    if (
        manager is not None
        and manager.pk not in own
        and may(manager, Step.APPROVE)
        and manages(manager, quote.owner)
    ):
        return [manager]
    return [
        boss
        for boss in User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk")
        if boss.pk not in own and may(boss, Step.APPROVE)
    ]


def quote_submit(*, actor: User, quote: Quote) -> Quote:
    """A draft goes out for sending: approved at once when within the limits, else waiting
    for a manager's approval, with the reasons written down."""
    with transaction.atomic():
        quote = _locked(quote.pk)
        _check_seller(actor, quote)
        _require_status(quote, QuoteStatus.DRAFT)
        _check_valid_until(quote.valid_until)
        if not quote.lines.exists():
            raise Invalid(_("A quote needs at least one line."), code="no_lines")
        reasons = approval_reasons_of(quote)
        now = clock.now()
        quote.approval_reasons = "\n".join(reasons)
        if reasons:
            quote.status = QuoteStatus.PENDING_APPROVAL
            quote.approved_at = None
        else:
            quote.status = QuoteStatus.APPROVED
            quote.approved_at = now  # approved_by stays empty: no approval was needed
        quote.approved_by = None
        quote.decision_note = ""
        quote.save(
            update_fields=[
                "status",
                "approval_reasons",
                "approved_at",
                "approved_by",
                "decision_note",
            ]
        )
        audit_record(
            actor=actor,
            action="quote.submitted",
            target=quote,
            changes={"status": [QuoteStatus.DRAFT, quote.status], "reasons": reasons},
        )
        if reasons:
            notify(
                recipients=_approvers_of(quote),
                kind="quote_approval",
                title=_("Quote %(quote)s for %(customer)s waits for your approval")
                % {"quote": quote, "customer": quote.customer.name},
                body=quote.approval_reasons,
                url=reverse("quote-print", args=[quote.pk]),
            )
    return quote


def _check_approver(actor: User, quote: Quote) -> None:
    require(actor, Step.APPROVE)
    if actor.pk in (quote.owner_id, quote.created_by_id):
        raise Forbidden(
            _("Nobody approves their own quote: ask another manager."), code="own_quote"
        )
    if not manages(actor, quote.owner):
        raise Forbidden(
            _("Only a manager of %(rep)s can decide on this quote.")
            % {"rep": quote.owner.display_name},
            code="not_their_manager",
        )


def quote_approve(*, actor: User, quote: Quote, note: str = "") -> Quote:
    with transaction.atomic():
        quote = _locked(quote.pk)
        _check_approver(actor, quote)
        _require_status(quote, QuoteStatus.PENDING_APPROVAL)
        quote.status = QuoteStatus.APPROVED
        quote.approved_by = actor
        quote.approved_at = clock.now()
        quote.decision_note = " ".join(note.split())
        quote.save(update_fields=["status", "approved_by", "approved_at", "decision_note"])
        audit_record(
            actor=actor,
            action="quote.approved",
            target=quote,
            changes={
                "status": [QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED],
                "note": quote.decision_note,
            },
        )
        _tell_sellers(quote, actor, _("Quote %(quote)s was approved") % {"quote": quote})
    return quote


def quote_reject(*, actor: User, quote: Quote, note: str) -> Quote:
    """Back to the rep, with the manager's reason; the rep revises it as a new version."""
    with transaction.atomic():
        quote = _locked(quote.pk)
        _check_approver(actor, quote)
        _require_status(quote, QuoteStatus.PENDING_APPROVAL)
        note = _note(note, what=_("A rejection"))
        quote.status = QuoteStatus.REJECTED
        quote.decision_note = note
        quote.save(update_fields=["status", "decision_note"])
        audit_record(
            actor=actor,
            action="quote.rejected",
            target=quote,
            changes={"status": [QuoteStatus.PENDING_APPROVAL, QuoteStatus.REJECTED], "note": note},
        )
        _tell_sellers(quote, actor, _("Quote %(quote)s was rejected") % {"quote": quote}, body=note)
    return quote


def _tell_sellers(quote: Quote, actor: User, title: str, body: str = "") -> None:
    people = User.objects.filter(pk__in={quote.owner_id, quote.created_by_id} - {actor.pk})
    notify(
        recipients=list(people),
        kind="quote_decided",
        title=title,
        body=body,
        url=reverse("quote-print", args=[quote.pk]),
    )
