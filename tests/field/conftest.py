"""Shared arrangements for the field tests: a fixed moment, photos made on the spot (each one
different unless asked, with or without an EXIF time), located customers, and a check-in sent
through the API as a phone sends it (multipart)."""

from __future__ import annotations

import datetime as dt
import io
import random
import uuid
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image

from kedun.customers.models import Customer
from tests.factories import CustomerFactory

# A Monday morning in the company's time zone (Asia/Shanghai).
T0 = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0))
# 上海人民广场, WGS-84
PEOPLE_SQUARE = (31.2304, 121.4737)

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def jpeg(
    *,
    taken_at: dt.datetime | None = None,
    offset: str | None = None,
    seed: int | None = None,
    size: tuple[int, int] = (64, 48),
    image_format: str = "JPEG",
) -> bytes:
    """A small photo of random colour blocks (a new one per call unless `seed` repeats), with
    DateTimeOriginal written as the phone's local time, and OffsetTimeOriginal when given."""
    rng = random.Random(seed if seed is not None else uuid.uuid4().int)
    image = Image.new("RGB", size)
    pixels = image.load()
    for x in range(size[0]):
        for y in range(size[1]):
            pixels[x, y] = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    exif = Image.Exif()
    if taken_at is not None:
        local = taken_at if offset else timezone.localtime(taken_at)
        sub = exif.get_ifd(_EXIF_IFD)
        sub[_DATETIME_ORIGINAL] = local.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            sub[_OFFSET_TIME_ORIGINAL] = offset
    out = io.BytesIO()
    image.save(out, format=image_format, exif=exif.tobytes())
    return out.getvalue()


def located(owner: Any, *, at: tuple[float, float] = PEOPLE_SQUARE, **extra: Any) -> Customer:
    return CustomerFactory(owner=owner, lat=at[0], lng=at[1], location_source="set", **extra)


def north_of(position: tuple[float, float], metres: float) -> tuple[float, float]:
    """A point `metres` due north (one degree of latitude is 111.195 km on Kedun's sphere)."""
    return (position[0] + metres / 111_194.93, position[1])


def upload(name: str, data: bytes, content_type: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def check_in_form(
    customer: Customer,
    *,
    at: dt.datetime = T0,
    position: tuple[float, float] | None = None,
    accuracy: float = 10,
    mock: bool = False,
    photo: bytes | None = None,
    audio: bytes | None = None,
    key: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The multipart fields a phone sends; the photo's EXIF time is the check-in's own."""
    lat, lng = position or (customer.lat, customer.lng)
    data: dict[str, Any] = {
        "customer": str(customer.pk),
        "lat": repr(lat),
        "lng": repr(lng),
        "accuracy": str(accuracy),
        "captured_at": at.isoformat(),
        "mock": "true" if mock else "false",
        "photo": upload(
            "photo.jpg", photo if photo is not None else jpeg(taken_at=at), "image/jpeg"
        ),
        "idempotency_key": key or uuid.uuid4().hex,
        **extra,
    }
    if audio is not None:
        data["audio"] = upload("voice.webm", audio, "audio/webm;codecs=opus")
    return data


@pytest.fixture
def send(api_client):
    """send(user, customer, **check_in_form options) → the API's response."""

    def post(user: Any, customer: Customer, *, data: dict[str, Any] | None = None, **options: Any):
        api_client.force_authenticate(user)
        body = data if data is not None else check_in_form(customer, **options)
        return api_client.post("/api/v1/check-ins/", body, format="multipart")

    post.client = api_client  # type: ignore[attr-defined]  # for reading back as the same user
    return post


def flags_of(response: Any) -> set[str]:
    return {flag["kind"] for flag in response.json()["flags"]}


# A WebM (EBML) header: what Chromium's MediaRecorder writes first.
WEBM = bytes.fromhex("1a45dfa3") + b"\x9f\x42\x86\x81\x01" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _sentences_in_english(sentences_in_english):
    yield
