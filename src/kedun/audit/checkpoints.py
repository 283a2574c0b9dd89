"""Signed checkpoints shipped out of the database: to a file, a directory or an S3 URL.

A checkpoint is the chain head (seq, hash, time) signed with the audit key. Kept where the
database's administrators cannot write, it reveals a truncated tail or a rewritten chain that
the chain alone cannot show.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.chain import Checkpoint, chain_head, checkpoint_sign
from kedun.core import clock


class CheckpointPlaceError(ValueError):
    """The destination or source cannot be written or read; the message is for the operator."""


def checkpoint_take() -> Checkpoint:
    seq, head_hash = chain_head()
    return checkpoint_sign(
        seq=seq, hash=head_hash, created_at=clock.now().isoformat(timespec="seconds")
    )


def checkpoint_file_name(checkpoint: Checkpoint) -> str:
    moment = timezone.localtime(clock.now()).strftime("%Y%m%dT%H%M%S")
    return f"kedun-audit-{moment}-{checkpoint.seq}.json"


def checkpoint_write(checkpoint: Checkpoint, destination: str) -> str:
    """Write the checkpoint to FILE, into a directory (a name ending in "/" or an existing
    directory) or to s3://bucket/key (s3://bucket/prefix/ names the object). Returns where."""
    text = checkpoint.to_json() + "\n"
    if destination.startswith("s3://"):
        return _s3_write(destination, text, checkpoint)
    path = Path(destination).expanduser()
    if destination.endswith(("/", os.sep)) or path.is_dir():
        path = path / checkpoint_file_name(checkpoint)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a reader never sees half a checkpoint.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise CheckpointPlaceError(
            _("cannot write the checkpoint to %(place)s: %(reason)s")
            % {"place": path, "reason": error.strerror or error}
        ) from None
    return str(path)


def checkpoint_read(source: str) -> str:
    if source.startswith("s3://"):
        bucket, key = _s3_parts(source)
        try:
            with _s3_storage(bucket).open(key, "rb") as handle:
                return bytes(handle.read()).decode("utf-8")
        except Exception as error:  # boto's errors are many; all mean "cannot read it"
            raise CheckpointPlaceError(
                _("cannot read %(place)s: %(reason)s") % {"place": source, "reason": error}
            ) from None
    path = Path(source).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise CheckpointPlaceError(
            _("cannot read %(place)s: %(reason)s")
            % {"place": path, "reason": error.strerror or error}
        ) from None


def _s3_parts(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if not parsed.netloc:
        raise CheckpointPlaceError(
            _("%(url)s is not an S3 URL: use s3://bucket/key or s3://bucket/prefix/") % {"url": url}
        )
    return parsed.netloc, parsed.path.lstrip("/")


def _s3_storage(bucket: str) -> Any:
    # The endpoint and credentials of KEDUN_S3_*; the bucket is the URL's, so checkpoints can go
    # to a bucket of their own (ideally with object lock, where nobody can overwrite them).
    from storages.backends.s3 import S3Storage

    return S3Storage(
        bucket_name=bucket,
        endpoint_url=settings.KEDUN_S3_ENDPOINT_URL,
        region_name=settings.KEDUN_S3_REGION,
        access_key=settings.KEDUN_S3_ACCESS_KEY,
        secret_key=settings.KEDUN_S3_SECRET_KEY,
        default_acl="private",
        file_overwrite=False,
    )


def _s3_write(url: str, text: str, checkpoint: Checkpoint) -> str:
    bucket, key = _s3_parts(url)
    if not key or key.endswith("/"):
        key += checkpoint_file_name(checkpoint)
    try:
        stored = _s3_storage(bucket).save(key, ContentFile(text.encode("utf-8")))
    except Exception as error:
        raise CheckpointPlaceError(
            _("cannot write the checkpoint to %(place)s: %(reason)s")
            % {"place": url, "reason": error}
        ) from None
    return f"s3://{bucket}/{stored}"


def checkpoint_ship() -> str | None:
    """The scheduled shipment: a checkpoint into KEDUN_AUDIT_CHECKPOINT_TO, if set."""
    destination = settings.KEDUN_AUDIT_CHECKPOINT_TO
    if not destination:
        return None
    return checkpoint_write(checkpoint_take(), destination)
