"""The insights' tests: small hand-built histories, imported as `kedun import-history` would,
then read by the detectors, the scoring and the risk view."""

from __future__ import annotations

import datetime as dt

import pytest

from kedun.insights.activity import activity_refresh
from kedun.insights.data import AnalysisData, analysis_data_load
from kedun.org.models import User

from .stories import LAST_DAY


@pytest.fixture(autouse=True)
def _sentences_in_english(sentences_in_english):
    yield


def analysed(as_of: dt.date = LAST_DAY) -> AnalysisData:
    """What a full risk run reads, as of the end of `as_of`."""
    activity_refresh(since=None, until=as_of)
    return analysis_data_load(as_of)


def user(username: str) -> User:
    return User.objects.get(username=username)
