"""Quotes (报价, MISSION §5): written by the customer's people, approved by a manager when a
price goes below the floor or a discount beyond the rep's limit — never by the person who
sells — then sent, accepted, lost (with a reason) or expired, and revised as new versions.

Every write locks the quote's row, checks, changes, and writes its audit event in one
transaction: a refusal leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.models import Customer, Need, NeedStatus, Stage
from kedun.lifecycle.services import manages, works_the_account
from kedun.notifications.services import notify
from kedun.org.models import Role, User

from . import money
from .catalogue import (
    MONEY_LIMIT,
    Number,
    list_prices,
    lost_reason_resolve,
    parse_money,
    parse_quantity,
    parse_rate,
    price_list_usable,
)
from .duties import Step, may, require
from .models import PriceList, Product, Quote, QuoteLine, QuoteStatus, RepTerms

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


# -- lines and totals -----------------------------------------------------------------------


def _line_input(spec: LineSpec) -> QuoteLineInput:
    if isinstance(spec, QuoteLineInput):
        return spec
    known = {"product", "quantity", "unit_price", "discount_rate", "description"}
    unknown = set(spec) - known
    if unknown or "product" not in spec or "quantity" not in spec:
        raise Invalid(_("Each line needs a product and a quantity."), code="line")
    return QuoteLineInput(**spec)


def _priced_lines(
    specs: Sequence[LineSpec], *, price_list: PriceList | None
) -> tuple[list[QuoteLine], money.Totals]:
    """Unsaved lines with their amounts, and the totals (money.py's rounding)."""
    if not specs:
        raise Invalid(_("A quote needs at least one line."), code="no_lines")
    if len(specs) > MAX_LINES:
        raise Invalid(_("A quote has at most %(max)d lines.") % {"max": MAX_LINES})
    inputs = [_line_input(spec) for spec in specs]
    ids = {i.product.pk if isinstance(i.product, Product) else i.product for i in inputs}
    products = Product.objects.filter(active=True).in_bulk([i for i in ids if i is not None])
    prices = list_prices(price_list, list(products.values()))
    lines: list[QuoteLine] = []
    amounts: list[tuple[money.LineAmounts, Decimal]] = []
    for position, given in enumerate(inputs, start=1):
        pk = given.product.pk if isinstance(given.product, Product) else given.product
        product = products.get(pk) if isinstance(pk, int) else None
        if product is None:
            raise Invalid(
                _("Line %(line)d: the product is not in the catalogue (or no longer sold).")
                % {"line": position},
                code="product",
            )
        field = _("Line %(line)d") % {"line": position}
        quantity = parse_quantity(given.quantity, field=field + " · " + _("quantity"))
        if given.unit_price is None:
            unit_price = prices.get(product.pk, product.list_price)
        else:
            unit_price = parse_money(given.unit_price, field=field + " · " + _("unit price"))
        discount = parse_rate(given.discount_rate, field=field + " · " + _("discount"))
        line_amounts = money.line_amounts(
            quantity=quantity,
            unit_price=unit_price,
            discount_rate=discount,
            tax_rate=product.tax_rate,
        )
        if line_amounts.net >= MONEY_LIMIT:
            raise Invalid(_("%(field)s: the amount is too large.") % {"field": field})
        description = " ".join(given.description.split())
        if len(description) > 300:
            raise Invalid(
                _("%(field)s: the description has at most 300 characters.") % {"field": field}
            )
        lines.append(
            QuoteLine(
                product=product,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                discount_rate=discount,
                tax_rate=product.tax_rate,
                net_amount=line_amounts.net,
                tax_amount=line_amounts.tax,
                position=position,
            )
        )
        amounts.append((line_amounts, money.to_cents(quantity * product.list_price)))
    totals = money.totals(amounts)
    if max(totals.net + totals.tax, totals.list_value) >= MONEY_LIMIT:
        raise Invalid(_("The quote's total is too large."))
    return lines, totals


def _store_lines(quote: Quote, lines: list[QuoteLine], totals: money.Totals) -> None:
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines)
    quote.net_total = totals.net
    quote.tax_total = totals.tax
    quote.list_total = totals.list_value


def _totals_changes(quote: Quote) -> dict[str, Any]:
    return {
        "net_total": quote.net_total,
        "tax_total": quote.tax_total,
        "list_total": quote.list_total,
        "lines": quote.lines.count(),
    }


# -- numbers --------------------------------------------------------------------------------


def _next_number(day: dt.date) -> str:
    """Q + the local date + the day's sequence: Q202603020001."""
    prefix = f"Q{day:%Y%m%d}"
    last = (
        Quote.objects.filter(number__startswith=prefix)
        .order_by(Length("number").desc(), "-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{sequence:04d}"


_NUMBERING_LOCK_KEY = 0x4B4544554E5F5154  # "KEDUN_QT"


def _insert_numbered(quote: Quote) -> None:
    """Insert with the next free number. New quotes are numbered one at a time (SQLite: the
    IMMEDIATE transaction already holds the write lock; PostgreSQL: an advisory lock, after
    which READ COMMITTED sees the number the previous holder committed). Should two writers
    still read the same number, the (number, version) constraint stops the second, which
    takes the following one."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_NUMBERING_LOCK_KEY])
    for _attempt in range(5):
        quote.number = _next_number(timezone.localdate(quote.created_at))
        try:
            with transaction.atomic():
                quote.save(force_insert=True)
            return
        except IntegrityError:
            quote.pk = None
            continue
    raise Conflict(_("Could not number the quote; try again."), code="number")


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
        quote.save(update_fields=["status", "lost_reason", "lost_competitor", "lost_note"])
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
