"""After approval: sent, accepted, expired, lost, or revised as a new version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Invalid
from kedun.customers.models import Customer, Need, NeedStatus, Stage
from kedun.notifications.services import notify
from kedun.org.models import User

from ..catalogue import (
    lost_reason_resolve,
    price_list_usable,
)
from ..models import Quote, QuoteLine, QuoteStatus
from .common import (
    _BEFORE_QUOTED,
    LOSABLE,
    REVISABLE,
    _check_seller,
    _check_valid_until,
    _locked,
    _note,
    _require_status,
    _today,
)


def quote_send(*, actor: User, quote: Quote) -> Quote:
    """Record that the approved quote went to the customer. Its need and the customer move
    on to "quoted"."""
    with transaction.atomic():
        # The customer first, as every writer that touches both locks them (orders, merges):
        # the same order everywhere cannot deadlock.
        list(Customer.objects.select_for_update().filter(pk=quote.customer_id).values_list("pk"))
        quote = _locked(quote.pk)
        _check_seller(actor, quote)
        _require_status(quote, QuoteStatus.APPROVED)
        _check_valid_until(quote.valid_until)
        quote.status = QuoteStatus.SENT
        quote.save(update_fields=["status"])
        changes: dict[str, Any] = {"status": [QuoteStatus.APPROVED, QuoteStatus.SENT]}
        if quote.need_id is not None:
            moved = Need.objects.filter(pk=quote.need_id, status=NeedStatus.OPEN).update(
                status=NeedStatus.QUOTED
            )
            if moved:
                changes["need"] = [NeedStatus.OPEN, NeedStatus.QUOTED]
        stage = quote.customer.stage
        if Customer.objects.filter(pk=quote.customer_id, stage__in=_BEFORE_QUOTED).update(
            stage=Stage.QUOTED
        ):
            changes["customer_stage"] = [stage, Stage.QUOTED]
        audit_record(actor=actor, action="quote.sent", target=quote, changes=changes)
    return quote


def quote_accept(*, actor: User, quote: Quote) -> Quote:
    """The customer accepted the sent quote (within its validity): the need is won."""
    with transaction.atomic():
        quote = _locked(quote.pk)
        _check_seller(actor, quote)
        _require_status(quote, QuoteStatus.SENT)
        if quote.valid_until is not None and quote.valid_until < _today():
            raise Conflict(
                _("Quote %(quote)s expired on %(date)s: revise it and send it again.")
                % {"quote": quote, "date": quote.valid_until.isoformat()},
                code="expired",
            )
        quote.status = QuoteStatus.ACCEPTED
        quote.save(update_fields=["status"])
        changes: dict[str, Any] = {"status": [QuoteStatus.SENT, QuoteStatus.ACCEPTED]}
        if quote.need is not None and quote.need.status != NeedStatus.WON:
            changes["need"] = [quote.need.status, NeedStatus.WON]
            Need.objects.filter(pk=quote.need.pk).update(status=NeedStatus.WON)
        audit_record(actor=actor, action="quote.accepted", target=quote, changes=changes)
    return quote


def quote_expire(*, actor: User, quote: Quote) -> Quote:
    """A sent quote whose validity has passed expires."""
    with transaction.atomic():
        quote = _locked(quote.pk)
        _check_seller(actor, quote)
        _require_status(quote, QuoteStatus.SENT)
        if quote.valid_until is None or quote.valid_until >= _today():
            raise Conflict(
                _("Quote %(quote)s is still valid.") % {"quote": quote}, code="still_valid"
            )
        quote.status = QuoteStatus.EXPIRED
        quote.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="quote.expired",
            target=quote,
            changes={"status": [QuoteStatus.SENT, QuoteStatus.EXPIRED]},
        )
    return quote


EXPIRY_BATCH = 500


def quotes_expire_due(now: dt.datetime | None = None) -> int:
    """The periodic job: every sent quote past its validity expires, a batch per
    transaction, one audit event per batch. Idempotent: a rerun finds nothing left."""
    today = timezone.localdate(now or clock.now())
    expired = 0
    while True:
        with transaction.atomic():
            # Locked as read, so that what the audit event lists is what expired.
            due = list(
                Quote.objects.select_for_update()
                .filter(status=QuoteStatus.SENT, valid_until__lt=today)
                .order_by("pk")
                .values_list("pk", "owner_id")[:EXPIRY_BATCH]
            )
            if not due:
                return expired
            ids = [pk for pk, _owner in due]
            Quote.objects.filter(pk__in=ids).update(status=QuoteStatus.EXPIRED)
            audit_record(
                actor=None,
                actor_label="quote-expiry",
                action="quote.expired_due",
                object_type="sales.quote",
                changes={"today": today, "quotes": ids},
            )
            by_owner: dict[int, int] = {}
            for _pk, owner_id in due:
                by_owner[owner_id] = by_owner.get(owner_id, 0) + 1
            for owner in User.objects.filter(pk__in=by_owner):
                notify(
                    recipients=[owner],
                    kind="quotes_expired",
                    title=_("%(count)d of your quotes expired") % {"count": by_owner[owner.pk]},
                )
            expired += len(ids)


def quote_mark_lost(
    *, actor: User, quote: Quote, reason_code: str, note: str, competitor: str = ""
) -> Quote:
    """The deal is lost: a reason from the list, the competitor when the reason names one,
    and a note. The quote's need is lost too."""
    with transaction.atomic():
        quote = _locked(quote.pk)
        _check_seller(actor, quote)
        _require_status(quote, *LOSABLE)
        reason = lost_reason_resolve(actor=actor, code=reason_code)
        competitor = " ".join(competitor.split())
        if reason.needs_competitor and not competitor:
            raise Invalid(_("Name the competitor the deal was lost to."), code="competitor")
        if len(competitor) > 200:
            raise Invalid(_("The competitor's name has at most 200 characters."))
        note = _note(note, what=_("A lost deal"))
        before = quote.status
        quote.status = QuoteStatus.LOST
        quote.lost_reason = reason
        quote.lost_competitor = competitor
        quote.lost_note = note
        quote.lost_at = clock.now()
        quote.save(
            update_fields=["status", "lost_reason", "lost_competitor", "lost_note", "lost_at"]
        )
        changes: dict[str, Any] = {
            "status": [before, QuoteStatus.LOST],
            "reason": reason.code,
            "competitor": competitor,
            "note": note,
        }
        if quote.need is not None and quote.need.status in (NeedStatus.OPEN, NeedStatus.QUOTED):
            changes["need"] = [quote.need.status, NeedStatus.LOST]
            Need.objects.filter(pk=quote.need.pk).update(status=NeedStatus.LOST)
        audit_record(actor=actor, action="quote.lost", target=quote, changes=changes)
    return quote


