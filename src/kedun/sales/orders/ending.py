"""Orders that end without cash: lost (with a reason) and cancelled."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Invalid
from kedun.notifications.services import notify
from kedun.org.models import User

from ..catalogue import (
    lost_reason_resolve,
)
from ..duties import Step, require
from ..models import (
    LostReason,
    Order,
    OrderStatus,
)
from .common import NOT_SHIPPED, _locked_order, _not_ended, _text

# -- lost and cancelled -----------------------------------------------------------------------


def _end(
    *,
    actor: User,
    order: Order,
    status: str,
    action: str,
    fields: dict[str, object] | None = None,
    changes: dict[str, object],
) -> Order:
    """Cancelled or lost: only before anything has shipped or been invoiced. In the caller's
    transaction, with the order locked; `fields` are written on the order too."""
    _not_ended(order)
    if order.status not in NOT_SHIPPED or order.invoiced_total > 0:
        raise Conflict(
            _("Order %(number)s has shipped or been invoiced; it can no longer end this way.")
            % {"number": order.number},
            code="wrong_status",
        )
    before, order.status = order.status, status
    for name, value in (fields or {}).items():
        setattr(order, name, value)
    order.save(update_fields=["status", *(fields or {})])
    audit_record(
        actor=actor, action=action, target=order, changes={"status": [before, status], **changes}
    )
    return order


def order_mark_lost(
    *,
    actor: User,
    order: Order,
    reason: LostReason | str,
    note: str,
    competitor: str = "",
) -> Order:
    """The customer backed out: a reason from the list, the competitor's name when the reason
    asks for one, and a note. The owner's manager hears of it (lost-to-competitor rates are a
    risk signal, MISSION §9)."""
    require(actor, Step.ORDER)
    note = _text(note, field=_("Note"), max_length=2000)
    competitor = _text(competitor, field=_("Competitor"), max_length=200, required=False)
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        code = reason.code if isinstance(reason, LostReason) else reason
        lost_reason = lost_reason_resolve(actor=actor, code=code)
        if lost_reason.needs_competitor and not competitor:
            raise Invalid(_("Name the competitor the order was lost to."), code="competitor")
        _end(
            actor=actor,
            order=order,
            status=OrderStatus.LOST,
            action="sales.order_lost",
            fields={
                "lost_reason": lost_reason,
                "lost_competitor": competitor,
                "lost_note": note,
                "lost_at": clock.now(),
            },
            changes={"reason": lost_reason.code, "competitor": competitor, "note": note},
        )
        notify(
            recipients=[u for u in [order.owner, order.owner.manager] if u and u.pk != actor.pk],
            kind="order_lost",
            title=_("Order %(number)s lost: %(reason)s")
            % {"number": order.number, "reason": lost_reason.label},
            body=" ".join(filter(None, [competitor, note])),
        )
    return order


def order_cancel(*, actor: User, order: Order, reason: str) -> Order:
    """Cancelled before anything shipped (entered twice, the customer changed the order …)."""
    require(actor, Step.ORDER)
    reason = _text(reason, field=_("Reason"), max_length=2000)
    if len(reason) < 5:
        raise Invalid(_("Give a reason (at least 5 characters)."))
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _end(
            actor=actor,
            order=order,
            status=OrderStatus.CANCELLED,
            action="sales.order_cancelled",
            changes={"reason": reason},
        )
        notify(
            recipients=[u for u in [order.owner, order.owner.manager] if u and u.pk != actor.pk],
            kind="order_cancelled",
            title=_("Order %(number)s cancelled") % {"number": order.number},
            body=reason,
        )
    return order
