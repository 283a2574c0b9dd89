"""Quote pages: the list, a new quote, and a quote's page with the steps its people may take."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kedun.core import clock
from kedun.core.errors import DomainError, Forbidden
from kedun.customers.selectors import customer_list_visible_to
from kedun.lifecycle.services import manages
from kedun.org.models import User

from .. import quotes as service
from ..catalogue import lost_reasons
from ..duties import Step, may
from ..forms import (
    NewQuoteLineFormSet,
    NoteForm,
    OrderFromQuoteForm,
    QuoteForm,
    QuoteLineFormSet,
    QuoteLostForm,
)
from ..models import Quote, QuoteStatus
from ..orders import ENDED, order_create_from_quote
from ..selectors import quote_get_for_viewer, quote_lines_of, quote_list_visible_to, quote_versions
from .common import page_of, refused, viewer_with

QUOTE_DAYS = 30


def _today() -> dt.date:
    return timezone.localdate(clock.now())


@login_required
def quote_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request)
    status = request.GET.get("status", "")
    if status not in QuoteStatus.values:
        status = ""
    quotes = quote_list_visible_to(viewer=viewer, status=status, current_only=not status)
    context = {
        "page": page_of(request, quotes),
        "status": status,
        "statuses": QuoteStatus.choices,
        "may_quote": may(viewer, Step.QUOTE),
    }
    return render(request, "sales/quote_list.html", context)


def _lines(formset: Any) -> list[dict[str, Any]]:
    return [line for form in formset.forms if (line := form.line()) is not None]


@login_required
@require_http_methods(["GET", "POST"])
def quote_new(request: HttpRequest) -> HttpResponse:
    """A draft for one of the viewer's customers: products, quantities, prices, discounts."""
    viewer = viewer_with(request)
    if not may(viewer, Step.QUOTE):
        raise Forbidden()
    customers = customer_list_visible_to(viewer=viewer).filter(owner__isnull=False)
    data = request.POST if request.method == "POST" else None
    initial = {
        "customer": request.GET.get("customer"),
        "valid_until": _today() + dt.timedelta(days=QUOTE_DAYS),
    }
    form = QuoteForm(data, customers=customers, initial=initial)
    formset = NewQuoteLineFormSet(data, prefix="lines")
    if data is not None and form.is_valid() and formset.is_valid():
        try:
            quote = service.quote_create(
                actor=viewer,
                customer=form.cleaned_data["customer"],
                lines=_lines(formset),
                valid_until=form.cleaned_data["valid_until"],
            )
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Quote %(number)s saved as a draft.") % {"number": quote})
            return redirect("quote-detail", quote.pk)
    return render(request, "sales/quote_new.html", {"form": form, "formset": formset})


def _sells(viewer: User, quote: Quote) -> bool:
    """The quote's own people (quotes._check_seller, asked in advance)."""
    if not may(viewer, Step.QUOTE):
        return False
    return (
        quote.owner_id == viewer.pk
        or manages(viewer, quote.owner)
        or service.may_quote_for(viewer, quote.customer)
    )


def _live_order(quote: Quote) -> Any:
    return quote.orders.exclude(status__in=ENDED).first()


def quote_actions(viewer: User, quote: Quote) -> set[str]:
    """The steps the viewer may take on the quote now; the services check again."""
    actions: set[str] = set()
    status = quote.status
    if _sells(viewer, quote):
        if status == QuoteStatus.DRAFT:
            actions |= {"lines", "submit"}
        if status == QuoteStatus.APPROVED:
            actions.add("send")
        if status == QuoteStatus.SENT:
            actions.add("accept")
        if status in service.LOSABLE:
            actions.add("lost")
        if status in service.REVISABLE:
            actions.add("revise")
    if (
        status == QuoteStatus.PENDING_APPROVAL
        and may(viewer, Step.APPROVE)
        and viewer.pk not in (quote.owner_id, quote.created_by_id)
        and manages(viewer, quote.owner)
    ):
        actions |= {"approve", "reject"}
    if status == QuoteStatus.ACCEPTED and may(viewer, Step.ORDER) and _live_order(quote) is None:
        actions.add("order")
    return actions


