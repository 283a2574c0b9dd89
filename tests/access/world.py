"""The object world the permission matrix calls every route in: one company (the `cast` of
tests/conftest.py, plus east_peer, a plain colleague of the owner, and east_reader) and one of
everything a URL can name, each made by the people whose step it is, through the API where one
exists.

The customer at the centre: 杭州恒达机械有限公司, owned by east_rep (manager east_mgr), with
east_rep2 (read-write) and east_reader (read only) on its account team. Around it: a quote
waiting for approval and one that became an order, shipped, invoiced and partly paid; a
check-in; a dispute (south_rep asks for the customer); mail (one message east_rep sent, one
east_rep deleted); a document; an export east_mgr made and one east_rep waits on; a finding and
a case file on east_rep; east_team_rep in leaver mode.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from kedun.customers.models import Customer, TeamAccess
from kedun.org.models import DataScope, Role, User
from tests.comms.conftest import corpus, store
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    PriceListFactory,
    PriceListItemFactory,
    ProductFactory,
    UserFactory,
)
from tests.field.conftest import WEBM, check_in_form, jpeg

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
TODAY = dt.date(2026, 3, 2)
HANGZHOU = (30.2741, 120.1551)


@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # session keys
    before: dict[str, str] = field(default_factory=dict)  # the database's fingerprint


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json() if response.content else {}


def _company() -> dict[str, User]:
    company = DepartmentFactory(name="公司")
    east = DepartmentFactory(name="华东", parent=company)
    east_team = DepartmentFactory(name="华东一组", parent=east)
    south = DepartmentFactory(name="华南", parent=company)
    back = DepartmentFactory(name="后台", parent=company)
    boss = UserFactory(username="boss", role=Role.ADMIN, department=company)
    east_mgr = UserFactory(username="east_mgr", role=Role.MANAGER, department=east, manager=boss)
    east_lead = UserFactory(
        username="east_lead",
        department=east,
        manager=east_mgr,
        data_scope=DataScope.OWN_AND_SUBORDINATES,
    )
    south_mgr = UserFactory(username="south_mgr", role=Role.MANAGER, department=south, manager=boss)
    people = [
        boss,
        east_mgr,
        east_lead,
        south_mgr,
        UserFactory(username="east_rep", department=east, manager=east_mgr),
        UserFactory(username="east_rep2", department=east, manager=east_mgr),
        UserFactory(username="east_peer", department=east, manager=east_mgr),
        UserFactory(username="east_reader", department=east, manager=east_mgr),
        UserFactory(username="east_junior", department=east, manager=east_lead),
        UserFactory(username="east_team_rep", department=east_team, manager=east_mgr),
        UserFactory(username="south_rep", department=south, manager=south_mgr),
        UserFactory(username="orders", role=Role.ORDERS, department=back),
        UserFactory(username="logistics", role=Role.LOGISTICS, department=back),
        UserFactory(username="finance", role=Role.FINANCE, department=back),
        UserFactory(username="auditor", role=Role.AUDITOR, department=back),
    ]
    return {user.username: user for user in people}


def build_world() -> World:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kedun.comms.models import Mailbox, MessageOwner
    from kedun.comms.secrets import password_encrypt
    from kedun.exports.models import ExportRequest
    from kedun.insights.models import CaseFile, Finding, RepRisk, RiskRun
    from kedun.org.services import token_for_user
    from kedun.sales.catalogue import DEFAULT_LOST_REASONS
    from kedun.sales.models import LostReason

    users = _company()
    world = World(users=users)
    u = users
    api = APIClient()

    def as_(name: str) -> APIClient:
        api.force_authenticate(u[name])
        return api

    def post(name: str, url: str, data: dict | None = None, *, status: int = 200, **kw) -> dict:
        kw.setdefault("format", "json")
        return _ok(as_(name).post(url, data or {}, **kw), status)

    if not LostReason.objects.exists():  # a flushed database elsewhere in the run may lack them
        LostReason.objects.bulk_create(
            LostReason(code=code, label=label, needs_competitor=needs, position=(i + 1) * 10)
            for i, (code, label, needs) in enumerate(DEFAULT_LOST_REASONS)
        )

    # -- the customer at the centre and its account team ---------------------------------
    customer = CustomerFactory(
        name="杭州恒达机械有限公司",
        owner=u["east_rep"],
        registered_by=u["east_rep"],
        registered_at=T0 - dt.timedelta(days=30),
        owned_since=T0 - dt.timedelta(days=30),
        email="info@hengda-jx.com",
        phone="+8657188880000",
        website="hengda-jx.com",
        lat=HANGZHOU[0],
        lng=HANGZHOU[1],
        location_source="set",
    )
    world.ids["customer_id"] = customer.pk
    post(
        "east_rep",
        f"/api/v1/customers/{customer.pk}/team/",
        {"user": "east_rep2", "access": TeamAccess.WRITE},
        status=201,
    )
    post(
        "east_rep",
        f"/api/v1/customers/{customer.pk}/team/",
        {"user": "east_reader", "access": TeamAccess.READ},
        status=201,
    )
    post(
        "east_rep",
        f"/api/v1/customers/{customer.pk}/follow-ups/",
        {"kind": "call", "content": "电话沟通了循环水泵的需求，下周报价"},
        status=201,
    )
    post(
        "south_rep",
        f"/api/v1/customers/{customer.pk}/ownership-request/",
        {"reason": "这家公司去年是我先联系的"},
        status=201,
    )
    from kedun.customers.models import Dispute

    world.ids["dispute_id"] = Dispute.objects.get(customer=customer).pk

    pool_customer = CustomerFactory(
        name="苏州新湖泵业有限公司",
        owner=None,
        registered_by=u["east_mgr"],
        registered_at=T0 - dt.timedelta(days=200),
        pool_entered_at=T0 - dt.timedelta(days=5),
    )
    world.ids["pool_customer_id"] = pool_customer.pk

    # -- catalogue -------------------------------------------------------------------------
    pump = ProductFactory(
        sku="PUMP-100", name="离心泵", list_price="1000.00", floor_price="850.00", lead_time_days=20
    )
    world.ids["product_id"] = pump.pk
    item = PriceListItemFactory(
        price_list=PriceListFactory(name="2026 价目表"), product=pump, price="950.00"
    )
    world.ids["price_list_id"] = item.price_list_id
    world.ids["reason_id"] = LostReason.objects.order_by("pk").first().pk

    # -- quotes, an order and its road to cash ------------------------------------------------
    lines = [{"product": pump.pk, "quantity": "2", "unit_price": "800.00"}]
    valid_until = (TODAY + dt.timedelta(days=30)).isoformat()
    body = {"customer": customer.pk, "lines": lines, "valid_until": valid_until}
    pending = post("east_rep", "/api/v1/quotes/", body, status=201)
    post("east_rep", f"/api/v1/quotes/{pending['id']}/submit/")
    world.ids["quote_id"] = pending["id"]
    sold = post("east_rep", "/api/v1/quotes/", body, status=201)
    url = f"/api/v1/quotes/{sold['id']}"
    post("east_rep", f"{url}/submit/")
    post("east_mgr", f"{url}/approve/")
    post("east_rep", f"{url}/send/")
    post("east_rep", f"{url}/accept/")
    promised = (TODAY + dt.timedelta(days=20)).isoformat()
    order = post("east_rep", f"{url}/order/", {"promised_date": promised}, status=201)
    world.ids["order_id"] = order["id"]
    world.ids["order_line_id"] = order["lines"][0]["id"]
    url = f"/api/v1/orders/{order['id']}"
    post("orders", f"{url}/production/")
    post(
        "logistics",
        f"{url}/shipments/",
        {
            "lines": [{"line": order["lines"][0]["id"], "quantity": "1"}],
            "carrier": "顺丰",
            "tracking_number": "SF1",
        },
        status=201,
    )
    bill = post(
        "finance",
        f"{url}/invoices/",
        {"number": "FP00000001", "amount": "1000.00", "issued_on": TODAY.isoformat()},
        status=201,
    )
    world.ids["invoice_id"] = bill["id"]
    payment = post(
        "finance",
        f"/api/v1/invoices/{bill['id']}/payments/",
        {
            "amount": "500.00",
            "received_on": TODAY.isoformat(),
            "payer_name": customer.name,
            "payer_account": "6222 0202 0011 2233",
        },
        status=201,
    )
    world.ids["payment_id"] = payment["id"]

    # -- field: a check-in at the customer ----------------------------------------------------
    form = check_in_form(
        customer,
        at=T0 - dt.timedelta(minutes=30),
        photo=jpeg(taken_at=T0 - dt.timedelta(minutes=30)),
        key=uuid.UUID(int=1).hex,
    )
    form["audio"] = SimpleUploadedFile("voice.webm", WEBM, "audio/webm;codecs=opus")
    check_in = post("east_rep", "/api/v1/check-ins/", form, status=201, format="multipart")
    world.ids["check_in_id"] = check_in["id"]

    # -- a leaver (the leaver routes' person: east_rep leaving would stop the owner's exports) ----
    post("east_mgr", f"/api/v1/people/{u['east_team_rep'].pk}/leaver/", {"reason": "下月离职"})
    world.ids["leaver_id"] = u["east_team_rep"].pk

    # -- mail, documents ------------------------------------------------------------------------
    sent = store(
        corpus("multipart_quote.eml", **{"rep1@kedun.test": "east_rep@kedun.test"}),
        owner=u["east_rep"],
        sent_by=u["east_rep"],
    )
    world.ids["message_pk"] = sent.pk
    world.ids["attachment_pk"] = sent.attachments.order_by("pk").first().pk
    hidden = store(corpus("gb2312_holding_gbk.eml"), owner=u["east_rep"])
    post("east_rep", f"/api/v1/mail/{hidden.pk}/delete/", status=204)
    world.ids["row_pk"] = MessageOwner.objects.get(message=hidden, user=u["east_rep"]).pk
    mailbox = Mailbox.objects.create(
        address="east_rep@kedun.test",
        user=u["east_rep"],
        imap_host="127.0.0.1",
        imap_port=9,
        smtp_host="127.0.0.1",
        smtp_port=9,
        login="east_rep@kedun.test",
        password_encrypted=password_encrypt("not-a-real-password"),
        created_by=u["boss"],
        created_at=T0,
    )
    world.ids["mailbox_pk"] = mailbox.pk
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    document = post(
        "east_rep",
        f"/api/v1/customers/{customer.pk}/documents/",
        {
            "title": "合同",
            "kind": "contract",
            "file": SimpleUploadedFile("contract.pdf", pdf, "application/pdf"),
        },
        status=201,
        format="multipart",
    )
    world.ids["document_pk"] = document["id"]
    world.ids["version_pk"] = document["versions"][0]["id"]

    # -- exports -----------------------------------------------------------------------------
    made = post("east_mgr", "/api/v1/exports/", {"kind": "customers", "format": "csv"}, status=201)
    world.ids["export_id"] = made["id"]
    world.ids["canary_phone"] = ExportRequest.objects.get(pk=made["id"]).canary.phone
    waiting = ExportRequest.objects.create(
        requester=u["east_rep"], kind="customers", format="csv", rows=500, created_at=T0
    )
    world.ids["pending_export_id"] = waiting.pk

    # -- insights ------------------------------------------------------------------------------
    run = RiskRun.objects.create(as_of=TODAY, mode="full", started_at=T0)
    finding = Finding.objects.create(
        run=run,
        rep=u["east_rep"],
        kind="orders_dried_up",
        family="business",
        customer=customer,
        started_on=TODAY - dt.timedelta(days=60),
        ended_on=TODAY,
        strength=1.0,
        facts={},
    )
    world.ids["finding_id"] = finding.pk
    RepRisk.objects.create(run=run, rep=u["east_rep"], score=1.0, rank=1, customers=1)
    case = CaseFile.objects.create(
        rep=u["east_rep"], title="东区调查", opened_by=u["east_mgr"], opened_at=T0, evidence={}
    )
    world.ids["case_id"] = case.pk

    world.ids["user_id"] = u["east_rep"].pk
    world.ids["rep_id"] = u["east_rep"].pk
    world.ids["username"] = "east_rep"
    world.ids["collaborator_username"] = "east_rep2"
    world.ids["row_id"] = world.ids["row_pk"]

    # -- how every actor calls: a token for the API, a session for pages -----------------------
    api.force_authenticate(None)
    for name, user in users.items():
        world.tokens[name] = token_for_user(actor=None, user=user).key
        client = Client()
        client.force_login(user)
        world.sessions[name] = client.session.session_key
    assert Customer.objects.count() == 2
    return world
