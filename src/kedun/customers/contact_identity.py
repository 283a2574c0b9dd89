"""Identity keys from contact data: phones, emails, websites and unified social credit codes.

The registry decides "is this customer already someone's?" (MISSION.md §2) partly from keys
that people type in a hundred shapes: 138 0013 8000, +86-138-0013-8000, ０７５５－８６０１３３８８
转 8001, ZHANG@QQ。COM, https://www.Tencent.com/about. Every function here turns one such
shape into one canonical key (or says it is not a usable key), so that two records of one
company meet on equal strings and a B-tree index can find them. Masking lives here too, because
it must understand the same shapes to hide the right parts from people without rights.

Pure functions only: no models, no database, no settings. Messages are lazily translated so the
module can be imported before Django's translation machinery is ready.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import phonenumbers
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

__all__ = [
    "FREE_MAIL_DOMAINS",
    "InvalidCreditCode",
    "email_domain",
    "is_free_mail_domain",
    "mask_email",
    "mask_phone",
    "mask_text",
    "normalize_credit_code",
    "normalize_email",
    "normalize_phone",
    "normalize_phones",
    "phone_kind",
    "website_domain",
]


def _nfkc(value: str) -> str:
    """Fold full-width digits, letters and punctuation (Chinese input methods) to ASCII."""
    return unicodedata.normalize("NFKC", value)


# --------------------------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------------------------

# A field label typed in front of the number ("电话：021-…", "tel:+86…"): not part of the number.
_PHONE_LABEL_RE: Final = re.compile(
    r"^\s*(?:联系电话|电话号码|手机号码|手机号|电话|手机|座机|固话|传真|"
    r"telephone|phone|mobile|mob|cell|tel|fax)\s*\.?\s*:?\s*",
    re.IGNORECASE,
)
# An extension with an explicit marker at the end: "转 8001", "分机8001", "ext. 8001", "x8001",
# "#8001", optionally in brackets. Extensions reach one desk, not the company: we keep the main
# number so that every desk of one company yields the same key.
_EXTENSION_RE: Final = re.compile(
    r"\s*[(\[]?\s*(?:转|轉|分机|分機|extension|ext|x|#)\s*[.:]?\s*[0-9]{1,6}\s*[)\]]?\s*$",
    re.IGNORECASE,
)
# A trailing "-123" after a complete landline: "021-62345678-123".
_DASH_EXTENSION_RE: Final = re.compile(r"^(?P<main>.*[0-9])\s*-\s*[0-9]{1,6}\s*$")
# Separators people put inside one number (ASCII after NFKC, plus the dashes NFKC keeps).
_PHONE_SEPARATORS_RE: Final = re.compile(r"[\s\-.()\[\]\u2010-\u2015]")
_PHONE_SHAPE_RE: Final = re.compile(r"^(\+?)([0-9]{5,20})$")
# The 11-digit shape of the MIIT mobile numbering plan. Accepted without asking phonenumbers
# which prefixes are allocated: its list lags new allocations by months, and losing a real
# customer's mobile as an identity key costs more than accepting an unallocated prefix (a phone
# is weak evidence on its own anyway). See normalize_phone.
_CN_MOBILE_RE: Final = re.compile(r"^1[3-9][0-9]{9}$")
_CN_SERVICE_PREFIXES: Final = ("400", "800")
# Splits a field that holds several numbers. Whitespace is *not* here: "138 0013 8000" is one
# number, so whitespace-separated numbers are found by normalize_phones' token grouping.
_PHONE_LIST_SEPARATORS_RE: Final = re.compile(r"[/,;、|\n\r]+|或")
# The most whitespace-separated tokens one written number spans: "+86 (0) 21 6234 5678 转 123".
_MAX_TOKENS_PER_PHONE: Final = 8

_LANDLINE_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def normalize_phone(raw: str) -> str | None:
    """Return the phone number in E.164 ("+8613800138000"), or None when it is no usable key.

    One number written many ways must give one key, so that a customer registered with
    "0755-8601 3388" is found when someone types "+86 755 86013388". Rules:

    - NFKC first (full-width digits and punctuation), then a leading field label ("电话：") and
      an extension ("转 8001", "ext 8001", "x8001", "#8001", or "-8001" after a complete
      landline or 400/800 number) are dropped: the key is the company's main number.
    - Chinese mobiles are accepted by their 11-digit shape ``1[3-9]xxxxxxxxx``, with or without
      +86 / 0086 / 86 and with a long-distance "0" in front; see ``_CN_MOBILE_RE`` for why this
      does not ask phonenumbers about allocated prefixes.
    - Everything else goes through ``phonenumbers`` (region CN) and must be
      ``is_valid_number``: landlines with an area code, 400/800 numbers (phonenumbers knows
      both: shared-cost and toll-free) and foreign numbers with an explicit +country or 00
      prefix.
    - A landline without its area code (7–8 digits alone) is None: the same digits exist in
      every city, so they identify nothing.
    """
    text = _nfkc(raw).strip()
    if not text:
        return None
    text = _PHONE_LABEL_RE.sub("", text, count=1)
    text = _EXTENSION_RE.sub("", text, count=1)
    dash = _DASH_EXTENSION_RE.match(text)
    if dash is not None:
        main = _clean_phone(dash.group("main"))
        # Cheap filter first: a main part shorter than area code + 7 digits ("021-6234" of
        # "021-6234-5678") is a number split by dashes, not a number with an extension.
        if main is not None and len(main[1]) >= 10:
            result = _parse_phone(*main)
            if result is not None and _classify(result) in ("landline", "service"):
                return result
    cleaned = _clean_phone(text)
    if cleaned is None:
        return None
    return _parse_phone(*cleaned)


def _clean_phone(text: str) -> tuple[bool, str] | None:
    """Strip separators; return (has a leading +, digits), or None if anything else is left."""
    match = _PHONE_SHAPE_RE.match(_PHONE_SEPARATORS_RE.sub("", text))
    if match is None:
        return None
    return bool(match.group(1)), match.group(2)


def _parse_phone(plus: bool, digits: str) -> str | None:
    """Turn cleaned digits into E.164, or None; see normalize_phone for the rules."""
    if plus:
        national: str | None = digits[2:] if digits.startswith("86") else None
    elif digits.startswith("0086"):
        national = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        national = digits[2:]
    else:
        national = digits
    if national is not None:
        # A "0" is dialled before a mobile from a landline in another city ("013800138000").
        mobile = national[1:] if national.startswith("0") else national
        if _CN_MOBILE_RE.match(mobile):
            # Also sidesteps phonenumbers reading "179xx" mobiles as IP-dialling prefixes.
            return "+86" + mobile
    international = plus or digits.startswith("00")
    if not international and len(digits) <= 8:
        return None  # a local number without its area code
    if national is not None:
        # Chinese numbers are checked without phonenumbers.parse (~50 µs, most of the cost):
        # drop the trunk "0" and ask is_valid_number about +86 and the rest. What this does
        # not accept (a "86" typed without "+", IP-dialling prefixes, foreign numbers) goes to
        # the full parser below.
        significant = national[1:] if national.startswith("0") else national
        if (
            significant.isdigit()
            and not significant.startswith("0")
            and phonenumbers.is_valid_number(_cn_number(significant))
        ):
            return "+86" + significant
        if not international and not digits.startswith(("86", "1")):
            # The parser would read these digits exactly as above (its CN national prefixes
            # for parsing are "0" and carrier codes starting with 1): no need to ask twice.
            return None
    try:
        number = phonenumbers.parse(("+" if plus else "") + digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _cn_number(significant: str) -> phonenumbers.PhoneNumber:
    """A +86 PhoneNumber built directly from its national significant number."""
    return phonenumbers.PhoneNumber(country_code=86, national_number=int(significant))


def _classify(e164: str) -> str:
    """The kind of an E.164 number already produced by _parse_phone."""
    if not e164.startswith("+86"):
        return "other"
    national = e164[3:]
    if _CN_MOBILE_RE.match(national):
        return "mobile"
    if len(national) == 10 and national.startswith(_CN_SERVICE_PREFIXES):
        return "service"
    if phonenumbers.number_type(_cn_number(national)) in _LANDLINE_TYPES:
        return "landline"
    return "other"


def normalize_phones(raw: str) -> list[str]:
    """Return the distinct normalised numbers of a field that may hold several, in order.

    People keep "手机 138 0013 8000 / 座机 021-6234 5678 转 8001" in one field. Numbers are split
    at "/", "、", ",", "，", ";", "；", "|", "或" and new lines; inside each piece, whitespace
    separates numbers only where a complete number ends, so runs of whitespace-separated tokens
    are grouped longest first (a number written "138 0013 8000" stays whole). Pieces that are
    not phones are skipped.
    """
    found: list[str] = []
    for piece in _PHONE_LIST_SEPARATORS_RE.split(_nfkc(raw)):
        tokens = piece.split()
        start = 0
        while start < len(tokens):
            end = min(len(tokens), start + _MAX_TOKENS_PER_PHONE)
            while end > start:
                number = normalize_phone(" ".join(tokens[start:end]))
                if number is not None:
                    if number not in found:
                        found.append(number)
                    break
                end -= 1
            start = end if end > start else start + 1
    return found


def phone_kind(e164: str) -> str:
    """Return "mobile", "landline", "service" (400/800) or "other" for a phone.

    The kind decides how much a shared number means (a 400 number or a switchboard stands for a
    company; a mobile for a person) and how it is masked. Foreign numbers are "other": the
    kinds describe the Chinese numbering plan. Raw input is normalised first; a value that is
    not a phone is "other".
    """
    number = normalize_phone(e164)
    if number is None:
        return "other"
    return _classify(number)


def mask_phone(value: str) -> str:
    """Mask a phone for people who may see that a contact exists but not reach it.

    A colleague must be able to tell "this is the number I have" (to spot a collision, 撞单)
    without being able to call the customer behind the owner's back (飞单):

    - Chinese mobile: first 3 and last 4 digits, "138****8000";
    - landline: area code and the last 2 digits, "021-****78" (the area code is public);
    - 400/800 number: "400-***-**88";
    - anything else (foreign, unparseable): the last 2 characters, the rest "*"; values of 4
      characters or fewer are masked whole.

    The number of stars is fixed for known kinds, so the mask does not reveal the length.
    """
    number = normalize_phone(value)
    if number is not None:
        kind = _classify(number)
        national = number[3:]
        if kind == "mobile":
            return f"{national[:3]}****{national[-4:]}"
        if kind == "service":
            return f"{national[:3]}-***-**{national[-2:]}"
        if kind == "landline":
            # Chinese area codes: 010 and 02x have two digits after the trunk "0", all others
            # three (phonenumbers' length_of_geographical_area_code agrees, at 50 µs a call).
            area = 2 if national.startswith(("10", "2")) else 3
            return f"0{national[:area]}-****{national[-2:]}"
    text = number or _nfkc(value).strip()
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 2) + text[-2:]


# --------------------------------------------------------------------------------------------
# Emails and websites
# --------------------------------------------------------------------------------------------

FREE_MAIL_DOMAINS: Final[frozenset[str]] = frozenset(
    {
        # Tencent
        "qq.com",
        "vip.qq.com",
        "foxmail.com",
        # NetEase
        "163.com",
        "126.com",
        "yeah.net",
        "vip.163.com",
        "vip.126.com",
        "188.com",
        # Sina, Sohu
        "sina.com",
        "sina.cn",
        "sina.com.cn",
        "vip.sina.com",
        "sohu.com",
        # Carriers
        "139.com",
        "wo.cn",
        "wo.com.cn",
        "189.cn",
        # Others, Chinese
        "aliyun.com",
        "263.net",
        "tom.com",
        "21cn.com",
        # International
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "live.cn",
        "msn.com",
        "yahoo.com",
        "yahoo.com.cn",
        "yahoo.cn",
        "ymail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
    }
)
"""Mail providers anyone can sign up with: an address there identifies a person, not a company.

