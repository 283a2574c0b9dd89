"""Screening a lead list (a trade fair's, a purchased one) against the registry: every row
comes back with its best match, the owner and the reasons — never the match's contact data."""

from __future__ import annotations

import csv
import io
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core.errors import Invalid
from kedun.org.models import User

from .identity.keys import identity_keys
from .import_files import ImportFileError, read_customer_bytes
from .services import matches_for

MAX_SCREEN_ROWS = 5000


def lead_list_screen(*, actor: User, data: bytes, filename: str) -> tuple[str, int]:
    """The list back as CSV text (UTF-8 with BOM, for Excel) with match columns added."""
    try:
        rows, errors = read_customer_bytes(
            data,
            filename=filename,
            tz=zoneinfo.ZoneInfo(settings.TIME_ZONE),
            max_rows=MAX_SCREEN_ROWS,
        )
    except ImportFileError as error:
        raise Invalid(error.message, code="unreadable_file") from None
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Line"),
            _("Company name"),
            _("Phone"),
            _("Email"),
            _("Website"),
            _("Unified social credit code"),
            _("Match"),
            _("Customer number"),
            _("Registered customer"),
            _("Owner"),
            _("Department"),
            _("Registered"),
            _("Why"),
        ]
    )
    answered = []
    for row in rows:
        keys = identity_keys(
            name=row.name,
            phones=[row.phone],
            emails=[row.email],
            websites=[row.website],
            tax_id=row.tax_id,
        )
        matches = matches_for(keys, limit=1)
        match = matches[0] if matches else None
        level = (
            {"duplicate": _("Duplicate"), "possible": _("Possible duplicate")}.get(match.level, "")
            if match
            else _("Not registered")
        )
        customer = match.customer if match else None
        owner = customer.owner if customer else None
        answered.append(
            (
                row.line,
                [
                    row.line,
                    row.name,
                    row.phone,
                    row.email,
                    row.website,
                    row.tax_id,
                    level,
                    customer.code if customer else "",
                    customer.name if customer else "",
                    owner.display_name if owner else (_("the public pool") if customer else ""),
                    owner.department.name if owner else "",
                    customer.registered_at.date().isoformat() if customer else "",
                    "；".join(match.reasons) if match else "" + "；".join(keys.problems),
                ],
            )
        )
    for row_error in errors:
        answered.append(
            (
                row_error.line,
                [
                    row_error.line,
                    "",
                    "",
                    "",
                    "",
                    "",
                    _("Invalid row"),
                    "",
                    "",
                    "",
                    "",
                    "",
                    str(row_error.reason),
                ],
            )
        )
    for _line, values in sorted(answered, key=lambda item: item[0]):
        writer.writerow(values)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="customer.lead_list_screened",
            changes={"file": filename[:200], "rows": len(rows), "invalid": len(errors)},
        )
    return out.getvalue(), len(rows)
