"""A quote as a PDF the customer can be sent, stored as a version of the quote's document.

Drawn with reportlab and its built-in CID font STSong-Light (Chinese without font files), from
the same data as the quote's print page. The PDF is generated in reportlab's invariant mode, so
the same quote in the same state gives the same bytes: a new document version is stored only
when the content changed, and the SHA-256 recognises the file when it is later mailed out of
Kedun (the material_outside signal, comms/signals.py).

Trigger (decided here): whenever someone takes the quote's PDF (the quote page's "PDF" link,
or the API) the PDF is stored on the quote's customer as a document of kind "quote".
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.org.models import Department, User
from kedun.sales.models import Quote, QuoteStatus
from kedun.sales.selectors import quote_lines_of

from .documents import _version_create
from .models import Document, DocumentKind, DocumentVersion
from .sending import Upload

FONT = "STSong-Light"
_ISSUED = (QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.ACCEPTED)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


def quote_pdf_bytes(quote: Quote) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    normal = ParagraphStyle("n", fontName=FONT, fontSize=9, leading=12)
    title = ParagraphStyle("t", fontName=FONT, fontSize=16, leading=20, spaceAfter=6)
    company = Department.objects.filter(parent__isnull=True).order_by("pk").first()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        invariant=1,
        title=f"{quote.number} v{quote.version}",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    story = [
        Paragraph(company.name if company else "", normal),
        Paragraph(f"{_('Quotation')} {quote.number} · v{quote.version}", title),
    ]
    if quote.status not in _ISSUED:
        story.append(
            Paragraph(
                _("%(status)s: not a valid quotation.") % {"status": quote.get_status_display()},
                normal,
            )
        )
    facts = [
        (_("Customer"), f"{quote.customer.name} ({quote.customer.code})"),
        (_("Date"), timezone.localtime(quote.created_at).strftime("%Y-%m-%d")),
        (_("Valid until"), quote.valid_until.isoformat() if quote.valid_until else "—"),
        (_("Salesperson"), quote.owner.display_name),
    ]
    for label, value in facts:
        story.append(Paragraph(f"{label}: {value}", normal))
    story.append(Spacer(1, 6 * mm))
    header = [
        "#",
        _("Product"),
        _("Quantity"),
        _("Unit price"),
        _("Discount"),
        _("Amount before tax"),
        _("Tax"),
        _("Amount with tax"),
    ]
    rows: list[list[object]] = [[Paragraph(h, normal) for h in header]]
    for line in quote_lines_of(quote=quote):
        rows.append(
            [
                str(line.position),
                Paragraph(f"{line.product.sku} {line.product.name}", normal),
                f"{_plain(line.quantity)} {line.product.unit}",
                _money(line.unit_price),
                f"{_plain(line.discount_rate * 100)} %" if line.discount_rate else "—",
                _money(line.net_amount),
                _money(line.tax_amount),
                _money(line.net_amount + line.tax_amount),
            ]
        )
    rows.append(["", _("Amount before tax"), "", "", "", _money(quote.net_total), "", ""])
    rows.append(["", _("Tax"), "", "", "", "", _money(quote.tax_total), ""])
    rows.append(["", _("Total (CNY, tax included)"), "", "", "", "", "", _money(quote.gross_total)])
    table = Table(rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    story.append(table)
    document.build(story)
    return buffer.getvalue()


def quote_pdf_store(*, actor: User, quote: Quote) -> DocumentVersion:
    """The quote's PDF as the latest version of its document (stored only if it changed)."""
    data = quote_pdf_bytes(quote)
    filename = f"{quote.number}-v{quote.version}.pdf"
    upload = Upload(filename, "application/pdf", data)
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    now = clock.now()
    with transaction.atomic():
        # One document per quote number (its versions are the quote's versions and states).
        document, _created = Document.objects.select_for_update().get_or_create(
            quote_id=_first_version_id(quote),
            defaults={
                "customer_id": quote.customer_id,
                "title": f"{_('Quotation')} {quote.number}",
                "kind": DocumentKind.QUOTE,
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
            },
        )
        latest = document.versions.order_by("-number").first()
        if latest is not None and latest.sha256 == digest:
            return latest
        note = f"v{quote.version} · {quote.get_status_display()}"
        version = _version_create(document=document, upload=upload, actor=actor, note=note)
        Document.objects.filter(pk=document.pk).update(updated_at=now)
        audit_record(
            actor=actor,
            action="document.quote_pdf_stored",
            target=document,
            changes={"quote": quote.pk, "version": version.number, "sha256": digest},
        )
    return version


def _first_version_id(quote: Quote) -> int:
    first = (
        Quote.objects.filter(number=quote.number).order_by("version").values_list("pk", flat=True)
    )
    return next(iter(first), quote.pk)
