from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sentences_in_english(sentences_in_english):
    yield
