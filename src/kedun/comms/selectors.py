"""Reading the mail archive, always as a given viewer.

Who sees a message: the users whose mailbox holds it (until they delete it: deleting is
hiding, for them only); the managers of those users and the boss (deleted mail too, marked
with who deleted it and when); and whoever may open a customer the message is linked to (the
company's copy of the conversation stays with the customer when a rep leaves).

Addresses and the text are masked unless the viewer holds the message in their own mailbox or
sees every linked customer's contact data in full (MISSION §1): the same rule as a phone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Prefetch, Q, QuerySet

from kedun.core.errors import NotFound
from kedun.customers import contact_identity
from kedun.customers.access import ContactAccess, contact_access
from kedun.customers.models import Customer
from kedun.customers.selectors import customer_list_visible_to
from kedun.lifecycle.services import manages
from kedun.org.models import Role, User
from kedun.org.selectors import scope_filter

from .matching import AddressBook
from .models import Attachment, Message, MessageAddress, MessageCustomer, MessageOwner

MANAGING_ROLES = (Role.ADMIN, Role.MANAGER)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS_RE = re.compile(r"\+?\d[\d\s\-()]{5,}\d")


def visible_q(prefix: str = "") -> Q:
    """Owner rows their owner still sees: never deleted, or restored since the last delete.
    (A restore keeps `hidden_at`: that the rep deleted it stays a fact.)"""
    return Q(**{f"{prefix}hidden_at__isnull": True}) | Q(
        **{f"{prefix}restored_at__gt": F(f"{prefix}hidden_at")}
    )


def hidden_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}hidden_at__isnull": False}) & (
        Q(**{f"{prefix}restored_at__isnull": True})
        | Q(**{f"{prefix}restored_at__lte": F(f"{prefix}hidden_at")})
    )


def _with_parts(messages: QuerySet[Message]) -> QuerySet[Message]:
    return messages.prefetch_related(
        Prefetch("addresses", queryset=MessageAddress.objects.order_by("pk")),
        Prefetch("attachments", queryset=Attachment.objects.order_by("position")),
    )


def mail_of(*, viewer: User, search: str = "") -> QuerySet[MessageOwner]:
    """The viewer's own mail, newest first, without what they deleted."""
    rows = (
        MessageOwner.objects.filter(visible_q(), user=viewer)
        .select_related("message")
        .order_by("-sent_at", "-pk")
    )
    if search.strip():
        text = search.strip()
        rows = rows.filter(
            Q(message__subject__icontains=text) | Q(message__from_address__icontains=text)
        )
    return rows


def deleted_mail_in_scope(*, viewer: User) -> QuerySet[MessageOwner]:
    """Mail deleted by the users the viewer manages (managers and the boss only)."""
    if not viewer.has_role(*MANAGING_ROLES):
        return MessageOwner.objects.none()
    return (
        MessageOwner.objects.filter(hidden_q(), scope_filter(viewer=viewer, owner_field="user"))
        .exclude(user=viewer)
        .select_related("message", "user")
        .order_by("-hidden_at", "-pk")
    )


@dataclass
class Deletion:
    owner_row_id: int
    user: str
    hidden_at: dt.datetime


@dataclass
class MessageAccess:
    message: Message
    own_row: MessageOwner | None  # the viewer's mailbox holds it
    manages_owner: bool  # the viewer manages a user who holds it
    deletions: list[Deletion] = field(default_factory=list)  # shown to managers only


def _deletions(message_ids: list[int], *, viewer: User) -> dict[int, list[Deletion]]:
    found: dict[int, list[Deletion]] = defaultdict(list)
    if not viewer.has_role(*MANAGING_ROLES):
        return found
    rows = (
        MessageOwner.objects.filter(hidden_q(), message_id__in=message_ids)
        .exclude(user=viewer)
        .select_related("user", "user__department")
    )
    for row in rows:
        if manages(viewer, row.user):
            found[row.message_id].append(
                Deletion(row.pk, row.user.display_name, row.hidden_at)  # type: ignore[arg-type]
            )
    return found


def message_access(*, viewer: User, message_pk: int) -> MessageAccess:
    """The message as the viewer may read it, or NotFound (missing and not yours alike)."""
    message = _with_parts(Message.objects.filter(pk=message_pk)).first()
    if message is None or not viewer.is_active:
        raise NotFound()
    rows = list(MessageOwner.objects.filter(message=message).select_related("user__department"))
    own = next((r for r in rows if r.user_id == viewer.pk), None)
    if own is not None and not MessageOwner.objects.filter(visible_q(), pk=own.pk).exists():
        raise NotFound()  # deleted: gone from the rep's own views
    managed = viewer.has_role(*MANAGING_ROLES) and any(
        manages(viewer, r.user) for r in rows if r.user_id != viewer.pk
    )
    if own is None and not managed:
        customer_ids = MessageCustomer.objects.filter(message=message).values("customer_id")
        if not customer_list_visible_to(viewer=viewer).filter(pk__in=customer_ids).exists():
            raise NotFound()
    return MessageAccess(
        message=message,
        own_row=own,
        manages_owner=managed,
        deletions=_deletions([message.pk], viewer=viewer).get(message.pk, []),
    )


