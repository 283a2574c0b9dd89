"""Handing out stored files — attachments and document versions — each one logged: who took
which file when (audit.AccessEvent, kind "download"; documents also in their own log)."""

from __future__ import annotations

from urllib.parse import quote

from django.core.files.storage import default_storage
from django.http import FileResponse

from kedun.audit.models import AccessEvent, AccessKind
from kedun.core import clock
from kedun.core.errors import NotFound
from kedun.core.request_context import client_ip
from kedun.org.models import User

from .documents import document_get_for_viewer, sniffed_type
from .models import Attachment, DocumentDownload, DocumentVersion, MessageCustomer
from .selectors import message_access


def _response(name: str, *, filename: str, content_type: str, inline: bool) -> FileResponse:
    handle = default_storage.open(name, "rb")
    response = FileResponse(handle, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
    response["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def attachment_open(*, viewer: User, attachment_pk: int) -> FileResponse:
    attachment = Attachment.objects.filter(pk=attachment_pk).first()
    if attachment is None:
        raise NotFound()
    message_access(viewer=viewer, message_pk=attachment.message_id)  # NotFound if not theirs
    customer_id = (
        MessageCustomer.objects.filter(message_id=attachment.message_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    AccessEvent.objects.create(
        user=viewer,
        kind=AccessKind.DOWNLOAD,
        customer_id=customer_id,
        subject=f"attachment:{attachment.pk} {attachment.filename}"[:200],
        at=clock.now(),
        ip=client_ip.get() or "",
    )
    return _response(
        str(attachment.file.name),
        filename=attachment.filename,
        content_type="application/octet-stream",
        inline=False,
    )


def version_open(*, viewer: User, version_pk: int, preview: bool = False) -> FileResponse:
    """A document version, downloaded or (images, PDFs) shown inline; logged either way."""
    version = DocumentVersion.objects.select_related("document").filter(pk=version_pk).first()
    if version is None:
        raise NotFound()
    document = document_get_for_viewer(viewer=viewer, document_pk=version.document_id)
    content_type = "application/octet-stream"
    if preview:
        with default_storage.open(str(version.file.name), "rb") as handle:
            sniffed = sniffed_type(handle.read(16))
        if sniffed is None:
            raise NotFound()
        content_type = sniffed
    now = clock.now()
    ip = client_ip.get() or ""
    DocumentDownload.objects.create(version=version, user=viewer, at=now, ip=ip, preview=preview)
    AccessEvent.objects.create(
        user=viewer,
        kind=AccessKind.DOWNLOAD,
        customer_id=document.customer_id,
        subject=f"document:{document.pk} v{version.number}{' preview' if preview else ''}"[:200],
        at=now,
        ip=ip,
    )
    return _response(
        str(version.file.name), filename=version.filename, content_type=content_type, inline=preview
    )
