"""The order desk's steps: production and the contract."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core.errors import Conflict, Invalid
from kedun.notifications.services import notify
from kedun.org.models import User

from ..duties import Step, require
from ..models import (
    Order,
    OrderStatus,
)
from .common import _locked_order, _not_ended, _text, _today

# -- the order desk ---------------------------------------------------------------------------


def order_production_start(*, actor: User, order: Order) -> Order:
    require(actor, Step.PRODUCTION)
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _not_ended(order)
        if order.status != OrderStatus.CONFIRMED:
            raise Conflict(
                _("Production starts on a confirmed order; %(number)s is %(status)s.")
                % {"number": order.number, "status": order.get_status_display()},
                code="wrong_status",
            )
        order.status = OrderStatus.IN_PRODUCTION
        order.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="sales.order_production_started",
            target=order,
            changes={"status": [OrderStatus.CONFIRMED, OrderStatus.IN_PRODUCTION]},
        )
        notify(
            recipients=[order.owner],
            kind="order_production_started",
            title=_("Order %(number)s is in production") % {"number": order.number},
        )
    return order


def order_contract_set(
    *, actor: User, order: Order, contract_number: str, signed_on: dt.date
) -> Order:
    """The order desk records (or corrects) the signed contract."""
    require(actor, Step.DOCUMENTS)
    contract_number = _text(contract_number, field=_("Contract number"), max_length=60)
    if signed_on > _today():
        raise Invalid(_("A contract cannot be signed in the future."))
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _not_ended(order)
        before = [order.contract_number, order.contract_signed_on]
        if before == [contract_number, signed_on]:
            return order
        order.contract_number, order.contract_signed_on = contract_number, signed_on
        order.save(update_fields=["contract_number", "contract_signed_on"])
        audit_record(
            actor=actor,
            action="sales.order_contract_set",
            target=order,
            changes={
                "contract_number": [before[0], contract_number],
                "contract_signed_on": [before[1], signed_on],
            },
        )
    return order
