"""Mail sent naming a customer the sender cannot see: a documented 404 (found by
tests/api/test_fuzz.py), and nothing sent."""

from __future__ import annotations

import pytest

from kedun.comms.models import Message
from tests.api.schema import documented_call
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_mail_naming_a_customer_out_of_scope_is_a_documented_404(cast):
    elsewhere = CustomerFactory(owner=cast.south_rep)
    response = documented_call(
        cast.east_rep,
        "POST",
        "/api/v1/mail/send/",
        body={"to": "buyer@example.cn", "body": "报价见附件", "customer": elsewhere.pk},
    )
    assert response.status_code == 404
    assert not Message.objects.exists()
