from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "kedun.lifecycle"
    label = "lifecycle"
    verbose_name = "Customer lifecycle and the public pool"
