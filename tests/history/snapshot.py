"""What a database holds, to compare two imports.

`tables()`: every row of every table, ids and all — for the same database before and after
a rerun. `records()`: the imported records by their codes, names and moments instead of
their ids, and a count of every table — for two databases that imported the same history by
different roads (one clean run; one killed and rerun, where PostgreSQL's sequences skipped
the ids of the batch that was rolled back). Moments after `import_began` are the import's
own clock (when a row was stored, a placeholder deactivated) and compare as "import time".

Run in a subprocess against another database: `python -c "…; print_records(ISO)"` prints
the records as one JSON line. `audit_chain_verifies` is what `kedun audit verify` checks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from django.apps import apps
from django.db.models import Model, QuerySet


def tables() -> dict[str, list[tuple[Any, ...]]]:
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values_list())
        for model in apps.get_models()
    }


def table_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def _plain(value: Any, import_began: dt.datetime) -> Any:
    if isinstance(value, dt.datetime):
        return "import time" if value >= import_began else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)  # Decimal


def _rows(query: QuerySet, import_began: dt.datetime, *fields: str) -> list[list[Any]]:
    rows = [[_plain(v, import_began) for v in row] for row in query.values_list(*fields)]
    return sorted(rows, key=lambda row: json.dumps(row, ensure_ascii=False))


def records(import_began: dt.datetime) -> dict[str, Any]:
    from kedun.audit.chain import chain_verify
    from kedun.audit.models import AccessEvent, AuditEvent
    from kedun.comms.models import Message, MessageAddress, MessageCustomer, MessageOwner
    from kedun.customers.models import (
        ContactChange,
        Customer,
        CustomerDomain,
        CustomerName,
        CustomerPhone,
        FollowUp,
        OwnershipEvent,
    )
    from kedun.field.models import CheckIn
    from kedun.history.models import ImportedLine
    from kedun.org.models import Department, User
    from kedun.sales.models import (
        Invoice,
        Order,
        OrderLine,
        Payment,
        Product,
        ProductDelivery,
        Quote,
        QuoteLine,
        Shipment,
        ShipmentLine,
    )

    def of(model: type[Model], *fields: str) -> list[list[Any]]:
        return _rows(model._default_manager.all(), import_began, *fields)

    audit = Counter(
        json.dumps([action, object_type, changes if action == "history.imported" else None])
        for action, object_type, changes in AuditEvent.objects.values_list(
            "action", "object_type", "changes"
        )
    )
    return {
        # ImportRun logs the runs themselves: a killed import and its rerun are two runs
        # (each with the span of events it brought), a clean import one.
        "counts": {
            label: count for label, count in table_counts().items() if label != "history.ImportRun"
        },
        "departments": of(Department, "name", "parent__name"),
        "users": of(
            User,
            "username",
            "role",
            "department__name",
            "manager__username",
            "is_active",
            "deactivated_at",
            "full_name",
            "phone",
            "email",
        ),
        "products": of(Product, "sku", "name", "unit", "list_price", "floor_price"),
        "customers": of(
            Customer,
            "code",
            "name",
            "owner__username",
            "registered_by__username",
            "registered_at",
            "owned_since",
            "last_follow_up_at",
            "last_order_at",
            "stage",
            "grade",
            "phone",
            "email",
            "website",
            "lat",
            "lng",
            "location_source",
        ),
        "customer_phones": of(CustomerPhone, "customer__code", "number"),
        "customer_domains": of(CustomerDomain, "customer__code", "domain"),
        "customer_names": of(CustomerName, "customer__code", "core", "pinyin"),
        "ownership": of(
            OwnershipEvent, "customer__code", "kind", "to_owner__username", "actor__username"
        ),
        "follow_ups": of(
            FollowUp,
            "customer__code",
            "author__username",
            "kind",
            "content",
            "happened_at",
            "qualifying",
        ),
        "check_ins": of(
            CheckIn,
            "customer__code",
            "rep__username",
            "captured_at",
            "lat",
            "lng",
            "accuracy_m",
            "distance_m",
            "idempotency_key",
            "source",
        ),
        "quotes": of(
            Quote,
            "number",
            "version",
            "customer__code",
            "owner__username",
            "status",
            "net_total",
            "list_total",
            "lost_reason__code",
            "lost_competitor",
            "lost_note",
            "lost_at",
            "created_at",
        ),
        "quote_lines": of(
            QuoteLine,
            "quote__number",
            "product__sku",
            "quantity",
            "unit_price",
            "net_amount",
            "position",
        ),
        "orders": of(
            Order,
            "number",
            "customer__code",
            "quote__number",
            "owner__username",
            "status",
            "promised_date",
            "delivered_at",
            "days_late",
            "net_total",
            "invoiced_total",
            "paid_total",
            "created_at",
        ),
        "order_lines": of(
            OrderLine,
            "order__number",
            "product__sku",
            "quantity",
            "shipped_quantity",
            "unit_price",
            "position",
        ),
        "shipments": of(
            Shipment,
            "order__number",
            "shipped_at",
            "delivered_at",
            "consignee",
            "consignee_differs",
            "recorded_by__username",
        ),
        "shipment_lines": of(
            ShipmentLine, "shipment__order__number", "order_line__product__sku", "quantity"
        ),
        "product_deliveries": of(
            ProductDelivery,
            "order__number",
            "product__sku",
            "owner__username",
            "delivered_at",
            "days_late",
        ),
        "invoices": of(
            Invoice,
            "number",
            "order__number",
            "owner__username",
            "amount",
            "paid_amount",
            "issued_on",
            "due_on",
        ),
        "payments": of(
            Payment,
            "invoice__number",
            "amount",
            "received_on",
            "payer_name",
            "payer_account",
            "payer_differs",
        ),
        "contact_changes": of(
            ContactChange,
            "customer__code",
            "field",
            "old_value",
            "new_value",
            "changed_by__username",
            "changed_at",
        ),
        "access": of(
            AccessEvent, "user__username", "kind", "customer__code", "rows", "subject", "at"
        ),
        "messages": of(Message, "message_id", "subject", "from_address", "sent_at", "source"),
        "message_addresses": of(MessageAddress, "message__message_id", "role", "address"),
        "message_owners": of(
            MessageOwner, "message__message_id", "user__username", "sent_at", "hidden_at"
        ),
        "message_customers": of(MessageCustomer, "message__message_id", "customer__code"),
        "imported_lines": of(ImportedLine, "digest", "kind"),
        "audit": sorted(audit.items()),
        "audit_chain_verifies": chain_verify().ok,
    }


def print_records(import_began: str) -> None:
    print(json.dumps(records(dt.datetime.fromisoformat(import_began)), ensure_ascii=False))
