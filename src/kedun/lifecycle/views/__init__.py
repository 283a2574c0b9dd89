"""Pages of the customer lifecycle and the pool (MISSION §3–§4): my customers with their
release countdowns, today's follow-ups, the pool, the lifecycle sections of a customer's page,
the pool settings, the departure handover and the key-customer report.

Thin: a form checks the shape of the input, a service decides and writes, a selector reads.
Controls are shown only to those the services would allow; the services still enforce."""

from .customer import customer_lifecycle_action, customer_lifecycle_context
from .lists import (
    follow_ups_today_view,
    key_customers_view,
    my_customers_view,
    pool_assign_view,
    pool_claim_view,
    pool_view,
)
from .management import handover_view, pool_settings_view

__all__ = [
    "customer_lifecycle_action",
    "customer_lifecycle_context",
    "follow_ups_today_view",
    "handover_view",
    "key_customers_view",
    "my_customers_view",
    "pool_assign_view",
    "pool_claim_view",
    "pool_settings_view",
    "pool_view",
]
