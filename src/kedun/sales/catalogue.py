"""The catalogue (MISSION §5): products with their list and floor prices, price lists, and the
list of lost reasons. Maintained by whoever holds the CATALOGUE step (the boss by default).
A rep's own terms (discount limit, commission rate) are set by the boss or the rep's manager.

Also the parsing of amounts, rates and quantities that every sales service shares: a value
that does not fit its column is refused here, never rounded silently by the database.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record, diff
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.lifecycle.services import CLAIMING_ROLES, manages
from kedun.org.models import Role, User

from .duties import Step, require
from .models import LostReason, PriceList, PriceListItem, Product, RepTerms


class _Keep(enum.Enum):
    KEEP = "keep"


# An update's "leave this field as it is" (None is a value for nullable fields).
KEEP = _Keep.KEEP

Number = Decimal | int | str

# The columns are DECIMAL(14, 2) for money and (14, 3) for quantities.
MONEY_LIMIT = Decimal(10) ** 12
QUANTITY_LIMIT = Decimal(10) ** 11


def _decimal(value: Number, *, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise Invalid(_("%(field)s is not a number.") % {"field": field})
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(_("%(field)s is not a number.") % {"field": field}) from None
    if not number.is_finite():
        raise Invalid(_("%(field)s is not a number.") % {"field": field})
    return number


def _places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers only
    return max(0, -exponent)


def parse_money(value: Number, *, field: str) -> Decimal:
    """An amount in yuan: not negative, at most two decimal places, fits the column."""
    number = _decimal(value, field=field)
    if number < 0:
        raise Invalid(_("%(field)s cannot be negative.") % {"field": field})
    if _places(number.normalize()) > 2:
        raise Invalid(_("%(field)s has more than two decimal places.") % {"field": field})
    if number >= MONEY_LIMIT:
        raise Invalid(_("%(field)s is too large.") % {"field": field})
    return number.quantize(Decimal("0.01"))


def parse_rate(value: Number, *, field: str) -> Decimal:
    """A rate as a fraction (0.13 is 13 %): from 0 up to, not including, 1; four places."""
    number = _decimal(value, field=field)
    if number < 0 or number >= 1:
        raise Invalid(
            _("%(field)s must be at least 0 and below 1 (0.13 means 13 %%).") % {"field": field}
        )
    if _places(number.normalize()) > 4:
        raise Invalid(_("%(field)s has more than four decimal places.") % {"field": field})
    return number.quantize(Decimal("0.0001"))


def parse_quantity(value: Number, *, field: str) -> Decimal:
    number = _decimal(value, field=field)
    if number <= 0:
        raise Invalid(_("%(field)s must be more than 0.") % {"field": field})
    if _places(number.normalize()) > 3:
        raise Invalid(_("%(field)s has more than three decimal places.") % {"field": field})
    if number >= QUANTITY_LIMIT:
        raise Invalid(_("%(field)s is too large.") % {"field": field})
    return number.quantize(Decimal("0.001"))


def _text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    text = " ".join(value.split())
    if required and not text:
        raise Invalid(_("%(field)s is required.") % {"field": field})
    if len(text) > max_length:
        raise Invalid(
            _("%(field)s has at most %(max)d characters.") % {"field": field, "max": max_length}
        )
    return text


# -- products ---------------------------------------------------------------------------------


def _check_prices(*, list_price: Decimal, floor_price: Decimal) -> None:
    if floor_price > list_price:
        raise Invalid(_("The floor price cannot be above the list price."), code="floor_above_list")


def product_create(
    *,
    actor: User,
    sku: str,
    name: str,
    list_price: Number,
    floor_price: Number,
    tax_rate: Number = Decimal("0.13"),
    unit: str = "件",
    commission_rate: Number | None = None,
    lead_time_days: int = 14,
) -> Product:
    require(actor, Step.CATALOGUE)
    sku = _text(sku, field=_("Product code"), max_length=40)
    product = Product(
        sku=sku,
        name=_text(name, field=_("Name"), max_length=200),
        unit=_text(unit, field=_("Unit"), max_length=20),
        list_price=parse_money(list_price, field=_("List price")),
        floor_price=parse_money(floor_price, field=_("Floor price")),
        tax_rate=parse_rate(tax_rate, field=_("Tax rate")),
        commission_rate=(
            None
            if commission_rate is None
            else parse_rate(commission_rate, field=_("Commission rate"))
        ),
        lead_time_days=_lead_time(lead_time_days),
    )
    _check_prices(list_price=product.list_price, floor_price=product.floor_price)
    with transaction.atomic():
        if Product.objects.filter(sku=sku).exists():
            raise Conflict(_("Product code %(sku)s is taken.") % {"sku": sku}, code="sku_taken")
        try:
            with transaction.atomic():  # a parallel insert of the same code loses here
                product.save(force_insert=True)
        except IntegrityError:
            raise Conflict(
                _("Product code %(sku)s is taken.") % {"sku": sku}, code="sku_taken"
            ) from None
        audit_record(
            actor=actor,
            action="product.created",
            target=product,
            changes=_product_fields(product),
        )
    return product


def _lead_time(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
        raise Invalid(_("The lead time is a number of days from 0 to 3650."))
    return days


def _product_fields(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "unit": product.unit,
        "list_price": product.list_price,
        "floor_price": product.floor_price,
        "tax_rate": product.tax_rate,
        "commission_rate": product.commission_rate,
        "lead_time_days": product.lead_time_days,
        "active": product.active,
    }


def product_update(
    *,
    actor: User,
    product: Product,
    name: str | _Keep = KEEP,
    unit: str | _Keep = KEEP,
    list_price: Number | _Keep = KEEP,
    floor_price: Number | _Keep = KEEP,
    tax_rate: Number | _Keep = KEEP,
    commission_rate: Number | _Keep | None = KEEP,
    lead_time_days: int | _Keep = KEEP,
    active: bool | _Keep = KEEP,
) -> Product:
    """Change a product. Quotes already written keep their prices; new ones use these."""
    require(actor, Step.CATALOGUE)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        before = _product_fields(product)
        if not isinstance(name, _Keep):
            product.name = _text(name, field=_("Name"), max_length=200)
        if not isinstance(unit, _Keep):
            product.unit = _text(unit, field=_("Unit"), max_length=20)
        if not isinstance(list_price, _Keep):
            product.list_price = parse_money(list_price, field=_("List price"))
        if not isinstance(floor_price, _Keep):
            product.floor_price = parse_money(floor_price, field=_("Floor price"))
        if not isinstance(tax_rate, _Keep):
            product.tax_rate = parse_rate(tax_rate, field=_("Tax rate"))
        if not isinstance(commission_rate, _Keep):
            product.commission_rate = (
                None
                if commission_rate is None
                else parse_rate(commission_rate, field=_("Commission rate"))
            )
        if not isinstance(lead_time_days, _Keep):
            product.lead_time_days = _lead_time(lead_time_days)
        if not isinstance(active, _Keep):
            product.active = bool(active)
        _check_prices(list_price=product.list_price, floor_price=product.floor_price)
        changes = diff(before, _product_fields(product))
        if changes:
            product.save(update_fields=list(changes))
            audit_record(actor=actor, action="product.updated", target=product, changes=changes)
    return product


def products_active() -> list[Product]:
    return list(Product.objects.filter(active=True).order_by("sku"))


# -- price lists ------------------------------------------------------------------------------


def _check_period(valid_from: dt.date | None, valid_until: dt.date | None) -> None:
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        raise Invalid(_("A price list cannot end before it starts."))


def price_list_create(
    *,
    actor: User,
    name: str,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    prices: Mapping[Product, Number] | None = None,
) -> PriceList:
    require(actor, Step.CATALOGUE)
    name = _text(name, field=_("Name"), max_length=100)
    _check_period(valid_from, valid_until)
    with transaction.atomic():
        if PriceList.objects.filter(name=name).exists():
            raise Conflict(
                _("A price list named %(name)s exists.") % {"name": name}, code="name_taken"
            )
        price_list = PriceList.objects.create(
            name=name, valid_from=valid_from, valid_until=valid_until
        )
        audit_record(
            actor=actor,
            action="price_list.created",
            target=price_list,
            changes={"name": name, "valid_from": valid_from, "valid_until": valid_until},
        )
        if prices:
            _prices_set(actor=actor, price_list=price_list, prices=prices)
    return price_list


def price_list_update(
    *,
    actor: User,
    price_list: PriceList,
    name: str | _Keep = KEEP,
    valid_from: dt.date | _Keep | None = KEEP,
    valid_until: dt.date | _Keep | None = KEEP,
    active: bool | _Keep = KEEP,
) -> PriceList:
    require(actor, Step.CATALOGUE)
    with transaction.atomic():
        price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
        fields = ["name", "valid_from", "valid_until", "active"]
        before = {f: getattr(price_list, f) for f in fields}
        if not isinstance(name, _Keep):
            price_list.name = _text(name, field=_("Name"), max_length=100)
            if PriceList.objects.filter(name=price_list.name).exclude(pk=price_list.pk).exists():
                raise Conflict(
                    _("A price list named %(name)s exists.") % {"name": price_list.name},
                    code="name_taken",
                )
        if not isinstance(valid_from, _Keep):
            price_list.valid_from = valid_from
        if not isinstance(valid_until, _Keep):
            price_list.valid_until = valid_until
        if not isinstance(active, _Keep):
            price_list.active = bool(active)
        _check_period(price_list.valid_from, price_list.valid_until)
        changes = diff(before, {f: getattr(price_list, f) for f in fields})
        if changes:
            price_list.save(update_fields=list(changes))
            audit_record(
                actor=actor, action="price_list.updated", target=price_list, changes=changes
            )
    return price_list


def price_list_prices_set(
    *, actor: User, price_list: PriceList, prices: Mapping[Product, Number | None]
) -> None:
    """Set the listed products' prices on the list; None takes a product off the list."""
    require(actor, Step.CATALOGUE)
    with transaction.atomic():
        price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
        _prices_set(actor=actor, price_list=price_list, prices=prices)


