from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _statistics_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    from .db import planner_statistics_refresh

    if kwargs.get("plan"):  # migrations were applied: perhaps new indexes to learn about
        planner_statistics_refresh()


class CoreConfig(AppConfig):
    name = "kedun.core"
    label = "core"

    def ready(self) -> None:
        from . import checks, lookups  # noqa: F401  (registers the checks and __any_of)

        # `migrate` sends post_migrate once per app that has models (this one has none); the
        # last of them comes after every migration has run.
        last = [config for config in apps.get_app_configs() if config.models_module][-1]
        post_migrate.connect(_statistics_after_migrate, sender=last)
