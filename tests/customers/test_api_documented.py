"""Answers of the customers API that broke its own schema, found by the fuzz
(tests/api/test_fuzz.py): each call here is checked against the schema as served."""

from __future__ import annotations

import pytest

from kedun.customers.models import Dispute
from tests.api.schema import documented_call
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def registered(user, name: str) -> None:
    documented_call(user, "POST", "/api/v1/customers/", body={"name": name})


def test_the_duplicate_check_answers_with_its_problems_and_matches(cast):
    registered(cast.east_rep2, "杭州远望机械有限公司")
    response = documented_call(
        cast.east_rep,
        "POST",
        "/api/v1/customers/duplicate-check/",
        body={"name": "杭州远望机械有限公司"},
    )
    body = response.json()
    assert set(body) == {"problems", "matches"}
    assert [match["owner"] for match in body["matches"]] == ["east_rep2"]
    assert body["problems"] == []


def test_a_match_in_the_pool_is_documented_with_no_owner():
    from tests.api.schema import api_schema

    match = api_schema().raw_schema["components"]["schemas"]["MatchOutput"]["properties"]
    for name in ("owner", "owner_name", "owner_department"):
        assert match[name]["nullable"] is True, name


def test_a_note_without_a_need_has_need_null(cast):
    customer = CustomerFactory(owner=cast.east_rep)
    response = documented_call(
        cast.east_rep,
        "POST",
        "/api/v1/customers/{customer_id}/notes/",
        path_parameters={"customer_id": customer.pk},
        body={"content": "客户下周来厂参观"},
    )
    assert response.status_code == 201
    assert response.json()["need"] is None


def test_an_ownership_request_opens_a_dispute_with_no_other_customer(cast):
    customer = CustomerFactory(owner=cast.east_rep)
    response = documented_call(
        cast.south_rep,
        "POST",
        "/api/v1/customers/{customer_id}/ownership-request/",
        path_parameters={"customer_id": customer.pk},
        body={"reason": "三月起我一直在跟进这家客户"},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["other_customer"], body["resolved_by"]) == (None, None)
    assert Dispute.objects.filter(customer=customer, claimant=cast.south_rep).exists()


def test_a_duplicate_registration_is_refused_with_its_matches(cast):
    registered(cast.east_rep2, "杭州远望机械有限公司")
    response = documented_call(
        cast.east_rep, "POST", "/api/v1/customers/", body={"name": "杭州远望机械有限公司"}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate"
    assert [match["owner"] for match in body["matches"]] == ["east_rep2"]