def thread_of(*, viewer: User, message: Message) -> list[MessageAccess]:
    """The message's thread, oldest first, as far as the viewer may read it."""
    root = message.thread_root or message.message_id
    candidates = _with_parts(
        Message.objects.filter(Q(thread_root=root) | Q(message_id=root)).order_by("sent_at", "pk")
    )
    ids = [m.pk for m in candidates]
    rows: dict[int, list[MessageOwner]] = defaultdict(list)
    for row in MessageOwner.objects.filter(message_id__in=ids).select_related("user__department"):
        rows[row.message_id].append(row)
    hidden_mine = set(
        MessageOwner.objects.filter(hidden_q(), message_id__in=ids, user=viewer).values_list(
            "message_id", flat=True
        )
    )
    linked: dict[int, set[int]] = defaultdict(set)
    for message_id, customer_id in MessageCustomer.objects.filter(message_id__in=ids).values_list(
        "message_id", "customer_id"
    ):
        linked[message_id].add(customer_id)
    visible_customers = set(
        customer_list_visible_to(viewer=viewer)
        .filter(pk__in={c for cs in linked.values() for c in cs})
        .values_list("pk", flat=True)
    )
    deletions = _deletions(ids, viewer=viewer)
    is_manager = viewer.has_role(*MANAGING_ROLES)
    managed_users: dict[int, bool] = {}
    result: list[MessageAccess] = []
    for candidate in candidates:
        if candidate.pk in hidden_mine:
            continue
        own = next((r for r in rows[candidate.pk] if r.user_id == viewer.pk), None)
        managed = False
        if is_manager:
            for row in rows[candidate.pk]:
                if row.user_id != viewer.pk:
                    if row.user_id not in managed_users:
                        managed_users[row.user_id] = manages(viewer, row.user)
                    managed = managed or managed_users[row.user_id]
        if own is None and not managed and not (linked[candidate.pk] & visible_customers):
            continue
        result.append(MessageAccess(candidate, own, managed, deletions.get(candidate.pk, [])))
    return result


def customer_messages(*, viewer: User, customer: Customer) -> QuerySet[Message]:
    """The customer's mail (the caller has checked the viewer may open the customer), newest
    first, without the messages the viewer deleted."""
    mine_hidden = MessageOwner.objects.filter(hidden_q(), user=viewer).values("message_id")
    linked = MessageCustomer.objects.filter(customer=customer).values("message_id")
    return _with_parts(
        Message.objects.filter(pk__in=linked)
        .exclude(pk__in=mine_hidden)
        .order_by("-sent_at", "-pk")
    )


def deletions_of(*, viewer: User, messages: list[Message]) -> dict[int, list[Deletion]]:
    return _deletions([m.pk for m in messages], viewer=viewer)


# -- masking ------------------------------------------------------------------------------------


def masked_for(
    *, viewer: User, access: MessageAccess | None = None, customer_ids: set[int]
) -> bool:
    """Masked unless the message is in the viewer's own mailbox or the viewer sees every
    linked customer's contact data in full."""
    if access is not None and access.own_row is not None:
        return False
    if not customer_ids:
        # Mail linked to no customer: nobody's contact data, but a manager reading a rep's
        # mail still sees addresses masked unless they are the company's own.
        return True
    customers = Customer.objects.filter(pk__in=customer_ids).select_related(
        "owner", "owner__department"
    )
    return any(contact_access(viewer=viewer, customer=c) != ContactAccess.FULL for c in customers)


def address_shown(address: str, *, masked: bool, book: AddressBook) -> str:
    if not masked or book.is_own(address):
        return address
    return contact_identity.mask_email(address)


def contact_names_of(customer_ids: set[int]) -> list[str]:
    """The names of the customers' contacts: contact data, masked in the texts of their mail."""
    from kedun.customers.models import Contact

    names = Contact.objects.filter(customer_id__in=customer_ids).values_list("name", flat=True)
    return sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=len, reverse=True)


def text_shown(
    text: str, *, masked: bool, book: AddressBook, names: list[str] | tuple[str, ...] = ()
) -> str:
    """A message's text as a masked viewer may read it: addresses, numbers and the contacts'
    names masked."""
    if not masked:
        return text
    for name in names:
        text = text.replace(name, contact_identity.mask_text(name, keep=1))
    text = _EMAIL_RE.sub(lambda m: address_shown(m.group(0).lower(), masked=True, book=book), text)
    return _DIGITS_RE.sub(_mask_digits, text)


def _mask_digits(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 7:
        return match.group(0)
    return contact_identity.mask_phone(match.group(0))
