"""Temporary: record what every actor gets from every route."""
import json
import os

import pytest

from .calling import ACTORS, call, fingerprint
from .routes_enum import all_routes


@pytest.mark.django_db
@pytest.mark.skipif(not os.environ.get("RECORD"), reason="recording only")
def test_record(world):
    before = fingerprint()
    out = {}
    for route in all_routes():
        if route.name in {"logout", "i18n:set_language"}:
            continue
        for method in route.methods:
            row = {}
            for actor in ACTORS:
                row[actor] = call(world, route, method, actor, before).describe()
            out[f"{route.name} {method}"] = row
    with open(os.environ["RECORD"], "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
