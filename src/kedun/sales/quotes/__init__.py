"""Quotes (报价, MISSION §5): written by the customer's people, approved by a manager when a
price goes below the floor or a discount beyond the rep's limit — never by the person who
sells — then sent, accepted, lost (with a reason) or expired, and revised as new versions.

Every write locks the quote's row, checks, changes, and writes its audit event in one
transaction: a refusal leaves nothing behind.
"""

from .approval import approval_reasons_of, quote_approve, quote_reject, quote_submit
from .common import (
    DEFAULT_MAX_DISCOUNT_RATE,
    LOSABLE,
    MAX_LINES,
    NOTE_MIN_LENGTH,
    REVISABLE,
    LineSpec,
    QuoteLineInput,
    discount_limit_of,
    may_quote_for,
)
from .drafting import quote_create, quote_lines_set
from .outcome import (
    EXPIRY_BATCH,
    quote_accept,
    quote_expire,
    quote_mark_lost,
    quote_revise,
    quote_send,
    quotes_expire_due,
)

__all__ = [
    "DEFAULT_MAX_DISCOUNT_RATE",
    "EXPIRY_BATCH",
    "LOSABLE",
    "MAX_LINES",
    "NOTE_MIN_LENGTH",
    "REVISABLE",
    "LineSpec",
    "QuoteLineInput",
    "approval_reasons_of",
    "discount_limit_of",
    "may_quote_for",
    "quote_accept",
    "quote_approve",
    "quote_create",
    "quote_expire",
    "quote_lines_set",
    "quote_mark_lost",
    "quote_reject",
    "quote_revise",
    "quote_send",
    "quote_submit",
    "quotes_expire_due",
]
