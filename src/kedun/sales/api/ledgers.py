"""Receivables with their ageing, and the commission ledger."""

from __future__ import annotations

import dataclasses

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import Forbidden, Invalid
from kedun.core.pagination import Pagination
from kedun.org.access import acting_user
from kedun.org.models import User
from kedun.org.selectors import user_directory

from ..commission import commission_ledger
from ..receivables import MONEY_VIEWERS, receivable_of, receivables_open
from ..reports import AGEING_BUCKETS
from ..serializers import CommissionLedgerOutput, ReceivableOutput
from .common import PAGE, REFUSED, paginated

# -- receivables and commission ---------------------------------------------------------------


class ReceivableListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[
            OpenApiParameter("bucket", str, enum=list(AGEING_BUCKETS), description="ageing"),
            *PAGE,
        ],
        responses={200: ReceivableOutput(many=True), 400: REFUSED[400], 403: REFUSED[403]},
        summary="Open invoices of the orders you may see, oldest due first, with their ageing",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        if not viewer.has_role(*MONEY_VIEWERS):
            raise Forbidden()  # as the receivables page
        invoices = receivables_open(
            viewer=viewer, bucket=request.query_params.get("bucket") or None
        ).select_related("recorded_by")
        paginator, page = paginated(request, self, invoices)
        return paginator.get_paginated_response(
            ReceivableOutput([receivable_of(invoice) for invoice in page], many=True).data
        )


class CommissionLedgerApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "rep", str, description="a username (managers: one of your people); default you"
            ),
            *PAGE,
        ],
        responses={200: CommissionLedgerOutput, 400: REFUSED[400]},
        summary="A commission ledger, newest first, with the totals per status",
        description="Everyone sees their own; a manager their people's, by data scope.",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        username = request.query_params.get("rep", "").strip()
        rep: User | None = viewer
        if username:
            rep = user_directory(viewer=viewer).filter(username__iexact=username).first()
            if rep is None:
                raise Invalid(
                    _("There is no user %(name)s.") % {"name": username},
                    detail={"rep": [username]},
                )
        ledger = commission_ledger(viewer=viewer, rep=rep)
        paginator, page = paginated(request, self, ledger.entries)
        totals = ledger.totals
        ledger_page = {
            "rep": rep.username if rep else None,
            "totals": {**dataclasses.asdict(totals), "earned": totals.earned},
            "count": paginator.page.paginator.count if paginator.page else 0,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": page,
        }
        return Response(CommissionLedgerOutput(ledger_page).data)
