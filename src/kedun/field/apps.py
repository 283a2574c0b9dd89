from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "kedun.field"
    label = "field"
    verbose_name = _("Field work")

    def ready(self) -> None:
        # Visits appear on the customer's timeline without the customers app importing this.
        from kedun.customers.selectors import TIMELINE_SOURCES

        from .timeline import check_in_entries

        if check_in_entries not in TIMELINE_SOURCES:
            TIMELINE_SOURCES.append(check_in_entries)
