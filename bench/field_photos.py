"""Benchmark: the photo copy check with 100,000 earlier photos indexed (issue 10: ≤ 50 ms per
photo).

Fills the index (PhotoPrint, PhotoHash) for --photos earlier check-ins: --variants real prints
are computed from the field-dev photos under random edits (crops of 70–100 % at any offset,
mirrored, brightness 0.6–1.4, colour channels swapped, blur, JPEG quality 40–95); every other
row is one of them with 4–20 of each view hash's 64 bits flipped (a photo of similar layout),
keeping its thumbnail, so band values spread as real ones do. Rows go in by bulk insert.

Then times photo_copy_find end to end (the new photo's print and features, the indexed band
lookup, the verification of the nearest) for --queries photos — a quarter copies of stored
photos (re-encoded, resized, brightened, some blurred), a quarter cropped copies, half new
pictures — after each was decoded (photo_read, not timed), and the naive approach (every
stored hash fetched and compared in Python) on a few of them.

    python bench/field_photos.py [--photos 100000] [--queries 200]
    KEDUN_DATABASE_URL=postgres://… python bench/field_photos.py   (its rows are replaced)

Prints one JSON report; exits 1 when the median or the 95th percentile passes 50 ms, when more
than one uncropped copy in twenty goes unfound, or when a new picture is taken for a copy.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "field-dev"
TARGET_MS = 50.0
BENCH_USER = "photo_bench_rep"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=1500)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--naive", type=int, default=5)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    photos_dir = args.data / "photos"
    if not photos_dir.is_dir():
        print(f"no photos at {photos_dir}", file=sys.stderr)
        return 2

    os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from kedun.field.photo_copies import photo_copy_find
    from kedun.field.photos import photo_read

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    seeds = sorted(photos_dir.glob("*.jpg"))
    started = time.perf_counter()
    ids, stored = _fill(args.photos, args.variants, seeds, rng)
    fill_seconds = time.perf_counter() - started

    # Queries: copies of data-set photos edited anew, and pictures nobody stored before.
    queries: list[tuple[str, bytes]] = []
    for number in range(args.queries):
        if number % 4 == 0:
            photo = stored[rng.randrange(len(stored))]
            queries.append(("copy", _edited(photo, rng, cropped=False)))
        elif number % 4 == 1:
            photo = stored[rng.randrange(len(stored))]
            queries.append(("cropped_copy", _edited(photo, rng, cropped=True)))
        else:
            queries.append(("new", _new_picture(rng)))
    timings: list[float] = []
    found: dict[str, int] = {"copy": 0, "cropped_copy": 0, "new": 0}
    sent_kinds: dict[str, int] = {"copy": 0, "cropped_copy": 0, "new": 0}
    for kind, data in queries:
        facts = photo_read(data)
        sent = time.perf_counter()
        answer = photo_copy_find(facts)
        timings.append((time.perf_counter() - sent) * 1000)
        sent_kinds[kind] += 1
        found[kind] += answer is not None

    naive_timings = [_naive(photo_read(data)) for _, data in queries[: max(0, args.naive)]]
    p50 = statistics.median(timings)
    p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
    # Recall is measured properly on field-dev (bench/field_dev.py); here it is a sanity check
    # that the index finds what it must: re-encoded, resized, brightened, blurred copies.
    # Cropped copies (80–95 % of a stored photo at any offset) are reported: their hashes are
    # 8–18 bits from the nearest stored view, and the banded lookup finds most, not all.
    ok = (
        p50 <= TARGET_MS
        and p95 <= TARGET_MS
        and found["copy"] >= 0.95 * sent_kinds["copy"]
        and found["new"] == 0
    )
    report = {
        "engine": connection.vendor,
        "photos_indexed": len(ids),
        "hash_rows": len(ids) * 7,
        "fill_seconds": round(fill_seconds, 1),
        "queries": len(queries),
        "copies_found": f"{found['copy']}/{sent_kinds['copy']}",
        "cropped_copies_found": f"{found['cropped_copy']}/{sent_kinds['cropped_copy']}",
        "new_pictures_flagged": f"{found['new']}/{sent_kinds['new']}",
        "ms_per_photo": {"p50": round(p50, 1), "p95": round(p95, 1), "max": round(max(timings), 1)},
        "naive_ms_per_photo": {
            "photos": len(naive_timings),
            "p50": round(statistics.median(naive_timings), 1) if naive_timings else None,
        },
        "target_ms": TARGET_MS,
        "ok": ok,
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if ok else 1


def _edited(photo: bytes, rng: random.Random, *, cropped: bool) -> bytes:
    """A copy of a stored photo as a rep would make one: cropped, resized, brightened, maybe
    blurred, re-encoded, EXIF dropped."""
    from PIL import Image, ImageEnhance, ImageFilter

    with Image.open(io.BytesIO(photo)) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    keep = rng.uniform(0.8, 0.95) if cropped else 1.0
    left = rng.uniform(0, 1 - keep) * width
    top = rng.uniform(0, 1 - keep) * height
    image = image.crop(
        (round(left), round(top), round(left + keep * width), round(top + keep * height))
    )
    scale = rng.uniform(0.5, 1.0)
    image = image.resize(
        (max(32, round(image.width * scale)), max(24, round(image.height * scale)))
    )
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.75, 1.25))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=rng.randrange(50, 95))
    return out.getvalue()


def _new_picture(rng: random.Random) -> bytes:
    """A photo nobody stored: a street of coloured blocks and figures on a random ground."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(6, 16)):
        x, y = rng.randrange(640), rng.randrange(480)
        w, h = rng.randrange(20, 260), rng.randrange(20, 200)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.7:
            draw.rectangle((x, y, x + w, y + h), fill=colour)
        else:
            draw.ellipse((x, y, x + w // 3, y + h), fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def _variant(path: Path, rng: random.Random):
    """The print of one randomly edited data-set photo."""
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps

    from kedun.field.photo_prints import photo_print

    with Image.open(path) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    keep = rng.uniform(0.7, 1.0)
    left = rng.uniform(0, 1 - keep) * width
    top = rng.uniform(0, 1 - keep) * height
    image = image.crop(
        (round(left), round(top), round(left + keep * width), round(top + keep * height))
    )
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    if rng.random() < 0.5:
        bands = list(image.split())
        rng.shuffle(bands)
        image = Image.merge("RGB", bands)
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.6, 1.4))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=rng.randrange(40, 95))
    out.seek(0)
    with Image.open(out) as reread:
        return photo_print(reread.convert("RGB")), out.getvalue()


