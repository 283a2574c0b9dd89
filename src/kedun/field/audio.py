"""Reading a voice report: is it audio we can store and play back, and what is its digest.

Browsers record with MediaRecorder: Chromium gives audio/webm (Opus), Safari audio/mp4 (AAC);
phones may also share Ogg, MP3 or WAV files. The type is read from the file's first bytes, not
taken from what the client claims: a text file sent as audio/webm is not a voice report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kedun.core.errors import Invalid

from .photos import max_upload_bytes


@dataclass(frozen=True)
class AudioFacts:
    sha256: str
    content_type: str  # what the bytes are, e.g. audio/webm
    extension: str


def _sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a recording by its magic bytes; None when not audio."""
    head = data[:16]
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM / Matroska
        return "audio/webm", "webm"
    if head.startswith(b"OggS"):
        return "audio/ogg", "ogg"
    if head[4:8] == b"ftyp":  # ISO base media: .m4a from Safari and iPhones
        return "audio/mp4", "m4a"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav", "wav"
    if head.startswith(b"ID3"):
        return "audio/mpeg", "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 in (0xF2, 0xF4, 0xF6):
        # An MPEG audio frame sync (11 bits) with layer III, II or I: a bare MP3.
        return "audio/mpeg", "mp3"
    return None


def audio_read(data: bytes) -> AudioFacts:
    """Check a voice report, or raise Invalid with a message for the rep."""
    limit = max_upload_bytes()
    if len(data) > limit:
        raise Invalid(
            _("The voice report is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)},
            code="audio_too_large",
        )
    if not data:
        raise Invalid(_("The voice report is empty."), code="invalid_audio")
    sniffed = _sniff(data)
    if sniffed is None:
        raise Invalid(
            _("This file is not a recording Kedun can play (WebM, Ogg, M4A, MP3 or WAV)."),
            code="invalid_audio",
        )
    content_type, extension = sniffed
    return AudioFacts(
        sha256=hashlib.sha256(data).hexdigest(), content_type=content_type, extension=extension
    )
