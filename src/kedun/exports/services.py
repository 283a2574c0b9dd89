"""Asking for, approving and taking exports.

Rules (MISSION §8): exporting is a permission (the roles in KEDUN_EXPORT_ROLES, or a grant
from a manager over the user), and never for a user in leaver mode. Up to
KEDUN_EXPORT_APPROVAL_ROWS rows an export is made at once; more waits for the approval of a
manager over the requester — never the requester's own (also a CHECK constraint). Two managers
approving at once: the first conditional UPDATE (pending → ready) wins, the other is told it
was decided. The file is made with the requester's scope and masking, capped at the rows
approved, and carries a watermark line and a canary row. Request, approval, rejection, the
file and every download are audit events.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.models import AccessKind
from kedun.audit.services import access_record, audit_record
from kedun.budgets.services import is_leaving
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.contact_identity import normalize_phones
from kedun.customers.models import Customer, CustomerPhone, Stage
from kedun.notifications.services import notify
from kedun.org.models import User
from kedun.org.selectors import is_above

from .models import Canary, ExportFormat, ExportGrant, ExportKind, ExportRequest, ExportStatus
from .tables import CITIES, TABLES, Row, Table


def approval_threshold() -> int:
    return int(settings.KEDUN_EXPORT_APPROVAL_ROWS)


def holds_export_permission(user: User) -> bool:
    if not user.is_active:
        return False
    if user.role in settings.KEDUN_EXPORT_ROLES:
        return True
    return ExportGrant.objects.filter(user=user, revoked_at__isnull=True).exists()


def _check_may_export(user: User) -> None:
    if not holds_export_permission(user):
        raise Forbidden(_("You do not have the export permission."), code="no_export_permission")
    if is_leaving(user):
        raise Forbidden(_("Exports are off while you are marked as leaving."), code="leaving")


def _clean_filters(filters: dict[str, Any]) -> dict[str, str]:
    search = str(filters.get("q") or "").strip()[:200]
    stage = str(filters.get("stage") or "")
    if stage and stage not in Stage.values:
        raise Invalid(_("Unknown stage."))
    return {key: value for key, value in (("q", search), ("stage", stage)) if value}


def export_request(
    *,
    actor: User,
    kind: str,
    format: str,
    filters: dict[str, Any] | None = None,
    reason: str = "",
) -> ExportRequest:
    """Ask for an export: made at once up to the threshold, otherwise sent for approval."""
    _check_may_export(actor)
    if kind not in ExportKind.values or format not in ExportFormat.values:
        raise Invalid(_("Unknown export."))
    clean = _clean_filters(filters or {})
    table = TABLES[kind](actor, clean)
    rows = table.count()
    if rows == 0:
        raise Invalid(_("There is nothing to export."), code="empty")
    with transaction.atomic():
        export = ExportRequest.objects.create(
            requester=actor,
            kind=kind,
            format=format,
            filters=clean,
            reason=reason.strip()[:300],
            rows=rows,
            created_at=clock.now(),
        )
        audit_record(
            actor=actor,
            action="export.requested",
            target=export,
            changes={"kind": kind, "format": format, "rows": rows, "filters": clean},
        )
        if rows <= approval_threshold():
            ExportRequest.objects.filter(pk=export.pk).update(status=ExportStatus.READY)
            export.status = ExportStatus.READY
            _make_file(export, table)
        else:
            notify(
                recipients=[actor.manager],
                kind="export.approval",
                title=_("%(user)s asks to export %(rows)s rows (%(kind)s)")
                % {"user": actor.display_name, "rows": rows, "kind": export.get_kind_display()},
                body=export.reason,
                url=reverse("export-approvals"),
            )
    return export


def _decidable(*, actor: User, export_id: int) -> ExportRequest:
    export = ExportRequest.objects.select_related("requester").filter(pk=export_id).first()
    if export is None:
        raise NotFound()
    if export.requester_id == actor.pk:
        raise Forbidden(_("You cannot approve your own export."), code="own_export")
    if not is_above(actor=actor, user=export.requester):
        raise NotFound()  # not theirs to see: the same answer as missing
    return export


def _claim(*, export: ExportRequest, actor: User, status: str, note: str = "") -> None:
    """pending → decided, once: of two managers deciding at once one changes the row."""
    claimed = ExportRequest.objects.filter(pk=export.pk, status=ExportStatus.PENDING).update(
        status=status, decided_by=actor, decided_at=clock.now(), decision_note=note[:300]
    )
    if claimed != 1:
        raise Conflict(_("This export has already been decided."), code="already_decided")
    export.refresh_from_db()


def export_approve(*, actor: User, export_id: int, note: str = "") -> ExportRequest:
    export = _decidable(actor=actor, export_id=export_id)
    requester = export.requester
    if is_leaving(requester) or not holds_export_permission(requester):
        raise Conflict(
            _("%(user)s may no longer export.") % {"user": requester.display_name},
            code="requester_may_not_export",
        )
    with transaction.atomic():
        _claim(export=export, actor=actor, status=ExportStatus.READY, note=note)
        audit_record(
            actor=actor,
            action="export.approved",
            target=export,
            changes={"requester": requester.pk, "rows": export.rows},
        )
        _make_file(export, TABLES[export.kind](requester, export.filters))
        notify(
            recipients=[requester],
            kind="export.approved",
            title=_("Your export #%(id)s was approved by %(manager)s")
            % {"id": export.pk, "manager": actor.display_name},
            url=reverse("export-list"),
        )
    return export


def export_reject(*, actor: User, export_id: int, note: str = "") -> ExportRequest:
    export = _decidable(actor=actor, export_id=export_id)
    with transaction.atomic():
        _claim(export=export, actor=actor, status=ExportStatus.REJECTED, note=note)
        audit_record(
            actor=actor,
            action="export.rejected",
            target=export,
            changes={"requester": export.requester_id, "note": note},
        )
        notify(
            recipients=[export.requester],
            kind="export.rejected",
            title=_("Your export #%(id)s was rejected by %(manager)s")
            % {"id": export.pk, "manager": actor.display_name},
            body=note,
            url=reverse("export-list"),
        )
    return export


# -- the file ----------------------------------------------------------------------------------


def watermark_of(export: ExportRequest) -> str:
    who = export.requester
    return _(
        "Kedun export #%(id)s · exported by %(user)s (%(username)s) · %(when)s · "
        "confidential: this copy is traceable to its exporter"
    ) % {
        "id": export.pk,
        "user": who.display_name,
        "username": who.username,
        "when": timezone.localtime(export.generated_at).strftime("%Y-%m-%d %H:%M %z"),
    }


_TRADES = ["恒信", "瑞丰", "博远", "嘉禾", "盛达", "鼎新", "华泰", "远航", "宏图", "凯越"]
_WORDS = ["精密机械", "电子科技", "环保材料", "包装制品", "自动化设备", "新材料", "化工"]
_EMAIL_WORDS = ["sales", "purchase", "caigou", "office", "info", "service", "zhang", "wang"]


def _canary_make(export: ExportRequest) -> Canary:
    """A customer that looks like the others and exists nowhere else: each value is checked
    against the registry (its phone index, names, numbers) and the other canaries."""
    rand = secrets.SystemRandom()
    for _attempt in range(50):
        phone = rand.choice(["139", "158", "186", "137", "150", "181"]) + "".join(
            rand.choice("0123456789") for _ in range(8)
        )
        trade = rand.choice(_TRADES) + rand.choice("达通丰茂泰隆昌源")
        name = f"{rand.choice(CITIES)}{trade}{rand.choice(_WORDS)}有限公司"
        code = f"C{rand.randrange(100000, 999999):06d}"
        email = (
            f"{rand.choice(_EMAIL_WORDS)}{rand.randrange(1000, 99999)}"
            f"@{settings.KEDUN_CANARY_EMAIL_DOMAIN}"
        ).lower()
        taken = (
            CustomerPhone.objects.filter(number=f"+86{phone}").exists()
            or Customer.objects.filter(code=code).exists()
            or Customer.objects.filter(name=name).exists()
            or Customer.objects.filter(email__iexact=email).exists()
            or Canary.objects.filter(phone=phone).exists()
            or Canary.objects.filter(code=code).exists()
            or Canary.objects.filter(name=name).exists()
            or Canary.objects.filter(email=email).exists()
        )
        if not taken:
            return Canary.objects.create(
                export=export,
                code=code,
                name=name,
                phone=phone,
                email=email,
                created_at=export.generated_at or clock.now(),
            )
    raise Conflict(_("Could not make a unique canary; try again."))  # pragma: no cover


def _rows_with_canary(table: Table, export: ExportRequest, canary: Canary) -> list[Row]:
    rows = list(table.rows(export.rows))
    # Anywhere among the rows, so that cutting the head or the tail does not remove it.
    rows.insert(secrets.randbelow(len(rows) + 1), table.canary_row(canary))
    return rows


_FORMULA = re.compile(r"^(?:[=@\t\r]|[+-](?![\d\s(]))")


def _inert(value: Any) -> Any:
    """Text a spreadsheet would run as a formula ("=HYPERLINK(…)" typed as a customer's name)
    is kept as text: a leading apostrophe. Phones (+86 …) and negative numbers stay as they are."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def _csv_bytes(watermark: str, headers: list[str], rows: list[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([watermark])
    writer.writerow(headers)
    writer.writerows([_inert(value) for value in row] for row in rows)
    # UTF-8 with a byte-order mark: Excel on Chinese Windows reads it as UTF-8.
    return out.getvalue().encode("utf-8-sig")


def _xlsx_bytes(watermark: str, headers: list[str], rows: list[Row]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Kedun"
    sheet.append([watermark])
    sheet["A1"].font = Font(bold=True, color="C00000")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(headers), 1))
    sheet.append(headers)
    for row in rows:
        sheet.append([_cell(value) for value in row])
    # Printed pages carry the watermark too.
    sheet.oddHeader.center.text = watermark
    sheet.oddFooter.center.text = watermark
    book.properties.description = watermark
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> Any:
    """Numbers stay numbers; anything else (a lazily translated label) becomes its text."""
    if value is None or isinstance(value, int | float | Decimal):
        return value
    return _inert(str(value))


