from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kedun.audit.models import AccessKind
from kedun.audit.services import access_record
from kedun.comms.card import customer_comms_context
from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.lifecycle.services import works_the_account
from kedun.lifecycle.views import customer_lifecycle_action, customer_lifecycle_context
from kedun.org.models import Department, User
from kedun.sales.quotes import may_quote_for

from .access import ContactAccess, contact_access, contacts_reveal, customer_open_counted
from .collaboration import collaboration_note_add
from .contact_edit import ContactPerson, contact_person_save, customer_contact_update
from .disputes import (
    ARBITERS,
    dispute_get_for_viewer,
    dispute_request_ownership,
    dispute_resolve,
    disputes_for_arbiter,
)
from .identity.keys import identity_keys
from .models import Customer, DisputeStatus, Resolution, Stage
from .presentation import contact_data
from .screening import lead_list_screen
from .selectors import (
    CustomerFilters,
    customer_get_for_viewer,
    customer_list_visible_to,
    customer_notes,
    customer_registry_card,
    customer_timeline,
    dispute_evidence,
)
from .services import (
    REGISTERING_ROLES,
    ContactInput,
    DuplicateFound,
    PossibleDuplicateFound,
    customer_register,
    matches_for,
)


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)
    stage = forms.ChoiceField(
        label=gettext_lazy("Stage"), required=False, choices=[("", "—"), *Stage.choices]
    )
    owner = forms.CharField(label=gettext_lazy("Owner"), required=False, max_length=150)
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"),
        required=False,
        queryset=Department.objects.order_by("path"),
    )
    needs_review = forms.NullBooleanField(
        label=gettext_lazy("Needs review"),
        required=False,
        widget=forms.Select(
            choices=[("", "—"), ("true", gettext_lazy("Yes")), ("false", gettext_lazy("No"))]
        ),
    )
    registered_from = forms.DateField(
        label=gettext_lazy("Registered from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    registered_to = forms.DateField(
        label=gettext_lazy("Registered to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def filters(self) -> CustomerFilters:
        data = self.cleaned_data if self.is_valid() else {}
        department = data.get("department")
        return CustomerFilters(
            search=data.get("q") or "",
            stage=data.get("stage") or "",
            owner=data.get("owner") or "",
            department_id=department.pk if department else None,
            needs_review=data.get("needs_review"),
            registered_from=data.get("registered_from"),
            registered_to=data.get("registered_to"),
        )


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    form = CustomerFilterForm(request.GET or None)
    filters = form.filters() if request.GET else CustomerFilters()
    customers = customer_list_visible_to(viewer=viewer, filters=filters)
    page = Paginator(customers, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": filters.search,
        "form": form,
        "can_register": viewer.has_role(*REGISTERING_ROLES),
    }
    # htmx search-as-you-type swaps only the table.
    template = (
        "customers/_rows.html" if request.headers.get("HX-Request") else "customers/list.html"
    )
    return render(request, template, context)


class ContactDataForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=100, required=False)
    email = forms.CharField(label=gettext_lazy("Email"), max_length=254, required=False)
    website = forms.CharField(label=gettext_lazy("Website"), max_length=200, required=False)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False)


class ContactPersonForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=100, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)
    email = forms.CharField(label=gettext_lazy("Email"), max_length=254, required=False)
    wechat = forms.CharField(label=gettext_lazy("WeChat"), max_length=100, required=False)


def _contact_action(
    request: HttpRequest, viewer: User, customer: Customer
) -> HttpResponse | dict[str, forms.Form]:
    """The customer's contact data changed on its page, or a contact person added."""
    action = request.POST["action"]
    form: forms.Form = (
        ContactDataForm(request.POST) if action == "contact" else ContactPersonForm(request.POST)
    )
    if form.is_valid():
        try:
            if action == "contact":
                changed = customer_contact_update(
                    actor=viewer, customer=customer, changes=form.cleaned_data
                )
                message = _("Contact data saved.") if changed else _("Nothing changed.")
            else:
                contact_person_save(
                    actor=viewer, customer=customer, person=ContactPerson(**form.cleaned_data)
                )
                message = _("Contact added.")
        except (Forbidden, NotFound):
            raise  # not theirs to change: the error page, as the API's 404
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, message)
            return redirect("customer-detail", customer_id=customer.pk)
    return {action: form}


