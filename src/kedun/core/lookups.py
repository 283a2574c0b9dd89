"""`field__any_of=values`: the `__in` of a long list of plain values, for bulk readers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.fields.related import ForeignObject
from django.db.models.lookups import In


class AnyOf(In):
    """As `__in` for plain values (str, int — no expressions, no querysets). On PostgreSQL
    the list goes as one array parameter, `= ANY(%s)`, instead of a placeholder per value:
    for the 5,000 digests of a history import batch, Django's preparation of each value and
    the driver's splitting of the long statement cost more than the query. Elsewhere it is
    `__in`."""

    lookup_name = "any_of"
    prepare_rhs = False  # plain values: the driver adapts them

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        values = [value for value in self.rhs if value is not None]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # related fields keep lookups of their own: order_id__any_of
