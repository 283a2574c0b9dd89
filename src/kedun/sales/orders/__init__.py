"""Orders, from confirmation to cash (MISSION §5): order → production → shipments → delivery →
invoices → payments, lost and cancelled orders.

Every transition checks two things. The role may take the step (duties.py, 分段经营: sales
sell, the order desk starts production and keeps the contract, logistics ships, finance
invoices and collects — and whoever sold an order never collects on it). And the actor may see
the order (`order_visible_filter`): the back office sees every order, salespeople and managers
the orders of the owners in their data scope; an order out of sight is NotFound, the same
answer as a missing one.

Rows are locked parent first — customer, quote, order, its lines by id, invoice — so that two
services never wait on each other crosswise. Running totals (shipped, invoiced, paid) are
computed exactly in Python under the order's lock and written by a compare-and-set UPDATE
that also keeps the limit; the CHECK constraints are the backstop. Not `SET paid = paid + x`:
SQLite keeps decimals as binary floats, and 0.10 + 0.20 there is more than 0.30.

The status is the order's furthest point on one road: confirmed → in production → partly
shipped → shipped → delivered → invoiced → paid. Money moves the status once the goods are
delivered (an invoice or a prepayment before that shows in the totals, not in the status), so
"paid" means the order is closed — until a payment bounces or is refunded (reversals.py),
which takes it back to "invoiced".
"""

from .common import (
    BACK_OFFICE_ROLES,
    CLOCK_SLACK,
    ENDED,
    NOT_SHIPPED,
    order_get_for_viewer,
    order_list_visible_to,
    order_visible_filter,
)
from .create import OrderLineInput, order_create, order_create_from_quote, order_line_change
from .desk import order_contract_set, order_production_start
from .ending import order_cancel, order_mark_lost
from .finance import invoice_record, payment_record
from .logistics import delivery_confirm, shipment_record
from .reversals import payment_reverse

__all__ = [
    "BACK_OFFICE_ROLES",
    "CLOCK_SLACK",
    "ENDED",
    "NOT_SHIPPED",
    "OrderLineInput",
    "delivery_confirm",
    "invoice_record",
    "order_cancel",
    "order_contract_set",
    "order_create",
    "order_create_from_quote",
    "order_get_for_viewer",
    "order_line_change",
    "order_list_visible_to",
    "order_mark_lost",
    "order_production_start",
    "order_visible_filter",
    "payment_record",
    "payment_reverse",
    "shipment_record",
]
