from __future__ import annotations

from django.db.models import QuerySet

from kedun.core.errors import NotFound
from kedun.org.models import User
from kedun.org.selectors import scope_filter

from .models import Customer


def customer_list_visible_to(*, viewer: User, search: str = "") -> QuerySet[Customer]:
    customers = (
        Customer.objects.filter(scope_filter(viewer=viewer, owner_field="owner"))
        .select_related("owner", "owner__department")
        .order_by("-registered_at", "-pk")
    )
    if search:
        customers = customers.filter(name__icontains=search.strip())
    return customers


def customer_get_for_viewer(*, viewer: User, customer_id: int) -> Customer:
    """The customer, or NotFound — the same answer for "missing" and "not yours"."""
    customer = customer_list_visible_to(viewer=viewer).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound()
    return customer


def customer_count_visible_to(*, viewer: User) -> int:
    return customer_list_visible_to(viewer=viewer).count()
