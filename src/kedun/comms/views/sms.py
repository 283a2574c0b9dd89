"""SMS pages: send to a customer, and the templates (managers and the boss)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kedun.core.errors import DomainError, Forbidden
from kedun.customers.selectors import customer_get_for_viewer
from kedun.lifecycle.services import works_the_account

from ..models import SmsStatus, SmsTemplate
from ..sms import TEMPLATE_EDITORS, customer_numbers, sms_of_customer, sms_send, sms_template_save
from .common import refused, viewer_of


class SmsForm(forms.Form):
    phone = forms.ChoiceField(label=gettext_lazy("To"))
    template = forms.ModelChoiceField(
        label=gettext_lazy("Template"),
        queryset=SmsTemplate.objects.filter(active=True).order_by("name"),
        required=False,
    )
    text = forms.CharField(
        label=gettext_lazy("Text (without a template)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    variables = forms.CharField(
        label=gettext_lazy("Other variables (name=value, one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def variable_values(self) -> dict[str, str]:
        values = {}
        for line in self.cleaned_data.get("variables", "").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip():
                values[name.strip()] = value.strip()
        return values


@login_required
def sms_customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = viewer_of(request)
    customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
    if not works_the_account(viewer, customer):
        raise Forbidden()
    numbers = customer_numbers(customer)
    form = SmsForm(request.POST or None)
    phone_field = form.fields["phone"]
    assert isinstance(phone_field, forms.ChoiceField)
    phone_field.choices = [(n, n) for n in numbers]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            message = sms_send(
                actor=viewer,
                customer=customer,
                phone=data["phone"],
                text=data["text"],
                template=data["template"],
                variables=form.variable_values(),
            )
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            if message.status == SmsStatus.SENT:
                messages.success(request, _("SMS sent; it is on the customer's timeline."))
            else:
                messages.error(request, _("The SMS failed: %(error)s") % {"error": message.error})
            return redirect("customer-detail", customer_id=customer.pk)
    context = {
        "customer": customer,
        "form": form,
        "numbers": numbers,
        "templates": SmsTemplate.objects.filter(active=True).order_by("name"),
        "recent": sms_of_customer(customer)[:20],
    }
    return render(request, "comms/sms_send.html", context)


class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    text = forms.CharField(
        label=gettext_lazy("Text, with variables in braces"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    provider_code = forms.CharField(
        label=gettext_lazy("Provider template code"), max_length=100, required=False
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


@login_required
def sms_templates(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    editable = viewer.has_role(*TEMPLATE_EDITORS)
    editing = None
    chosen = request.GET.get("edit") or request.POST.get("template") or ""
    if chosen.isdigit():
        editing = SmsTemplate.objects.filter(pk=int(chosen)).first()
    initial = {}
    if editing is not None:
        initial = {
            "name": editing.name,
            "text": editing.text,
            "provider_code": editing.provider_code,
            "active": editing.active,
        }
    if request.method == "POST" and not editable:
        raise Forbidden()
    form = TemplateForm(request.POST or None, initial=initial) if editable else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sms_template_save(
                actor=viewer,
                name=data["name"],
                text=data["text"],
                provider_code=data["provider_code"],
                active=data["active"],
                template=editing,
            )
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Template saved."))
            return redirect("sms-templates")
    context = {
        "templates": SmsTemplate.objects.order_by("name"),
        "form": form,
        "editing": editing,
        "editable": editable,
    }
    return render(request, "comms/sms_templates.html", context)
