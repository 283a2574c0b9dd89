from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "kedun.sales"
    label = "sales"
    verbose_name = "From need to cash"