def _fill(
    count: int, variants: int, seeds: list[Path], rng: random.Random
) -> tuple[list[int], list[bytes]]:
    """Replace the index with `count` indexed check-ins; returns their ids and the photos
    whose prints went in unchanged (what a copy can be made of)."""
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from kedun.customers.models import Customer
    from kedun.field.models import CheckIn, CheckInFlag, CheckInSource, PhotoHash, PhotoPrint
    from kedun.field.photo_copies import hash_rows
    from kedun.field.photo_prints import thumbnail_encode
    from kedun.org.models import Department, Role, User

    now = timezone.now()
    with transaction.atomic():
        department, _ = Department.objects.get_or_create(
            name="Photo bench", parent=None, defaults={"created_at": now}
        )
        if not department.path:
            department.path = f"/{department.pk}/"
            department.save(update_fields=["path"])
        rep, _ = User.objects.get_or_create(
            username=BENCH_USER, defaults={"role": Role.SALES, "department": department}
        )
        old = CheckIn.objects.filter(rep=rep)
        # Every stored photo is replaced, whoever's: the copy check reads the whole index.
        PhotoHash.objects.all().delete()
        PhotoPrint.objects.all().delete()
        CheckInFlag.objects.filter(check_in__in=old).delete()
        old.delete()
        customer, _ = Customer.objects.get_or_create(
            code="PHOTO-BENCH",
            defaults={
                "name": "照片基准客户有限公司",
                "owner": rep,
                "registered_by": rep,
                "registered_at": now,
                "owned_since": now,
            },
        )

    made_variants = [_variant(seeds[i % len(seeds)], rng) for i in range(variants)]
    prints = [printed for printed, _ in made_variants]
    thumbnails = [thumbnail_encode(p.thumbnail) for p in prints]
    ids: list[int] = []
    batch = 5000
    start = now - dt.timedelta(days=3 * 365)
    for first in range(0, count, batch):
        size = min(batch, count - first)
        with transaction.atomic():
            made = CheckIn.objects.bulk_create(
                CheckIn(
                    customer=customer,
                    rep=rep,
                    captured_at=start + dt.timedelta(minutes=15 * (first + n)),
                    received_at=start + dt.timedelta(minutes=15 * (first + n)),
                    lat=31.23,
                    lng=121.47,
                    accuracy_m=10,
                    idempotency_key=f"photo-bench-{first + n}",
                    content_digest="0" * 64,
                    photo_sha256=f"{first + n:064x}",
                    source=CheckInSource.API,
                )
                for n in range(size)
            )
            batch_ids = [c.pk for c in made]
            if any(pk is None for pk in batch_ids):  # SQLite before RETURNING: read them back
                batch_ids = list(
                    CheckIn.objects.filter(
                        rep=rep,
                        idempotency_key__in=[f"photo-bench-{first + n}" for n in range(size)],
                    )
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
            print_rows = []
            hash_rows_all = []
            for n, pk in enumerate(batch_ids):
                index = first + n
                source = index % variants
                hashes = prints[source].hashes
                if index >= variants:
                    hashes = tuple(_flipped(value, rng) for value in hashes)
                print_rows.append(PhotoPrint(check_in_id=pk, thumbnail=thumbnails[source]))
                hash_rows_all.extend(hash_rows(pk, hashes))
            PhotoPrint.objects.bulk_create(print_rows, batch_size=1000)
            PhotoHash.objects.bulk_create(hash_rows_all, batch_size=2000)
        ids.extend(batch_ids)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ids, [photo for _, photo in made_variants[: min(variants, count)]]


def _flipped(value: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), rng.randrange(4, 21)):
        value ^= 1 << bit
    return value


def _naive(facts) -> float:
    """Every stored hash fetched and compared in Python: what the index saves."""
    from kedun.field.models import PhotoHash
    from kedun.field.photo_prints import hamming

    sent = time.perf_counter()
    mine = facts.print.hashes[:3]
    best: dict[int, int] = {}
    for check_in_id, value in PhotoHash.objects.values_list("check_in_id", "value").iterator(
        chunk_size=20000
    ):
        stored = value & ((1 << 64) - 1)
        distance = min(hamming(stored, h) for h in mine)
        if distance < best.get(check_in_id, 65):
            best[check_in_id] = distance
    sorted(best.items(), key=lambda item: item[1])[:3]
    return (time.perf_counter() - sent) * 1000


if __name__ == "__main__":
    raise SystemExit(main())
