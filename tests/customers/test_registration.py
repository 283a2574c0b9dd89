"""First to register wins: duplicates refused naming the owner, possibles confirmed and
recorded, and concurrent registrations of one company leave exactly one owner."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connections
from django.test import Client

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core.errors import Invalid
from kedun.customers.models import Customer, CustomerName, CustomerPhone
from kedun.customers.services import DuplicateFound, PossibleDuplicateFound, customer_register
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_duplicate_is_refused_naming_owner_department_and_date(cast):
    first = customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")
    with pytest.raises(DuplicateFound) as refusal:
        customer_register(actor=cast.east_rep, name="恒達機械（廣州）有限公司")
    message = str(refusal.value.message)
    assert first.code in message
    assert cast.south_rep.display_name in message
    assert "华南" in message
    assert first.registered_at.date().isoformat() in message
    assert Customer.objects.count() == 1


def test_a_possible_needs_a_confirmation_that_is_recorded(cast):
    first = customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")
    with pytest.raises(PossibleDuplicateFound):
        customer_register(actor=cast.east_rep, name="广州市恒大机械有限公司")
    assert Customer.objects.count() == 1
    second = customer_register(
        actor=cast.east_rep, name="广州市恒大机械有限公司", confirm_possible=True
    )
    assert second.owner == cast.east_rep
    event = AuditEvent.objects.get(action="customer.possible_duplicate_confirmed")
    assert event.object_id == str(first.pk)
    assert event.changes_data["new_customer"] == second.code
    assert event.actor_id == cast.east_rep.pk


def test_an_invalid_credit_code_is_refused_saying_why(cast):
    with pytest.raises(Invalid) as refusal:
        customer_register(actor=cast.east_rep, name="某某科技有限公司", tax_id="91440300708461136X")
    assert refusal.value.code == "invalid_tax_id"
    assert "check" in str(refusal.value.message).lower() or "校验" in str(refusal.value.message)
    assert Customer.objects.count() == 0


def test_registration_writes_the_identity_keys(cast):
    customer = customer_register(
        actor=cast.east_rep, name="杭州市蓝海科技有限公司", phone="0571-8888 6666 转 123"
    )
    assert list(
        CustomerName.objects.filter(customer=customer).values_list("core", "region", "trade_name")
    ) == [("蓝海科技", "浙江/杭州", "蓝海")]
    assert list(
        CustomerPhone.objects.filter(customer=customer).values_list("number", flat=True)
    ) == ["+8657188886666"]


def test_the_api_answers_409_with_masked_matches(cast, api_client):
    customer_register(
        actor=cast.south_rep,
        name="广州市恒达机械有限公司",
        phone="13912345678",
        email="boss@hengda-jx.com",
    )
    api_client.force_authenticate(cast.east_rep)
    response = api_client.post(
        "/api/v1/customers/", {"name": "恒达机械", "phone": "139-1234-5678"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate"
    match = body["matches"][0]
    assert match["owner"] == "south_rep" and match["owner_department"] == "华南"
    assert match["level"] == "duplicate"
    text = json.dumps(body, ensure_ascii=False)
    assert "13912345678" not in text and "boss@" not in text
    assert "139****5678" in text


def test_the_api_registers_after_confirming_a_possible(cast, api_client):
    customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")
    api_client.force_authenticate(cast.east_rep)
    first = api_client.post("/api/v1/customers/", {"name": "广州市恒大机械有限公司"}, format="json")
    assert first.status_code == 409 and first.json()["code"] == "possible"
    second = api_client.post(
        "/api/v1/customers/",
        {"name": "广州市恒大机械有限公司", "confirm_possible": True},
        format="json",
    )
    assert second.status_code == 201
    assert second.json()["owner"] == "east_rep"


def test_the_duplicate_check_endpoint(cast, api_client):
    customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")
    api_client.force_authenticate(cast.finance)
    response = api_client.post(
        "/api/v1/customers/duplicate-check/", {"name": "恒达机械", "tax_id": "bad"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["matches"][0]["owner"] == "south_rep"
    assert body["problems"]


VARIANTS = [
    "深圳市腾讯计算机系统有限公司",
    "腾讯计算机系统（深圳）有限公司",
    "深圳腾讯计算机系统公司",
    "騰訊計算機系統有限公司",
    "腾讯计算机系统",
    "广东省深圳市腾讯计算机系统有限公司",
    "深圳市 腾讯计算机系统 有限责任公司",
    "腾讯计算机系统(深圳)有限公司",
]


@pytest.mark.parametrize("round_", range(2))
def test_forty_simultaneous_registrations_leave_one_owner(transactional_db, round_):
    reps = [UserFactory(username=f"racer{round_}_{n}") for n in range(8)]
    barrier = threading.Barrier(40)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def register(number: int) -> None:
        try:
            client = Client()
            client.force_login(reps[number % 8])
            barrier.wait(timeout=60)
            response = client.post(
                "/api/v1/customers/",
                {"name": VARIANTS[number % len(VARIANTS)], "phone": "0755-86013388"},
                content_type="application/json",
            )
            statuses.append(response.status_code)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert sorted(statuses) == [201] + [409] * 39
    assert Customer.objects.count() == 1
    assert AuditEvent.objects.filter(action="customer.registered").count() == 1
    assert chain_verify().ok


def test_the_registration_page_refuses_a_duplicate_and_asks_to_confirm_a_possible(cast, client):
    from django.urls import reverse

    customer_register(actor=cast.south_rep, name="广州市恒达机械有限公司")
    client.force_login(cast.east_rep)
    page = client.post(reverse("customer-new"), {"name": "恒达机械（广州）有限公司"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "已由" in text and "华南" in text  # names owner's department and date
    check = client.post(reverse("customer-check"), {"name": "广州市恒大机械有限公司"})
    assert "疑似重复" in check.content.decode()
    refused = client.post(reverse("customer-new"), {"name": "广州市恒大机械有限公司"})
    assert refused.status_code == 200 and Customer.objects.count() == 1
    accepted = client.post(
        reverse("customer-new"), {"name": "广州市恒大机械有限公司", "confirm_possible": "on"}
    )
    assert accepted.status_code == 302 and Customer.objects.count() == 2
