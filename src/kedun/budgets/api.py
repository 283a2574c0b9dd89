"""Budgets and leaver mode through the API, for managers over the person."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import NotFound
from kedun.org.access import acting_user
from kedun.org.models import User

from .models import BudgetKind
from .selectors import people_under, team_budgets
from .services import MAX_GRANT, budget_grant, leaver_end, leaver_mark


class BudgetLineOutput(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    views = serializers.IntegerField()
    view_limit = serializers.IntegerField(allow_null=True)
    reveals = serializers.IntegerField()
    reveal_limit = serializers.IntegerField(allow_null=True)
    leaving = serializers.SerializerMethodField()

    def get_leaving(self, line) -> bool:
        return line.leaver is not None


class GrantInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BudgetKind.choices)
    extra = serializers.IntegerField(min_value=1, max_value=MAX_GRANT)


class LeaverInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


def _person(viewer: User, user_id: int) -> User:
    person = people_under(viewer=viewer).filter(pk=user_id).first()
    if person is None:
        raise NotFound()
    return person


class TeamBudgetsApi(APIView):
    @extend_schema(
        responses=BudgetLineOutput(many=True),
        summary="Today's budgets of the people under you",
    )
    def get(self, request: Request) -> Response:
        lines = team_budgets(viewer=acting_user(request))
        return Response(BudgetLineOutput(lines, many=True).data)


class BudgetGrantApi(APIView):
    @extend_schema(
        request=GrantInput,
        responses=BudgetLineOutput,
        summary="Grant someone under you more for today (audited)",
    )
    def post(self, request: Request, user_id: int) -> Response:
        viewer = acting_user(request)
        data = GrantInput(data=request.data)
        data.is_valid(raise_exception=True)
        person = _person(viewer, user_id)
        budget_grant(
            actor=viewer,
            user=person,
            kind=data.validated_data["kind"],
            extra=data.validated_data["extra"],
        )
        line = next(line for line in team_budgets(viewer=viewer) if line.user.pk == person.pk)
        return Response(BudgetLineOutput(line).data)


class LeaverApi(APIView):
    @extend_schema(
        request=LeaverInput,
        responses=BudgetLineOutput,
        summary="Leaver mode on for someone under you: exports off, budgets cut, views "
        "reported daily (audited); 409 when already on",
    )
    def post(self, request: Request, user_id: int) -> Response:
        viewer = acting_user(request)
        data = LeaverInput(data=request.data)
        data.is_valid(raise_exception=True)
        person = _person(viewer, user_id)
        leaver_mark(actor=viewer, user=person, reason=data.validated_data["reason"])
        line = next(line for line in team_budgets(viewer=viewer) if line.user.pk == person.pk)
        return Response(BudgetLineOutput(line).data)

    @extend_schema(
        request=None,
        responses=BudgetLineOutput,
        summary="The handover is done: leaver mode off (audited); 404 when not on",
    )
    def delete(self, request: Request, user_id: int) -> Response:
        viewer = acting_user(request)
        person = _person(viewer, user_id)
        leaver_end(actor=viewer, user=person)
        line = next(line for line in team_budgets(viewer=viewer) if line.user.pk == person.pk)
        return Response(BudgetLineOutput(line).data)
