"""Reading a check-in photo: is it an image we accept, what is its own time, what is its digest.

Phones send JPEG (Android, most Chinese phones), HEIC (iPhones), sometimes PNG or WebP. EXIF
times without an offset tag are local times in the company's time zone: phones sold in China
write them that way (field-dev's README; MISSION §6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zoneinfo
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from kedun.core.errors import Invalid

from .photo_prints import PhotoPrint, photo_print

try:  # HEIC/HEIF from iPhones; registered once for the whole process.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - a dependency of Kedun, but keep JPEG working without it
    pass

# Formats a phone's camera produces, by Pillow's name; the extension stored with the file.
ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic", "MPO": "jpg"}
# A decompression bomb (a small file that decodes to gigapixels) is refused before decoding.
MAX_PIXELS = 60_000_000

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306
_OFFSET_TIME = 36880


def max_upload_bytes() -> int:
    return int(getattr(settings, "KEDUN_FIELD_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))


@dataclass(frozen=True)
class PhotoFacts:
    """What Kedun knows of an uploaded photo. `image` is the decoded picture, upright (EXIF
    orientation applied), in RGB: the copy check reads it instead of decoding again."""

    sha256: str
    taken_at: dt.datetime | None
    width: int
    height: int
    extension: str
    image: Image.Image

    @cached_property
    def print(self) -> PhotoPrint:
        """What the copy detector compares and indexes (photo_prints.py), made once."""
        return photo_print(self.image)


def photo_read(data: bytes) -> PhotoFacts:
    """Decode and describe a photo, or raise Invalid with a message for the rep."""
    limit = max_upload_bytes()
    if len(data) > limit:
        raise Invalid(
            _("The photo is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)},
            code="photo_too_large",
        )
    if not data:
        raise Invalid(_("The photo is empty."), code="invalid_photo")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image_format = opened.format or ""
            if image_format not in ACCEPTED_FORMATS:
                raise Invalid(_not_a_photo(), code="invalid_photo")
            if opened.width * opened.height > MAX_PIXELS:
                raise Invalid(_("The photo has too many pixels."), code="invalid_photo")
            exif = opened.getexif()
            taken_at = exif_taken_at(exif)
            upright = ImageOps.exif_transpose(opened)
            image = upright.convert("RGB")
            image.load()
    except Invalid:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise Invalid(_not_a_photo(), code="invalid_photo") from None
    return PhotoFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        taken_at=taken_at,
        width=image.width,
        height=image.height,
        extension=ACCEPTED_FORMATS[image_format],
        image=image,
    )


def _not_a_photo() -> str:
    return _("This file is not a photo Kedun can read (JPEG, HEIC, PNG or WebP).")


def exif_taken_at(exif: Image.Exif) -> dt.datetime | None:
    """When the photo was taken, aware; None when the photo does not say (or says nonsense)."""
    sub = exif.get_ifd(_EXIF_IFD)
    stamp, offset = sub.get(_DATETIME_ORIGINAL), sub.get(_OFFSET_TIME_ORIGINAL)
    if not stamp:
        stamp, offset = exif.get(_DATETIME), sub.get(_OFFSET_TIME) or exif.get(_OFFSET_TIME)
    if not isinstance(stamp, str):
        return None
    try:
        naive = dt.datetime.strptime(stamp.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _offset_zone(offset) or zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return naive.replace(tzinfo=zone)


def _offset_zone(offset: object) -> dt.tzinfo | None:
    """EXIF OffsetTime* is "+08:00"; anything else is ignored (treated as local time)."""
    if not isinstance(offset, str):
        return None
    text = offset.strip().rstrip("\x00")
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = 1 if text[0] == "+" else -1
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def photo_as_jpeg(data: bytes) -> bytes:
    """A JPEG of a stored photo, upright, for browsers that cannot show it as it is (HEIC from
    iPhones: only Safari draws it). The stored original stays the evidence."""
    with Image.open(io.BytesIO(data)) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGB")
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=88)
    return out.getvalue()
