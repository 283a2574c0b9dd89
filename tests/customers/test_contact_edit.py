"""Changing a customer's contact data: kept as ContactChange rows, audited, reindexed, and only
for those who work the account; opening a customer leaves an access record."""

from __future__ import annotations

import pytest

from kedun.audit.models import AccessEvent, AuditEvent
from kedun.core.errors import Invalid, NotFound
from kedun.customers.contact_edit import (
    ContactPerson,
    contact_person_save,
    customer_contact_update,
)
from kedun.customers.identity.keys import identity_keys
from kedun.customers.matching import duplicates_find
from kedun.customers.models import ContactChange, Customer
from kedun.customers.services import customer_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(cast) -> Customer:
    return customer_register(
        actor=cast.east_rep,
        name="杭州远望机械有限公司",
        phone="0571-87654321",
        email="buyer@yuanwang-jx.cn",
    )


def found_by_phone(phone: str) -> list[int]:
    return [c.customer_id for c in duplicates_find(identity_keys(name="", phones=[phone]))]


def test_the_owner_changes_the_phone_and_the_change_is_kept_audited_and_indexed(cast, customer):
    changes = customer_contact_update(
        actor=cast.east_rep, customer=customer, changes={"phone": "13911112222", "email": ""}
    )
    assert [(c.field, c.old_value, c.new_value) for c in changes] == [
        ("phone", "0571-87654321", "13911112222"),
        ("email", "buyer@yuanwang-jx.cn", ""),
    ]
    stored = ContactChange.objects.filter(customer=customer).order_by("pk")
    assert [(c.field, c.changed_by) for c in stored] == [
        ("phone", cast.east_rep),
        ("email", cast.east_rep),
    ]
    customer.refresh_from_db()
    assert (customer.phone, customer.email) == ("13911112222", "")
    event = AuditEvent.objects.filter(action="customer.contact_changed").get()
    assert event.changes_data == {
        "email": ["buyer@yuanwang-jx.cn", ""],
        "phone": ["0571-87654321", "13911112222"],
    }
    assert customer.pk in found_by_phone("139 1111 2222")
    assert customer.pk not in found_by_phone("0571-87654321")


def test_nothing_changed_records_nothing(cast, customer):
    assert (
        customer_contact_update(
            actor=cast.east_rep, customer=customer, changes={"phone": " 0571-87654321 "}
        )
        == []
    )
    assert not ContactChange.objects.exists()
    assert not AuditEvent.objects.filter(action="customer.contact_changed").exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"phone": "not a number"}, "invalid_phone"),
        ({"email": "buyer at example"}, "invalid_email"),
        ({"website": "http://"}, "invalid_website"),
    ],
)
def test_bad_values_are_refused_and_nothing_changes(cast, customer, changes, code):
    with pytest.raises(Invalid) as refused:
        customer_contact_update(actor=cast.east_rep, customer=customer, changes=changes)
    assert refused.value.code == code
    customer.refresh_from_db()
    assert (customer.phone, customer.email) == ("0571-87654321", "buyer@yuanwang-jx.cn")
    assert not ContactChange.objects.exists()


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("east_rep", True),
        ("east_mgr", True),
        ("boss", True),
        ("east_rep2", False),
        ("south_mgr", False),
        ("finance", False),
    ],
)
def test_only_who_works_the_account_changes_its_contact_data(cast, customer, who, allowed):
    actor = getattr(cast, who)
    if allowed:
        customer_contact_update(actor=actor, customer=customer, changes={"phone": "13911112222"})
        assert ContactChange.objects.get().changed_by == actor
    else:
        with pytest.raises(NotFound):
            customer_contact_update(
                actor=actor, customer=customer, changes={"phone": "13911112222"}
            )
        customer.refresh_from_db()
        assert customer.phone == "0571-87654321"
        assert not ContactChange.objects.exists()


def test_a_contact_person_s_new_phone_and_email_are_changes_too(cast, customer):
    contact = contact_person_save(
        actor=cast.east_rep,
        customer=customer,
        person=ContactPerson(name="王采购", phone="13800138000", email="wang@yuanwang-jx.cn"),
    )
    contact_person_save(
        actor=cast.east_rep,
        customer=customer,
        contact=contact,
        person=ContactPerson(name="王采购", phone="13800138000", email="wang88@qq.com"),
    )
    assert list(
        ContactChange.objects.order_by("pk").values_list("field", "old_value", "new_value")
    ) == [
        ("contact_phone", "", "13800138000"),
        ("contact_email", "", "wang@yuanwang-jx.cn"),
        ("contact_email", "wang@yuanwang-jx.cn", "wang88@qq.com"),
    ]
    assert customer.pk in found_by_phone("13800138000")


def test_the_page_changes_contact_data_for_the_owner_and_offers_no_form_to_others(
    cast, customer, client
):
    client.force_login(cast.east_rep)
    page = client.get(f"/customers/{customer.pk}/")
    assert b"data-contact-form" in page.content
    response = client.post(
        f"/customers/{customer.pk}/",
        {"action": "contact", "phone": "13911112222", "email": "", "website": "", "address": ""},
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).phone == "13911112222"
    bad = client.post(
        f"/customers/{customer.pk}/",
        {"action": "contact", "phone": "nope", "email": "", "website": "", "address": ""},
    )
    assert bad.status_code == 200 and "nope" in bad.content.decode()
    client.force_login(cast.east_mgr)  # masked until revealed: no form over masked values
    assert b"data-contact-form" not in client.get(f"/customers/{customer.pk}/").content
    client.force_login(cast.east_rep2)
    refused = client.post(
        f"/customers/{customer.pk}/",
        {"action": "contact", "phone": "13000000000", "email": "", "website": "", "address": ""},
    )
    assert refused.status_code == 404
    assert Customer.objects.get(pk=customer.pk).phone == "13911112222"


def test_the_api_changes_contact_data_and_adds_contact_people(cast, customer, api_client):
    api_client.force_authenticate(cast.east_rep)
    changed = api_client.patch(
        f"/api/v1/customers/{customer.pk}/contact/", {"email": "li@qq.com"}, format="json"
    )
    assert changed.status_code == 200
    assert [(c["field"], c["new_value"]) for c in changed.json()] == [("email", "li@qq.com")]
    added = api_client.post(
        f"/api/v1/customers/{customer.pk}/contacts/",
        {"name": "李经理", "phone": "13500135000"},
        format="json",
    )
    assert added.status_code == 201 and added.json()["name"] == "李经理"
    bad = api_client.patch(
        f"/api/v1/customers/{customer.pk}/contact/", {"phone": "12"}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_phone"
    api_client.force_authenticate(cast.south_rep)
    refused = api_client.patch(
        f"/api/v1/customers/{customer.pk}/contact/", {"email": "x@qq.com"}, format="json"
    )
    assert refused.status_code == 404
    assert Customer.objects.get(pk=customer.pk).email == "li@qq.com"


def test_opening_a_customer_and_revealing_its_contacts_are_recorded(
    cast, customer, client, api_client
):
    client.force_login(cast.east_rep2)  # a colleague's customer: the registry card
    assert client.get(f"/registry/{customer.pk}/").status_code == 200
    api_client.force_authenticate(cast.east_mgr)
    api_client.get(f"/api/v1/customers/{customer.pk}/?reveal=1")
    assert list(
        AccessEvent.objects.order_by("pk").values_list("user__username", "kind", "customer_id")
    ) == [
        ("east_rep2", "view", customer.pk),
        ("east_mgr", "view", customer.pk),
        ("east_mgr", "reveal", customer.pk),
    ]