def _prices_set(
    *, actor: User, price_list: PriceList, prices: Mapping[Product, Number | None]
) -> None:
    parsed = {
        product: None
        if price is None
        else parse_money(price, field=_("Price of %(sku)s") % {"sku": product.sku})
        for product, price in prices.items()
    }
    changes: dict[str, list[Any]] = {}
    existing = {
        item.product_id: item for item in PriceListItem.objects.filter(price_list=price_list)
    }
    # Rows in product order, so that two writers lock them in the same order.
    for product, price in sorted(parsed.items(), key=lambda pair: pair[0].pk):
        item = existing.get(product.pk)
        if price is None:
            if item is not None:
                item.delete()
                changes[product.sku] = [item.price, None]
        elif item is None:
            PriceListItem.objects.create(price_list=price_list, product=product, price=price)
            changes[product.sku] = [None, price]
        elif item.price != price:
            changes[product.sku] = [item.price, price]
            item.price = price
            item.save(update_fields=["price"])
    if changes:
        audit_record(
            actor=actor, action="price_list.prices_set", target=price_list, changes=changes
        )


def price_list_usable(price_list: PriceList, *, today: dt.date | None = None) -> bool:
    """Active and in its period today."""
    today = today or timezone.localdate(clock.now())
    return (
        price_list.active
        and (price_list.valid_from is None or price_list.valid_from <= today)
        and (price_list.valid_until is None or today <= price_list.valid_until)
    )


