"""Users, departments (a tree), roles and data scopes."""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Boss")
    MANAGER = "manager", _("Sales manager")
    SALES = "sales", _("Salesperson")
    ORDERS = "orders", _("Order desk")
    LOGISTICS = "logistics", _("Logistics")
    FINANCE = "finance", _("Finance")
    AUDITOR = "auditor", _("Auditor")


class DataScope(models.TextChoices):
    OWN = "own", _("Own")
    OWN_AND_SUBORDINATES = "own_subordinates", _("Own and subordinates")
    DEPARTMENT = "department", _("Department")
    DEPARTMENT_TREE = "department_tree", _("Department and below")
    ALL = "all", _("All")


# What a new user of each role sees unless the boss says otherwise. Salespeople see their own
# customers only (MISSION §1); the back office handles orders company-wide.
ROLE_DEFAULT_SCOPE: dict[str, str] = {
    Role.ADMIN: DataScope.ALL,
    Role.MANAGER: DataScope.DEPARTMENT_TREE,
    Role.SALES: DataScope.OWN,
    Role.ORDERS: DataScope.ALL,
    Role.LOGISTICS: DataScope.ALL,
    Role.FINANCE: DataScope.ALL,
    Role.AUDITOR: DataScope.ALL,
}


def new_security_stamp() -> str:
    return secrets.token_hex(16)


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    # Materialised path "/1/4/9/": "department and below" is one indexed prefix match.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("department")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="department_name_unique_in_parent"
            ),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="department_top_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    # The employee's own phone: a customer's contact data changed to it is a trace of
    # diversion (MISSION §9). Stored as entered; compared normalised.
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.SALES)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="members", verbose_name=_("department")
    )
    manager = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("manager"),
    )
    data_scope = models.CharField(
        _("data scope"), max_length=20, choices=DataScope.choices, default=DataScope.OWN
    )
    # Part of the session hash: changing it ends every session of the user at once.
    security_stamp = models.CharField(max_length=32, default=new_security_stamp, editable=False)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_known"),
            models.CheckConstraint(
                condition=Q(data_scope__in=DataScope.values), name="user_data_scope_known"
            ),
            # MISSION §1: a salesperson's scope is never "all".
            models.CheckConstraint(
                condition=~Q(role=Role.SALES, data_scope=DataScope.ALL),
                name="user_sales_scope_not_all",
            ),
            models.CheckConstraint(
                condition=~Q(manager=models.F("id")), name="user_not_own_manager"
            ),
            # "Zhangwei" and "zhangwei" would be one person to everyone reading a report.
            models.UniqueConstraint(Lower("username"), name="user_username_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def get_session_auth_hash(self) -> str:
        return salted_hmac(
            "kedun.org.User.session", f"{self.password}:{self.security_stamp}", algorithm="sha256"
        ).hexdigest()

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles


class LoginThrottle(models.Model):
    """Failed logins per (username, IP); 5 failures lock that pair for 15 minutes.

    Keyed on the typed username whether or not such a user exists, so the lock itself does not
    reveal which usernames are real.
    """

    username = models.CharField(max_length=150)
    ip = models.CharField(max_length=45)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["username", "ip"], name="login_throttle_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.ip}: {self.failures}"