@login_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
    customer_open_counted(viewer=viewer, customer=customer)
    bound: dict[str, forms.Form] = {}
    if request.method == "POST" and request.POST.get("action") in ("contact", "contact_person"):
        outcome = _contact_action(request, viewer, customer)
        if isinstance(outcome, HttpResponse):
            return outcome
        bound = outcome
    elif request.method == "POST" and request.POST.get("action"):
        # Follow-ups, the account team, release, transfer, hold, stage and grade.
        outcome = customer_lifecycle_action(request, viewer=viewer, customer=customer)
        if isinstance(outcome, HttpResponse):
            return outcome
        bound = outcome
    access = contact_access(viewer=viewer, customer=customer)
    unmasked = access == ContactAccess.FULL
    if request.method == "POST" and request.POST.get("reveal"):
        # A manager's reveal is an audit event; the page then shows the data unmasked.
        unmasked = contacts_reveal(viewer=viewer, customer=customer)
    # Who opened which customer: unusual viewing before a departure is a trace (MISSION §9).
    access_record(user=viewer, kind=AccessKind.VIEW, customer=customer)
    may_edit = unmasked and customer.merged_into_id is None and works_the_account(viewer, customer)
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "data": contact_data(customer, masked=not unmasked),
            "can_reveal": access == ContactAccess.REVEALABLE and not unmasked,
            "can_quote": may_quote_for(viewer, customer),
            "contact_form": bound.get("contact")
            or (
                ContactDataForm(
                    initial={f: getattr(customer, f) for f in ContactDataForm.base_fields}
                )
                if may_edit
                else None
            ),
            "person_form": bound.get("contact_person")
            or (ContactPersonForm() if may_edit else None),
            "timeline": customer_timeline(customer=customer, masked=not unmasked, viewer=viewer),
            "comms": customer_comms_context(viewer=viewer, customer=customer, masked=not unmasked),
            **customer_lifecycle_context(request, viewer=viewer, customer=customer, bound=bound),
        },
    )


def _typed_keys(text: str):
    """One search box: a name, a phone, an email, a website or a credit code."""
    text = text.strip()
    return identity_keys(
        name=text,
        phones=[text],
        emails=[text] if "@" in text else [],
        websites=[text] if "." in text and "@" not in text else [],
        tax_id=text if len(text) == 18 and text.isalnum() else "",
    )


@login_required
def registry_search(request: HttpRequest) -> HttpResponse:
    """Anyone may look a company up in the whole registry: who owns it, since when — never its
    contact data (MISSION §1)."""
    viewer = request.user
    assert isinstance(viewer, User)
    query = request.GET.get("q", "").strip()[:200]
    matches = matches_for(_typed_keys(query)) if len(query) >= 2 else []
    visible = set(
        customer_list_visible_to(viewer=viewer)
        .filter(pk__in=[m.customer.pk for m in matches])
        .values_list("pk", flat=True)
    )
    context = {"q": query, "matches": matches, "visible": visible}
    template = (
        "customers/_registry_results.html"
        if request.headers.get("HX-Request")
        else "customers/registry.html"
    )
    return render(request, template, context)


@login_required
def duplicate_check(request: HttpRequest) -> HttpResponse:
    """The as-you-type check of the registration form (htmx)."""
    keys = identity_keys(
        name=request.POST.get("name", ""),
        phones=[request.POST.get("phone", "")],
        emails=[request.POST.get("email", "")],
        websites=[request.POST.get("website", "")],
        tax_id=request.POST.get("tax_id", ""),
    )
    matches = matches_for(keys) if keys.names or keys.phones or keys.domains or keys.tax_id else []
    return render(request, "customers/_check.html", {"matches": matches, "problems": keys.problems})


class CustomerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Company name"), max_length=200)
    short_name = forms.CharField(label=gettext_lazy("Short name"), max_length=100, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=100, required=False)
    email = forms.CharField(label=gettext_lazy("Email"), max_length=254, required=False)
    website = forms.CharField(label=gettext_lazy("Website"), max_length=200, required=False)
    tax_id = forms.CharField(
        label=gettext_lazy("Unified social credit code"), max_length=40, required=False
    )
    contact_name = forms.CharField(label=gettext_lazy("Contact"), max_length=100, required=False)
    contact_phone = forms.CharField(
        label=gettext_lazy("Contact's phone"), max_length=40, required=False
    )
    contact_email = forms.EmailField(label=gettext_lazy("Contact's email"), required=False)
    confirm_possible = forms.BooleanField(
        label=gettext_lazy("I have checked the possible duplicates: this is another company"),
        required=False,
    )


@login_required
def customer_new(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    if not viewer.has_role(*REGISTERING_ROLES):
        raise Forbidden()  # the back office and the auditor register nobody (services agree)
    form = CustomerForm(request.POST or None)
    matches: list = []
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
                actor=viewer,
                name=data["name"],
                short_name=data["short_name"],
                phone=data["phone"],
                email=data["email"],
                website=data["website"],
                tax_id=data["tax_id"],
                contacts=contacts,
                confirm_possible=data["confirm_possible"],
            )
        except (DuplicateFound, PossibleDuplicateFound) as refusal:
            form.add_error(None, str(refusal.message))
            matches = refusal.matches
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(
                request,
                _("Customer %(code)s registered; you are its owner.") % {"code": customer.code},
            )
            return redirect("customer-detail", customer_id=customer.pk)
    return render(request, "customers/new.html", {"form": form, "matches": matches})


