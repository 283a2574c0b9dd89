"""kedun find-duplicates: JSON lines in, one JSON line out per input line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from kedun.customers.services import customer_register

pytestmark = pytest.mark.django_db


def run(monkeypatch, text: str) -> list[dict]:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    call_command("find-duplicates")
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_line_is_answered_in_order_with_extra_keys_echoed(cast, monkeypatch):
    hengda = customer_register(
        actor=cast.south_rep, name="广州市恒达机械有限公司", phone="13912345678"
    )
    lines = run(
        monkeypatch,
        "\n".join(
            [
                json.dumps({"qid": "a", "name": "恒達機械（廣州）有限公司", "source": "fair"}),
                json.dumps({"qid": "b", "phone": "+86 139 1234 5678"}),
                json.dumps({"qid": "c", "name": "全新公司科技"}),
                "{broken",
            ]
        )
        + "\n",
    )
    assert [line.get("qid") for line in lines] == ["a", "b", "c", None]
    first = lines[0]
    assert first["source"] == "fair"
    assert first["matches"][0] == {
        "code": hengda.code,
        "name": "广州市恒达机械有限公司",
        "owner": "south_rep",
        "level": "duplicate",
        "score": 98,
        "reasons": first["matches"][0]["reasons"],
    }
    assert lines[1]["matches"][0]["level"] == "possible"
    assert "139****5678" in lines[1]["matches"][0]["reasons"][0]
    assert lines[2]["matches"] == []
    assert lines[3] == {"line": 4, "error": lines[3]["error"]}


def test_at_most_five_matches_best_first(cast, monkeypatch):
    for city in ["北京", "上海", "广州", "杭州", "南京", "成都", "武汉"]:
        customer_register(
            actor=cast.east_rep, name=f"{city}市蓝海科技有限公司", confirm_possible=True
        )
    [line] = run(monkeypatch, json.dumps({"name": "杭州蓝海科技有限公司"}) + "\n")
    assert len(line["matches"]) == 5
    assert line["matches"][0]["name"] == "杭州市蓝海科技有限公司"
    scores = [m["score"] for m in line["matches"][1:]]
    assert scores == sorted(scores, reverse=True)
