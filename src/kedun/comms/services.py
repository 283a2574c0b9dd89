"""Writes on the archive: deleting (hiding) and restoring mail, competitors, retention.

Nothing a rep does removes mail: a delete hides the message from the rep's own views and is
recorded (who, when); the rep's manager or the boss may restore it. Only the retention job
removes mail, and it is audited.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.lifecycle.services import manages
from kedun.org.models import Role, User

from .models import (
    Attachment,
    Competitor,
    CompetitorDomain,
    DraftAttachment,
    DraftStatus,
    MailDraft,
    Message,
    MessageOwner,
)
from .selectors import MANAGING_ROLES, hidden_q, visible_q

COMPETITOR_EDITORS = (Role.ADMIN, Role.MANAGER)


def message_hide(*, actor: User, message: Message) -> MessageOwner:
    """The actor deletes a message from their own mail: hidden for them, kept for the company."""
    with transaction.atomic():
        row = (
            MessageOwner.objects.select_for_update()
            .filter(visible_q(), message=message, user=actor)
            .first()
        )
        if row is None:
            raise NotFound()
        row.hidden_at = clock.now()
        row.save(update_fields=["hidden_at"])
        audit_record(
            actor=actor,
            action="mail.deleted",
            target=message,
            changes={"owner": actor.pk, "subject": message.subject[:200]},
        )
    return row


def message_restore(*, actor: User, row: MessageOwner) -> MessageOwner:
    """A manager of the rep (or the boss) puts a deleted message back in the rep's mail."""
    if not actor.has_role(*MANAGING_ROLES):
        raise Forbidden(_("Only the rep's manager or the boss can restore deleted mail."))
    with transaction.atomic():
        locked = (
            MessageOwner.objects.select_for_update()
            .select_related("user", "user__department", "message")
            .filter(pk=row.pk)
            .first()
        )
        if locked is None or locked.user_id == actor.pk or not manages(actor, locked.user):
            raise NotFound()
        row = locked
        if not MessageOwner.objects.filter(hidden_q(), pk=row.pk).exists():
            raise Conflict(_("This message is not deleted."))
        row.restored_at = clock.now()
        row.restored_by = actor
        row.save(update_fields=["restored_at", "restored_by"])
        audit_record(
            actor=actor,
            action="mail.restored",
            target=row.message,
            changes={"owner": row.user_id, "deleted_at": row.hidden_at.isoformat()},  # type: ignore[union-attr]
        )
    return row


# -- competitors ---------------------------------------------------------------------------------


def _domain(text: str) -> str:
    domain = text.strip().lower().lstrip("@").rstrip(".")
    if domain.startswith("www."):
        domain = domain[4:]
    if "." not in domain or " " in domain or "@" in domain or len(domain) > 200:
        raise Invalid(_("“%(domain)s” is not a mail domain (e.g. rival.com).") % {"domain": text})
    return domain


def competitor_save(
    *, actor: User, name: str, domains: list[str], competitor: Competitor | None = None
) -> Competitor:
    """Add or change a competitor and its mail domains (managers and the boss)."""
    if not actor.has_role(*COMPETITOR_EDITORS):
        raise Forbidden(_("Only managers and the boss keep the list of competitors."))
    name = " ".join(name.split())
    if not name:
        raise Invalid(_("Give the competitor's name."))
    cleaned = sorted({_domain(d) for d in domains if d.strip()})
    if not cleaned:
        raise Invalid(_("Give at least one mail domain of the competitor."))
    try:
        with transaction.atomic():
            before: dict[str, object] = {}
            if competitor is None:
                competitor = Competitor.objects.create(name=name, created_at=clock.now())
            else:
                before = {
                    "name": competitor.name,
                    "domains": sorted(competitor.domains.values_list("domain", flat=True)),
                }
                competitor.name = name
                competitor.save(update_fields=["name"])
                competitor.domains.exclude(domain__in=cleaned).delete()
            known = set(competitor.domains.values_list("domain", flat=True))
            CompetitorDomain.objects.bulk_create(
                CompetitorDomain(competitor=competitor, domain=d) for d in cleaned if d not in known
            )
            audit_record(
                actor=actor,
                action="competitor.saved",
                target=competitor,
                changes={"before": before, "name": name, "domains": cleaned},
            )
    except IntegrityError:
        raise Conflict(
            _("That name or one of those domains belongs to another competitor already.")
        ) from None
    return competitor


# -- retention -----------------------------------------------------------------------------------


def mail_retention_purge(*, now: dt.datetime | None = None, days: int | None = None) -> int:
    """Remove mail older than the retention period (KEDUN_MAIL_RETENTION_DAYS; 0 keeps all).
    The only way mail leaves Kedun, recorded in the audit trail with what went."""
    days = settings.KEDUN_MAIL_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    removed = 0
    while True:
        with transaction.atomic():
            batch = list(
                Message.objects.filter(sent_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:500]
            )
            if not batch:
                break
            MailDraft.objects.filter(Q(message_id__in=batch) | Q(reply_to_id__in=batch)).filter(
                status=DraftStatus.SENT
            ).delete()
            MailDraft.objects.filter(reply_to_id__in=batch).update(reply_to=None)
            names = set(Message.objects.filter(pk__in=batch).values_list("raw", flat=True))
            names |= set(
                Attachment.objects.filter(message_id__in=batch).values_list("file", flat=True)
            )
            Message.objects.filter(pk__in=batch).delete()
            # Files are stored by content and may be shared: only the ones nothing else names
            # go, and only once the rows are gone for good (after the commit).
            orphans = _files_unreferenced(names - {""})
            transaction.on_commit(functools.partial(_files_delete, orphans))
            removed += len(batch)
            audit_record(
                actor=None,
                action="mail.retention_purged",
                object_type="comms.message",
                changes={"count": len(batch), "before": cutoff.isoformat(), "days": days},
            )
    return removed


def _files_unreferenced(names: set[str]) -> list[str]:
    still = set(Message.objects.filter(raw__in=names).values_list("raw", flat=True))
    still |= set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    still |= set(DraftAttachment.objects.filter(file__in=names).values_list("file", flat=True))
    return sorted(names - still)


def _files_delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