Two customers with contacts at qq.com are not one company, so these domains never become an
identity key (MISSION.md §2). Subdomains count too ("mp.weixin.qq.com" is not a company site).
"""

_LABEL: Final = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
# A domain: labels of letters/digits/hyphens (Unicode letters allowed, IDN as typed), and a top
# level domain of letters or punycode, so IP addresses and bare words are not domains.
_DOMAIN_RE: Final = re.compile(rf"^(?:{_LABEL}\.)+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{2,59}})$")
_ATEXT: Final = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL_RE: Final = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*$")
_ANGLE_RE: Final = re.compile(r"<([^<>]*)>")
_EMAIL_LABEL_RE: Final = re.compile(r"^(?:电子邮箱|电子邮件|邮箱|邮件|电邮|e-?mail)\s*:?\s*", re.I)
_ASCII_ALNUM_RE: Final = re.compile(r"[a-z0-9]", re.IGNORECASE)
_MAILTO_RE: Final = re.compile(r"^mailto:", re.IGNORECASE)
_WEBSITE_SCHEME_RE: Final = re.compile(r"^[a-z][a-z0-9+.-]*://")
_WEBSITE_HOST_PREFIXES: Final = ("www.", "m.", "wap.")


def _fold_dots(text: str) -> str:
    """NFKC keeps the ideographic full stop "。" that Chinese input methods type for "."."""
    return _nfkc(text).replace("。", ".")


def _is_free_mail(domain: str) -> bool:
    """True for a free-mail domain or any subdomain of one."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in FREE_MAIL_DOMAINS for i in range(len(labels) - 1))


