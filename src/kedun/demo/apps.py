from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kedun.demo"
    label = "demo"
