from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kedun.core"
    label = "core"
