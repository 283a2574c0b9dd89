from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from kedun.core.errors import NotFound
from kedun.org.models import Department, User
from kedun.org.selectors import scope_filter_by_owner_ids

from .access import active_team_q
from .contact_identity import mask_text
from .models import CollaborationNote, Customer, TeamMember
from .presentation import mask_phones


@dataclass(frozen=True)
class CustomerFilters:
    search: str = ""
    stage: str = ""
    owner: str = ""  # a username
    department_id: int | None = None  # the owner's department and below
    needs_review: bool | None = None
    registered_from: datetime.date | None = None
    registered_to: datetime.date | None = None


def customer_list_visible_to(
    *, viewer: User, search: str = "", filters: CustomerFilters | None = None
) -> QuerySet[Customer]:
    # The viewer's data scope, plus the customers whose account team the viewer is on. Both
    # are resolved into ids first (a query each, of a few rows): an OR with a subquery, or with
    # the owner's department reached through a join, is one no index serves, and PostgreSQL
    # read all the customers for every search (issue 13); `owner_id IN (…) OR id IN (…)` is
    # two index scans.
    visible = scope_filter_by_owner_ids(viewer=viewer, owner_field="owner")
    if visible:  # an empty Q is "everything": OR-ing it would narrow it instead
        on_team = TeamMember.objects.filter(active_team_q(), user=viewer)
        team_ids = list(on_team.values_list("customer_id", flat=True))
        if team_ids:
            visible |= Q(pk__in=team_ids)
    customers = (
        Customer.objects.filter(visible, merged_into__isnull=True)
        .select_related("owner", "owner__department")
        .order_by("-registered_at", "-pk")
    )
    filters = filters or CustomerFilters(search=search)
    if filters.search:
        customers = customers.filter(name__icontains=filters.search.strip())
    if filters.stage:
        customers = customers.filter(stage=filters.stage)
    if filters.owner:
        customers = customers.filter(owner__username__iexact=filters.owner)
    if filters.department_id:
        department = Department.objects.filter(pk=filters.department_id).first()
        # The department's people by id, as the scope above: served by the owner's index.
        people = (
            User.objects.filter(department__path__startswith=department.path)
            if department
            else User.objects.none()
        )
        customers = customers.filter(owner_id__in=list(people.values_list("pk", flat=True)))
    if filters.needs_review is not None:
        customers = customers.filter(needs_review=filters.needs_review)
    if filters.registered_from:
        customers = customers.filter(registered_at__date__gte=filters.registered_from)
    if filters.registered_to:
        customers = customers.filter(registered_at__date__lte=filters.registered_to)
    return customers


def customer_get_for_viewer(*, viewer: User, customer_id: int) -> Customer:
    """The customer, or NotFound — the same answer for "missing" and "not yours"."""
    customer = customer_list_visible_to(viewer=viewer).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound()
    return customer


def customer_registry_card(*, customer_id: int) -> Customer:
    """Any live customer, for the registry card everyone may open (no contact data leaves
    through it: the card masks). A merged record leads to the customer it became."""
    customer = (
        Customer.objects.select_related("owner", "owner__department", "merged_into")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise NotFound()
    while customer.merged_into is not None:
        customer = customer.merged_into
    return customer


def customer_notes(*, customer: Customer, author: User) -> list[CollaborationNote]:
    return list(
        CollaborationNote.objects.filter(customer=customer, author=author)
        .select_related("need")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    kind: str
    who: str
    text: str
    contact: str = ""
    # An entry another app contributes is drawn by its own template, given `item`.
    template: str = ""
    item: Any = None
    url: str = ""
    attachments: tuple[str, ...] = ()


# Other apps add their entries to a customer's timeline (field: visits) without this app
# importing them: each source, registered in its AppConfig.ready(), is called with the
# customer and the viewer and returns only what that viewer may see.
TimelineSource = Callable[[Customer, User | None], Iterable[TimelineEntry]]
TIMELINE_SOURCES: list[TimelineSource] = []


def customer_timeline(
    *, customer: Customer, masked: bool, viewer: User | None = None
) -> list[TimelineEntry]:
    """What happened with the customer, newest first: registration, collaboration notes,
    needs, mail and SMS, and what other apps contribute. Contacts typed into notes are contact
    data, masked like the rest."""
    entries = [
        TimelineEntry(
            customer.registered_at, "registered", customer.registered_by.display_name, customer.name
        )
    ]
    for note in CollaborationNote.objects.filter(customer=customer).select_related(
        "author", "need"
    ):
        contact = " ".join(
            part
            for part in (
                mask_text(note.contact_name) if masked and note.contact_name else note.contact_name,
                mask_phones(note.contact_phone) if masked else note.contact_phone,
            )
            if part
        )
        text = note.content + (
            f" — {note.need.what} {note.need.quantity}".rstrip() if note.need else ""
        )
        entries.append(
            TimelineEntry(
                note.created_at, "collaboration_note", note.author.display_name, text, contact
            )
        )
    for source in TIMELINE_SOURCES:
        entries.extend(source(customer, viewer))
    if viewer is not None:
        entries += _comms_entries(customer=customer, masked=masked, viewer=viewer)
    return sorted(entries, key=lambda e: e.at, reverse=True)


def _comms_entries(*, customer: Customer, masked: bool, viewer: User) -> list[TimelineEntry]:
    """Mail and SMS (comms builds them; imported here, as comms builds on customers)."""
    from kedun.comms.card import mail_timeline_entries, sms_timeline_entries

    found = [
        *mail_timeline_entries(viewer=viewer, customer=customer, masked=masked),
        *sms_timeline_entries(customer=customer, masked=masked),
    ]
    return [
        TimelineEntry(e.at, e.kind, e.who, e.text, e.contact, url=e.url, attachments=e.attachments)
        for e in found
    ]


@dataclass(frozen=True)
class Evidence:
    """One side of a dispute, as the manager sees it side by side."""

    customer: Customer
    registered_at: datetime.datetime
    registered_by: str
    owner: str
    last_follow_up_at: datetime.datetime | None
    notes: list[tuple[datetime.datetime, str, str]]  # when, who, what


def dispute_evidence(*, customer: Customer) -> Evidence:
    notes = [
        (n.created_at, n.author.display_name, n.content[:200])
        for n in CollaborationNote.objects.filter(customer=customer)
        .select_related("author")
        .order_by("created_at")
    ]
    return Evidence(
        customer=customer,
        registered_at=customer.registered_at,
        registered_by=customer.registered_by.display_name,
        owner=customer.owner.display_name if customer.owner else "",
        last_follow_up_at=customer.last_follow_up_at,
        notes=notes,
    )