def is_free_mail_domain(domain: str) -> bool:
    """A free-mail domain (qq.com, 163.com, gmail.com …) or a subdomain of one: an address
    there belongs to a person, never to a company."""
    return _is_free_mail(domain.strip().lower())


def normalize_email(raw: str) -> str | None:
    """Return the address lower-cased ("zhang@example.com"), or None if it is not one.

    Addresses arrive pasted from mail clients and business cards: "张三 <ZHANG@X.COM>",
    "mailto:zhang@x.com", "zhang＠x。com". The display name, angle brackets and "mailto:" are
    dropped, and so are a label ("邮箱：") and a Chinese name in front without brackets
    ("张三 zhang@x.com"); words with Latin letters or digits in front make it invalid instead,
    since "zhang san@x.com" is more likely a typo than a name. The local part is lower-cased as
    well: mail systems treat it case-insensitively in practice, and the key must not depend on
    how someone typed it. Only an ASCII local part and a domain with a top-level domain are
    accepted.
    """
    text = _fold_dots(raw).strip()
    angle = _ANGLE_RE.search(text)
    if angle is not None:
        text = angle.group(1).strip()
    text = _MAILTO_RE.sub("", text).split("?", 1)[0].strip().strip("\"'")
    text = _EMAIL_LABEL_RE.sub("", text, count=1)
    *name, address = text.split() or [""]
    if any(_ASCII_ALNUM_RE.search(word) for word in name):
        return None  # "zhang san@x.com" is a typo, not a name and an address
    text = address
    text = text.lower()
    local, at, domain = text.rpartition("@")
    if not at or len(text) > 254 or len(local) > 64:
        return None
    if not _EMAIL_LOCAL_RE.match(local) or not _DOMAIN_RE.match(domain):
        return None
    return text


