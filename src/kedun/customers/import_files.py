"""Read customer import files (CSV or XLSX) into plain rows, without touching the database.

`kedun import-customers` and the upload page both start here. This module only decodes the file,
maps its columns, cleans the cells and checks what one row can tell on its own (the name and the
dates). Phones, e-mails, credit codes, owners and duplicates are the import service's business.

Two kinds of failure: a `RowError` for a row that cannot be imported (the other rows still can),
and `ImportFileError` when the file as a whole cannot be read. Messages stay lazy so that the
command line and each web user see them in their own language.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from operator import itemgetter
from pathlib import Path, PurePath
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from kedun.core import clock
from kedun.core.geo import Position, to_wgs84

__all__ = [
    "ImportFileError",
    "ImportRow",
    "RowError",
    "read_customer_bytes",
    "read_customer_file",
]

MAX_NAME_LENGTH = 200
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One importable row; `line` is the line (CSV) or row (Excel) number a person sees."""

    line: int
    code: str
    name: str
    phone: str
    email: str
    website: str
    tax_id: str
    owner: str
    grade: str
    registered_at: datetime | None
    last_follow_up_at: datetime | None
    # The premises' position, WGS-84 (converted from the row's coordinate system); both or none.
    lat: float | None = None
    lng: float | None = None
    # Columns the importer does not know, by their header as written (kept, never an error).
    extra: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was skipped: where it is, why (lazy text), and its cells as written."""

    line: int
    reason: Any
    raw: dict[str, str] = field(default_factory=dict, hash=False)
    name: str = ""  # the customer name cell, whatever the header was called


class ImportFileError(Exception):
    """The whole file cannot be read; `message` is lazy text for people."""

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def read_customer_file(
    path: Path,
    *,
    tz: tzinfo,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    now: datetime | None = None,
    coord_system: str = "wgs84",
) -> tuple[list[ImportRow], list[RowError]]:
    """Read a customer file from disk (see `read_customer_bytes`); never reads past the limit."""
    with Path(path).open("rb") as stream:
        data = stream.read(max_bytes + 1)
    return read_customer_bytes(
        data,
        filename=Path(path).name,
        tz=tz,
        max_bytes=max_bytes,
        max_rows=max_rows,
        now=now,
        coord_system=coord_system,
    )


def read_customer_bytes(
    data: bytes,
    *,
    filename: str,
    tz: tzinfo,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    now: datetime | None = None,
    coord_system: str = "wgs84",
) -> tuple[list[ImportRow], list[RowError]]:
    """Read an uploaded customer file: rows that can be imported, and rows that cannot.

    The format comes from the file name's extension, corrected by the content (an Excel file
    saved under a .csv name is read as Excel). Naive dates are in `tz`; dates after `now`
    (default: the Kedun clock) are row errors. Positions (`lat`, `lng`) are in the row's
    `coord_system` column, else in `coord_system` (GCJ-02 and BD-09 are converted to WGS-84).
    Raises ImportFileError if the file as a whole cannot be read.
    """
    if len(data) > max_bytes:
        raise ImportFileError(_fmt(_TOO_LARGE, limit=_megabytes(max_bytes)))
    moment = now if now is not None else clock.now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    reader = _Reader(tz=tz, now=moment, max_rows=max_rows, coord_system=coord_system)

    suffix = PurePath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ImportFileError(_fmt(_UNSUPPORTED, suffix=suffix or filename))
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data, reader)
    if data.startswith(_OLE_MAGIC):
        # An old .xls workbook, or an .xlsx with a password (Excel wraps those in OLE too).
        raise ImportFileError(_XLS if suffix == ".xls" else _OLE)
    if suffix == ".xls":
        raise ImportFileError(_XLS)
    if suffix == ".xlsx":
        raise ImportFileError(_XLSX_UNREADABLE)
    return _read_csv(data, reader)


# --- messages ----------------------------------------------------------------------------------


def _interpolate(message: Any, params: dict[str, Any]) -> str:
    return str(message) % params


_lazy_interpolate = lazy(_interpolate, str)


def _fmt(message: Any, **params: Any) -> Any:
    """`message % params`, evaluated only when shown (in the language active then)."""
    return _lazy_interpolate(message, params)


_TOO_LARGE = _("The file is larger than %(limit)s MB; split it into smaller files.")
_UNSUPPORTED = _(
    "Files of type %(suffix)s cannot be imported; use an Excel workbook (.xlsx) or a CSV file "
    "(.csv or .txt)."
)
_XLS = _(
    "Old Excel workbooks (.xls) cannot be read; open the file in Excel and save it as .xlsx or CSV."
)
_OLE = _(
    "The file is password-protected or is an old Excel workbook (.xls); remove the password "
    "and save it as .xlsx or CSV."
)
_XLSX_UNREADABLE = _(
    "The Excel file cannot be opened: it is damaged or not really an .xlsx workbook. Open it "
    "in Excel and save it again, or save it as CSV."
)
_NOT_TEXT = _(
    "The file is not text in UTF-8 or GBK; in Excel, save it as “CSV UTF-8”, or upload the "
    ".xlsx workbook."
)
_CSV_BROKEN = _(
    'The file cannot be read from line %(line)d on: a quotation mark (") is never closed, or '
    "a cell is far too long."
)
_NO_HEADER = _("The file is empty: it has no header row.")
_NO_NAME = _(
    "No customer name column: the header row (line %(line)d) has %(columns)s. Name the "
    "column one of: %(names)s."
)
_NO_NAME_FULL_WIDTH = _(
    "No customer name column: the header row (line %(line)d) has %(columns)s. Separate the "
    "columns with ASCII commas (,), not full-width ones (，), and name the customer name column "
    "one of: %(names)s."
)
_SAME_FIELD = _(
    "The columns “%(first)s” and “%(second)s” both mean %(field)s; remove one of them or give "
    "it another name."
)
_SAME_COLUMN = _("The column “%(column)s” appears more than once; rename or remove the copies.")
_TOO_MANY_ROWS = _("The file has more than %(limit)d rows; split it into smaller files.")

_NAME_EMPTY = _("the customer name is empty")
_NAME_TOO_LONG = _("the customer name has %(length)d characters; at most %(limit)d are allowed")
_BAD_DATE = _(
    "“%(column)s” has “%(value)s”, which is not a date; write dates like 2024-03-01, "
    "2024/3/1, 2024-03-01 14:30 or 2024年3月1日, or use Excel date cells"
)
_FUTURE_DATE = _("“%(column)s” has “%(value)s”, which is in the future")
_HALF_POSITION = _("give both “%(lat)s” and “%(lng)s”, or neither")
_BAD_LATITUDE = _("“%(column)s” has “%(value)s”: a latitude is a number from -90 to 90")
_BAD_LONGITUDE = _("“%(column)s” has “%(value)s”: a longitude is a number from -180 to 180")
_BAD_COORD_SYSTEM = _(
    "“%(column)s” has “%(value)s”: use wgs84 (GPS), gcj02 (AMap/高德, Tencent/腾讯) or bd09 "
    "(Baidu/百度)"
)
_FOLLOW_UP_BEFORE_REGISTERED = _(
    "“%(last_column)s” (%(last)s) is earlier than “%(registered_column)s” (%(registered)s)"
)


def _megabytes(size: int) -> str:
    mb = size / (1024 * 1024)
    text = f"{mb:.2f}".rstrip("0").rstrip(".")
    return text if text != "0" else f"{mb:.2g}"


# --- columns -----------------------------------------------------------------------------------

# Header names per field; matching ignores case, width (NFKC), spaces, "_" and "-", a leading or
# trailing "*" (a "required" mark) and a trailing "(…)" hint such as 登记时间(yyyy-mm-dd).
_HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("code", "客户编号", "编号", "客户代码"),
    "name": (
        "name",
        "客户名称",
        "名称",
        "公司名称",
        "客户",
        "企业名称",
        "单位名称",
        "customer name",
        "company name",
    ),
    "phone": (
        "phone",
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "电话号码",
        "mobile",
        "tel",
        "telephone",
    ),
    "email": ("email", "e-mail", "邮箱", "电子邮箱", "邮件", "电子邮件"),
    "website": ("website", "url", "网址", "网站", "官网"),
    "tax_id": ("tax_id", "统一社会信用代码", "信用代码", "税号", "纳税人识别号"),
    "owner": ("owner", "负责人", "业务员"),
    "grade": ("grade", "等级", "客户等级", "级别", "客户级别"),
    "registered_at": ("registered_at", "登记时间", "创建时间", "登记日期", "创建日期"),
    "last_follow_up_at": (
        "last_follow_up_at",
        "最后跟进时间",
        "最近跟进",
        "最近跟进时间",
        "最后跟进日期",
    ),
    "lat": ("lat", "latitude", "纬度"),
    "lng": ("lng", "lon", "long", "longitude", "经度"),
    "coord_system": ("coord_system", "坐标系", "坐标系统"),
}

_FIELD_LABELS: dict[str, Any] = {
    "code": _("customer number"),
    "name": _("customer name"),
    "phone": _("phone"),
    "email": _("email"),
    "website": _("website"),
    "tax_id": _("unified social credit code"),
    "owner": _("owner"),
    "grade": _("grade"),
    "registered_at": _("registered at"),
    "last_follow_up_at": _("last follow-up"),
    "lat": _("latitude"),
    "lng": _("longitude"),
    "coord_system": _("coordinate system"),
}

# The order in which _Reader.read unpacks a row.
_FIELDS = (
    "code",
    "name",
    "phone",
    "email",
    "website",
    "tax_id",
    "owner",
    "grade",
    "registered_at",
    "last_follow_up_at",
    "lat",
    "lng",
    "coord_system",
)

_ZERO_WIDTH = "\u200b\u200c\u200d\ufeff"
_INVISIBLE = dict.fromkeys(map(ord, _ZERO_WIDTH))
_KEY_NOISE = re.compile(r"[\s_\-]+")
_KEY_HINT = re.compile(r"\([^()]*\)$")


def _clean(text: str) -> str:
    """Drop zero-width characters and surrounding whitespace."""
    if text.isascii():
        return text.strip()
    return text.translate(_INVISIBLE).strip()


def _header_key(text: str) -> str:
    key = unicodedata.normalize("NFKC", _clean(text)).casefold().strip(" *:")
    key = _KEY_HINT.sub("", key).strip(" *:")
    return _KEY_NOISE.sub("", key)


_FIELD_BY_KEY = {
    _header_key(alias): name for name, aliases in _HEADERS.items() for alias in aliases
}

# One-cell rows above the header (a title such as 客户名单) are skipped, up to this many.
_MAX_TITLE_ROWS = 5


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    label: str  # the header as written, or "#<column number>" when the header is blank
    field: str | None  # None: an extra column
    blank: bool = False


def _find_header(
    rows: Iterator[tuple[int, Sequence[Any]]], text: Callable[[Any], str]
) -> list[str]:
    header, blame = _scan_header(rows, text)
    if header is not None:
        return header
    if blame is None:
        raise ImportFileError(_NO_HEADER)
    raise _no_name_column(*blame)


def _scan_header(
    rows: Iterator[tuple[int, Sequence[Any]]], text: Callable[[Any], str]
) -> tuple[list[str] | None, tuple[int, list[str]] | None]:
    """Find the header: the first row with a name column, after at most a few one-cell title
    rows (such as 客户名单). Returns (header, None), or (None, the row that should have been the
    header), or (None, None) when there are no rows at all."""
    first: tuple[int, list[str]] | None = None
    titles = 0
    for line, cells in rows:
        texts = [text(cell) for cell in cells]
        filled = sum(1 for label in texts if label)
        if not filled:
            continue
        if first is None:
            first = (line, texts)
        if any(_FIELD_BY_KEY.get(_header_key(label)) == "name" for label in texts if label):
            return texts, None
        if filled > 1:
            return None, (line, texts)
        titles += 1
        if titles >= _MAX_TITLE_ROWS:
            break
    return None, first


def _no_name_column(line: int, texts: list[str]) -> ImportFileError:
    shown = [text for text in texts if text]
    columns = ", ".join(f"“{text}”" for text in shown[:20]) + (", …" if len(shown) > 20 else "")
    message = _NO_NAME_FULL_WIDTH if any("，" in text for text in shown) else _NO_NAME
    names = ", ".join(_HEADERS["name"])
    return ImportFileError(_fmt(message, line=line, columns=columns, names=names))


def _plan_columns(texts: list[str]) -> list[_Column]:
    columns: list[_Column] = []
    by_field: dict[str, str] = {}
    extra_labels: set[str] = set()
    for index, text in enumerate(texts):
        if not text:
            columns.append(_Column(index, f"#{index + 1}", None, blank=True))
            continue
        name = _FIELD_BY_KEY.get(_header_key(text))
        if name is None:
            if text in extra_labels:
                raise ImportFileError(_fmt(_SAME_COLUMN, column=text))
            extra_labels.add(text)
        elif name in by_field:
            field_label = _FIELD_LABELS[name]
            raise ImportFileError(
                _fmt(_SAME_FIELD, first=by_field[name], second=text, field=field_label)
            )
        else:
            by_field[name] = text
        columns.append(_Column(index, text, name))
    return columns


# --- cells -------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """A cell as text: trimmed, zero-width characters removed, numbers as Excel shows them."""
    if isinstance(value, str):
        return _clean(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, datetime):
        if value.time() == time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return _clean(str(value))


def _number_text(value: float) -> str:
    """13800138000.0 → "13800138000"; otherwise at most 15 significant digits, never 1e+10."""
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(f"{value:.15g}"), "f")


# 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, each optionally with 14:30, 14:30:05(.123) or
# 14时30分 and a UTC offset. Full-width digits and separators are folded (NFKC) before matching.
_DATE_RE = re.compile(
    r"""
    (?P<year>\d{4}) [-/.年] (?P<month>\d{1,2}) [-/.月] (?P<day>\d{1,2}) 日?
    (?:
        (?: T | [ ]+ | (?<=日) )
        (?P<hour>\d{1,2}) [:时] (?P<minute>\d{1,2})
        (?: [:分] (?P<second>\d{1,2}) (?: \. (?P<fraction>\d{1,6}) )? )?
        [分秒]?
    )?
    [ ]* (?P<offset> Z | [+-]\d{2}:?\d{2} )?
    """,
    re.VERBOSE | re.ASCII | re.IGNORECASE,
)


def _parse_date_text(text: str, tz: tzinfo) -> datetime | None:
    """A date written as text, aware (naive values are in `tz`); None if it is not a date."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    elif text[4:5] == "-" and text[7:8] == "-":  # ISO 8601: the common case, parsed in C
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return value if value.tzinfo else _in_zone(value, tz)
    match = _DATE_RE.fullmatch(text)
    if match is None:
        try:
            value = datetime.fromisoformat(text)  # other ISO 8601 forms, such as 20240301
        except ValueError:
            return None
        return value if value.tzinfo else _in_zone(value, tz)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone = _utc_offset(offset) if offset else tz
    if zone is None:
        return None
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
            tzinfo=zone,
        )
    except ValueError:  # 2024-02-30, 25:00 …
        return None


