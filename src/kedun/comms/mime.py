"""Reading an RFC 822 message as Chinese mail really arrives: whatever can be read is read.

Clients label GBK text "gb2312" (a subset: 镕, 喆, 堃 … are not in it), put raw GBK or UTF-8
bytes in headers, encode file names in RFC 2047 words where RFC 2231 is meant, or cut a
multipart message short. The standard library parses the structure; decoding is done here:
every GB label is read as GB18030 (a superset of GB2312 and GBK), Big5 as Big5-HKSCS, an
unknown or missing label by trying UTF-8 and then GB18030, and bytes that still do not decode
are replaced — a message is never lost to its encoding. What could not be read is said in
`problems`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import email.utils
import functools
import hashlib
import html
import quopri
import re
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from email.policy import compat32

from kedun.customers.contact_identity import normalize_email

# Labels whose real content is a superset: decode as the superset.
_CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gb_2312": "gb18030",
    "x-gbk": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "x-euc-cn": "gb18030",
    "chinese": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "us-ascii": "utf-8",  # mislabelled 8-bit text is common; UTF-8 reads ASCII unchanged
    "ascii": "utf-8",
    "iso-8859-1": "cp1252",  # the superset browsers use for this label
    "latin1": "cp1252",
}
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS_RE = re.compile(r"(\?=)\s+(=\?)")
_FORWARD_PREFIX_RE = re.compile(r"^\s*((fwd?|fw|转发|轉寄|转寄)\s*[:：]\s*)+", re.IGNORECASE)
_REPLY_PREFIX_RE = re.compile(r"^\s*((re|答复|回复|回覆|aw)\s*[:：]\s*)+", re.IGNORECASE)
_MESSAGE_ID_RE = re.compile(r"<([^<>\s]+)>")
_TAG_RE = re.compile(r"<[^>]*>")
_BLOCK_TAG_RE = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>", re.IGNORECASE)
_HIDDEN_HTML_RE = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)

MAX_BODY_CHARS = 200_000


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ParsedMessage:
    message_id: str
    subject: str
    from_address: str
    from_name: str
    # (role, address, name) for From, To, Cc and Bcc, addresses lower-cased.
    addresses: list[tuple[str, str, str]]
    sent_at: dt.datetime
    in_reply_to: str
    references: list[str]
    body_text: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def is_forward(self) -> bool:
        return bool(_FORWARD_PREFIX_RE.match(self.subject))

    def recipients(self) -> list[str]:
        return [address for role, address, _name in self.addresses if role != "from"]


@functools.lru_cache(maxsize=256)
def codec_for(charset: str | None) -> str | None:
    """The codec to read a part labelled `charset` with; None when the label is unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = _CHARSET_SUPERSETS.get(label, label)
    try:
        "".encode(label)
    except LookupError:
        return None
    return _CHARSET_SUPERSETS.get(label, label)


def bytes_to_text(data: bytes, charset: str | None = None) -> tuple[str, bool]:
    """Decode with the label's codec (its superset), else UTF-8, else GB18030; return the text
    and whether anything had to be replaced."""
    codec = codec_for(charset)
    candidates = [codec] if codec else []
    candidates += [c for c in ("utf-8", "gb18030") if c not in candidates]
    for candidate in candidates:
        try:
            return data.decode(candidate), False
        except UnicodeDecodeError:
            continue
    return data.decode(candidates[0], errors="replace"), True


