"""A customer's descriptive fields, and the address and WeChat masked like phones."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_registration_carries_address_industry_and_source(cast, api_client):
    api_client.force_authenticate(cast.east_rep)
    created = api_client.post(
        "/api/v1/customers/",
        {
            "name": "杭州市蓝海科技有限公司",
            "industry": "软件",
            "source": "展会",
            "province": "浙江",
            "city": "杭州",
            "district": "西湖区",
            "address": "文三路 478 号 12 楼",
            "contacts": [{"name": "王采购", "wechat": "wang_buyer_88"}],
        },
        format="json",
    ).json()
    assert (created["industry"], created["source"], created["city"]) == ("软件", "展会", "杭州")
    assert created["address"] == "文三路 478 号 12 楼"
    assert created["contacts"][0]["wechat"] == "wang_buyer_88"
    api_client.force_authenticate(cast.finance)
    seen = api_client.get(f"/api/v1/customers/{created['id']}/").json()
    assert seen["city"] == "杭州"  # the region is not contact data
    assert "478" not in seen["address"] and seen["address"].startswith("*")
    assert (
        seen["contacts"][0]["wechat"].startswith("wa") and "88" not in seen["contacts"][0]["wechat"]
    )
