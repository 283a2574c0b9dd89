"""Deployment checks of Kedun's own (`kedun check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def shared_keys_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """With PostgreSQL or Redis, Kedun is meant to run on several machines; a key generated
    into each machine's data dir differs from machine to machine: sessions signed by one web
    server are refused by the next, and audit events written by one server's key do not
    verify under another's (`kedun audit verify` would name them as forged)."""
    if not (settings.DATABASE_URL or settings.REDIS_URL):
        return []
    warnings: list[Warning] = []
    for variable, value, why in (
        ("KEDUN_SECRET_KEY", settings.KEDUN_SECRET_KEY_SET, "sessions and signed links"),
        ("KEDUN_AUDIT_KEY", settings.AUDIT_KEY, "the audit chain"),
    ):
        if not value:
            warnings.append(
                Warning(
                    f"{variable} is not set: each machine generates its own key into its data "
                    f"dir, and {why} signed on one machine fail on another.",
                    hint=f"Set the same {variable} on every web and job-worker machine "
                    "(README: Running at scale).",
                    id=f"kedun.W00{len(warnings) + 1}",
                )
            )
    return warnings