def _in_zone(value: datetime, tz: tzinfo) -> datetime:
    """A naive datetime read in `tz` (faster than value.replace(tzinfo=tz))."""
    return datetime.combine(value, value.time(), tz)


def _utc_offset(text: str) -> tzinfo | None:
    if text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if text[0] == "-" else delta)


# --- rows --------------------------------------------------------------------------------------


class _RowProblem(Exception):
    def __init__(self, reason: Any) -> None:
        super().__init__()
        self.reason = reason


_NO_DATE = object()
_DATE_CACHE_SIZE = 4096  # files repeat dates (a day, an import batch); unique ones just pass


class _Reader:
    """Turns (line, cells) into ImportRows and RowErrors; shared by the CSV and XLSX paths.

    `text` turns a cell into clean text: `str.strip` for CSV (zero-width characters are removed
    from the whole text first), `_cell_text` for workbook cells.
    """

    def __init__(
        self, *, tz: tzinfo, now: datetime, max_rows: int, coord_system: str = "wgs84"
    ) -> None:
        self.tz = tz
        self.now = now
        self.max_rows = max_rows
        self.coord_system = coord_system
        self.epoch: datetime | None = None  # a workbook's date system, for date serials
        self.labels: dict[str, str] = {}  # field → its header as written
        self.parsed: dict[str, object] = {}  # date text → aware datetime, or _NO_DATE

    def read(
        self,
        rows: Iterator[tuple[int, Sequence[Any]]],
        *,
        text: Callable[[Any], str],
        epoch: datetime | None = None,
    ) -> tuple[list[ImportRow], list[RowError]]:
        header = _find_header(rows, text)
        columns = _plan_columns(header)
        self.epoch = epoch
        self.labels = {column.field: column.label for column in columns if column.field}
        width = len(columns)
        # Each row gets one "" appended; a field without a column reads that one (index -1).
        where = {column.field: column.index for column in columns if column.field}
        pick = itemgetter(*(where.get(name, -1) for name in _FIELDS))
        registered_index = where.get("registered_at", -1)
        last_index = where.get("last_follow_up_at", -1)
        extras = [(c.index, c.label, c.blank) for c in columns if not c.field]
        imported: list[ImportRow] = []
        errors: list[RowError] = []
        count = 0
        for line, cells in rows:
            texts = list(map(text, cells))
            if not any(texts):
                continue
            count += 1
            if count > self.max_rows:
                raise ImportFileError(_fmt(_TOO_MANY_ROWS, limit=self.max_rows))
            size = len(texts)
            if size < width:
                texts.extend([""] * (width - size))
            texts.append("")
            extra = {label: texts[i] for i, label, blank in extras if texts[i] or not blank}
            for index in range(width, size):  # cells to the right of the header
                if texts[index]:
                    extra[f"#{index + 1}"] = texts[index]
            (
                code,
                name,
                phone,
                email,
                website,
                tax_id,
                owner,
                grade,
                registered_text,
                last_text,
                lat_text,
                lng_text,
                system_text,
            ) = pick(texts)
            try:
                name = " ".join(name.split())
                if not name:
                    raise _RowProblem(_NAME_EMPTY)
                if len(name) > MAX_NAME_LENGTH:
                    raise _RowProblem(_fmt(_NAME_TOO_LONG, length=len(name), limit=MAX_NAME_LENGTH))
                registered = last = None
                if registered_text:
                    registered = self._date(
                        registered_text, cells[registered_index], "registered_at"
                    )
                if last_text:
                    last = self._date(last_text, cells[last_index], "last_follow_up_at")
                lat = lng = None
                if lat_text or lng_text:
                    lat, lng = self._position(lat_text, lng_text, system_text)
                if registered and last and last < registered:
                    raise _RowProblem(
                        _fmt(
                            _FOLLOW_UP_BEFORE_REGISTERED,
                            last_column=self.labels["last_follow_up_at"],
                            last=last_text,
                            registered_column=self.labels["registered_at"],
                            registered=registered_text,
                        )
                    )
            except _RowProblem as problem:
                raw = {c.label: texts[c.index] for c in columns if texts[c.index] or not c.blank}
                raw.update(extra)  # adds the cells to the right of the header
                errors.append(RowError(line=line, reason=problem.reason, raw=raw, name=name))
                continue
            imported.append(
                ImportRow(
                    line=line,
                    code=code,
                    name=name,
                    phone=phone,
                    email=email,
                    website=website,
                    tax_id=tax_id,
                    owner=owner,
                    grade=grade,
                    registered_at=registered,
                    last_follow_up_at=last,
                    lat=lat,
                    lng=lng,
                    extra=extra,
                )
            )
        return imported, errors

    def _position(self, lat_text: str, lng_text: str, system_text: str) -> tuple[float, float]:
        """The row's position in WGS-84, or _RowProblem."""
        if not (lat_text and lng_text):
            raise _RowProblem(
                _fmt(
                    _HALF_POSITION,
                    lat=self.labels.get("lat", "lat"),
                    lng=self.labels.get("lng", "lng"),
                )
            )
        lat, lng = _number_or_nan(lat_text), _number_or_nan(lng_text)
        if not -90 <= lat <= 90:
            raise _RowProblem(_fmt(_BAD_LATITUDE, column=self.labels["lat"], value=lat_text))
        if not -180 <= lng <= 180:
            raise _RowProblem(_fmt(_BAD_LONGITUDE, column=self.labels["lng"], value=lng_text))
        system = (system_text or self.coord_system).strip().lower().replace("-", "")
        if system not in _COORD_SYSTEMS:
            raise _RowProblem(
                _fmt(
                    _BAD_COORD_SYSTEM,
                    column=self.labels.get("coord_system", "coord_system"),
                    value=system_text or self.coord_system,
                )
            )
        position = to_wgs84(Position(lat, lng), system)
        return position.lat, position.lng

    def _date(self, text: str, cell: Any, name: str) -> datetime:
        """The date in a cell (its text is not blank), or _RowProblem."""
        if isinstance(cell, str):
            found = self.parsed.get(text)
            if found is None:
                if len(self.parsed) >= _DATE_CACHE_SIZE:
                    self.parsed.clear()
                found = self.parsed[text] = _parse_date_text(text, self.tz) or _NO_DATE
            value = found if isinstance(found, datetime) else None
        elif isinstance(cell, datetime):
            value = self._aware(cell)
        elif isinstance(cell, date):
            value = self._aware(datetime.combine(cell, time()))
        elif isinstance(cell, int | float) and not isinstance(cell, bool):
            if len(text) == 8 and text.isdigit():  # 20240301 typed into a number cell
                value = _parse_date_text(text, self.tz)
            elif self.epoch:
                value = self._aware(_excel_serial(cell, self.epoch))
        else:
            value = None
        if value is None:
            raise _RowProblem(_fmt(_BAD_DATE, column=self.labels[name], value=text))
        if value > self.now:
            raise _RowProblem(_fmt(_FUTURE_DATE, column=self.labels[name], value=text))
        return value

    def _aware(self, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return _in_zone(value, self.tz)
        return value


# The names map services give their coordinate systems (core.geo.to_wgs84 knows them all).
_COORD_SYSTEMS = frozenset({"wgs84", "gps", "gcj02", "amap", "tencent", "bd09", "baidu"})


def _number_or_nan(text: str) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _excel_serial(value: float, epoch: datetime) -> datetime | None:
    """A number in a date column of a workbook: an Excel date serial (1 = 1900-01-01)."""
    from openpyxl.utils.datetime import from_excel

    if not 1 <= value < 2958466:  # up to 9999-12-31
        return None
    result = from_excel(value, epoch=epoch)
    return result if isinstance(result, datetime) else None


# --- CSV ---------------------------------------------------------------------------------------

_SUFFIXES = frozenset({".csv", ".txt", ".xlsx", ".xls"})
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DELIMITERS = (",", "\t", ";")


def _read_csv(data: bytes, reader: _Reader) -> tuple[list[ImportRow], list[RowError]]:
    text = _decode(data)
    if not text.isascii():
        for character in _ZERO_WIDTH:
            text = text.replace(character, "")
    return reader.read(_csv_rows(text, _delimiter(text)), text=str.strip)


def _decode(data: bytes) -> str:
    """UTF-8 with BOM, UTF-16 with BOM (Excel's "Unicode text"), UTF-8, then GB18030 (GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates: tuple[tuple[bytes, str], ...] = ((data[3:], "utf-8"),)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ((data, "utf-16"),)
    else:
        candidates = ((data, "utf-8"), (data, "gb18030"))
    for payload, encoding in candidates:
        try:
            text = payload.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text[:4096]:  # a binary file that happens to decode
            break
        return text
    raise ImportFileError(_NOT_TEXT)


def _delimiter(text: str) -> str:
    """The delimiter (`,` tab `;`) under which the header has a name column and the most cells.

    If none gives a name column, the one most frequent on the first line that has any, so that
    the error message shows the header split the way the person probably meant it.
    """
    sample = text[:65536]
    best, best_width = ",", 0
    for delimiter in _DELIMITERS:
        records = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            header, _blame = _scan_header(enumerate(itertools.islice(records, 20)), str.strip)
        except csv.Error:
            continue
        width = sum(1 for label in header or () if label)
        if width > best_width:
            best, best_width = delimiter, width
    if best_width:
        return best
    for line in itertools.islice(io.StringIO(sample, newline=""), 20):
        counts = {delimiter: line.count(delimiter) for delimiter in _DELIMITERS}
        most = max(_DELIMITERS, key=counts.__getitem__)
        if counts[most]:
            return most
    return ","


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Records with the line each starts on (quoted cells may span lines)."""
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = last_start = 1
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportFileError(_fmt(_CSV_BROKEN, line=start)) from exc
        yield start, record
        last_start, start = start, records.line_num + 1
    if start - last_start > 1:
        _check_closed(text, delimiter, last_start)


def _check_closed(text: str, delimiter: str, start: int) -> None:
    """The last record spans lines. It may be a quote that is never closed, which would swallow
    every following row into one cell: read it again, strictly."""
    lines = itertools.islice(io.StringIO(text, newline=""), start - 1, None)
    try:
        for _ in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        raise ImportFileError(_fmt(_CSV_BROKEN, line=start)) from exc


# --- XLSX --------------------------------------------------------------------------------------


def _read_xlsx(data: bytes, reader: _Reader) -> tuple[list[ImportRow], list[RowError]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl fails in many ways on damaged files
        raise ImportFileError(_XLSX_UNREADABLE) from exc
    try:
        return reader.read(_xlsx_rows(workbook), text=_cell_text, epoch=workbook.epoch)
    finally:
        workbook.close()


def _xlsx_rows(workbook: Any) -> Iterator[tuple[int, Sequence[object]]]:
    """Rows of the first worksheet, numbered as Excel numbers them."""
    if not workbook.worksheets:
        raise ImportFileError(_NO_HEADER)
    sheet = workbook.worksheets[0]
    # Some programs write a wrong size into the sheet; openpyxl would then cut rows or columns.
    sheet.reset_dimensions()
    values = sheet.iter_rows(values_only=True)
    line = 0
    while True:
        try:
            row = next(values)
        except StopIteration:
            return
        except Exception as exc:  # damaged XML inside the workbook
            raise ImportFileError(_XLSX_UNREADABLE) from exc
        line += 1
        yield line, row
