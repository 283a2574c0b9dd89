"""The sales pages: quotes, orders, receivables, the commission ledger, the reports, the
catalogue and the sales settings. Thin: the services decide."""

from .catalogue import (
    price_list_edit,
    price_list_list,
    price_list_new,
    price_list_prices_view,
    product_edit,
    product_list,
    product_new,
)
from .commission import commission_rep_view, commission_view
from .orders import order_detail, order_list
from .printing import quote_print
from .quotes import quote_detail, quote_list, quote_new
from .reports import (
    receivables_view,
    report_collection,
    report_delivery,
    report_execution,
    report_pipeline,
    report_wins,
    sales_reports_view,
)
from .settings import (
    duties_view,
    lost_reason_edit,
    lost_reason_list,
    rep_terms_view,
    sales_settings,
)

__all__ = [
    "commission_rep_view",
    "commission_view",
    "duties_view",
    "lost_reason_edit",
    "lost_reason_list",
    "order_detail",
    "order_list",
    "price_list_edit",
    "price_list_list",
    "price_list_new",
    "price_list_prices_view",
    "product_edit",
    "product_list",
    "product_new",
    "quote_detail",
    "quote_list",
    "quote_new",
    "quote_print",
    "receivables_view",
    "rep_terms_view",
    "report_collection",
    "report_delivery",
    "report_execution",
    "report_pipeline",
    "report_wins",
    "sales_reports_view",
    "sales_settings",
]
