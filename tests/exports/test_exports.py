"""Exports (MISSION §8): a permission; small ones at once, large ones after the approval of a
manager over the requester (never their own; two approvals at once decide once); the file has
the requester's scope and masking, a watermark line and a canary row; everything audited."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from kedun.audit.models import AccessEvent, AccessKind, AuditEvent
from kedun.core.errors import Conflict, Forbidden, NotFound
from kedun.customers.models import Customer
from kedun.exports.models import Canary, ExportRequest
from kedun.exports.services import (
    export_approve,
    export_file_open,
    export_permission_grant,
    export_reject,
    export_request,
)
from kedun.notifications.models import Notification
from tests.factories import ContactFactory, CustomerFactory, OrderFactory
from tests.threads import at_once


@pytest.fixture
def threshold(settings):
    settings.KEDUN_EXPORT_APPROVAL_ROWS = 3
    return 3


def csv_lines(export: ExportRequest) -> list[list[str]]:
    export.refresh_from_db()
    with default_storage.open(export.file.name, "rb") as handle:
        text = handle.read().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_exporting_needs_the_permission(cast, threshold):
    CustomerFactory(owner=cast.east_rep)
    with pytest.raises(Forbidden) as refused:
        export_request(actor=cast.east_rep, kind="customers", format="csv")
    assert refused.value.code == "no_export_permission"
    assert not ExportRequest.objects.exists()

    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    assert export_request(actor=cast.east_rep, kind="customers", format="csv").status == "ready"
    assert AuditEvent.objects.filter(action="export.permission_granted").count() == 1


def test_a_small_export_is_made_at_once_with_a_watermark_and_a_canary(cast, threshold):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    mine = CustomerFactory.create_batch(3, owner=cast.east_rep, phone="13911112222")
    CustomerFactory(owner=cast.east_rep2, name="别人的客户有限公司")

    export = export_request(actor=cast.east_rep, kind="customers", format="csv")

    assert (export.status, export.rows) == ("ready", 3)
    lines = csv_lines(export)
    watermark = lines[0][0]
    assert watermark.startswith(f"Kedun export #{export.pk} · exported by east_rep (east_rep) · ")
    assert lines[1][:2] == ["Customer number", "Name"]
    rows = lines[2:]
    canary = Canary.objects.get(export=export)
    assert sorted(r[0] for r in rows) == sorted([c.code for c in mine] + [canary.code])
    assert next(r for r in rows if r[0] == canary.code)[7:9] == [canary.phone, canary.email]
    # The canary exists only in that file: not in the registry.
    assert not Customer.objects.filter(code=canary.code).exists()
    assert not Customer.objects.filter(phone__contains=canary.phone).exists()
    events = AuditEvent.objects.filter(object_type="exports.exportrequest", object_id=export.pk)
    assert [e.action for e in events.order_by("seq")] == ["export.requested", "export.generated"]
    access = AccessEvent.objects.get(kind=AccessKind.EXPORT)
    assert (access.user, access.rows) == (cast.east_rep, 3)


def test_an_export_respects_scope_and_masking(cast, threshold, settings):
    settings.KEDUN_EXPORT_APPROVAL_ROWS = 200
    CustomerFactory(owner=cast.east_mgr, name="经理自己的客户", phone="13800001111")
    CustomerFactory(owner=cast.east_rep, name="下属的客户", phone="13900002222", email="a@b.cn")
    CustomerFactory(owner=cast.south_rep, name="华南的客户", phone="13700003333")

    export = export_request(actor=cast.east_mgr, kind="customers", format="csv")

    by_name = {row[1]: row for row in csv_lines(export)[2:]}
    assert "华南的客户" not in by_name
    assert by_name["经理自己的客户"][7] == "13800001111"
    assert by_name["下属的客户"][7] == "139****2222"
    assert by_name["下属的客户"][8] != "a@b.cn"
    assert len(by_name) == 3  # two customers and the canary


def test_a_large_export_waits_for_the_manager_and_is_capped_at_what_was_approved(cast, threshold):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(5, owner=cast.east_rep)

    export = export_request(actor=cast.east_rep, kind="customers", format="csv", reason="年底对账")

    assert (export.status, export.rows, export.file.name) == ("pending", 5, "")
    note = Notification.objects.get(kind="export.approval")
    assert note.recipient == cast.east_mgr
    CustomerFactory(owner=cast.east_rep)  # a sixth before the approval

    export_approve(actor=cast.east_mgr, export_id=export.pk)

    export.refresh_from_db()
    assert (export.status, export.decided_by) == ("ready", cast.east_mgr)
    assert len(csv_lines(export)) == 2 + 5 + 1
    assert AuditEvent.objects.filter(action="export.approved", object_id=str(export.pk)).exists()
    assert Notification.objects.filter(kind="export.approved", recipient=cast.east_rep).exists()


def test_nobody_approves_their_own_export(cast, threshold):
    CustomerFactory.create_batch(4, owner=cast.east_rep)
    export = export_request(actor=cast.east_mgr, kind="customers", format="csv")
    assert export.status == "pending"

    with pytest.raises(Forbidden) as refused:
        export_approve(actor=cast.east_mgr, export_id=export.pk)

    assert refused.value.code == "own_export"
    export.refresh_from_db()
    assert (export.status, export.decided_by) == ("pending", None)
    export_approve(actor=cast.boss, export_id=export.pk)
    export.refresh_from_db()
    assert export.status == "ready"


def test_the_database_refuses_a_self_decided_export(cast):
    from django.db import IntegrityError, transaction

    from kedun.core import clock

    with pytest.raises(IntegrityError), transaction.atomic():
        ExportRequest.objects.create(
            requester=cast.east_rep,
            kind="customers",
            format="csv",
            rows=1,
            created_at=clock.now(),
            status="ready",
            decided_by=cast.east_rep,
            decided_at=clock.now(),
        )


@pytest.mark.parametrize("approver", ["south_mgr", "east_rep2", "auditor"])
def test_only_a_manager_over_the_requester_approves(cast, threshold, approver):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(4, owner=cast.east_rep)
    export = export_request(actor=cast.east_rep, kind="customers", format="csv")

    with pytest.raises(NotFound):
        export_approve(actor=getattr(cast, approver), export_id=export.pk)

    export.refresh_from_db()
    assert export.status == "pending"
    assert not Canary.objects.exists()


def test_two_approvals_at_once_decide_once(transactional_db, cast, threshold):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(4, owner=cast.east_rep)
    export = export_request(actor=cast.east_rep, kind="customers", format="csv")

    results = at_once(
        lambda: export_approve(actor=cast.east_mgr, export_id=export.pk),
        lambda: export_approve(actor=cast.boss, export_id=export.pk),
    )

    decided = [r for r in results if isinstance(r, ExportRequest)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert (len(decided), len(refused)) == (1, 1), results
    assert refused[0].code == "already_decided"
    export.refresh_from_db()
    assert export.decided_by == decided[0].decided_by
    assert Canary.objects.count() == 1
    assert AuditEvent.objects.filter(action="export.approved").count() == 1
    assert AuditEvent.objects.filter(action="export.generated").count() == 1


def test_an_approval_and_a_rejection_at_once_decide_once(transactional_db, cast, threshold):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(4, owner=cast.east_rep)
    export = export_request(actor=cast.east_rep, kind="customers", format="csv")

    results = at_once(
        lambda: export_approve(actor=cast.east_mgr, export_id=export.pk),
        lambda: export_reject(actor=cast.boss, export_id=export.pk, note="不行"),
    )

    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    export.refresh_from_db()
    assert (export.status == "ready") == Canary.objects.exists()


def test_a_rejected_export_has_no_file(cast, threshold, client):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(4, owner=cast.east_rep)
    export = export_request(actor=cast.east_rep, kind="customers", format="csv")
    export_reject(actor=cast.east_mgr, export_id=export.pk, note="太多了")

    with pytest.raises(Conflict):
        export_file_open(viewer=cast.east_rep, export_id=export.pk)
    assert AuditEvent.objects.filter(action="export.rejected").count() == 1


def test_the_download_is_the_requesters_alone_and_audited(cast, client, threshold):
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(2, owner=cast.east_rep)
    export = export_request(actor=cast.east_rep, kind="customers", format="csv")

    client.force_login(cast.east_mgr)
    assert client.get(f"/exports/{export.pk}/download/").status_code == 404
    client.force_login(cast.east_rep)
    response = client.get(f"/exports/{export.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="kedun-customers-{export.pk}.csv"'
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.startswith(f"Kedun export #{export.pk} · exported by east_rep")
    assert (
        AuditEvent.objects.filter(action="export.downloaded", actor_id=cast.east_rep.pk).count()
        == 1
    )
    download = AccessEvent.objects.get(kind=AccessKind.DOWNLOAD)
    assert download.subject == f"export:{export.pk} kedun-customers-{export.pk}.csv"


def test_an_xlsx_export_carries_the_watermark_on_its_first_row_and_when_printed(cast, threshold):
    CustomerFactory.create_batch(2, owner=cast.east_mgr)
    export = export_request(actor=cast.east_mgr, kind="customers", format="xlsx")

    with default_storage.open(export.file.name, "rb") as handle:
        sheet = load_workbook(handle).active
    watermark = sheet["A1"].value
    assert watermark.startswith(f"Kedun export #{export.pk} · exported by east_mgr")
    assert sheet.oddHeader.center.text == watermark
    assert sheet["A2"].value == "Customer number"
    canary = Canary.objects.get()
    assert canary.phone in [sheet.cell(row=r, column=8).value for r in range(3, 6)]


def test_contacts_orders_and_the_delivery_report_export_too(cast, settings):
    settings.KEDUN_EXPORT_APPROVAL_ROWS = 200
    customer = CustomerFactory(owner=cast.east_mgr)
    ContactFactory(customer=customer, name="李四", phone="13600001111")
    ContactFactory(customer=CustomerFactory(owner=cast.east_rep), name="王五", phone="13600002222")
    OrderFactory(customer=customer, owner=cast.east_mgr)

    contacts = csv_lines(export_request(actor=cast.east_mgr, kind="contacts", format="csv"))
    by_customer = {row[0]: row for row in contacts[2:]}
    assert by_customer[customer.code][2:5] == ["李四", "", "13600001111"]
    assert len(contacts) == 2 + 2 + 1
    assert "136****2222" in [row[4] for row in contacts[2:]]

    orders = csv_lines(export_request(actor=cast.east_mgr, kind="orders", format="csv"))
    assert len(orders) == 2 + 1 + 1

    with pytest.raises(Exception) as nothing:
        export_request(actor=cast.east_mgr, kind="delivery_report", format="csv")
    assert getattr(nothing.value, "code", "") == "empty"


def test_a_pending_export_of_someone_marked_as_leaving_is_not_approved(cast, threshold):
    from kedun.budgets.services import leaver_mark

    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(4, owner=cast.east_rep)
    export = export_request(actor=cast.east_rep, kind="customers", format="csv")
    leaver_mark(actor=cast.east_mgr, user=cast.east_rep)

    with pytest.raises(Conflict) as refused:
        export_approve(actor=cast.east_mgr, export_id=export.pk)

    assert refused.value.code == "requester_may_not_export"
    export.refresh_from_db()
    assert export.status == "pending"
    assert not Canary.objects.exists()


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_a_name_typed_as_a_formula_stays_text_in_the_file(cast, format):
    CustomerFactory(owner=cast.east_mgr, name='=HYPERLINK("http://evil.example","点我")')
    CustomerFactory(owner=cast.east_mgr, name="正常公司", phone="+86 139 0000 1111")
    export = export_request(actor=cast.east_mgr, kind="customers", format=format)

    if format == "csv":
        rows = csv_lines(export)[2:]
        names = {r[1]: r for r in rows}
    else:
        with default_storage.open(export.file.name, "rb") as handle:
            sheet = load_workbook(handle).active
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
        names = {r[1]: r for r in rows}
    assert '\'=HYPERLINK("http://evil.example","点我")' in names
    assert names["正常公司"][7] == "+86 139 0000 1111"
