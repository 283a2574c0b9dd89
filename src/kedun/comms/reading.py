"""Messages as a viewer reads them, for the pages and the API alike: which ones (selectors),
masked or not (selectors.masked_for), with the deletions a manager is shown."""

from __future__ import annotations

from collections import defaultdict

from kedun.customers.access import ContactAccess, contact_access, contacts_reveal
from kedun.customers.models import Customer
from kedun.org.models import User

from .matching import AddressBook
from .models import Message, MessageCustomer, MessageOwner
from .presentation import ShownMessage, message_shown
from .selectors import (
    MessageAccess,
    contact_names_of,
    deletions_of,
    masked_for,
    message_access,
    thread_of,
    visible_q,
)


def links_of(message_ids: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    rows = MessageCustomer.objects.filter(message_id__in=message_ids).values_list(
        "message_id", "customer_id"
    )
    for message_id, customer_id in rows:
        found[message_id].add(customer_id)
    return found


def _own_ids(viewer: User, message_ids: list[int]) -> set[int]:
    return set(
        MessageOwner.objects.filter(
            visible_q(), user=viewer, message_id__in=message_ids
        ).values_list("message_id", flat=True)
    )


def customer_mail_shown(
    *, viewer: User, customer: Customer, messages: list[Message], revealed: bool = False
) -> list[ShownMessage]:
    """A page of the customer's mail: masked as the customer's contact data is for the viewer,
    except messages in the viewer's own mailbox."""
    book = AddressBook()
    ids = [m.pk for m in messages]
    own = _own_ids(viewer, ids)
    full = revealed or contact_access(viewer=viewer, customer=customer) == ContactAccess.FULL
    links = links_of(ids)
    deletions = deletions_of(viewer=viewer, messages=messages)
    shown = []
    for message in messages:
        others = links[message.pk] - {customer.pk}
        masked = message.pk not in own and (
            not full or (bool(others) and masked_for(viewer=viewer, customer_ids=others))
        )
        shown.append(
            message_shown(
                message,
                masked=masked,
                book=book,
                deletions=deletions.get(message.pk, []),
                show_bcc=message.pk in own,
                names=contact_names_of(links[message.pk] | {customer.pk}) if masked else (),
            )
        )
    return shown


def thread_shown(
    *, viewer: User, message_pk: int, reveal: bool = False
) -> tuple[MessageAccess, list[ShownMessage]]:
    """The message's thread as the viewer may read it. `reveal`: a manager unmasks, recorded
    as a reveal of each customer concerned (MISSION §8)."""
    access = message_access(viewer=viewer, message_pk=message_pk)
    thread = thread_of(viewer=viewer, message=access.message)
    links = links_of([a.message.pk for a in thread])
    revealed: set[int] = set()
    if reveal:
        for customer in Customer.objects.filter(
            pk__in={c for cs in links.values() for c in cs}
        ).select_related("owner", "owner__department"):
            if contacts_reveal(viewer=viewer, customer=customer):
                revealed.add(customer.pk)
    book = AddressBook()
    shown = [
        message_shown(
            item.message,
            masked=_thread_masked(
                item, links[item.message.pk], viewer=viewer, revealed=revealed, reveal=reveal
            ),
            book=book,
            deletions=item.deletions,
            show_bcc=item.own_row is not None,
            names=contact_names_of(links[item.message.pk]),
        )
        for item in thread
    ]
    return access, shown


def _thread_masked(
    item: MessageAccess, customer_ids: set[int], *, viewer: User, revealed: set[int], reveal: bool
) -> bool:
    if item.own_row is not None:
        return False
    if not customer_ids:
        # No customer's contact data; a manager reading a rep's mail unmasks on purpose.
        return not (reveal and item.manages_owner)
    remaining = customer_ids - revealed
    return bool(remaining) and masked_for(viewer=viewer, customer_ids=remaining)


def own_mail_shown(*, rows: list[MessageOwner]) -> list[ShownMessage]:
    """The viewer's own mail (their mailbox holds it): nothing masked."""
    from django.db.models import Prefetch

    from .models import Attachment, MessageAddress

    messages = {
        m.pk: m
        for m in Message.objects.filter(pk__in=[r.message_id for r in rows]).prefetch_related(
            Prefetch("addresses", queryset=MessageAddress.objects.order_by("pk")),
            Prefetch("attachments", queryset=Attachment.objects.order_by("position")),
        )
    }
    book = AddressBook()
    return [message_shown(messages[r.message_id], masked=False, book=book) for r in rows]