def email_domain(raw: str) -> str | None:
    """Return the company domain of an address ("zhang@mail.tencent.com" → "tencent.com").

    A colleague's address at the customer's domain is evidence of the same company, so the
    domain is a key. Kept simple on purpose: the part after "@", with one leading "mail."
    removed (a common mail-host name). No public-suffix logic: "sz.tencent.com" stays as it is.
    None for invalid input and for free-mail domains, which identify no company.
    """
    email = normalize_email(raw)
    if email is None:
        return None
    domain = email.rpartition("@")[2]
    if domain.startswith("mail.") and domain.count(".") >= 2:
        domain = domain[len("mail.") :]
    if _is_free_mail(domain):
        return None
    return domain


def website_domain(raw: str) -> str | None:
    """Return the domain of a website ("https://www.Tencent.com/about?x=1" → "tencent.com").

    A website is written with or without scheme, "www.", port, path or trailing slash; the key
    is the bare host. Dropped: the scheme, credentials ("user:pw@"), the port, path, query and
    fragment, a trailing dot, and one leading "www.", "m." or "wap." (mobile variants of the same
    site). IDN domains are kept as typed. Other subdomains are kept (no public-suffix list).
    None when it is not a domain (an IP address, a bare word) and for free-mail domains and
    their subdomains: a "website" at qq.com identifies no company.
    """
    text = _fold_dots(raw).strip().lower()
    text = _WEBSITE_SCHEME_RE.sub("", text, count=1).lstrip("/")
    host = re.split(r"[/?#\\]", text, maxsplit=1)[0]
    host = host.rpartition("@")[2]
    host = re.sub(r":[0-9]*$", "", host).rstrip(".")
    for prefix in _WEBSITE_HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    if len(host) > 253 or not _DOMAIN_RE.match(host) or _is_free_mail(host):
        return None
    return host


