from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.pagination import Pagination
from kedun.org.access import acting_user

from .models import Contact, Customer
from .selectors import customer_get_for_viewer, customer_list_visible_to
from .services import ContactInput, customer_register


class ContactOutput(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "title", "phone", "email"]


class CustomerOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    owner_department = serializers.CharField(
        source="owner.department.name", allow_null=True, default=None
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "short_name",
            "stage",
            "owner",
            "owner_department",
            "registered_at",
            "last_follow_up_at",
        ]


class CustomerDetailOutput(CustomerOutput):
    contacts = ContactOutput(many=True)

    class Meta(CustomerOutput.Meta):
        fields = [*CustomerOutput.Meta.fields, "contacts"]


class ContactInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=100, required=False, default="")
    phone = serializers.CharField(max_length=40, required=False, default="")
    email = serializers.EmailField(required=False, default="")


class CustomerRegisterInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    short_name = serializers.CharField(max_length=100, required=False, default="")
    contacts = ContactInputSerializer(many=True, required=False, default=list)


class CustomerListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=CustomerOutput(many=True),
        summary="Customers in your data scope",
    )
    def get(self, request: Request) -> Response:
        customers = customer_list_visible_to(
            viewer=acting_user(request), search=request.query_params.get("search", "")
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(customers, request, view=self)
        return paginator.get_paginated_response(CustomerOutput(page, many=True).data)

    @extend_schema(
        request=CustomerRegisterInput,
        responses={201: CustomerDetailOutput},
        summary="Register a customer (you become its owner)",
    )
    def post(self, request: Request) -> Response:
        data = CustomerRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_register(
            actor=acting_user(request),
            name=data.validated_data["name"],
            short_name=data.validated_data["short_name"],
            contacts=[ContactInput(**c) for c in data.validated_data["contacts"]],
        )
        return Response(CustomerDetailOutput(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetailApi(APIView):
    @extend_schema(responses=CustomerDetailOutput, summary="One customer in your data scope")
    def get(self, request: Request, customer_id: int) -> Response:
        customer = customer_get_for_viewer(viewer=acting_user(request), customer_id=customer_id)
        return Response(CustomerDetailOutput(customer).data)
