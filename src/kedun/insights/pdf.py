"""A case file as a PDF for HR: the evidence frozen when the case was opened, the notes and the
outcome. reportlab's built-in CID font STSong-Light draws Chinese without a font file."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from .models import CaseFile

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15, wordWrap="CJK")
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=11, textColor="#555555")
_H1 = ParagraphStyle("h1", parent=_BODY, fontSize=16, leading=22, spaceAfter=6)
_H2 = ParagraphStyle("h2", parent=_BODY, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4)


def _p(text: Any, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def case_pdf(case: CaseFile, *, exported_by: str) -> bytes:
    """The case file's pages. Every page carries who exported it and when (a copy that
    leaves the company names its source)."""
    evidence = case.evidence
    exported_at = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    # No "·" here: STSong-Light has no glyph for it and draws a box.
    footer = _("Kedun case file %(id)d | exported by %(who)s at %(at)s | confidential") % {
        "id": case.pk,
        "who": exported_by,
        "at": exported_at,
    }

    def decorate(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawString(15 * mm, 10 * mm, footer)
        canvas.drawRightString(195 * mm, 10 * mm, str(document.page))
        canvas.restoreState()

    story: list[Any] = [
        _p(case.title, _H1),
        _p(
            _("Salesperson: %(rep)s (%(username)s)")
            % {"rep": case.rep.display_name, "username": case.rep.username}
        ),
        _p(
            _(
                "Opened by %(who)s on %(at)s; evidence as of %(as_of)s, score %(score)s, "
                "rank %(rank)s."
            )
            % {
                "who": case.opened_by.display_name,
                "at": timezone.localtime(case.opened_at).strftime("%Y-%m-%d %H:%M"),
                "as_of": evidence.get("as_of", "—"),
                "score": evidence.get("score", "—"),
                "rank": evidence.get("rank", "—"),
            }
        ),
        _p(
            _(
                "The evidence below is what Kedun's records showed when the case was opened. "
                "It is a question to look into, not a verdict: each line names the records a "
                "person can check."
            ),
            _SMALL,
        ),
    ]
    for heading, key in (
        (_("Agreeing evidence"), "counted"),
        (_("Single traces (not counted)"), "single"),
        (_("Dismissed by a manager"), "dismissed"),
    ):
        entries = evidence.get(key) or []
        if not entries:
            continue
        story.append(_p(heading, _H2))
        for entry in entries:
            story.append(
                _p(f"{entry.get('label', entry.get('kind'))}: {entry.get('sentence', '')}")
            )
            story.append(Spacer(1, 2 * mm))
    story.append(_p(_("Notes"), _H2))
    notes = list(case.notes.select_related("author"))
    if not notes:
        story.append(_p(_("No notes."), _SMALL))
    for note in notes:
        story.append(
            _p(
                f"{timezone.localtime(note.written_at):%Y-%m-%d %H:%M} | "
                f"{note.author.display_name}: {note.text}"
            )
        )
    story.append(_p(_("Outcome"), _H2))
    if case.status == "closed":
        story.append(
            _p(
                _("%(outcome)s — %(note)s (closed by %(who)s on %(at)s)")
                % {
                    "outcome": case.get_outcome_display(),
                    "note": case.outcome_note,
                    "who": case.closed_by.display_name if case.closed_by else "—",
                    "at": timezone.localtime(case.closed_at).strftime("%Y-%m-%d")
                    if case.closed_at
                    else "—",
                }
            )
        )
    else:
        story.append(_p(_("Open: no outcome yet."), _SMALL))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=case.title,
        author="Kedun",
    )
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
