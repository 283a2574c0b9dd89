"""Is this photo a copy of one an earlier check-in used (photo_reuse, MISSION §6)?

This first version recognises a byte-identical file only (the same SHA-256, found through the
check-in table's photo index). A re-encoded, resized, cropped, brightened or blurred copy needs
perceptual evidence: that is the next step, behind the same two functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import CheckIn
from .photos import PhotoFacts


@dataclass(frozen=True)
class PhotoCopy:
    """The earlier check-in whose photo this one copies, with the measured evidence."""

    check_in_id: int
    evidence: dict[str, Any] = field(default_factory=dict)


def photo_copy_find(
    facts: PhotoFacts, *, exclude_check_in_id: int | None = None
) -> PhotoCopy | None:
    """The earliest check-in whose photo this is a copy of, or None. Call it inside the
    transaction that stores the new check-in, before photo_index_add."""
    earlier = CheckIn.objects.filter(photo_sha256=facts.sha256)
    if exclude_check_in_id is not None:
        earlier = earlier.exclude(pk=exclude_check_in_id)
    first = earlier.order_by("captured_at", "pk").values_list("pk", flat=True).first()
    if first is None:
        return None
    return PhotoCopy(check_in_id=first, evidence={"identical_file": True})


def photo_index_add(*, check_in: CheckIn, facts: PhotoFacts) -> None:
    """Index the stored check-in's photo for later copy checks (same transaction).

    The SHA-256 is the whole index for now: it is the check-in's own column, written with it.
    """
    if check_in.photo_sha256 != facts.sha256:
        raise ValueError("the check-in must carry the photo's SHA-256 before it is indexed")
