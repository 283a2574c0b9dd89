"""Documents on customers and orders: contracts, quotes, specifications, in versions.

Whoever may open the customer may read its documents; the customer's account team (owner,
collaborators with write access, their managers) and the order desk add documents and
versions. A new version never replaces the old ones; deleting is hiding (managers restore);
every download is logged (comms.DocumentDownload and audit.AccessEvent).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid, NotFound
from kedun.customers.models import Customer
from kedun.customers.selectors import customer_list_visible_to
from kedun.lifecycle.services import manages, works_the_account
from kedun.org.models import Role, User

from .files import content_store
from .models import Document, DocumentKind, DocumentVersion
from .sending import Upload

PREVIEWABLE = {
    b"%PDF": "application/pdf",
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
}
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def sniffed_type(head: bytes) -> str | None:
    """The type of a file Kedun shows inline, read from its first bytes (never trusted from
    the upload: an HTML file named .pdf must not render in our origin)."""
    for magic, content_type in PREVIEWABLE.items():
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def may_add_documents(actor: User, customer: Customer) -> bool:
    return actor.is_active and (
        works_the_account(actor, customer) or actor.has_role(Role.ORDERS, Role.ADMIN)
    )


def documents_of(*, viewer: User, customer: Customer) -> QuerySet[Document]:
    """The customer's documents (the caller has checked the viewer may open the customer);
    hidden ones only for managers, marked."""
    documents = (
        Document.objects.filter(customer=customer)
        .select_related("created_by", "order", "quote", "hidden_by")
        .annotate(latest=Max("versions__number"))
        .order_by("-updated_at", "-pk")
    )
    if not viewer.has_role(Role.ADMIN, Role.MANAGER):
        documents = documents.filter(hidden_at__isnull=True)
    return documents


def document_get_for_viewer(*, viewer: User, document_pk: int) -> Document:
    document = (
        Document.objects.select_related("customer", "customer__owner", "order", "quote")
        .filter(pk=document_pk)
        .first()
    )
    if document is None:
        raise NotFound()
    if not customer_list_visible_to(viewer=viewer).filter(pk=document.customer_id).exists():
        raise NotFound()
    if document.hidden_at is not None and not viewer.has_role(Role.ADMIN, Role.MANAGER):
        raise NotFound()
    return document


def _checked(upload: Upload) -> Upload:
    if not upload.data:
        raise Invalid(_("The file is empty."))
    if len(upload.data) > MAX_DOCUMENT_BYTES:
        raise Invalid(_("A document may be 50 MB at most."))
    name = upload.filename.replace("/", "_").replace("\\", "_").strip()[:300] or "document"
    return Upload(name, (upload.content_type or "application/octet-stream")[:150], upload.data)


def _version_create(
    *, document: Document, upload: Upload, actor: User, note: str
) -> DocumentVersion:
    name, digest = content_store(upload.data, folder="documents")
    number = (document.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    return DocumentVersion.objects.create(
        document=document,
        number=number,
        filename=upload.filename,
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=digest,
        file=name,
        note=note.strip()[:300],
        uploaded_by=actor,
        uploaded_at=clock.now(),
    )


def document_create(
    *,
    actor: User,
    customer: Customer,
    title: str,
    kind: str,
    upload: Upload,
    note: str = "",
    order_id: int | None = None,
) -> Document:
    if not may_add_documents(actor, customer):
        raise Forbidden(_("Only the customer's account team and the order desk add documents."))
    if kind not in DocumentKind.values:
        raise Invalid(_("Unknown document type."))
    title = " ".join(title.split())[:200] or upload.filename[:200]
    upload = _checked(upload)
    if order_id is not None and not customer.orders.filter(pk=order_id).exists():
        raise Invalid(_("That order is not this customer's."))
    now = clock.now()
    with transaction.atomic():
        document = Document.objects.create(
            customer=customer,
            order_id=order_id,
            title=title,
            kind=kind,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        version = _version_create(document=document, upload=upload, actor=actor, note=note)
        audit_record(
            actor=actor,
            action="document.added",
            target=document,
            changes={
                "customer": customer.pk,
                "title": title,
                "kind": kind,
                "file": version.filename,
                "sha256": version.sha256,
            },
        )
    return document


def document_version_add(
    *, actor: User, document: Document, upload: Upload, note: str = ""
) -> DocumentVersion:
    """A new version; the older ones stay."""
    if not may_add_documents(actor, document.customer):
        raise Forbidden(_("Only the customer's account team and the order desk add documents."))
    upload = _checked(upload)
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        version = _version_create(document=document, upload=upload, actor=actor, note=note)
        document.updated_at = version.uploaded_at
        document.save(update_fields=["updated_at"])
        audit_record(
            actor=actor,
            action="document.version_added",
            target=document,
            changes={"version": version.number, "file": version.filename, "sha256": version.sha256},
        )
    return version


def document_hide(*, actor: User, document: Document) -> Document:
    if not may_add_documents(actor, document.customer):
        raise Forbidden()
    with transaction.atomic():
        if not Document.objects.filter(pk=document.pk, hidden_at__isnull=True).update(
            hidden_at=clock.now(), hidden_by=actor
        ):
            raise NotFound()
        audit_record(actor=actor, action="document.deleted", target=document)
    return document


def document_restore(*, actor: User, document: Document) -> Document:
    if not actor.has_role(Role.ADMIN, Role.MANAGER) or not (
        actor.role == Role.ADMIN or manages(actor, document.customer.owner)
    ):
        raise Forbidden(_("Only managers and the boss restore deleted documents."))
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(hidden_at=None, hidden_by=None)
        audit_record(actor=actor, action="document.restored", target=document)
    return document
