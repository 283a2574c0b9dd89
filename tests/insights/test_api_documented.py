"""The risk report before any risk run: a documented 404 (found by tests/api/test_fuzz.py)."""

from __future__ import annotations

import pytest

from kedun.insights.models import RiskRun
from tests.api.schema import documented_call

pytestmark = pytest.mark.django_db


def test_the_risk_report_before_any_run_is_a_documented_404(cast):
    assert not RiskRun.objects.exists()
    response = documented_call(cast.east_mgr, "GET", "/api/v1/insights/risk/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