def price_lists_usable(*, today: dt.date | None = None) -> list[PriceList]:
    return [p for p in PriceList.objects.order_by("name") if price_list_usable(p, today=today)]


def list_prices(price_list: PriceList | None, products: list[Product]) -> dict[int, Decimal]:
    """Each product's price on the list; products not on it (or no list) are absent."""
    if price_list is None:
        return {}
    return dict(
        PriceListItem.objects.filter(
            price_list=price_list, product__in=[p.pk for p in products]
        ).values_list("product_id", "price")
    )


# -- lost reasons -----------------------------------------------------------------------------

# The starting list (code, label, needs a competitor's name). Migration 0002 writes them; a
# database emptied since (a flushed test database, a restore) falls back to them, and the
# first write that needs a row puts them back.
DEFAULT_LOST_REASONS: tuple[tuple[str, str, bool], ...] = (
    ("price", "价格", False),
    ("delivery_time", "交期", False),
    ("quality", "质量", False),
    ("competitor", "竞争对手", True),
    ("budget", "预算", False),
    ("other", "其他", False),
)
_CODE = re.compile(r"^[a-z0-9_-]{1,30}$")


def _default_rows() -> list[LostReason]:
    return [
        LostReason(code=code, label=label, needs_competitor=needs, position=(i + 1) * 10)
        for i, (code, label, needs) in enumerate(DEFAULT_LOST_REASONS)
    ]


def lost_reasons(*, include_inactive: bool = False) -> list[LostReason]:
    """The reasons a rep picks from when a deal is lost. When nothing is configured, the
    built-in defaults (unsaved: a read writes nothing)."""
    if not LostReason.objects.exists():
        return _default_rows()
    reasons = LostReason.objects.all()
    if not include_inactive:
        reasons = reasons.filter(active=True)
    return list(reasons.order_by("position", "pk"))


def _defaults_put_back(*, actor: User | None) -> None:
    """Write the default reasons when the table is empty (inside the caller's transaction)."""
    if LostReason.objects.exists():
        return
    LostReason.objects.bulk_create(_default_rows(), ignore_conflicts=True)
    audit_record(
        actor=actor,
        action="lost_reason.defaults_written",
        object_type="sales.lostreason",
        changes={"codes": [code for code, _label, _needs in DEFAULT_LOST_REASONS]},
    )


