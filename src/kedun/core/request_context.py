"""Who is asking, from where: set per request by middleware, read by the audit trail."""

from __future__ import annotations

import contextvars

client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)