def _raw_header_text(value: str) -> str:
    """A header as the parser stored it → text. Raw 8-bit bytes arrive as surrogates (the
    parser reads bytes as ASCII with surrogateescape): they are read as UTF-8 or GB18030."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    data = value.encode("utf-8", "surrogateescape")
    return bytes_to_text(data)[0]


def raw_headers(message: EmailMessage, name: str) -> list[str]:
    """Every value of a header exactly as stored: the library's own accessors turn raw 8-bit
    bytes into a Header of unknown charset, which reads as mojibake."""
    wanted = name.lower()
    return [str(value) for key, value in message.raw_items() if key.lower() == wanted]


def raw_header(message: EmailMessage, name: str) -> str:
    values = raw_headers(message, name)
    return values[0] if values else ""


def _b64(payload: str) -> bytes:
    try:
        return base64.b64decode(payload + "=" * (-len(payload) % 4), validate=False)
    except (binascii.Error, ValueError):
        return b""


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    codec = codec_for(charset.split("*", 1)[0]) or "utf-8"
    try:
        if encoding.lower() == "b":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"), True)
    except (binascii.Error, ValueError):
        return payload
    return bytes_to_text(data, codec)[0]


def header_decode(value: str | None) -> str:
    """A header's text: raw 8-bit bytes read as UTF-8 or GB18030, RFC 2047 encoded words
    decoded with their charset's superset, folding undone."""
    if not value:
        return ""
    text = _raw_header_text(str(value))
    text = re.sub(r"\r?\n[ \t]+", " ", text).replace("\r", "").replace("\n", "")
    # Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
    while True:
        joined = _BETWEEN_WORDS_RE.sub(r"\1\2", text)
        if joined == text:
            break
        text = joined
    if "=?" in text:
        # Adjacent words of one charset are decoded together: clients split a multi-byte
        # character across two base64 words.
        text = _ENCODED_WORD_RE.sub(lambda m: "\x00" + m.group(0) + "\x00", text)
        pieces = [p for p in text.split("\x00") if p]
        out: list[str] = []
        pending: tuple[str, str, list[str]] | None = None

        def flush() -> None:
            nonlocal pending
            if pending is not None:
                charset, encoding, payloads = pending
                if encoding.lower() == "b":
                    joined_bytes = b"".join(_b64(p) for p in payloads)
                    out.append(bytes_to_text(joined_bytes, codec_for(charset) or "utf-8")[0])
                else:
                    out.append("".join(_decode_word(charset, encoding, p) for p in payloads))
                pending = None

        for piece in pieces:
            match = _ENCODED_WORD_RE.fullmatch(piece)
            if match is None:
                flush()
                out.append(piece)
                continue
            charset, encoding, payload = match.groups()
            if pending is not None and (pending[0].lower(), pending[1].lower()) == (
                charset.lower(),
                encoding.lower(),
            ):
                pending[2].append(payload)
            else:
                flush()
                pending = (charset, encoding, [payload])
        flush()
        text = "".join(out)
    return text.strip()


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in a References / In-Reply-To header, brackets removed."""
    text = header_decode(value)
    found = _MESSAGE_ID_RE.findall(text)
    if not found and text.strip() and " " not in text.strip():
        found = [text.strip().strip("<>")]
    return [m[:500] for m in found]


def subject_core(subject: str) -> str:
    """The subject without Re:/Fwd:/回复:/转发: prefixes."""
    previous = None
    text = subject
    while previous != text:
        previous = text
        text = _REPLY_PREFIX_RE.sub("", _FORWARD_PREFIX_RE.sub("", text))
    return text.strip()


@functools.lru_cache(maxsize=8192)
def _address_list(value: str) -> tuple[tuple[str, str], ...]:
    """(name, address) in a decoded header. Cached: a mailbox's own address and its regular
    correspondents are in header after header."""
    found = []
    for name, raw in email.utils.getaddresses([value]):
        address = normalize_email(raw) if raw else None
        if address is not None:
            found.append((name.strip().strip('"')[:200], address))
    return tuple(found)


def _addresses(message: EmailMessage, problems: list[str]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for role, header in (("from", "From"), ("to", "To"), ("cc", "Cc"), ("bcc", "Bcc")):
        for value in raw_headers(message, header):
            for name, address in _address_list(header_decode(value)):
                if (role, address) in seen:
                    continue
                seen.add((role, address))
                found.append((role, address, name))
    return found


_BASE64_DEFECTS = {
    "InvalidBase64PaddingDefect",
    "InvalidBase64CharactersDefect",
    "InvalidBase64LengthDefect",
}


def _part_bytes(part: EmailMessage, problems: list[str]) -> bytes:
    """The decoded payload of a leaf part; a damaged transfer encoding is decoded as far as it
    goes, and said."""
    before = len(part.defects)
    data = part.get_payload(decode=True)
    if {type(d).__name__ for d in part.defects[before:]} & _BASE64_DEFECTS:
        problems.append("a base64 part was cut short or damaged")
    return data if isinstance(data, bytes) else b""


def _param(part: EmailMessage, header: str, name: str) -> str:
    raw = raw_header(part, header)
    if not raw:
        return ""
    holder = EmailMessage()
    holder[header] = _raw_header_text(raw)
    value = holder.get_param(name, header=header)
    if value is None or value == "":
        return ""
    if isinstance(value, tuple):  # RFC 2231: (charset, language, bytes as latin-1 text)
        charset, _language, text = value
        return bytes_to_text(text.encode("raw-unicode-escape"), charset)[0]
    return str(value)


def _filename(part: EmailMessage) -> str:
    name = _param(part, "Content-Disposition", "filename") or _param(part, "Content-Type", "name")
    return header_decode(name).replace("/", "_").replace("\\", "_").strip()[:300]


def _html_to_text(markup: str) -> str:
    markup = _HIDDEN_HTML_RE.sub("", markup)
    markup = _BLOCK_TAG_RE.sub("\n", markup)
    text = html.unescape(_TAG_RE.sub("", markup))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def _walk(
    part: EmailMessage,
    texts: list[str],
    htmls: list[str],
    attachments: list[ParsedAttachment],
    problems: list[str],
    depth: int = 0,
) -> None:
    if depth > 20:
        problems.append("the message nests more than 20 parts deep")
        return
    content_type = part.get_content_type()
    disposition = raw_header(part, "Content-Disposition").split(";", 1)[0].strip().lower()
    if part.is_multipart():
        payload = part.get_payload()
        if content_type == "message/rfc822" or not isinstance(payload, list):
            # A forwarded message kept whole: an attachment, as the mail client shows it.
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, EmailMessage):
                data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
                subject = header_decode(raw_header(inner, "Subject"))
                attachments.append(
                    ParsedAttachment((subject or "message")[:280] + ".eml", "message/rfc822", data)
                )
            return
        for child in payload:
            if isinstance(child, EmailMessage):
                _walk(child, texts, htmls, attachments, problems, depth + 1)
        return
    filename = _filename(part)
    data = _part_bytes(part, problems)
    is_text = content_type in ("text/plain", "text/html")
    if is_text and disposition != "attachment" and not (filename and disposition == "inline"):
        text, replaced = bytes_to_text(data, part.get_content_charset())
        if replaced:
            problems.append(
                f"some characters of a {content_type} part could not be decoded "
                f"(labelled {part.get_content_charset() or 'without a charset'})"
            )
        (texts if content_type == "text/plain" else htmls).append(text)
        return
    if not data and not filename:
        return
    if not filename:
        extension = {"text/calendar": ".ics", "application/pdf": ".pdf"}.get(content_type, "")
        filename = f"attachment-{len(attachments) + 1}{extension}"
    attachments.append(ParsedAttachment(filename, content_type[:150], data))


def message_parse(raw: bytes, *, received_at: dt.datetime) -> ParsedMessage:
    """Read a raw message; never raises on bad input. `received_at` stands in for a missing or
    unreadable Date header (the server's INTERNALDATE, or now)."""
    problems: list[str] = []
    try:
        message = email.message_from_bytes(raw, policy=compat32)
    except Exception as error:  # the parser is lenient; this is a last resort
        message = EmailMessage()
        problems.append(f"the message could not be parsed: {error}")
    subject = header_decode(raw_header(message, "Subject"))[:1000]
    addresses = _addresses(message, problems)
    sender = next(((a, n) for role, a, n in addresses if role == "from"), ("", ""))
    date_text = header_decode(raw_header(message, "Date"))
    sent_at = received_at
    if date_text:
        try:
            parsed_date = email.utils.parsedate_to_datetime(date_text)
        except (TypeError, ValueError, IndexError):
            problems.append(f"the Date header “{date_text[:60]}” could not be read")
        else:
            if parsed_date.tzinfo is None:
                parsed_date = parsed_date.replace(tzinfo=dt.UTC)
            sent_at = parsed_date
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[ParsedAttachment] = []
    try:
        _walk(message, texts, htmls, attachments, problems)
    except Exception as error:
        problems.append(f"the message's parts could not all be read: {error}")
    defects = {type(d).__name__ for part in message.walk() for d in getattr(part, "defects", [])}
    if defects & {"StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect"}:
        problems.append("the message's MIME structure is broken (a boundary is missing)")
    elif defects & {"MultipartInvariantViolationDefect", "NoBoundaryInMultipartDefect"}:
        problems.append("the message's MIME structure is broken (a multipart without parts)")
    body = "\n\n".join(t.strip() for t in texts if t.strip())
    if not body and htmls:
        body = "\n\n".join(_html_to_text(h) for h in htmls)
    references = message_ids(raw_header(message, "References"))
    in_reply_to = next(iter(message_ids(raw_header(message, "In-Reply-To"))), "")
    message_id = next(iter(message_ids(raw_header(message, "Message-ID"))), "")
    if not message_id:
        message_id = _synthetic_id(message, subject, sent_at)
    return ParsedMessage(
        message_id=message_id[:500],
        subject=subject,
        from_address=sender[0],
        from_name=sender[1],
        addresses=addresses,
        sent_at=sent_at,
        in_reply_to=in_reply_to,
        references=references,
        body_text=body[:MAX_BODY_CHARS].replace("\x00", ""),
        attachments=attachments,
        problems=list(dict.fromkeys(problems)),
    )


def _synthetic_id(message: EmailMessage, subject: str, sent_at: dt.datetime) -> str:
    """For mail without a Message-ID: a digest of what every copy of it shares (not the
    Received lines, which differ per mailbox), so two mailboxes still store it once."""
    parts = [header_decode(raw_header(message, h)) for h in ("From", "To", "Cc", "Date")]
    digest = hashlib.sha256("\n".join([*parts, subject]).encode()).hexdigest()[:40]
    return f"{digest}@no-message-id.kedun"
