from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kedun.org.models import Role

# (url name, label, roles that see it). Pages check permissions themselves; this only decides
# what the menu offers each role.
SELLING = (Role.MANAGER, Role.SALES)
MANAGING = (Role.ADMIN, Role.MANAGER)
MENU = [
    ("home", _("Home"), None),
    ("my-customers", _("My customers"), SELLING),
    ("follow-ups-today", _("Follow-ups today"), SELLING),
    ("customer-list", _("Customers"), None),
    ("pool", _("Pool"), (Role.ADMIN, *SELLING)),
    ("registry-search", _("Registry search"), None),
    ("field-day", _("My day"), SELLING),
    ("quote-list", _("Quotes"), SELLING),
    ("order-list", _("Orders"), None),
    ("product-list", _("Products"), (Role.ADMIN, *SELLING)),
    ("mail-list", _("Mail"), None),
    ("receivables", _("Receivables"), (Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.AUDITOR)),
    # Everyone has a ledger or a scope of reps' ledgers; the page shows what the scope allows.
    ("commission", _("Commission"), None),
    ("sales-reports", _("Sales reports"), (Role.ADMIN, Role.MANAGER, Role.AUDITOR)),
    ("field-dashboard", _("Field"), MANAGING),
    ("dispute-queue", _("Disputes"), MANAGING),
    ("insights-risk", _("Diversion risk"), MANAGING),
    ("key-customers-report", _("Key customers"), MANAGING),
    ("user-list", _("People"), MANAGING),
    ("handover", _("Departure handover"), MANAGING),
    ("pool-settings", _("Pool rules"), MANAGING),
    ("sales-settings", _("Sales settings"), MANAGING),
    ("mailbox-list", _("Mailboxes"), (Role.ADMIN,)),
    ("competitor-list", _("Competitors"), MANAGING),
    ("sms-templates", _("SMS templates"), MANAGING),
    ("export-list", _("Exports"), None),
    ("export-approvals", _("Export approvals"), MANAGING),
    ("budget-team", _("Budgets and leavers"), MANAGING),
    ("canary-lookup", _("Leaked file lookup"), (Role.ADMIN, Role.AUDITOR)),
    ("audit-list", _("Audit trail"), (Role.ADMIN, Role.AUDITOR)),
    ("api-docs", _("API"), (Role.ADMIN,)),
]


# A salesperson's own day, first in the menu (on a phone it is a folded list, read from the
# top): their customers, what is due today, their visits, their quotes and orders.
OWN_PAGES = ["my-customers", "follow-ups-today", "field-day", "quote-list", "order-list"]


def _menu_for(role: str) -> list[tuple[str, Any]]:
    entries = [(name, label) for name, label, roles in MENU if roles is None or role in roles]
    if role not in SELLING:
        return entries
    own = [entry for name in OWN_PAGES for entry in entries if entry[0] == name]
    home = [entry for entry in entries if entry[0] == "home"]
    rest = [entry for entry in entries if entry not in own and entry not in home]
    return home + own + rest


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"menu": []}
    items: list[dict[str, Any]] = []
    for name, label in _menu_for(user.role):
        items.append({"url": reverse(name), "label": label, "active": False})
    # The page's own entry, or the closest one above it (/pool/settings/ is not /pool/).
    above = [
        item
        for item in items
        if request.path == item["url"]
        or (item["url"] != "/" and request.path.startswith(item["url"]))
    ]
    if above:
        max(above, key=lambda item: len(item["url"]))["active"] = True
    from kedun.notifications.selectors import unread_count

    return {"menu": items, "unread_notifications": unread_count(user=user)}
