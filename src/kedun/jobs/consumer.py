from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.utils.module_loading import autodiscover_modules


def consumer_create(**overrides: Any) -> Any:
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")
    options = dict(cast(dict[str, Any], settings.HUEY)["consumer"])
    options.update(overrides)
    return HUEY.create_consumer(**options)
