from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kedun.core.errors import DomainError
from kedun.org.models import User

from .selectors import customer_get_for_viewer, customer_list_visible_to
from .services import REGISTERING_ROLES, ContactInput, customer_register


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    search = request.GET.get("q", "").strip()
    page = Paginator(customer_list_visible_to(viewer=viewer, search=search), 25).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "q": search, "can_register": viewer.has_role(*REGISTERING_ROLES)}
    # htmx search-as-you-type swaps only the table.
    template = (
        "customers/_rows.html" if request.headers.get("HX-Request") else "customers/list.html"
    )
    return render(request, template, context)


@login_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
    return render(
        request,
        "customers/detail.html",
        {"customer": customer, "contacts": customer.contacts.order_by("pk")},
    )


class CustomerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Company name"), max_length=200)
    short_name = forms.CharField(label=gettext_lazy("Short name"), max_length=100, required=False)
    contact_name = forms.CharField(label=gettext_lazy("Contact"), max_length=100, required=False)
    contact_phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)
    contact_email = forms.EmailField(label=gettext_lazy("Email"), required=False)


@login_required
def customer_new(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contacts = []
        if data["contact_name"]:
            contacts.append(
                ContactInput(
                    name=data["contact_name"],
                    phone=data["contact_phone"],
                    email=data["contact_email"],
                )
            )
        try:
            customer = customer_register(
                actor=viewer, name=data["name"], short_name=data["short_name"], contacts=contacts
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(
                request,
                _("Customer %(code)s registered; you are its owner.") % {"code": customer.code},
            )
            return redirect("customer-detail", customer_id=customer.pk)
    return render(request, "customers/new.html", {"form": form})
