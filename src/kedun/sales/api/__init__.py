"""The sales API (MISSION §5): the catalogue, quotes, orders from confirmation to cash,
receivables and the commission ledger.

Thin views: reads go through the selectors, scoped to the viewer (an order or quote out of
sight is 404, the same answer as a missing one); writes go through the services, which check
the role's duty (分段经营: code `duty`), that whoever sold an order never collects on it (code
`sold_and_collects`), and answer every refusal as a DomainError (kedun.core.api's shape).
"""

from __future__ import annotations

from .catalogue import LostReasonListApi, ProductDetailApi, ProductListApi
from .ledgers import CommissionLedgerApi, ReceivableListApi
from .orders import (
    InvoicePaymentsApi,
    OrderCancelApi,
    OrderContractApi,
    OrderDeliveryApi,
    OrderDetailApi,
    OrderInvoicesApi,
    OrderListApi,
    OrderLostApi,
    OrderProductionApi,
    OrderShipmentsApi,
    PaymentReverseApi,
)
from .quotes import (
    QuoteAcceptApi,
    QuoteApproveApi,
    QuoteDetailApi,
    QuoteListApi,
    QuoteLostApi,
    QuoteOrderApi,
    QuoteRejectApi,
    QuoteReviseApi,
    QuoteSendApi,
    QuoteSubmitApi,
)

__all__ = [
    "CommissionLedgerApi",
    "InvoicePaymentsApi",
    "LostReasonListApi",
    "OrderCancelApi",
    "OrderContractApi",
    "OrderDeliveryApi",
    "OrderDetailApi",
    "OrderInvoicesApi",
    "OrderListApi",
    "OrderLostApi",
    "OrderProductionApi",
    "OrderShipmentsApi",
    "PaymentReverseApi",
    "ProductDetailApi",
    "ProductListApi",
    "QuoteAcceptApi",
    "QuoteApproveApi",
    "QuoteDetailApi",
    "QuoteListApi",
    "QuoteLostApi",
    "QuoteOrderApi",
    "QuoteRejectApi",
    "QuoteReviseApi",
    "QuoteSendApi",
    "QuoteSubmitApi",
    "ReceivableListApi",
]
