"""kedun find-duplicates: screen JSON lines on stdin against the registry."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from kedun.customers.identity.keys import identity_keys
from kedun.customers.services import matches_for

QUERY_KEYS = ("name", "phone", "email", "website", "tax_id")


class Command(BaseCommand):
    help = (
        "Read JSON lines (keys name, phone, email, website, tax_id; others are echoed) "
        "from stdin; write one JSON line per input line with the best matches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=5, help="matches per line (max 5)")

    def handle(self, *args, **options):
        limit = max(1, min(5, options["limit"]))
        out = sys.stdout
        # Written line by line and flushed in batches: a long list streams instead of
        # waiting for the end, and the process stays warm (caches, one connection).
        for number, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                query = json.loads(line)
                if not isinstance(query, dict):
                    raise ValueError("expected a JSON object")
            except ValueError as error:
                out.write(
                    json.dumps(
                        {"line": number, "error": f"not a JSON object: {error}"}, ensure_ascii=False
                    )
                    + "\n"
                )
                continue
            keys = identity_keys(
                name=str(query.get("name") or ""),
                phones=[str(query.get("phone") or "")],
                emails=[str(query.get("email") or "")],
                websites=[str(query.get("website") or "")],
                tax_id=str(query.get("tax_id") or ""),
            )
            answer = {key: value for key, value in query.items() if key not in QUERY_KEYS}
            answer["matches"] = [
                {
                    "code": m.customer.code,
                    "name": m.customer.name,
                    "owner": m.customer.owner.username if m.customer.owner else None,
                    "level": m.level,
                    "score": m.score,
                    "reasons": m.reasons,
                }
                for m in matches_for(keys, limit=limit)
            ]
            if keys.problems:
                answer["problems"] = list(keys.problems)
            out.write(json.dumps(answer, ensure_ascii=False) + "\n")
            if number % 200 == 0:
                out.flush()
        out.flush()