class CollaborationNoteForm(forms.Form):
    contact_name = forms.CharField(label=gettext_lazy("Contact"), max_length=100, required=False)
    contact_phone = forms.CharField(label=gettext_lazy("Phone"), max_length=100, required=False)
    content = forms.CharField(
        label=gettext_lazy("What happened"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    need_what = forms.CharField(label=gettext_lazy("Need"), max_length=300, required=False)
    need_quantity = forms.CharField(label=gettext_lazy("Quantity"), max_length=100, required=False)
    need_expected_date = forms.DateField(
        label=gettext_lazy("Expected date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


@login_required
def registry_card(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Any customer as everyone may see it — owner, department, dates, stage; contact data
    masked — with the form to log a collaboration note for its owner."""
    viewer = request.user
    assert isinstance(viewer, User)
    customer = customer_registry_card(customer_id=customer_id)
    customer_open_counted(viewer=viewer, customer=customer)
    access_record(user=viewer, kind=AccessKind.VIEW, customer=customer)
    form = CollaborationNoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            collaboration_note_add(
                actor=viewer,
                customer=customer,
                content=data["content"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                need_what=data["need_what"],
                need_quantity=data["need_quantity"],
                need_expected_date=data["need_expected_date"],
            )
        except (Forbidden, NotFound):
            raise  # the auditor writes no notes: the error page, as the API's 403
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            owner = customer.owner.display_name if customer.owner else _("the public pool")
            messages.success(
                request, _("Recorded. %(owner)s has been notified.") % {"owner": owner}
            )
            return redirect("registry-card", customer_id=customer.pk)
    in_scope = customer_list_visible_to(viewer=viewer).filter(pk=customer.pk).exists()
    access = contact_access(viewer=viewer, customer=customer)
    return render(
        request,
        "customers/card.html",
        {
            "customer": customer,
            "form": form,
            "in_scope": in_scope,
            "data": contact_data(customer, masked=access != ContactAccess.FULL),
            "my_notes": customer_notes(customer=customer, author=viewer),
            "request_form": OwnershipRequestForm()
            if customer.owner_id not in (None, viewer.pk) and viewer.has_role("sales", "manager")
            else None,
        },
    )


class LeadListForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Lead list (CSV or Excel .xlsx)"))


@login_required
def lead_list_screen_view(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    form = LeadListForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text, _count = lead_list_screen(actor=viewer, data=upload.read(), filename=upload.name)
        except DomainError as error:
            form.add_error("file", str(error.message))
        else:
            response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
            stem = upload.name.rsplit(".", 1)[0][:80] or "leads"
            response["Content-Disposition"] = (
                f"attachment; filename*=UTF-8''{quote(stem)}-screened.csv"
            )
            return response
    return render(request, "customers/screen.html", {"form": form})


class OwnershipRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why this customer should be yours"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@login_required
@require_POST
def ownership_request(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    customer = customer_registry_card(customer_id=customer_id)
    form = OwnershipRequestForm(request.POST)
    if form.is_valid():
        try:
            dispute_request_ownership(
                actor=viewer, customer=customer, reason=form.cleaned_data["reason"]
            )
        except (Forbidden, NotFound):
            raise  # not theirs to ask: the error page, as the API's 403
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Your request is with the manager, who will decide."))
    else:
        messages.error(request, _("Say why the customer should be yours."))
    return redirect("registry-card", customer_id=customer.pk)


@login_required
def dispute_queue(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    status = request.GET.get("status", "open")
    disputes = disputes_for_arbiter(viewer=viewer, status="" if status == "all" else status)
    page = Paginator(disputes, 30).get_page(request.GET.get("page"))
    return render(request, "customers/disputes.html", {"page": page, "status": status})


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=gettext_lazy("Decision"), choices=Resolution.choices)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


@login_required
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    dispute = dispute_get_for_viewer(viewer=viewer, dispute_id=dispute_id)
    can_resolve = (
        viewer.has_role(*ARBITERS)
        and dispute.status == DisputeStatus.OPEN
        and viewer.pk not in (dispute.claimant_id, dispute.owner_at_opening_id)
    )
    form = ResolveForm(request.POST or None) if can_resolve else None
    if request.method == "POST" and form is None:
        raise Forbidden()  # a party to the dispute, or one already decided: nothing to resolve
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            dispute_resolve(
                actor=viewer,
                dispute=dispute,
                resolution=form.cleaned_data["resolution"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Decided; both reps have been told."))
            return redirect("dispute-detail", dispute_id=dispute.pk)
    sides = [customer for customer in (dispute.customer, dispute.other_customer) if customer]
    evidence = [dispute_evidence(customer=customer) for customer in sides]
    return render(
        request, "customers/dispute.html", {"dispute": dispute, "form": form, "evidence": evidence}
    )