def _make_file(export: ExportRequest, table: Table) -> None:
    """Write the file (in the caller's transaction: the row says ready only with its file)."""
    now = clock.now()
    export.generated_at = now
    canary = _canary_make(export)
    rows = _rows_with_canary(table, export, canary)
    watermark = watermark_of(export)
    content = (
        _csv_bytes(watermark, table.headers, rows)
        if export.format == ExportFormat.CSV
        else _xlsx_bytes(watermark, table.headers, rows)
    )
    name = default_storage.save(
        f"exports/{export.pk}-{secrets.token_hex(8)}.{export.format}", ContentFile(content)
    )
    export.file.name = name
    ExportRequest.objects.filter(pk=export.pk).update(file=name, generated_at=now)
    audit_record(
        actor=export.requester,
        action="export.generated",
        target=export,
        changes={"rows": len(rows) - 1, "file": name, "canary": canary.code},
    )
    access_record(
        user=export.requester,
        kind=AccessKind.EXPORT,
        rows=len(rows) - 1,
        subject=f"export:{export.pk} {export.kind}",
    )


def export_file_open(*, viewer: User, export_id: int) -> tuple[Any, str, str]:
    """The file of one of the viewer's own ready exports, opened; the download is audited."""
    export = ExportRequest.objects.filter(pk=export_id, requester=viewer).first()
    if export is None:
        raise NotFound()
    if export.status != ExportStatus.READY or not export.file:
        raise Conflict(_("This export has no file."), code="not_ready")
    if is_leaving(viewer):
        raise Forbidden(_("Exports are off while you are marked as leaving."), code="leaving")
    with transaction.atomic():
        audit_record(actor=viewer, action="export.downloaded", target=export)
        access_record(
            user=viewer,
            kind=AccessKind.DOWNLOAD,
            rows=export.rows,
            subject=f"export:{export.pk} {export.filename}",
        )
    content_type = (
        "text/csv; charset=utf-8"
        if export.format == ExportFormat.CSV
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return default_storage.open(str(export.file.name), "rb"), export.filename, content_type


# -- the permission ---------------------------------------------------------------------------


def export_permission_grant(*, actor: User, user: User) -> ExportGrant:
    if not is_above(actor=actor, user=user):
        raise Forbidden(_("Only a manager over this person may give the export permission."))
    with transaction.atomic():
        grant = ExportGrant.objects.filter(user=user, revoked_at__isnull=True).first()
        if grant is not None:
            return grant
        grant = ExportGrant.objects.create(user=user, granted_by=actor, granted_at=clock.now())
        audit_record(actor=actor, action="export.permission_granted", target=user)
    return grant


def export_permission_revoke(*, actor: User, user: User) -> int:
    if not is_above(actor=actor, user=user):
        raise Forbidden(_("Only a manager over this person may take the export permission."))
    with transaction.atomic():
        revoked = ExportGrant.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=clock.now(), revoked_by=actor
        )
        if revoked:
            audit_record(actor=actor, action="export.permission_revoked", target=user)
    return revoked


# -- canaries ---------------------------------------------------------------------------------


def canary_key(value: str) -> dict[str, str]:
    """What a typed value can be: a phone (any spelling), an email, a customer number, a name."""
    value = value.strip()
    keys: dict[str, str] = {"name": value, "code": value.upper()}
    if "@" in value:
        keys["email"] = value.lower()
    phones = normalize_phones(value) if re.search(r"\d{7,}", re.sub(r"[\s\-]", "", value)) else []
    if phones:
        keys["phone"] = phones[0].removeprefix("+86")
    return keys
