"""Screening a lead list: every row answered with its match, owner and reasons, as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kedun.audit.models import AuditEvent
from kedun.customers.models import Customer
from kedun.customers.services import ContactInput, customer_register

pytestmark = pytest.mark.django_db

LEADS = """公司名称,电话,邮箱
恒達機械（廣州）有限公司,,
星辰包装,13800001111,
全新未登记科技有限公司,,
,13900000000,
"""


def test_a_lead_list_comes_back_with_match_columns(cast, client):
    hengda = customer_register(
        actor=cast.south_rep,
        name="广州市恒达机械有限公司",
        phone="020-88776655",
        contacts=[ContactInput(name="陈总", phone="13911112222")],
    )
    customer_register(actor=cast.east_rep, name="北京市星辰包装有限公司", phone="13800001111")
    client.force_login(cast.east_rep2)
    upload = SimpleUploadedFile("展会名单.csv", LEADS.encode("gbk"))
    response = client.post(reverse("lead-list-screen"), {"file": upload})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "screened.csv" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["行号", "公司名称"]
    by_line = {row[0]: row for row in rows[1:]}
    assert by_line["2"][6:11] == [
        "重复客户",
        hengda.code,
        "广州市恒达机械有限公司",
        cast.south_rep.display_name,
        "华南",
    ]
    assert by_line["3"][6] in ("重复客户", "疑似重复")
    assert by_line["4"][6] == "未登记"
    assert by_line["5"][6] == "无效行"
    assert "88776655" not in text and "13911112222" not in text and "陈总" not in text
    assert AuditEvent.objects.filter(action="customer.lead_list_screened").count() == 1
    assert Customer.objects.count() == 2  # screening registers nothing


def test_an_unreadable_list_gets_a_clear_error(cast, client):
    client.force_login(cast.east_rep)
    upload = SimpleUploadedFile("old.xls", b"\xd0\xcf\x11\xe0 not really")
    response = client.post(reverse("lead-list-screen"), {"file": upload})
    assert response.status_code == 200
    assert ".xlsx" in response.content.decode()
