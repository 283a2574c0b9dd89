from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "kedun.field"
    label = "field"
    verbose_name = _("Field work")

    def ready(self) -> None:
        # Visits appear on the customer's timeline, and follow a merge, without the customers
        # app importing this one.
        from kedun.customers.disputes import MERGE_MOVERS
        from kedun.customers.selectors import TIMELINE_SOURCES

        from .timeline import check_in_entries, check_ins_move

        if check_in_entries not in TIMELINE_SOURCES:
            TIMELINE_SOURCES.append(check_in_entries)
        if check_ins_move not in MERGE_MOVERS:
            MERGE_MOVERS.append(check_ins_move)
