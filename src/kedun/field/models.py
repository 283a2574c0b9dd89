"""Field work (移动外勤, MISSION §6): visits checked in from the phone, with the evidence the
server checked and the flags it raised. A flag is a question for a manager, never a verdict."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class FieldRule(models.Model):
    """The field checks' thresholds for a department and below (null: the company's default).
    The most specific department wins, as with the pool rules."""

    department = models.ForeignKey(
        "org.Department", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    radius_m = models.PositiveIntegerField(_("allowed distance from the customer (m)"), default=500)
    max_speed_kmh = models.PositiveIntegerField(_("highest believable speed (km/h)"), default=120)
    photo_max_age_minutes = models.PositiveIntegerField(
        _("photo time may differ from the check-in by (minutes)"), default=10
    )

    class Meta:
        verbose_name = _("field rule")
        constraints = [
            # One rule per department, and one company default (department null).
            models.UniqueConstraint(
                Coalesce("department", models.Value(0)), name="field_rule_one_per_department"
            ),
            models.CheckConstraint(condition=Q(radius_m__gte=10), name="field_rule_radius_sane"),
            models.CheckConstraint(condition=Q(max_speed_kmh__gte=1), name="field_rule_speed_sane"),
        ]

    def __str__(self) -> str:
        return f"{self.department_id or '*'}: {self.radius_m} m"


class CheckInSource(models.TextChoices):
    APP = "app", _("Phone app")
    API = "api", _("API")
    IMPORT = "import", _("Imported history")


class Review(models.TextChoices):
    NONE = "", _("Not reviewed")
    ACCEPTED = "accepted", _("Accepted")
    QUESTIONED = "questioned", _("Questioned")


class CheckIn(models.Model):
    """拜访签到: a rep at a customer, with position, photo, voice and note.

    `captured_at` is the phone's clock when the rep pressed the button; `received_at` the
    server's when the upload arrived. An offline backlog makes them hours apart: lateness is
    shown, never flagged. Positions are WGS-84.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="check_ins", db_index=False
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="check_ins", db_index=False
    )
    captured_at = models.DateTimeField(_("checked in at"))
    received_at = models.DateTimeField(_("received at"))
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    accuracy_m = models.FloatField(_("accuracy (m)"))
    mock = models.BooleanField(_("position reported as mocked"), default=False)
    note = models.TextField(_("note"), blank=True)
    need = models.ForeignKey(
        "customers.Need", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quote = models.ForeignKey(
        "sales.Quote", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    photo = models.FileField(_("photo"), upload_to="check-ins/photos/%Y/%m/", blank=True)
    photo_sha256 = models.CharField(max_length=64, blank=True)
    # The photo's own time (EXIF DateTimeOriginal), made aware; null when the photo has none.
    photo_taken_at = models.DateTimeField(_("photo taken at"), null=True, blank=True)
    audio = models.FileField(_("voice report"), upload_to="check-ins/audio/%Y/%m/", blank=True)
    audio_content_type = models.CharField(max_length=100, blank=True)
    # Chosen by the phone for each check-in, so a retried upload is recognised; with the
    # digest of what was sent, a retry (same content) is told from a replay (other content).
    idempotency_key = models.CharField(max_length=100)
    content_digest = models.CharField(max_length=64)
    # Distance from the customer's location when the check-in arrived; null: not located.
    distance_m = models.FloatField(null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    # Where the phone was at check-out, when it said (WGS-84); all three or none.
    checked_out_lat = models.FloatField(null=True, blank=True)
    checked_out_lng = models.FloatField(null=True, blank=True)
    checked_out_accuracy_m = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=CheckInSource.choices)
    review = models.CharField(
        _("review"), max_length=10, choices=Review.choices, blank=True, default=Review.NONE
    )
    review_note = models.TextField(_("review note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("check-in")
        indexes = [
            # A rep's day, and the previous check-in for the speed check.
            models.Index(fields=["rep", "captured_at"], name="check_in_rep_idx"),
            models.Index(fields=["customer", "captured_at"], name="check_in_customer_idx"),
            models.Index(fields=["photo_sha256"], name="check_in_photo_sha_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["rep", "idempotency_key"], name="check_in_key_once"),
            models.CheckConstraint(
                condition=Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="check_in_position_valid",
            ),
            models.CheckConstraint(condition=Q(accuracy_m__gte=0), name="check_in_accuracy_valid"),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_out_at__gte=models.F("captured_at")),
                name="check_in_out_after_in",
            ),
            models.CheckConstraint(
                condition=Q(
                    checked_out_lat__isnull=True,
                    checked_out_lng__isnull=True,
                    checked_out_accuracy_m__isnull=True,
                )
                | Q(
                    checked_out_at__isnull=False,
                    checked_out_lat__gte=-90,
                    checked_out_lat__lte=90,
                    checked_out_lng__gte=-180,
                    checked_out_lng__lte=180,
                    checked_out_accuracy_m__gte=0,
                ),
                name="check_in_out_position_whole",
            ),
            models.CheckConstraint(
                condition=Q(review__in=Review.values), name="check_in_review_known"
            ),
            models.CheckConstraint(
                condition=Q(review="", reviewed_at__isnull=True)
                | (~Q(review="") & Q(reviewed_at__isnull=False)),
                name="check_in_review_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id}@{self.customer_id} {self.captured_at:%Y-%m-%d %H:%M}"


class FlagKind(models.TextChoices):
    FAR_FROM_CUSTOMER = "far_from_customer", _("Far from the customer")
    IMPOSSIBLE_SPEED = "impossible_speed", _("Impossible speed")
    PHOTO_REUSE = "photo_reuse", _("Photo used before")
    PHOTO_STALE = "photo_stale", _("Photo taken at another time")
    MOCK_LOCATION = "mock_location", _("Mocked position")


class CheckInFlag(models.Model):
    """One reason a manager should look at a check-in. `detail` holds the measured figures
    (distance, radius, speed, the earlier photo's check-in …) the reason sentence is built
    from, in the reader's language."""

    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=20, choices=FlagKind.choices)
    detail = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("check-in flag")
        constraints = [
            models.UniqueConstraint(fields=["check_in", "kind"], name="check_in_flag_once"),
            models.CheckConstraint(
                condition=Q(kind__in=FlagKind.values), name="check_in_flag_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_in_id}: {self.kind}"


class PhotoPrint(models.Model):
    """What the photo copy detector keeps of a check-in's photo (photo_copies.py): a small
    colour thumbnail (JPEG, long side 256 px) that a later photo is aligned against. Written
    with the check-in, in its transaction."""

    check_in = models.OneToOneField(
        CheckIn, on_delete=models.CASCADE, primary_key=True, related_name="photo_print"
    )
    thumbnail = models.BinaryField()

    class Meta:
        verbose_name = _("photo print")

    def __str__(self) -> str:
        return f"print of {self.check_in_id}"


class PhotoHash(models.Model):
    """One perceptual hash (64-bit pHash) of a view of a check-in's photo — the whole frame or
    a crop of it (photo_prints.VIEWS) — cut into four 16-bit bands, each indexed: a later
    photo whose hash agrees with one band is a candidate (a multi-index lookup, never a scan
    of all hashes), then verified on the thumbnails."""

    check_in = models.ForeignKey(
        CheckIn, on_delete=models.CASCADE, related_name="photo_hashes", db_index=False
    )
    view = models.PositiveSmallIntegerField()
    # The 64 bits as a signed integer (what a BIGINT column holds).
    value = models.BigIntegerField()
    band0 = models.IntegerField()
    band1 = models.IntegerField()
    band2 = models.IntegerField()
    band3 = models.IntegerField()

    class Meta:
        verbose_name = _("photo hash")
        indexes = [
            models.Index(fields=["band0"], name="photo_hash_band0_idx"),
            models.Index(fields=["band1"], name="photo_hash_band1_idx"),
            models.Index(fields=["band2"], name="photo_hash_band2_idx"),
            models.Index(fields=["band3"], name="photo_hash_band3_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["check_in", "view"], name="photo_hash_view_once"),
            models.CheckConstraint(
                condition=Q(
                    band0__gte=0,
                    band0__lte=0xFFFF,
                    band1__gte=0,
                    band1__lte=0xFFFF,
                    band2__gte=0,
                    band2__lte=0xFFFF,
                    band3__gte=0,
                    band3__lte=0xFFFF,
                ),
                name="photo_hash_bands_16_bits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_in_id}/{self.view}: {self.value & 0xFFFFFFFFFFFFFFFF:016x}"
