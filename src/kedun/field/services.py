"""Writes of field work (MISSION §6): a visit's check-in and check-out, a manager's review, and
the customer's location the visits are measured against.

Check-ins come from phones that may have been offline for days and that retry an upload they
are not sure arrived. Each carries a key the phone chose, unique per rep in the database: the
same key with the same content (`content_digest`) returns the stored check-in, the same key
with other content is refused as a replay. A rep's check-ins are written one at a time — a lock
on the rep's row (PostgreSQL; SQLite's IMMEDIATE transactions already serialise every writer)
— so a retry racing its original waits and then finds it, and the speed check's neighbours
(the rep's previous and next check-in by the phone's time) cannot change under it. Should two
retries still meet at the unique constraint, the loser reads the winner's row.

Files are written to storage inside the transaction, after the key is known to be new, and
deleted again when the transaction fails: no orphan files.

Every write records an audit event in its transaction, with the check-in's flags.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.core.geo import WGS84, Position, distance_m, position_parse, to_wgs84
from kedun.customers.models import Customer, LocationSource, Need
from kedun.customers.selectors import customer_list_visible_to
from kedun.lifecycle.services import MANAGING_ROLES, customer_locked, manages, works_the_account
from kedun.notifications.services import notify
from kedun.org.models import User
from kedun.sales.models import Quote

from . import checks
from .audio import AudioFacts, audio_read
from .checks import Fix
from .models import CheckIn, CheckInFlag, CheckInSource, Review
from .photo_copies import photo_copy_find, photo_index_add
from .photos import PhotoFacts, photo_read
from .rules import thresholds_for
from .selectors import check_in_get_for_viewer

# A phone's clock may run a little ahead of the server's; beyond this a time is refused.
CLOCK_AHEAD_TOLERANCE = dt.timedelta(minutes=10)
MAX_NOTE_LENGTH = 2000
MAX_KEY_LENGTH = 100
# GPS accuracy past this is no position at all (a cell-tower guess over a whole district).
MAX_ACCURACY_M = 50_000
# A customer's location must be better than this: every later visit is measured against it.
LOCATE_MAX_ACCURACY_M = 100
# An owner moving their customer's location this far is told to their manager (moving the
# customer to where one really goes is a way round the distance check).
LOCATION_MOVE_TOLD_M = 200


@dataclass(frozen=True)
class Recorded:
    check_in: CheckIn
    created: bool  # False: a retry of an upload already stored


@dataclass(frozen=True)
class Reviewed:
    check_in: CheckIn
    location_learned: bool


# -- input ------------------------------------------------------------------------------------


def _aware(moment: dt.datetime) -> dt.datetime:
    if timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _not_ahead(moment: dt.datetime, now: dt.datetime) -> None:
    if moment > now + CLOCK_AHEAD_TOLERANCE:
        raise Invalid(
            _("The time sent (%(at)s) is in the future: check the phone's clock and time zone.")
            % {"at": timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")},
            code="time_in_future",
        )


def _accuracy(value: float | None) -> float:
    if value is None or not math.isfinite(value) or value < 0 or value > MAX_ACCURACY_M:
        raise Invalid(
            _("The accuracy must be a number of metres from 0 to %(max)d.")
            % {"max": MAX_ACCURACY_M},
            code="invalid_accuracy",
        )
    return float(value)


def _key(value: str) -> str:
    key = (value or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            _("Every check-in needs an idempotency key of 1 to %(n)d printable characters.")
            % {"n": MAX_KEY_LENGTH},
            code="invalid_idempotency_key",
        )
    return key


def content_digest(
    *,
    customer_id: int,
    captured_at: dt.datetime,
    position: Position,
    accuracy_m: float,
    mock: bool,
    note: str,
    need_id: int | None,
    quote_id: int | None,
    photo_sha256: str,
    audio_sha256: str,
) -> str:
    """SHA-256 over what a check-in says: a retry sends the same, a replay something else."""
    canonical = json.dumps(
        [
            customer_id,
            captured_at.astimezone(dt.UTC).isoformat(),
            repr(position.lat),
            repr(position.lng),
            repr(accuracy_m),
            mock,
            note,
            need_id,
            quote_id,
            photo_sha256,
            audio_sha256,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _retry_of(existing: CheckIn, digest: str) -> Recorded:
    if existing.content_digest != digest:
        raise Conflict(
            _(
                "This idempotency key was already used for another check-in (%(at)s at "
                "%(customer)s): a replayed upload is refused."
            )
            % {
                "at": timezone.localtime(existing.captured_at).strftime("%Y-%m-%d %H:%M"),
                "customer": existing.customer.name,
            },
            code="replayed",
        )
    return Recorded(existing, created=False)


def _by_key(rep: User, key: str) -> CheckIn | None:
    return CheckIn.objects.select_related("customer").filter(rep=rep, idempotency_key=key).first()


# -- check-in ---------------------------------------------------------------------------------


def check_in_record(
    *,
    actor: User,
    customer: Customer,
    captured_at: dt.datetime,
    lat: object,
    lng: object,
    accuracy_m: float | None,
    mock: bool,
    photo: bytes,
    idempotency_key: str,
    audio: bytes | None = None,
    note: str = "",
    need_id: int | None = None,
    quote_id: int | None = None,
    source: str = CheckInSource.API,
) -> Recorded:
    """Record a visit: the rep at the customer, with position, photo, optional voice report.

    Whoever works the account may check in (the owner, a collaborator with write access, the
    owner's manager); a customer the actor may not see is NotFound, one they may see but not
    work is Forbidden. The server's checks run on arrival and each finding becomes a flag; a
    check-in that arrives before an already stored later one re-runs that one's speed check.
    """
    key = _key(idempotency_key)
    position = position_parse(lat, lng)
    accuracy = _accuracy(accuracy_m)
    captured_at = _aware(captured_at)
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise Invalid(
            _("The note is longer than %(n)d characters.") % {"n": MAX_NOTE_LENGTH},
            code="note_too_long",
        )
    if not photo:
        raise Invalid(_("Take a photo at the customer's."), code="photo_required")
    digest = content_digest(
        customer_id=customer.pk,
        captured_at=captured_at,
        position=position,
        accuracy_m=accuracy,
        mock=bool(mock),
        note=note,
        need_id=need_id,
        quote_id=quote_id,
        photo_sha256=hashlib.sha256(photo).hexdigest(),
        audio_sha256=hashlib.sha256(audio).hexdigest() if audio else "",
    )
    existing = _by_key(actor, key)
    if existing is not None:  # a retry (or a replay) needs no permission check: it is theirs
        return _retry_of(existing, digest)

    if not customer_list_visible_to(viewer=actor).filter(pk=customer.pk).exists():
        raise NotFound()
    if not works_the_account(actor, customer):
        raise Forbidden(
            _(
                "Only the owner, a collaborator with write access or their manager can check "
                "in at this customer."
            )
        )
    _not_ahead(captured_at, clock.now())
    need = _need_of(customer, need_id)
    quote = _quote_of(customer, quote_id)
    photo_facts = photo_read(photo)  # decoding takes a while: before any lock
    photo_facts.print  # noqa: B018 - the copy detector's print too (cached on the facts)
    audio_facts = audio_read(audio) if audio else None

    try:
        return _store(
            actor=actor,
            customer=customer,
            captured_at=captured_at,
            position=position,
            accuracy=accuracy,
            mock=bool(mock),
            note=note,
            need=need,
            quote=quote,
            photo=photo,
            photo_facts=photo_facts,
            audio=audio,
            audio_facts=audio_facts,
            key=key,
            digest=digest,
            source=source,
        )
    except IntegrityError:
        # Two retries met at the unique (rep, key) constraint: the loser reads the winner.
        existing = _by_key(actor, key)
        if existing is None:
            raise
        return _retry_of(existing, digest)


def _need_of(customer: Customer, need_id: int | None) -> Need | None:
    if need_id is None:
        return None
    need = Need.objects.filter(pk=need_id, customer=customer).first()
    if need is None:
        raise Invalid(_("That need is not one of this customer's."), code="invalid_need")
    return need


def _quote_of(customer: Customer, quote_id: int | None) -> Quote | None:
    if quote_id is None:
        return None
    quote = Quote.objects.filter(pk=quote_id, customer=customer).first()
    if quote is None:
        raise Invalid(_("That quote is not one of this customer's."), code="invalid_quote")
    return quote


def _store(
    *,
    actor: User,
    customer: Customer,
    captured_at: dt.datetime,
    position: Position,
    accuracy: float,
    mock: bool,
    note: str,
    need: Need | None,
    quote: Quote | None,
    photo: bytes,
    photo_facts: PhotoFacts,
    audio: bytes | None,
    audio_facts: AudioFacts | None,
    key: str,
    digest: str,
    source: str,
) -> Recorded:
    stored: list[str] = []
    try:
        with transaction.atomic():
            # One check-in of a rep at a time (see the module's docstring).
            User.objects.select_for_update(of=("self",)).filter(pk=actor.pk).exists()
            existing = _by_key(actor, key)
            if existing is not None:
                return _retry_of(existing, digest)
            thresholds = thresholds_for(actor.department)
            customer_position = (
                Position(customer.lat, customer.lng)
                if customer.lat is not None and customer.lng is not None
                else None
            )
            # To the decimetre, as stored and shown: the check judges the figure people read.
            distance = (
                round(distance_m(position, customer_position), 1) if customer_position else None
            )
            copy = photo_copy_find(photo_facts)
            check_in = CheckIn(
                customer=customer,
                rep=actor,
                captured_at=captured_at,
                received_at=clock.now(),
                lat=position.lat,
                lng=position.lng,
                accuracy_m=accuracy,
                mock=mock,
                note=note,
                need=need,
                quote=quote,
                photo_sha256=photo_facts.sha256,
                photo_taken_at=photo_facts.taken_at,
                audio_content_type=audio_facts.content_type if audio_facts else "",
                idempotency_key=key,
                content_digest=digest,
                distance_m=distance,
                source=source,
            )
            here = Fix(captured_at, position, accuracy)
            previous, following = _neighbours(actor, captured_at)
            findings = [
                checks.mock_location(mock=mock),
                checks.far_from_customer(
                    distance=distance, accuracy_m=accuracy, radius_m=thresholds.radius_m
                )
                if distance is not None
                else None,
                checks.impossible_speed(
                    previous=previous, current=here, max_speed_kmh=thresholds.max_speed_kmh
                )
                if previous is not None
                else None,
                checks.photo_reuse(copy),
                checks.photo_stale(
                    taken_at=photo_facts.taken_at,
                    captured_at=captured_at,
                    max_minutes=thresholds.photo_max_age_minutes,
                ),
            ]
            check_in.photo.save(
                f"{uuid.uuid4().hex}.{photo_facts.extension}", ContentFile(photo), save=False
            )
            stored.append(check_in.photo.name or "")
            if audio and audio_facts:
                check_in.audio.save(
                    f"{uuid.uuid4().hex}.{audio_facts.extension}", ContentFile(audio), save=False
                )
                stored.append(check_in.audio.name or "")
            check_in.save(force_insert=True)
            flags = CheckInFlag.objects.bulk_create(
                CheckInFlag(check_in=check_in, kind=f.kind, detail=f.detail)
                for f in findings
                if f is not None
            )
            photo_index_add(check_in=check_in, facts=photo_facts)
            audit_record(
                actor=actor,
                action="check_in.recorded",
                target=check_in,
                changes={
                    "customer": customer.pk,
                    "captured_at": captured_at.isoformat(),
                    "received_at": check_in.received_at.isoformat(),
                    "position": [position.lat, position.lng],
                    "accuracy_m": accuracy,
                    "mock": mock,
                    "distance_m": check_in.distance_m,
                    "photo_sha256": photo_facts.sha256,
                    "audio": check_in.audio_content_type or None,
                    "need": need.pk if need else None,
                    "quote": quote.pk if quote else None,
                    "source": source,
                    "flags": {flag.kind: flag.detail for flag in flags},
                },
            )
            if following is not None:
                _recheck_speed(
                    actor=actor,
                    earlier=Fix(captured_at, position, accuracy, check_in.pk),
                    later=following,
                    max_speed_kmh=thresholds.max_speed_kmh,
                )
    except BaseException:
        for name in filter(None, stored):
            default_storage.delete(name)
        raise
    return Recorded(check_in, created=True)


def _fix(check_in: CheckIn) -> Fix:
    return Fix(
        check_in.captured_at,
        Position(check_in.lat, check_in.lng),
        check_in.accuracy_m,
        check_in.pk,
    )


def _neighbours(rep: User, captured_at: dt.datetime) -> tuple[Fix | None, CheckIn | None]:
    """The rep's check-in just before `captured_at` (by the phone's time, whatever order they
    arrived in) and the one just after it. Reads the (rep, captured_at) index."""
    mine = CheckIn.objects.filter(rep=rep).only("pk", "captured_at", "lat", "lng", "accuracy_m")
    previous = mine.filter(captured_at__lte=captured_at).order_by("-captured_at", "-pk").first()
    following = mine.filter(captured_at__gt=captured_at).order_by("captured_at", "pk").first()
    return (_fix(previous) if previous else None), following


def _recheck_speed(*, actor: User, earlier: Fix, later: CheckIn, max_speed_kmh: int) -> None:
    """A backlog arrives out of order: the check-in that now precedes `later` may show that
    the rep could not have got there in time. The flag goes on the later check-in; a flag it
    already has stays (none is dropped silently)."""
    finding = checks.impossible_speed(
        previous=earlier, current=_fix(later), max_speed_kmh=max_speed_kmh
    )
    if finding is None:
        return
    if CheckInFlag.objects.filter(check_in=later, kind=finding.kind).exists():
        return
    CheckInFlag.objects.create(check_in=later, kind=finding.kind, detail=finding.detail)
    audit_record(
        actor=actor,
        action="check_in.flagged",
        target=later,
        changes={"flags": {finding.kind: finding.detail}, "because_of": earlier.check_in_id},
    )


# -- check-out --------------------------------------------------------------------------------


def check_out(
    *,
    actor: User,
    check_in_id: int,
    captured_at: dt.datetime,
    lat: object = None,
    lng: object = None,
    accuracy_m: float | None = None,
) -> CheckIn:
    """The rep leaves the customer: the time spent is recorded. Only the rep who checked in,
    once; the same check-out sent again (an offline retry) changes nothing and says so."""
    check_in = check_in_get_for_viewer(viewer=actor, check_in_id=check_in_id)
    if check_in.rep_id != actor.pk:
        raise Forbidden(_("Only the rep who checked in can check out."))
    captured_at = _aware(captured_at)
    position: Position | None = None
    accuracy: float | None = None
    if lat not in (None, "") or lng not in (None, ""):
        position = position_parse(lat, lng)
        accuracy = _accuracy(accuracy_m)
    if check_in.checked_out_at is not None:
        return _repeated_check_out(check_in, captured_at)
    if captured_at < check_in.captured_at:
        raise Invalid(
            _("The check-out (%(out)s) is before the check-in (%(in)s).")
            % {
                "out": timezone.localtime(captured_at).strftime("%Y-%m-%d %H:%M"),
                "in": timezone.localtime(check_in.captured_at).strftime("%Y-%m-%d %H:%M"),
            },
            code="check_out_before_check_in",
        )
    _not_ahead(captured_at, clock.now())
    with transaction.atomic():
        # One conditional UPDATE: two check-outs sent at once record one time.
        updated = CheckIn.objects.filter(pk=check_in.pk, checked_out_at__isnull=True).update(
            checked_out_at=captured_at,
            checked_out_lat=position.lat if position else None,
            checked_out_lng=position.lng if position else None,
            checked_out_accuracy_m=accuracy,
        )
        check_in.refresh_from_db()
        if not updated:
            return _repeated_check_out(check_in, captured_at)
        audit_record(
            actor=actor,
            action="check_in.checked_out",
            target=check_in,
            changes={
                "checked_out_at": captured_at.isoformat(),
                "seconds_spent": round((captured_at - check_in.captured_at).total_seconds()),
                "position": [position.lat, position.lng] if position else None,
                "accuracy_m": accuracy,
            },
        )
    return check_in


def _repeated_check_out(check_in: CheckIn, captured_at: dt.datetime) -> CheckIn:
    assert check_in.checked_out_at is not None
    if check_in.checked_out_at == captured_at:
        return check_in
    raise Conflict(
        _("This visit was already checked out at %(at)s.")
        % {"at": timezone.localtime(check_in.checked_out_at).strftime("%Y-%m-%d %H:%M")},
        code="already_checked_out",
    )


# -- review -----------------------------------------------------------------------------------


def check_in_review(*, actor: User, check_in_id: int, decision: str, note: str = "") -> Reviewed:
    """A manager accepts or questions a check-in (with a note; questioning needs one). Never
    one's own. Accepting a check-in at a customer without a location teaches the customer its
    location (unless the position was mocked or too rough to measure visits against)."""
    if decision not in (Review.ACCEPTED, Review.QUESTIONED):
        raise Invalid(_("Accept or question the check-in."), code="invalid_decision")
    note = (note or "").strip()
    if decision == Review.QUESTIONED and len(note) < 5:
        raise Invalid(_("Say what you question (at least 5 characters)."), code="note_required")
    if len(note) > MAX_NOTE_LENGTH:
        raise Invalid(
            _("The note is longer than %(n)d characters.") % {"n": MAX_NOTE_LENGTH},
            code="note_too_long",
        )
    check_in = check_in_get_for_viewer(viewer=actor, check_in_id=check_in_id)
    if check_in.rep_id == actor.pk:
        raise Forbidden(_("Nobody reviews their own check-ins."))
    if not actor.has_role(*MANAGING_ROLES) or not manages(actor, check_in.rep):
        raise Forbidden(_("Only the rep's manager can review a check-in."))
    with transaction.atomic():
        row = (
            CheckIn.objects.select_for_update()
            .select_related("customer", "rep")
            .get(pk=check_in.pk)
        )
        before = row.review
        row.review = decision
        row.review_note = note
        row.reviewed_by = actor
        row.reviewed_at = clock.now()
        row.save(update_fields=["review", "review_note", "reviewed_by", "reviewed_at"])
        kinds = sorted(row.flags.values_list("kind", flat=True))
        audit_record(
            actor=actor,
            action="check_in.reviewed",
            target=row,
            changes={"review": [before, decision], "note": note, "flags": kinds},
        )
        learned = False
        if decision == Review.ACCEPTED:
            learned = _learn_location(actor=actor, check_in=row)
        else:
            notify(
                recipients=[row.rep],
                kind="check_in_questioned",
                title=_("%(who)s questioned your check-in at %(customer)s")
                % {"who": actor.display_name, "customer": row.customer.name},
                body=note,
                url=reverse("field-check-in", args=[row.pk]),
            )
    return Reviewed(row, location_learned=learned)


def location_learnable(check_in: CheckIn) -> bool:
    """Whether a confirmed check-in is good enough to become the customer's location."""
    return not check_in.mock and check_in.accuracy_m <= LOCATE_MAX_ACCURACY_M