def lost_reason_resolve(*, actor: User | None, code: str) -> LostReason:
    """The active reason with this code, as a row (writing the defaults if the table is
    empty). Runs inside the caller's transaction."""
    reason = LostReason.objects.filter(code=code, active=True).first()
    if reason is None and code in {c for c, _label, _needs in DEFAULT_LOST_REASONS}:
        _defaults_put_back(actor=actor)
        reason = LostReason.objects.filter(code=code, active=True).first()
    if reason is None:
        raise Invalid(_("Choose a lost reason from the list."), code="lost_reason")
    return reason


def lost_reason_create(
    *,
    actor: User,
    code: str,
    label: str,
    needs_competitor: bool = False,
    position: int | None = None,
) -> LostReason:
    require(actor, Step.CATALOGUE)
    code = code.strip().lower()
    if not _CODE.match(code):
        raise Invalid(
            _("A code has 1 to 30 letters, digits, '-' or '_' (e.g. lead_time)."), code="code"
        )
    label = _text(label, field=_("Reason"), max_length=100)
    with transaction.atomic():
        # The first reason of one's own adds to the defaults rather than replacing them.
        _defaults_put_back(actor=actor)
        if LostReason.objects.filter(code=code).exists():
            raise Conflict(_("The code %(code)s is taken.") % {"code": code}, code="code_taken")
        if position is None:
            last = LostReason.objects.order_by("-position").values_list("position", flat=True)
            position = (last.first() or 0) + 10
        reason = LostReason.objects.create(
            code=code, label=label, needs_competitor=needs_competitor, position=position
        )
        audit_record(
            actor=actor,
            action="lost_reason.created",
            target=reason,
            changes={"code": code, "label": label, "needs_competitor": needs_competitor},
        )
    return reason


def lost_reason_update(
    *,
    actor: User,
    reason: LostReason,
    label: str | _Keep = KEEP,
    needs_competitor: bool | _Keep = KEEP,
    active: bool | _Keep = KEEP,
    position: int | _Keep = KEEP,
) -> LostReason:
    """Change or retire a reason (never deleted: lost deals keep pointing at it)."""
    require(actor, Step.CATALOGUE)
    with transaction.atomic():
        reason = LostReason.objects.select_for_update().get(pk=reason.pk)
        fields = ["label", "needs_competitor", "active", "position"]
        before = {f: getattr(reason, f) for f in fields}
        if not isinstance(label, _Keep):
            reason.label = _text(label, field=_("Reason"), max_length=100)
        if not isinstance(needs_competitor, _Keep):
            reason.needs_competitor = bool(needs_competitor)
        if not isinstance(active, _Keep):
            reason.active = bool(active)
        if not isinstance(position, _Keep):
            if isinstance(position, bool) or not 0 <= position <= 32767:
                raise Invalid(_("The position is a number from 0 to 32767."))
            reason.position = position
        changes = diff(before, {f: getattr(reason, f) for f in fields})
        if changes:
            reason.save(update_fields=list(changes))
            audit_record(actor=actor, action="lost_reason.updated", target=reason, changes=changes)
    return reason


# -- a rep's terms ----------------------------------------------------------------------------


def rep_terms_editable(*, actor: User, rep: User) -> bool:
    """The boss, or a manager over the rep; a manager never sets their own terms (a limit one
    raises for oneself is no limit)."""
    if not actor.is_active or not rep.is_active or rep.role not in CLAIMING_ROLES:
        return False
    if actor.role == Role.ADMIN:
        return True
    return rep.pk != actor.pk and manages(actor, rep)


def rep_terms_set(
    *, actor: User, rep: User, max_discount_rate: Number, commission_rate: Number
) -> RepTerms:
    """Set the deepest discount the rep gives without approval and their commission rate."""
    if not rep_terms_editable(actor=actor, rep=rep):
        raise Forbidden()
    values = {
        "max_discount_rate": parse_rate(max_discount_rate, field=_("Discount limit")),
        "commission_rate": parse_rate(commission_rate, field=_("Commission rate")),
    }
    with transaction.atomic():
        terms, created = RepTerms.objects.select_for_update().get_or_create(
            rep=rep, defaults=values
        )
        before: dict[str, Any] = (
            dict.fromkeys(values)
            if created
            else {
                "max_discount_rate": terms.max_discount_rate,
                "commission_rate": terms.commission_rate,
            }
        )
        for name, value in values.items():
            setattr(terms, name, value)
        changes = diff(before, values)
        if changes:
            if not created:
                terms.save(update_fields=list(changes))
            audit_record(
                actor=actor,
                action="rep_terms.set",
                target=terms,
                changes={"rep": rep.pk, **changes},
            )
    return terms