def quote_revise(*, actor: User, quote: Quote, valid_until: dt.date | None = None) -> Quote:
    """A new version of the quote as a draft with the same lines; the old one is
    superseded. Not while a manager decides, nor once the deal is over."""
    with transaction.atomic():
        old = _locked(quote.pk)
        _check_seller(actor, old)
        _require_status(old, *REVISABLE)
        if valid_until is not None:
            _check_valid_until(valid_until)
        last = (
            Quote.objects.filter(number=old.number)
            .order_by("-version")
            .values_list("version", flat=True)
        ).first() or old.version
        new = Quote.objects.create(
            number=old.number,
            version=last + 1,
            customer=old.customer,
            need=old.need,
            owner=old.owner,
            # A price list no longer in force does not carry over.
            price_list=(
                old.price_list
                if old.price_list is not None and price_list_usable(old.price_list)
                else None
            ),
            status=QuoteStatus.DRAFT,
            valid_until=valid_until or old.valid_until,
            net_total=old.net_total,
            tax_total=old.tax_total,
            list_total=old.list_total,
            created_by=actor,
            created_at=clock.now(),
        )
        QuoteLine.objects.bulk_create(
            QuoteLine(
                quote=new,
                product_id=line.product_id,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_rate=line.discount_rate,
                tax_rate=line.tax_rate,
                net_amount=line.net_amount,
                tax_amount=line.tax_amount,
                position=line.position,
            )
            for line in old.lines.order_by("position", "pk")
        )
        before = old.status
        old.status = QuoteStatus.SUPERSEDED
        old.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="quote.superseded",
            target=old,
            changes={"status": [before, QuoteStatus.SUPERSEDED], "by": new.pk},
        )
        audit_record(
            actor=actor,
            action="quote.revised",
            target=new,
            changes={"number": new.number, "version": new.version, "from": old.pk},
        )
    return new
