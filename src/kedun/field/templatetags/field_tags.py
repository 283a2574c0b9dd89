"""The field section of a customer's page (its location, check-in and check-out, the location
form), as a tag the customer page includes: the customers app knows nothing of field work."""

from __future__ import annotations

from typing import Any

from django import template

from kedun.customers.models import Customer
from kedun.lifecycle.services import manages, works_the_account
from kedun.org.models import User

from ..forms import LocationForm
from ..selectors import customer_check_ins, open_check_in

register = template.Library()


@register.inclusion_tag("field/_customer_section.html", takes_context=True)
def customer_field_section(context: Any, customer: Customer) -> dict[str, Any]:
    request = context["request"]
    viewer = request.user
    if not isinstance(viewer, User):
        return {"customer": customer}
    located = customer.lat is not None and customer.lng is not None
    can_check_in = works_the_account(viewer, customer)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "customer": customer,
        "location": {"lat": customer.lat, "lng": customer.lng} if located else None,
        "source_label": customer.get_location_source_display() if located else "",
        "can_check_in": can_check_in,
        "open_check_in": open_check_in(rep=viewer, customer=customer) if can_check_in else None,
        "last_visit": customer_check_ins(viewer=viewer, customer=customer).first(),
        "can_locate": customer.owner_id == viewer.pk or manages(viewer, customer.owner),
        "location_form": LocationForm(),
    }
