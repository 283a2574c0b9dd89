"""Writing a quote and its lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Invalid
from kedun.customers.models import Customer, Need, NeedStatus
from kedun.org.models import User

from ..catalogue import (
    price_list_usable,
)
from ..duties import Step, require
from ..models import PriceList, Quote, QuoteLine, QuoteStatus
from .common import (
    LineSpec,
    _check_may_quote_for,
    _check_seller,
    _check_valid_until,
    _locked,
    _require_status,
)
from .lines import _priced_lines, _store_lines, _totals_changes
from .numbers import _insert_numbered

# -- writing --------------------------------------------------------------------------------


def _check_need(need: Need | None, customer: Customer) -> Need | None:
    if need is None:
        return None
    need = Need.objects.filter(pk=need.pk).first()
    if need is None or need.customer_id != customer.pk:
        raise Invalid(_("This need belongs to another customer."), code="need")
    if need.status not in (NeedStatus.OPEN, NeedStatus.QUOTED):
        raise Invalid(
            _("This need is %(status)s already.") % {"status": need.get_status_display()},
            code="need",
        )
    return need


def quote_create(
    *,
    actor: User,
    customer: Customer,
    lines: Sequence[LineSpec],
    valid_until: dt.date,
    need: Need | None = None,
    price_list: PriceList | None = None,
) -> Quote:
    """A draft quote for the customer, priced and totalled. The customer's owner owns it
    (collaborators and managers help, they do not take the sale); the actor wrote it."""
    require(actor, Step.QUOTE)
    valid_until = _check_valid_until(valid_until)
    with transaction.atomic():
        customer = Customer.objects.select_related("owner", "owner__department").get(pk=customer.pk)
        _check_may_quote_for(actor, customer)
        need = _check_need(need, customer)
        if price_list is not None:
            price_list = PriceList.objects.get(pk=price_list.pk)
            if not price_list_usable(price_list):
                raise Invalid(
                    _("The price list %(name)s is not in force.") % {"name": price_list.name},
                    code="price_list",
                )
        priced, totals = _priced_lines(lines, price_list=price_list)
        assert customer.owner is not None  # checked above
        quote = Quote(
            version=1,
            customer=customer,
            need=need,
            owner=customer.owner,
            price_list=price_list,
            status=QuoteStatus.DRAFT,
            valid_until=valid_until,
            net_total=totals.net,
            tax_total=totals.tax,
            list_total=totals.list_value,
            created_by=actor,
            created_at=clock.now(),
        )
        _insert_numbered(quote)
        _store_lines(quote, priced, totals)
        audit_record(
            actor=actor,
            action="quote.created",
            target=quote,
            changes={
                "number": quote.number,
                "version": quote.version,
                "customer": customer.pk,
                "need": need.pk if need else None,
                "owner": quote.owner_id,
                "price_list": price_list.pk if price_list else None,
                "valid_until": valid_until,
                **_totals_changes(quote),
            },
        )
    return quote


def quote_lines_set(
    *,
    actor: User,
    quote: Quote,
    lines: Sequence[LineSpec],
    valid_until: dt.date | None = None,
) -> Quote:
    """Replace a draft's lines (and, if given, its validity) and total it again."""
    with transaction.atomic():
        quote = _locked(quote.pk)
        _check_seller(actor, quote)
        _require_status(quote, QuoteStatus.DRAFT)
        fields = ["net_total", "tax_total", "list_total"]
        changes: dict[str, Any] = {}
        if valid_until is not None:
            changes["valid_until"] = [quote.valid_until, _check_valid_until(valid_until)]
            quote.valid_until = valid_until
            fields.append("valid_until")
        price_list = quote.price_list
        if price_list is not None and not price_list_usable(price_list):
            raise Invalid(
                _(
                    "The price list %(name)s is no longer in force: revise the quote (the new "
                    "version goes without it)."
                )
                % {"name": price_list.name},
                code="price_list",
            )
        priced, totals = _priced_lines(lines, price_list=price_list)
        before = _totals_changes(quote)
        QuoteLine.objects.filter(quote=quote).delete()
        _store_lines(quote, priced, totals)
        quote.save(update_fields=fields)
        after = _totals_changes(quote)
        changes.update({k: [before[k], after[k]] for k in after})
        audit_record(actor=actor, action="quote.lines_set", target=quote, changes=changes)
    return quote