def _learn_location(*, actor: User, check_in: CheckIn) -> bool:
    if not location_learnable(check_in):
        return False
    customer = customer_locked(check_in.customer_id)
    if customer.lat is not None:
        return False
    customer.lat, customer.lng = check_in.lat, check_in.lng
    customer.location_source = LocationSource.CHECK_IN
    customer.located_at = clock.now()
    customer.save(update_fields=["lat", "lng", "location_source", "located_at"])
    audit_record(
        actor=actor,
        action="customer.located",
        target=customer,
        changes={
            "lat": [None, customer.lat],
            "lng": [None, customer.lng],
            "location_source": ["", LocationSource.CHECK_IN],
            "check_in": check_in.pk,
        },
    )
    return True


# -- the customer's location ------------------------------------------------------------------


def customer_locate(
    *,
    actor: User,
    customer_id: int,
    lat: object,
    lng: object,
    coord_system: str = WGS84,
    accuracy_m: float | None = None,
) -> Customer:
    """Set where the customer's premises are (stored as WGS-84; GCJ-02 from AMap or Tencent and
    BD-09 from Baidu are converted). The owner or their manager may; a phone's own position
    ("use my position here") must be accurate to LOCATE_MAX_ACCURACY_M. An owner moving a
    location that was already set is told to their manager."""
    system = (coord_system or WGS84).strip().lower()
    position = to_wgs84(position_parse(lat, lng), system)
    if accuracy_m is not None:
        accuracy = _accuracy(accuracy_m)
        if accuracy > LOCATE_MAX_ACCURACY_M:
            raise Invalid(
                _(
                    "Your position is only accurate to ±%(accuracy)d m; the customer's location "
                    "needs ±%(max)d m or better. Step outside or wait a moment and try again."
                )
                % {"accuracy": round(accuracy), "max": LOCATE_MAX_ACCURACY_M},
                code="inaccurate_position",
            )
    with transaction.atomic():
        customer = customer_locked(customer_id)
        if customer.owner_id != actor.pk and not manages(actor, customer.owner):
            raise Forbidden(_("Only the owner or their manager can set the customer's location."))
        before = (customer.lat, customer.lng, customer.location_source)
        customer.lat, customer.lng = position.lat, position.lng
        customer.location_source = LocationSource.SET
        customer.located_at = clock.now()
        customer.save(update_fields=["lat", "lng", "location_source", "located_at"])
        audit_record(
            actor=actor,
            action="customer.located",
            target=customer,
            changes={
                "lat": [before[0], customer.lat],
                "lng": [before[1], customer.lng],
                "location_source": [before[2], LocationSource.SET],
                "coord_system": system,
                "accuracy_m": accuracy_m,
            },
        )
        moved = (
            distance_m(Position(before[0], before[1]), position)
            if before[0] is not None and before[1] is not None
            else 0.0
        )
        owner = customer.owner
        if moved > LOCATION_MOVE_TOLD_M and owner is not None and owner.pk == actor.pk:
            notify(
                recipients=[owner.manager],
                kind="customer_location_moved",
                title=_("%(who)s moved the location of %(name)s by %(distance)d m")
                % {"who": actor.display_name, "name": customer.name, "distance": round(moved)},
                url=reverse("customer-detail", args=[customer.pk]),
            )
    return customer
