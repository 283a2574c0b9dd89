"""A leaked file names its exporter: `kedun canary find VALUE`, the boss's page and the API
tell whose export a canary's phone, email, number or name came from."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from kedun.exports.models import Canary
from kedun.exports.services import export_request
from tests.factories import CustomerFactory


@pytest.fixture
def leaked(cast):
    CustomerFactory.create_batch(2, owner=cast.east_mgr)
    export = export_request(actor=cast.east_mgr, kind="customers", format="csv")
    return Canary.objects.get(export=export)


def find(value: str) -> dict:
    out = io.StringIO()
    call_command("canary", "find", value, stdout=out)
    return json.loads(out.getvalue())


def spaced(phone: str) -> str:
    return f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"


def test_the_command_names_the_exporter_from_any_canary_value(leaked):
    for value in (
        leaked.phone,
        spaced(leaked.phone),
        leaked.email.upper(),
        leaked.code,
        leaked.name,
    ):
        found = find(value)
        assert (found["export"], found["exported_by"]) == (leaked.export_id, "east_mgr"), value
        assert found["canary"]["phone"] == leaked.phone


def test_the_command_fails_for_a_value_that_is_no_canary(leaked, cast):
    real = CustomerFactory(owner=cast.east_rep, phone="13912345678")
    with pytest.raises(CommandError, match="is not a canary"):
        call_command("canary", "find", real.phone)


def test_every_export_has_its_own_canary(cast):
    CustomerFactory(owner=cast.east_mgr)
    first = export_request(actor=cast.east_mgr, kind="customers", format="csv")
    second = export_request(actor=cast.east_mgr, kind="customers", format="xlsx")
    a, b = Canary.objects.get(export=first), Canary.objects.get(export=second)
    assert len({a.phone, b.phone}) == len({a.email, b.email}) == len({a.code, b.code}) == 2


def test_the_boss_finds_the_exporter_on_the_page(leaked, client, cast):
    client.force_login(cast.boss)
    response = client.get("/exports/canary/", {"value": spaced(leaked.phone)})
    text = response.content.decode()
    assert 'class="exporter">east_mgr (east_mgr)' in text
    assert f"Export #{leaked.export_id}" in text

    assert "no canary" in client.get("/exports/canary/", {"value": "13000000000"}).content.decode()


@pytest.mark.parametrize("who", ["east_mgr", "east_rep", "finance"])
def test_the_lookup_is_for_the_boss_and_the_auditor(leaked, client, api_client, cast, who):
    client.force_login(getattr(cast, who))
    assert client.get("/exports/canary/", {"value": leaked.phone}).status_code == 403
    api_client.force_authenticate(getattr(cast, who))
    assert api_client.get("/api/v1/canaries/", {"value": leaked.phone}).status_code == 403


def test_the_auditor_finds_it_through_the_api(leaked, api_client, cast):
    api_client.force_authenticate(cast.auditor)
    response = api_client.get("/api/v1/canaries/", {"value": leaked.email})
    assert response.status_code == 200
    assert response.json()["export"]["requester"] == "east_mgr"
    assert api_client.get("/api/v1/canaries/", {"value": "nobody@x.cn"}).status_code == 404
