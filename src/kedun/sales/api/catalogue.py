"""The catalogue over the API: products (kept by the CATALOGUE duty) and lost reasons."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import NotFound
from kedun.core.pagination import Pagination
from kedun.org.access import acting_user

from ..catalogue import KEEP, lost_reasons, product_create, product_update
from ..duties import Step, may
from ..models import Product
from ..serializers import LostReasonOutput, ProductCreateInput, ProductOutput, ProductUpdateInput
from .common import PAGE, REFUSED, paginated, valid_data

# -- the catalogue ----------------------------------------------------------------------------


class ProductListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=PAGE,
        responses=ProductOutput(many=True),
        summary="The catalogue: active products (retired ones too for whoever keeps it)",
    )
    def get(self, request: Request) -> Response:
        products: QuerySet[Product] = Product.objects.order_by("sku")
        if not may(acting_user(request), Step.CATALOGUE):
            products = products.filter(active=True)
        paginator, page = paginated(request, self, products)
        return paginator.get_paginated_response(ProductOutput(page, many=True).data)

    @extend_schema(
        request=ProductCreateInput,
        responses={201: ProductOutput, **REFUSED},
        summary="Add a product (whoever keeps the catalogue)",
    )
    def post(self, request: Request) -> Response:
        data = valid_data(ProductCreateInput, request)
        product = product_create(actor=acting_user(request), **data)
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(APIView):
    @extend_schema(
        request=ProductUpdateInput,
        responses={200: ProductOutput, **REFUSED},
        summary="Change a product; only the fields sent change (whoever keeps the catalogue)",
        description="Quotes already written keep their prices.",
    )
    def patch(self, request: Request, product_id: int) -> Response:
        data = ProductUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = Product.objects.filter(pk=product_id).first()
        if product is None:
            raise NotFound()
        changes: dict[str, Any] = {
            str(name): data.validated_data.get(name, KEEP) for name in data.fields
        }
        product = product_update(actor=acting_user(request), product=product, **changes)
        return Response(ProductOutput(product).data)


class LostReasonListApi(APIView):
    @extend_schema(
        responses=LostReasonOutput(many=True),
        summary="The reasons a deal can be lost for; some ask for the competitor's name",
    )
    def get(self, request: Request) -> Response:
        acting_user(request)
        return Response(LostReasonOutput(lost_reasons(), many=True).data)
