"""Files kept by content: the name is the SHA-256, so the same bytes are stored once and a
rerun after a crash finds what the killed run already wrote (storage: local or S3)."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def content_store(data: bytes, *, folder: str, digest: str | None = None) -> tuple[str, str]:
    """Store `data` under folder/ab/abcdef… unless it is there; return (name, sha256)."""
    digest = digest or hashlib.sha256(data).hexdigest()
    name = f"{folder}/{digest[:2]}/{digest}"
    if not default_storage.exists(name):
        # Two writers of the same bytes at once: the second gets a suffixed name with the same
        # content, which is as good.
        name = default_storage.save(name, ContentFile(data))
    return name, digest


def content_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()