def _line_initial(quote: Quote) -> list[dict[str, Any]]:
    return [
        {
            "product": line.product,
            "quantity": line.quantity.normalize(),
            "unit_price": line.unit_price,
            "discount_percent": (line.discount_rate * 100).normalize() or None,
        }
        for line in quote_lines_of(quote=quote)
    ]


def _form(action: str, quote: Quote, data: Any = None) -> Any:
    if action == "lines":
        return QuoteLineFormSet(data, prefix="lines", initial=_line_initial(quote))
    if action in ("approve", "reject"):
        return NoteForm(data, prefix=action)
    if action == "lost":
        reasons = [(reason.code, reason.label) for reason in lost_reasons()]
        return QuoteLostForm(data, prefix="lost", reasons=reasons)
    if action == "order":
        initial = {"promised_date": _today() + dt.timedelta(days=30), "payment_terms_days": 30}
        return OrderFromQuoteForm(data, prefix="order", initial=initial)
    return forms.Form(data, prefix=action)  # a bare button


def _perform(action: str, form: Any, viewer: User, quote: Quote) -> tuple[str, str]:
    """Run the step's service; what to tell the user and where to go next."""
    detail = "quote-detail"
    if action == "lines":
        service.quote_lines_set(actor=viewer, quote=quote, lines=_lines(form))
        return _("Lines saved."), detail
    data = form.cleaned_data
    if action == "submit":
        quote = service.quote_submit(actor=viewer, quote=quote)
        if quote.status == QuoteStatus.PENDING_APPROVAL:
            return _("Sent to your manager for approval."), detail
        return _("Approved: no approval was needed. You can send it."), detail
    if action == "approve":
        service.quote_approve(actor=viewer, quote=quote, note=data["note"])
        return _("Quote approved."), detail
    if action == "reject":
        service.quote_reject(actor=viewer, quote=quote, note=data["note"])
        return _("Quote rejected: back to the rep."), detail
    if action == "send":
        service.quote_send(actor=viewer, quote=quote)
        return _("Quote marked as sent to the customer."), detail
    if action == "accept":
        service.quote_accept(actor=viewer, quote=quote)
        return _("The customer accepted the quote. Create the order."), detail
    if action == "lost":
        service.quote_mark_lost(
            actor=viewer,
            quote=quote,
            reason_code=data["reason_code"],
            note=data["note"],
            competitor=data["competitor"],
        )
        return _("Quote marked as lost."), detail
    if action == "revise":
        new = service.quote_revise(actor=viewer, quote=quote)
        return _("Version %(version)s is a new draft.") % {"version": new.version}, f"q:{new.pk}"
    if action == "order":
        order = order_create_from_quote(
            actor=viewer,
            quote=quote,
            promised_date=data["promised_date"],
            payment_terms_days=data["payment_terms_days"],
        )
        return _("Order %(number)s created.") % {"number": order.number}, f"o:{order.pk}"
    raise Forbidden()


@login_required
@require_http_methods(["GET", "POST"])
def quote_detail(request: HttpRequest, quote_id: int) -> HttpResponse:
    viewer = viewer_with(request)
    quote = quote_get_for_viewer(viewer=viewer, quote_id=quote_id)
    actions = quote_actions(viewer, quote)
    bound: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in actions:
            raise Forbidden()
        form = _form(action, quote, data=request.POST)
        if form.is_valid():
            try:
                message, target = _perform(action, form, viewer, quote)
            except DomainError as error:
                messages.error(request, refused(error))
            else:
                messages.success(request, message)
                kind, _sep, pk = target.partition(":")
                if kind == "o":
                    return redirect("order-detail", int(pk))
                return redirect("quote-detail", int(pk) if kind == "q" else quote.pk)
        bound[action] = form
    context = {
        "quote": quote,
        "lines": quote_lines_of(quote=quote),
        "versions": quote_versions(viewer=viewer, quote=quote),
        "orders": list(quote.orders.order_by("-created_at")),
        "reasons": quote.approval_reasons.splitlines(),
        "actions": actions,
        "forms": {
            action: bound.get(action) or _form(action, quote)
            for action in actions & {"lines", "approve", "reject", "lost", "order"}
        },
    }
    return render(request, "sales/quote_detail.html", context)
