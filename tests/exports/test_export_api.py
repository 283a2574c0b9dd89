"""The export API and pages: ask, approve (409 the second time), take the file."""

from __future__ import annotations

import pytest

from kedun.audit.models import AuditEvent
from kedun.exports.models import ExportRequest
from kedun.exports.services import export_permission_grant
from tests.factories import CustomerFactory


@pytest.fixture
def rep_may_export(cast, settings):
    settings.KEDUN_EXPORT_APPROVAL_ROWS = 3
    export_permission_grant(actor=cast.east_mgr, user=cast.east_rep)
    CustomerFactory.create_batch(4, owner=cast.east_rep)


def test_ask_approve_and_download_through_the_api(cast, api_client, rep_may_export):
    api_client.force_authenticate(cast.east_rep)
    asked = api_client.post("/api/v1/exports/", {"kind": "customers", "format": "xlsx"})
    assert asked.status_code == 201
    body = asked.json()
    assert (body["status"], body["rows"], body["requester"]) == ("pending", 4, "east_rep")
    assert api_client.post(f"/api/v1/exports/{body['id']}/approve/").status_code == 403

    api_client.force_authenticate(cast.east_mgr)
    waiting = api_client.get("/api/v1/exports/approvals/").json()
    assert [e["id"] for e in waiting["results"]] == [body["id"]]
    approved = api_client.post(f"/api/v1/exports/{body['id']}/approve/", {"note": "ok"})
    assert (approved.status_code, approved.json()["decided_by"]) == (200, "east_mgr")
    again = api_client.post(f"/api/v1/exports/{body['id']}/reject/")
    assert (again.status_code, again.json()["code"]) == (409, "already_decided")
    assert api_client.get(f"/api/v1/exports/{body['id']}/file/").status_code == 404

    api_client.force_authenticate(cast.east_rep)
    file = api_client.get(f"/api/v1/exports/{body['id']}/file/")
    assert file.status_code == 200
    assert file["Content-Type"].startswith("application/vnd.openxmlformats")
    assert [e["status"] for e in api_client.get("/api/v1/exports/").json()["results"]] == ["ready"]


def test_a_peer_manager_sees_nothing_to_approve(cast, api_client, rep_may_export):
    api_client.force_authenticate(cast.east_rep)
    export_id = api_client.post("/api/v1/exports/", {"kind": "customers", "format": "csv"}).json()[
        "id"
    ]
    api_client.force_authenticate(cast.south_mgr)
    assert api_client.get("/api/v1/exports/approvals/").json()["results"] == []
    assert api_client.post(f"/api/v1/exports/{export_id}/approve/").status_code == 404
    assert ExportRequest.objects.get().status == "pending"


def test_the_pages_ask_approve_and_list(cast, client, rep_may_export):
    client.force_login(cast.east_rep)
    response = client.post("/exports/", {"kind": "customers", "format": "csv", "reason": "拜访"})
    assert response.status_code == 302
    export = ExportRequest.objects.get()
    assert export.status == "pending"

    client.force_login(cast.east_mgr)
    page = client.get("/exports/approvals/").content.decode()
    assert f'data-export="{export.pk}"' in page
    client.post("/exports/approvals/", {"action": "approve", "export": export.pk})

    client.force_login(cast.east_rep)
    mine = client.get("/exports/").content.decode()
    assert f'href="/exports/{export.pk}/download/"' in mine
    assert AuditEvent.objects.filter(action="export.approved").count() == 1


def test_a_salesperson_may_not_open_the_approvals(cast, client):
    client.force_login(cast.east_rep)
    assert client.get("/exports/approvals/").status_code == 403


def test_the_schema_documents_the_export_api(cast, api_client):
    api_client.force_authenticate(cast.boss)
    schema = api_client.get("/api/v1/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/exports/",
        "/api/v1/exports/{export_id}/approve/",
        "/api/v1/exports/{export_id}/file/",
        "/api/v1/canaries/",
        "/api/v1/people/{user_id}/leaver/",
        "/api/v1/budgets/{user_id}/grants/",
    ):
        assert path in schema["paths"], path
