"""Sales reports (MISSION §5 and §9): the pipeline, orders in execution, delivery lead times,
receivables ageing, collection per rep, and wins and losses with their reasons.

Every selector is scoped by the viewer's data scope on the record's owner (the rep credited),
and aggregates in SQL — a GROUP BY or a conditional aggregate per figure, never a loop over
rows. Lists that can be long (per customer) are QuerySets for the page to paginate. Dates are
the company's local dates (KEDUN_TIME_ZONE); periods include both ends.

Sized for 100,000 customers and 500,000 orders: a rep's and a manager's reports read their
owners' rows through the owner indexes. Company-wide, on SQLite, they are within half a second
only with covering indexes that let a report read one index instead of the tables: orders and
quotes (status, created_at, owner, net_total); orders (delivered_at, owner, customer,
days_late); invoices (due_on, order, amount, paid_amount). Delivery by product reads
ProductDelivery, one row per product per delivered order, written with the delivery.
"""

from .common import DayDifference, owners_in_scope
from .delivery import delivery_by_customer, delivery_by_product, with_customer_names
from .pipeline import Execution, Pipeline, StageRow, orders_in_execution, pipeline_by_stage
from .receivables import (
    AGEING_BUCKETS,
    Ageing,
    AgeingBucket,
    Collection,
    RepAgeing,
    RepCollection,
    collection_by_rep,
    receivables_ageing,
)
from .wins import CompetitorRow, ReasonRow, Tally, WinLoss, wins_and_losses

__all__ = [
    "AGEING_BUCKETS",
    "Ageing",
    "AgeingBucket",
    "Collection",
    "CompetitorRow",
    "DayDifference",
    "Execution",
    "Pipeline",
    "ReasonRow",
    "RepAgeing",
    "RepCollection",
    "StageRow",
    "Tally",
    "WinLoss",
    "collection_by_rep",
    "delivery_by_customer",
    "delivery_by_product",
    "orders_in_execution",
    "owners_in_scope",
    "pipeline_by_stage",
    "receivables_ageing",
    "wins_and_losses",
    "with_customer_names",
]
