"""Collaboration notes: anyone may log a contact and a need on a customer they do not own; the
owner and the owner's manager are told, and the note stays on the timeline (MISSION §3)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.notifications.services import notify
from kedun.org.models import Role, User

from .models import CollaborationNote, Customer, Need


def collaboration_note_add(
    *,
    actor: User,
    customer: Customer,
    content: str,
    contact_name: str = "",
    contact_phone: str = "",
    need_what: str = "",
    need_quantity: str = "",
    need_expected_date: dt.date | None = None,
) -> CollaborationNote:
    if actor.has_role(Role.AUDITOR):
        # The auditor reads the record and writes nothing into it (MISSION: read-only). The
        # back office may: a customer's call to the order desk or finance reaches the owner so.
        raise Forbidden()
    content = content.strip()
    if len(content) < 2:
        raise Invalid(_("Write what the customer said or asked for."))
    if not actor.is_active:
        raise Invalid(_("Your account is deactivated."))
    now = clock.now()
    with transaction.atomic():
        need = None
        if need_what.strip():
            need = Need.objects.create(
                customer=customer,
                what=need_what.strip()[:300],
                quantity=need_quantity.strip()[:100],
                expected_date=need_expected_date,
                recorded_by=actor,
                recorded_at=now,
            )
        note = CollaborationNote.objects.create(
            customer=customer,
            author=actor,
            contact_name=contact_name.strip()[:100],
            contact_phone=contact_phone.strip()[:100],
            content=content,
            need=need,
            created_at=now,
        )
        owner = customer.owner
        if owner is not None and owner.pk != actor.pk:
            title = _("%(author)s logged a contact on your customer %(name)s") % {
                "author": actor.display_name,
                "name": customer.name,
            }
            body = content[:300]
            if need is not None:
                body += _(" — Need: %(what)s") % {"what": need.what}
            url = reverse("customer-detail", args=[customer.pk])
            notify(recipients=[owner], kind="collaboration_note", title=title, body=body, url=url)
            manager_title = _("%(author)s logged a contact on %(owner)s's customer %(name)s") % {
                "author": actor.display_name,
                "owner": owner.display_name,
                "name": customer.name,
            }
            notify(
                recipients=[owner.manager] if owner.manager_id != actor.pk else [],
                kind="collaboration_note",
                title=manager_title,
                body=body,
                url=url,
            )
        audit_record(
            actor=actor,
            action="customer.collaboration_note_added",
            target=customer,
            changes={
                "note": note.pk,
                "need": need.pk if need else None,
                "owner": customer.owner_id,
            },
        )
    return note
