"""The API's shared contract: auth, pagination, error shape, size limit, schema and docs."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client, override_settings

from kedun.org.services import token_for_user
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_unauthenticated_calls_get_401_json_with_the_token_challenge(client):
    response = client.get("/api/v1/customers/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == "not_authenticated"


def test_a_token_authenticates(cast, client):
    token = token_for_user(actor=None, user=cast.east_rep)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["username"] == "east_rep"
    assert response.json()["data_scope"] == "own"


def test_a_wrong_token_is_refused(client):
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_the_session_authenticates_and_writes_need_csrf(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.east_rep)
    assert client.get("/api/v1/me/").status_code == 200
    response = client.post(
        "/api/v1/customers/", {"name": "甲公司"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_pages_carry_count_and_the_page_size_is_capped_at_100(cast, api_client):
    CustomerFactory.create_batch(120, owner=cast.east_rep)
    api_client.force_authenticate(cast.east_rep)
    first = api_client.get("/api/v1/customers/").json()
    assert first["count"] == 120
    assert len(first["results"]) == 25
    assert first["next"].endswith("page=2")
    capped = api_client.get("/api/v1/customers/?page_size=1000").json()
    assert len(capped["results"]) == 100


def test_a_page_past_the_end_is_a_json_404(cast, api_client):
    api_client.force_authenticate(cast.east_rep)
    response = api_client.get("/api/v1/customers/?page=9")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_api_path_is_a_json_404(cast, api_client):
    api_client.force_authenticate(cast.east_rep)
    response = api_client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "未找到。", "detail": None}


def test_invalid_input_lists_the_fields(cast, api_client):
    api_client.force_authenticate(cast.east_rep)
    response = api_client.post("/api/v1/customers/", {"name": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "name" in body["detail"]


def test_a_salesperson_registers_a_customer_through_the_api(cast, api_client):
    api_client.force_authenticate(cast.east_rep)
    response = api_client.post(
        "/api/v1/customers/",
        {"name": "上海甲乙机械有限公司", "contacts": [{"name": "王五", "phone": "13900000000"}]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["owner"] == "east_rep"
    assert body["code"].startswith("C")
    assert body["contacts"][0]["name"] == "王五"


def test_a_back_office_role_cannot_register_customers(cast, api_client):
    api_client.force_authenticate(cast.finance)
    response = api_client.post("/api/v1/customers/", {"name": "乙公司"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@override_settings(MAX_REQUEST_BYTES=1024)
def test_an_oversized_body_is_refused_with_413_json(cast, api_client):
    api_client.force_authenticate(cast.east_rep)
    response = api_client.post("/api/v1/customers/", {"name": "x" * 5000}, format="json")
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "request_too_large"
    assert body["detail"]["limit_bytes"] == 1024
    from kedun.customers.models import Customer

    assert not Customer.objects.exists()


@override_settings(MAX_REQUEST_BYTES=1024)
def test_an_oversized_page_post_is_refused_with_413(cast, client):
    client.force_login(cast.east_rep)
    response = client.post("/customers/new/", {"name": "x" * 5000})
    assert response.status_code == 413


def test_the_audit_api_is_for_the_boss_and_the_auditor(cast, api_client):
    token_for_user(actor=None, user=cast.east_rep)  # one audited event
    api_client.force_authenticate(cast.east_mgr)
    assert api_client.get("/api/v1/audit/events/").status_code == 403
    api_client.force_authenticate(cast.auditor)
    events = api_client.get("/api/v1/audit/events/").json()
    assert events["count"] == 1
    assert events["results"][0]["action"] == "token.issued"


def test_the_schema_is_openapi_3_and_lists_the_endpoints(cast, client):
    client.force_login(cast.boss)
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/customers/",
        "/api/v1/customers/{customer_id}/",
        "/api/v1/me/",
        "/api/v1/audit/events/",
    } <= set(schema["paths"])


def test_the_docs_page_loads_only_local_assets(cast, client):
    client.force_login(cast.boss)
    page = client.get("/api/v1/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, page
    for source in sources:
        assert source.startswith("/"), source
        if source.startswith("/static/"):
            assert client.get(source).status_code == 200, source


def test_health_answers_without_login(client):
    response = client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json()["worker_alive"] is False


# -- the schema documents what every endpoint answers (tests/api/test_fuzz.py fuzzes it all) --


def test_a_list_answers_with_a_page_as_its_schema_says(cast):
    from tests.api.schema import documented_call

    CustomerFactory.create_batch(3, owner=cast.east_rep)
    page = documented_call(
        cast.east_rep, "GET", "/api/v1/customers/", query={"page_size": 2}
    ).json()
    assert (page["count"], len(page["results"])) == (3, 2)
    assert documented_call(cast.east_mgr, "GET", "/api/v1/disputes/").json()["count"] == 0


def test_the_shared_refusals_are_documented(cast):
    from tests.api.schema import documented_call

    past_the_end = documented_call(cast.east_rep, "GET", "/api/v1/customers/", query={"page": 9})
    assert past_the_end.status_code == 404
    missing = documented_call(
        cast.east_rep,
        "GET",
        "/api/v1/customers/{customer_id}/",
        path_parameters={"customer_id": 999_999},
    )
    assert missing.status_code == 404
    forbidden = documented_call(
        cast.east_rep,
        "POST",
        "/api/v1/users/{user_id}/deactivate/",
        path_parameters={"user_id": cast.east_rep2.pk},
    )
    assert forbidden.status_code == 403
    invalid = documented_call(cast.east_rep, "POST", "/api/v1/customers/", body={"name": ""})
    assert (invalid.status_code, invalid.json()["code"]) == (400, "invalid")
    unreadable = documented_call(
        cast.east_rep, "POST", "/api/v1/customers/", body="甲公司", media_type="text/plain"
    )
    assert (unreadable.status_code, unreadable.json()["code"]) == (415, "unsupported_media_type")


def test_only_the_open_health_check_documents_no_401():
    from tests.api.schema import api_schema

    answers = {
        (operation.method.upper(), operation.path): set(operation.definition.raw["responses"])
        for operation in (result.ok() for result in api_schema().get_all_operations())
    }
    assert "401" not in answers.pop(("GET", "/api/v1/health/"))
    assert all("401" in codes for codes in answers.values())


def test_a_nul_character_in_the_query_string_is_refused_on_both_engines(
    cast, api_client, client, sentences_in_english
):
    """PostgreSQL cannot compare text with NUL in it: the customer list's search failed with a
    500 there (the fuzz found it). Nothing reaches the database; the answer says why."""
    customer = CustomerFactory(owner=cast.east_rep, name="杭州远丰机械有限公司")
    api_client.force_authenticate(cast.east_rep)

    refused = api_client.get("/api/v1/customers/", {"q": "远丰\x00"})
    in_a_key = api_client.get("/api/v1/customers/?a%00=1")
    in_the_path = api_client.delete(f"/api/v1/customers/{customer.pk}/team/east%00rep2/")
    found = api_client.get("/api/v1/customers/", {"q": "远丰"})
    client.force_login(cast.east_rep)
    page = client.get("/customers/", {"q": "远丰\x00"})

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid"
    assert "NUL character" in refused.json()["message"]
    assert in_a_key.status_code == 400
    assert in_the_path.status_code == 400
    assert [c["id"] for c in found.json()["results"]] == [customer.pk]
    assert page.status_code == 400
    assert "NUL character" in page.content.decode()
