"""SMS: templates with variables, the console backend, the HTTP gateway adapter against a real
HTTP server on loopback, the rate limit, the timeline."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from kedun.audit.models import AuditEvent
from kedun.comms.models import SmsMessage, SmsStatus
from kedun.comms.sms import sms_send, sms_template_save
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.customers.services import ContactInput, customer_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(cast):
    return customer_register(
        actor=cast.east_rep,
        name="杭州市蓝海科技有限公司",
        short_name="蓝海科技",
        phone="0571-88886666",
        contacts=[ContactInput(name="王采购", phone="139 0000 1111")],
    )


@pytest.fixture
def gateway():
    """A Chinese-provider-shaped gateway: answers {"code": "0"} unless the text says FAIL."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append({"path": self.path, "body": body, "type": self.headers["Content-Type"]})
            answer = {"code": "isv.FAIL", "msg": "黑名单"} if "FAIL" in body else {"code": "0"}
            data = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_template_is_filled_and_sent_through_the_console(cast, customer, client):
    template = sms_template_save(
        actor=cast.east_mgr,
        name="到货通知",
        text="{contact}您好，{customer}的货已于{date}发出。{sender}",
    )
    message = sms_send(
        actor=cast.east_rep,
        customer=customer,
        phone="13900001111",
        template=template,
        variables={"date": "3月2日"},
    )
    assert message.status == SmsStatus.SENT and message.backend == "console"
    assert message.text == "王采购您好，蓝海科技的货已于3月2日发出。east_rep"
    assert message.phone == "+8613900001111"
    assert AuditEvent.objects.filter(action="sms.sent", actor_label="east_rep").count() == 1
    client.force_login(cast.east_rep)
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert "entry-sms" in page and "蓝海科技的货已于3月2日发出" in page


def test_a_missing_variable_is_named(cast, customer):
    template = sms_template_save(actor=cast.boss, name="提醒", text="请于{date}前付款")
    with pytest.raises(Invalid, match="date"):
        sms_send(actor=cast.east_rep, customer=customer, phone="13900001111", template=template)
    assert SmsMessage.objects.count() == 0


def test_only_the_customers_mobiles_and_people(cast, customer):
    with pytest.raises(Invalid):
        sms_send(actor=cast.east_rep, customer=customer, phone="13811112222", text="你好")
    with pytest.raises(Invalid):  # a landline takes no SMS
        sms_send(actor=cast.east_rep, customer=customer, phone="0571-88886666", text="你好")
    with pytest.raises(Forbidden):
        sms_send(actor=cast.east_rep2, customer=customer, phone="13900001111", text="你好")


def test_the_http_gateway(cast, customer, gateway, settings):
    url, received = gateway
    settings.KEDUN_SMS_BACKEND = "http"
    settings.KEDUN_SMS_HTTP_URL = f"{url}/sms/send?sign=KEDUN"
    settings.KEDUN_SMS_HTTP_METHOD = "POST"
    settings.KEDUN_SMS_HTTP_BODY = (
        "PhoneNumbers={mobile}&TemplateCode={template}&TemplateParam={params}&Text={text}"
    )
    settings.KEDUN_SMS_HTTP_SUCCESS = '"code"\\s*:\\s*"0"'
    template = sms_template_save(
        actor=cast.boss, name="报价", text="{customer}：报价已发送", provider_code="SMS_123"
    )
    sent = sms_send(actor=cast.east_rep, customer=customer, phone="13900001111", template=template)
    assert sent.status == SmsStatus.SENT and sent.backend == "http"
    form = urllib.parse.parse_qs(received[0]["body"])
    assert received[0]["path"] == "/sms/send?sign=KEDUN"
    assert form == {
        "PhoneNumbers": ["13900001111"],
        "TemplateCode": ["SMS_123"],
        "TemplateParam": ['{"customer": "蓝海科技"}'],
        "Text": ["蓝海科技：报价已发送"],
    }
    failed = sms_send(actor=cast.east_rep, customer=customer, phone="13900001111", text="FAIL")
    assert failed.status == SmsStatus.FAILED and "黑名单" in failed.error
    assert AuditEvent.objects.filter(action="sms.failed").count() == 1


def test_the_rate_limit_counts_every_message_of_the_sender(cast, customer, settings):
    settings.KEDUN_SMS_PER_HOUR = 2
    for _ in range(2):
        sms_send(actor=cast.east_rep, customer=customer, phone="13900001111", text="你好")
    with pytest.raises(Conflict, match="limit"):
        sms_send(actor=cast.east_rep, customer=customer, phone="13900001111", text="你好")
    assert SmsMessage.objects.count() == 2


def test_a_non_owner_sees_the_number_masked(cast, customer, api_client):
    sms_send(actor=cast.east_rep, customer=customer, phone="13900001111", text="你好")
    api_client.force_authenticate(cast.finance)
    body = api_client.get(f"/api/v1/customers/{customer.pk}/sms/").json()
    assert body["results"][0]["phone"] == "139****1111"
