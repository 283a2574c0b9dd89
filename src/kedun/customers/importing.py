"""Importing customers from a file (`kedun import-customers`, the import page).

Rows that are duplicates — of the registry or of an earlier row of the same file — are skipped
and reported; possible duplicates are imported and flagged for review; invalid rows are
reported with their line and reason. Nothing already stored is changed, and importing the same
file twice adds nothing (a row whose customer number exists is skipped as already imported).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core.db import bulk_write_mode
from kedun.customers import contact_identity as contacts
from kedun.jobs.queue import enqueue_on_commit
from kedun.org.models import Role, User

from .bulk import NewCustomer, customers_insert
from .identity.keys import IdentityKeys, identity_keys
from .identity.regions import Region
from .import_files import ImportRow, RowError
from .matching import DUPLICATE, Candidate, duplicates_find_many
from .models import Customer

BATCH = 5000


@dataclass
class SkippedRow:
    line: int
    name: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    flagged: list[SkippedRow] = field(default_factory=list)  # imported, possible duplicate
    duplicates: list[SkippedRow] = field(default_factory=list)
    already_imported: list[SkippedRow] = field(default_factory=list)
    invalid: list[SkippedRow] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "flagged": len(self.flagged),
            "duplicates": len(self.duplicates),
            "already_imported": len(self.already_imported),
            "invalid": len(self.invalid),
        }


@dataclass
class _Prepared:
    row: ImportRow
    keys: IdentityKeys
    owner: User | None


def customers_import(
    *,
    actor: User | None,
    rows: list[ImportRow],
    row_errors: list[RowError],
    default_owner: User | None,
) -> ImportReport:
    """Import screened rows. `actor` None is the command line."""
    if actor is not None and not actor.has_role(Role.ADMIN, Role.MANAGER):
        from kedun.core.errors import Forbidden

        raise Forbidden()
    report = ImportReport(rows=len(rows) + len(row_errors))
    report.invalid += [SkippedRow(e.line, e.name, str(e.reason)) for e in row_errors]
    users = {u.username.lower(): u for u in User.objects.filter(is_active=True)}
    with bulk_write_mode():
        _import_batches(actor, rows, users, default_owner, report)
    if report.imported and connection.vendor == "postgresql":
        # The worker vacuums the tables the duplicate check reads: until autovacuum gets to a
        # million-row table, new rows are invisible to index-only scans and the planner works
        # from stale counts — single checks went from 6.6 to 18 ms at p95 after an import
        # (bench/registry_scale.py --reuse). Not inline: it would cost the import ~3 s.
        from .tasks import registry_vacuum

        enqueue_on_commit(registry_vacuum)
    return report


def _import_batches(
    actor: User | None,
    rows: list[ImportRow],
    users: dict[str, User],
    default_owner: User | None,
    report: ImportReport,
) -> None:
    in_file = _FileIndex()
    for batch in _batches(rows, BATCH):
        prepared = _prepare(batch, users, default_owner, report)
        prepared = _skip_existing_codes(prepared, report)
        found = duplicates_find_many([p.keys for p in prepared])
        known = Customer.objects.select_related("owner").in_bulk(
            {c.customer_id for candidates in found for c in candidates if c.level == DUPLICATE}
        )
        accepted: list[tuple[_Prepared, list[Candidate], int | None]] = []
        for item, candidates in zip(prepared, found, strict=True):
            duplicate = next((c for c in candidates if c.level == DUPLICATE), None)
            if duplicate is not None:
                report.duplicates.append(
                    SkippedRow(
                        item.row.line,
                        item.row.name,
                        _describe(known[duplicate.customer_id], duplicate),
                    )
                )
                continue
            earlier = in_file.duplicate_of(item.keys)
            if earlier is not None:
                report.duplicates.append(
                    SkippedRow(
                        item.row.line,
                        item.row.name,
                        _("the same company as line %(line)d of this file") % {"line": earlier},
                    )
                )
                continue
            similar = in_file.similar_to(item.keys)
            in_file.add(item.keys, item.row.line)
            accepted.append((item, candidates, similar))
        _insert(actor, accepted, report)


def _batches(rows: list[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _prepare(
    batch: list[ImportRow], users: dict[str, User], default_owner: User | None, report: ImportReport
) -> list[_Prepared]:
    prepared = []
    for row in batch:
        owner = default_owner
        if row.owner:
            owner = users.get(row.owner.lower())
            if owner is None:
                report.invalid.append(
                    SkippedRow(
                        row.line,
                        row.name,
                        _("no active user named %(owner)s (owner column)") % {"owner": row.owner},
                    )
                )
                continue
        if owner is None:
            report.invalid.append(
                SkippedRow(row.line, row.name, _("no owner: fill the owner column or give --owner"))
            )
            continue
        if row.phone and not contacts.normalize_phones(row.phone):
            report.invalid.append(
                SkippedRow(
                    row.line,
                    row.name,
                    _("“%(phone)s” is not a phone number") % {"phone": row.phone},
                )
            )
            continue
        try:
            keys = identity_keys(
                name=row.name,
                phones=[row.phone],
                emails=[row.email],
                websites=[row.website],
                tax_id=row.tax_id,
                strict=True,
            )
        except contacts.InvalidCreditCode as error:
            report.invalid.append(SkippedRow(row.line, row.name, str(error.message)))
            continue
        prepared.append(_Prepared(row, keys, owner))
    return prepared


def _skip_existing_codes(prepared: list[_Prepared], report: ImportReport) -> list[_Prepared]:
    codes = [p.row.code for p in prepared if p.row.code]
    existing = (
        set(Customer.objects.filter(code__in=codes).values_list("code", flat=True))
        if codes
        else set()
    )
    seen: set[str] = set()
    kept = []
    for item in prepared:
        code = item.row.code
        if code and (code in existing or code in seen):
            report.already_imported.append(
                SkippedRow(
                    item.row.line,
                    item.row.name,
                    _("customer number %(code)s already exists") % {"code": code},
                )
            )
            continue
        if code:
            seen.add(code)
        kept.append(item)
    return kept


def _describe(customer: Customer, candidate: Candidate) -> str:
    owner = customer.owner.display_name if customer.owner else _("the public pool")
    return _("already registered as %(code)s %(name)s (%(owner)s): %(why)s") % {
        "code": customer.code,
        "name": customer.name,
        "owner": owner,
        "why": "；".join(candidate.reasons),
    }


def _insert(
    actor: User | None,
    accepted: list[tuple[_Prepared, list[Candidate], int | None]],
    report: ImportReport,
) -> None:
    if not accepted:
        return
    with transaction.atomic():
        created = customers_insert(
            [
                NewCustomer(
                    code=item.row.code,
                    name=item.row.name,
                    keys=item.keys,
                    owner=item.owner,
                    registered_by=actor or item.owner,  # type: ignore[arg-type]
                    phone=item.row.phone,
                    email=item.row.email,
                    website=item.row.website,
                    registered_at=item.row.registered_at,
                    last_follow_up_at=item.row.last_follow_up_at,
                    grade=item.row.grade,
                    needs_review=bool(candidates) or similar is not None,
                    lat=item.row.lat,
                    lng=item.row.lng,
                )
                for item, candidates, similar in accepted
            ],
            batch_size=BATCH,
        )
        codes = [c.code for c in created]
        for item, candidates, similar in accepted:
            if candidates:
                report.flagged.append(
                    SkippedRow(item.row.line, item.row.name, "；".join(candidates[0].reasons))
                )
            elif similar is not None:
                reason = _("similar to line %(line)d of this file") % {"line": similar}
                report.flagged.append(SkippedRow(item.row.line, item.row.name, reason))
        report.imported += len(created)
        # One event per batch: who imported what (the customer numbers), in the same
        # transaction as the rows.
        audit_record(
            actor=actor,
            action="customer.imported",
            object_type="customers.customer",
            changes={
                "codes": codes,
                "flagged": [code for code, c in zip(codes, created, strict=True) if c.needs_review],
            },
        )


class _FileIndex:
    """The companies accepted so far from this file, to catch a file's internal duplicates."""

    def __init__(self) -> None:
        self.tax: dict[str, int] = {}
        self.core: dict[str, list[tuple[Region, int]]] = {}
        self.phone: dict[str, list[tuple[set[str], int]]] = {}
        self.pinyin: dict[str, int] = {}

    def duplicate_of(self, keys: IdentityKeys) -> int | None:
        if keys.tax_id and keys.tax_id in self.tax:
            return self.tax[keys.tax_id]
        cores = {n.core for n in keys.names}
        for name in keys.names:
            for region, line in self.core.get(name.core, ()):
                if region.compatible_with(name.region):
                    return line
        for number in keys.phones:
            for other_cores, line in self.phone.get(number, ()):
                if any(a in b or b in a for a in cores for b in other_cores):
                    return line
        return None

    def similar_to(self, keys: IdentityKeys) -> int | None:
        """An earlier row with the same name in another region, or the same pinyin."""
        for name in keys.names:
            for _region, line in self.core.get(name.core, ()):
                return line
            if name.pinyin in self.pinyin:
                return self.pinyin[name.pinyin]
        return None

    def add(self, keys: IdentityKeys, line: int) -> None:
        for name in keys.names:
            self.pinyin.setdefault(name.pinyin, line)
        if keys.tax_id:
            self.tax[keys.tax_id] = line
        for name in keys.names:
            self.core.setdefault(name.core, []).append((name.region, line))
        cores = {n.core for n in keys.names}
        for number in keys.phones:
            self.phone.setdefault(number, []).append((cores, line))


def report_lines(report: ImportReport) -> list[str]:
    # The labels stay English: scripts match them (the reasons are in the user's language).
    lines = []
    for label, items in (
        ("invalid", report.invalid),
        ("duplicate", report.duplicates),
        ("already imported", report.already_imported),
        ("imported, flagged for review", report.flagged),
    ):
        for item in sorted(items, key=lambda i: i.line):
            lines.append(f"line {item.line}: {label}: {item.name} — {item.reason}")
    return lines