def mask_email(value: str) -> str:
    """Mask an address for people without rights: "zhang@example.com" → "zh***@example.com".

    The domain stays visible because it says which company the contact works for, which a
    colleague needs to recognise a collision; the mailbox does not. Two characters of the local
    part are shown, one when it has two or fewer; invalid input becomes "***".
    """
    email = normalize_email(value)
    if email is None:
        return "***"
    local, _at, domain = email.rpartition("@")
    shown = local[:2] if len(local) > 2 else local[:1]
    return f"{shown}***@{domain}"


# --------------------------------------------------------------------------------------------
# Unified social credit code (统一社会信用代码, GB 32100-2015)
# --------------------------------------------------------------------------------------------

_CREDIT_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_VALUES: Final = {char: value for value, char in enumerate(_CREDIT_CODE_ALPHABET)}
_CREDIT_CODE_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
_CREDIT_CODE_LENGTH: Final = 18
_CREDIT_CODE_NEVER_USED: Final = frozenset("IOSVZ")
_CREDIT_CODE_SEPARATORS_RE: Final = re.compile(r"[\s\-\u2010-\u2015]")


def _percent_format(message: _StrOrPromise, params: Mapping[str, object]) -> str:
    return str(message) % params


# Interpolate when the message is rendered, so it is translated into the reader's language.
_lazy_percent_format = lazy(_percent_format, str)


class InvalidCreditCode(ValueError):
    """A unified social credit code that cannot be right, with a message saying what is wrong.

    ``message`` is lazily translated (render it with ``str()``); ``code`` is "length",
    "character" or "checksum" for callers that turn it into a form or API error.
    """

    def __init__(self, message: _StrOrPromise, *, code: str) -> None:
        super().__init__(message)
        self.message: _StrOrPromise = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


def _credit_code_check_character(first17: str) -> str:
    """GB 32100-2015's check: weights 3^(i-1) mod 31, check value (31 − Σ mod 31) mod 31."""
    total = sum(
        _CREDIT_CODE_VALUES[char] * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return _CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(raw: str) -> str:
    """Return the unified social credit code in canonical form, or raise InvalidCreditCode.

    The code is the strongest identity key a Chinese company has (one code, one legal entity),
    so a typo must be caught when it is typed, with a message that says what to fix, rather than
    stored as a key that matches nothing. Canonical form: NFKC (full-width characters), spaces
    and dashes removed, upper case. Checked: 18 characters; only 0-9 and A-Y without I, O, S, V,
    Z; the check character.

    Implemented here rather than with ``stdnum.cn.uscc``: that requires the first 8 characters
    to be digits, which rejects real codes whose registration-authority character is a letter
    (e.g. "N…" for rural collective economic organisations); and it raises without saying which
    character or which check character is wrong.
    """
    code = _CREDIT_CODE_SEPARATORS_RE.sub("", _nfkc(raw)).upper()
    if len(code) != _CREDIT_CODE_LENGTH:
        raise InvalidCreditCode(
            _lazy_percent_format(
                _("A unified social credit code must be 18 characters, got %(count)d."),
                {"count": len(code)},
            ),
            code="length",
        )
    for position, char in enumerate(code, start=1):
        if char in _CREDIT_CODE_VALUES:
            continue
        if char in _CREDIT_CODE_NEVER_USED:
            message = _(
                "The letter %(char)s at position %(position)d is not allowed: unified social "
                "credit codes never use the letters I, O, S, V and Z."
            )
        else:
            message = _(
                "The character “%(char)s” at position %(position)d is not allowed: unified "
                "social credit codes use only digits and capital letters."
            )
        raise InvalidCreditCode(
            _lazy_percent_format(message, {"char": char, "position": position}),
            code="character",
        )
    expected = _credit_code_check_character(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(
            _lazy_percent_format(
                _("The check character should be %(expected)s, not %(actual)s."),
                {"expected": expected, "actual": code[17]},
            ),
            code="checksum",
        )
    return code


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------


def mask_text(value: str, keep: int = 1) -> str:
    """Mask a name or an address detail: "张三丰" → "张**".

    Shows the first ``keep`` characters so a colleague can recognise a contact without learning
    who it is, then at least two stars so that short names do not reveal their length. Never
    shows the whole value: a one-character value is all stars. "" stays "".
    """
    text = value.strip()
    if not text:
        return ""
    shown = max(0, min(keep, len(text) - 1))
    return text[:shown] + "*" * max(2, len(text) - shown)
