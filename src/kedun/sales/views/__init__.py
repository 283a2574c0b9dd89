"""The sales pages: quotes, orders, receivables and the reports. Thin: the services decide."""

from .orders import order_detail, order_list
from .printing import quote_print
from .quotes import quote_detail, quote_list, quote_new
from .reports import receivables_view, sales_reports_view

__all__ = [
    "order_detail",
    "order_list",
    "quote_detail",
    "quote_list",
    "quote_new",
    "quote_print",
    "receivables_view",
    "sales_reports_view",
]
