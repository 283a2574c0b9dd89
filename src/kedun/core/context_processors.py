from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kedun.org.models import Role

# (url name, label, roles that see it). Pages check permissions themselves; this only decides
# what the menu offers each role.
MENU = [
    ("home", _("Home"), None),
    ("customer-list", _("Customers"), None),
    ("registry-search", _("Registry search"), None),
    ("dispute-queue", _("Disputes"), (Role.ADMIN, Role.MANAGER)),
    ("user-list", _("People"), (Role.ADMIN, Role.MANAGER)),
    ("audit-list", _("Audit trail"), (Role.ADMIN, Role.AUDITOR)),
    ("api-docs", _("API"), (Role.ADMIN,)),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"menu": []}
    items = []
    for name, label, roles in MENU:
        if roles is None or user.role in roles:
            url = reverse(name)
            active = request.path == url or (url != "/" and request.path.startswith(url))
            items.append({"url": url, "label": label, "active": active})
    from kedun.notifications.selectors import unread_count

    return {"menu": items, "unread_notifications": unread_count(user=user)}
