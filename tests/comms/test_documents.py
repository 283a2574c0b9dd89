"""Documents: versions kept, previews only for real images and PDFs, every download logged
(and shown on the document), the quote PDF stored once per content."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from kedun.audit.models import AccessEvent, AuditEvent
from kedun.comms.documents import document_create, document_version_add
from kedun.comms.models import Document, DocumentDownload, DocumentKind
from kedun.comms.quote_pdf import quote_pdf_store
from kedun.comms.sending import Upload
from kedun.core.errors import Forbidden
from kedun.customers.services import customer_register

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def customer(cast):
    return customer_register(actor=cast.east_rep, name="杭州市蓝海科技有限公司")


def test_versions_are_kept_and_downloads_logged(cast, customer, client):
    document = document_create(
        actor=cast.east_rep,
        customer=customer,
        title="采购合同",
        kind=DocumentKind.CONTRACT,
        upload=Upload("合同-v1.pdf", "application/pdf", PDF),
    )
    document_version_add(
        actor=cast.east_rep,
        document=document,
        upload=Upload("合同-v2.pdf", "application/pdf", PDF + b"%v2\n"),
        note="盖章版",
    )
    assert list(document.versions.order_by("number").values_list("number", "filename")) == [
        (1, "合同-v1.pdf"),
        (2, "合同-v2.pdf"),
    ]
    first = document.versions.get(number=1)

    client.force_login(cast.east_mgr)
    response = client.get(reverse("document-download", args=[first.pk]))
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    page = client.get(reverse("document-detail", args=[document.pk])).content.decode()
    assert "盖章版" in page and 'class="pdf-preview"' in page

    download = DocumentDownload.objects.get(preview=False)
    assert (download.user, download.version.number) == (cast.east_mgr, 1)
    event = AccessEvent.objects.get(subject=f"document:{document.pk} v1")
    assert (event.user, event.kind, event.customer) == (cast.east_mgr, "download", customer)
    assert [
        a
        for a in AuditEvent.objects.order_by("seq").values_list("action", flat=True)
        if a.startswith("document.")
    ] == ["document.added", "document.version_added"]


def test_previews_are_only_for_real_images_and_pdfs(cast, customer, client):
    image = document_create(
        actor=cast.east_rep,
        customer=customer,
        title="现场照片",
        kind=DocumentKind.OTHER,
        upload=Upload("photo.png", "image/png", png()),
    )
    disguised = document_create(
        actor=cast.east_rep,
        customer=customer,
        title="spec",
        kind=DocumentKind.SPEC,
        upload=Upload("spec.pdf", "application/pdf", b"<html><script>alert(1)</script>"),
    )
    client.force_login(cast.east_rep)
    shown = client.get(reverse("document-preview", args=[image.versions.get().pk]))
    assert shown["Content-Type"] == "image/png"
    assert shown["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in shown["Content-Security-Policy"]
    refused = client.get(reverse("document-preview", args=[disguised.versions.get().pk]))
    assert refused.status_code == 404


def test_only_the_account_team_adds_documents_and_strangers_see_none(cast, customer, client):
    with pytest.raises(Forbidden):
        document_create(
            actor=cast.east_rep2,
            customer=customer,
            title="x",
            kind=DocumentKind.OTHER,
            upload=Upload("x.pdf", "application/pdf", PDF),
        )
    document = document_create(
        actor=cast.orders,
        customer=customer,
        title="合同",
        kind=DocumentKind.CONTRACT,
        upload=Upload("c.pdf", "application/pdf", PDF),
    )
    client.force_login(cast.east_rep2)
    assert client.get(reverse("document-detail", args=[document.pk])).status_code == 404
    version = document.versions.get()
    assert client.get(reverse("document-download", args=[version.pk])).status_code == 404
    assert DocumentDownload.objects.count() == 0


def test_upload_through_the_page(cast, customer, client):
    client.force_login(cast.east_rep)
    response = client.post(
        reverse("document-new", args=[customer.pk]),
        {
            "title": "技术规格书",
            "kind": "spec",
            "file": SimpleUploadedFile("spec.pdf", PDF, content_type="application/pdf"),
        },
    )
    document = Document.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/documents/{document.pk}/"
    assert document.versions.get().sha256 == __import__("hashlib").sha256(PDF).hexdigest()


def test_the_quote_pdf_is_stored_once_per_content(cast, customer, client):
    from kedun.sales.quotes import quote_create
    from tests.factories import ProductFactory

    product = ProductFactory(name="数控机床", list_price="1000.00", floor_price="800.00")
    quote = quote_create(
        actor=cast.east_rep,
        customer=customer,
        lines=[{"product": product, "quantity": 2, "unit_price": product.list_price}],
        valid_until=timezone.localdate() + dt.timedelta(days=30),
    )
    first = quote_pdf_store(actor=cast.east_rep, quote=quote)
    again = quote_pdf_store(actor=cast.east_rep, quote=quote)
    assert first.pk == again.pk and first.document.kind == DocumentKind.QUOTE
    assert first.filename == f"{quote.number}-v1.pdf"
    client.force_login(cast.east_rep)
    response = client.get(reverse("quote-pdf", args=[quote.pk]))
    data = b"".join(response.streaming_content)
    assert data.startswith(b"%PDF") and response["Content-Type"] == "application/pdf"
    assert Document.objects.get(quote=quote).versions.count() == 1
