"""Is this photo a copy of one an earlier check-in used (photo_reuse, MISSION §6)?

Any rep's, at any customer: a rep who sends a colleague's storefront photo, or their own from
last week, re-encoded, resized, cropped, brightened or blurred, with or without its EXIF.

1. A byte-identical file is a copy at once (the check-in's indexed SHA-256).
2. Otherwise candidates come from the hash index (PhotoHash): the new photo's pHashes of a few
   views, each cut into four 16-bit bands, looked up band by band on indexed columns — a
   lookup, never a scan, however many photos are stored. The rows found are ranked by their
   true Hamming distance to the new photo's views, and the nearest few check-ins verified.
3. Verification (photo_prints.compare) aligns the new photo onto the candidate's stored
   thumbnail and measures what is left: a copy leaves almost nothing, a new photo of the same
   storefront leaves other people, other light, another framing. Only that decides.

The evidence measured goes into the flag (cover, scale, share of pixels changed, residual,
correlation, matched points), so a manager reads what was measured, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from .models import CheckIn, PhotoHash, PhotoPrint
from .photo_prints import (
    QUERY_VIEWS,
    compare,
    features,
    hamming,
    thumbnail_decode,
    thumbnail_encode,
)
from .photos import PhotoFacts

# Hash rows read at most (a view's hash with a band equal to one of the new photo's). Bounded
# so that a flood of look-alike pictures (a blank wall photographed a thousand times) cannot
# make the check slow; at 100,000 photos of the bench, a lookup reads a few hundred.
ROWS_READ = 3000
# Verified at most, nearest first, stopping at the first copy. A copy's original is nearly
# always the nearest (field-dev: hash distance 0–4 for all but the strong crops, which are
# 12); re-shots of the same customer come next, and each verification costs ~10 ms.
CANDIDATES_VERIFIED = 2
# Past this Hamming distance (best view against best view) a photo is not even verified: the
# field-dev copies are at most 14 bits from some view of their original; unrelated photos of
# similar layout sit at 20 and more.
MAX_CANDIDATE_DISTANCE = 18
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class PhotoCopy:
    """The earlier check-in whose photo this one copies, with the measured evidence."""

    check_in_id: int
    evidence: dict[str, Any] = field(default_factory=dict)


def photo_copy_find(
    facts: PhotoFacts, *, exclude_check_in_id: int | None = None
) -> PhotoCopy | None:
    """The earlier check-in whose photo this is a copy of, or None. Call it inside the
    transaction that stores the new check-in, before photo_index_add."""
    identical = CheckIn.objects.filter(photo_sha256=facts.sha256)
    if exclude_check_in_id is not None:
        identical = identical.exclude(pk=exclude_check_in_id)
    first = identical.order_by("captured_at", "pk").values_list("pk", flat=True).first()
    if first is not None:
        return PhotoCopy(check_in_id=first, evidence={"identical_file": True})

    nearest = _candidates(facts.print.hashes, exclude_check_in_id)
    if not nearest:
        return None
    thumbnails = dict(
        PhotoPrint.objects.filter(check_in_id__in=[pk for pk, _ in nearest]).values_list(
            "check_in_id", "thumbnail"
        )
    )
    mine = features(facts.print.thumbnail)
    for check_in_id, distance in nearest:
        stored = thumbnails.get(check_in_id)
        if stored is None:
            continue
        measured = compare(mine, features(thumbnail_decode(bytes(stored))))
        if measured is not None and measured.copy:
            return PhotoCopy(
                check_in_id=check_in_id,
                evidence={"hash_distance": distance, **measured.evidence()},
            )
    return None


def _candidates(hashes: tuple[int, ...], exclude: int | None) -> list[tuple[int, int]]:
    """The check-ins worth verifying, nearest first: (check-in id, Hamming distance)."""
    looked_up = [hashes[view] for view in QUERY_VIEWS]
    wanted: list[set[int]] = [set(), set(), set(), set()]
    for value in looked_up:
        for band, part in enumerate(_bands(value)):
            wanted[band].add(part)
    # The whole frame's bands are also probed one bit off (multi-probe): a cropped copy's hash
    # is 8–18 bits from the nearest stored view, which often leaves no band intact but one
    # band a bit off. 16 more values per band; the rows read stay bounded by ROWS_READ.
    for band, part in enumerate(_bands(hashes[0])):
        wanted[band].update(part ^ (1 << bit) for bit in range(16))
    agreeing = Q()
    for band, parts in enumerate(wanted):
        agreeing |= Q(**{f"band{band}__in": sorted(parts)})
    rows = PhotoHash.objects.filter(agreeing)
    if exclude is not None:
        rows = rows.exclude(check_in_id=exclude)
    distance: dict[int, int] = {}
    for check_in_id, value in rows.values_list("check_in_id", "value")[:ROWS_READ]:
        stored = value & _MASK64
        nearest = min(hamming(stored, mine) for mine in looked_up)
        if nearest < distance.get(check_in_id, 65):
            distance[check_in_id] = nearest
    ranked = sorted(
        ((pk, d) for pk, d in distance.items() if d <= MAX_CANDIDATE_DISTANCE),
        key=lambda item: (item[1], item[0]),
    )
    return ranked[:CANDIDATES_VERIFIED]


def _bands(value: int) -> tuple[int, int, int, int]:
    return (
        (value >> 48) & 0xFFFF,
        (value >> 32) & 0xFFFF,
        (value >> 16) & 0xFFFF,
        value & 0xFFFF,
    )


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def photo_index_add(*, check_in: CheckIn, facts: PhotoFacts) -> None:
    """Index the stored check-in's photo for later copy checks (same transaction): its
    thumbnail and the hash of each view."""
    if check_in.photo_sha256 != facts.sha256:
        raise ValueError("the check-in must carry the photo's SHA-256 before it is indexed")
    printed = facts.print
    PhotoPrint.objects.create(check_in=check_in, thumbnail=thumbnail_encode(printed.thumbnail))
    PhotoHash.objects.bulk_create(hash_rows(check_in.pk, printed.hashes))


def hash_rows(check_in_id: int, hashes: tuple[int, ...]) -> list[PhotoHash]:
    """The index rows of a photo's view hashes (also used to fill the index in bulk)."""
    rows = []
    for view, value in enumerate(hashes):
        band0, band1, band2, band3 = _bands(value)
        rows.append(
            PhotoHash(
                check_in_id=check_in_id,
                view=view,
                value=_signed(value),
                band0=band0,
                band1=band1,
                band2=band2,
                band3=band3,
            )
        )
    return rows
