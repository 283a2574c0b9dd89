"""The manager's page: the team's budgets today, grants, leaver mode."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.access import acting_user
from kedun.org.models import Role

from .models import BudgetKind
from .selectors import people_under, team_budgets
from .services import budget_grant, leaver_end, leaver_mark, warn_percent


@login_required
def team_budgets_view(request: HttpRequest) -> HttpResponse:
    viewer = acting_user(request)
    if not viewer.has_role(Role.ADMIN, Role.MANAGER):
        raise Forbidden()
    if request.method == "POST":
        person = people_under(viewer=viewer).filter(pk=request.POST.get("user") or 0).first()
        action = request.POST.get("action")
        try:
            if person is None:
                raise Forbidden()
            if action == "grant":
                try:
                    extra = int(request.POST.get("extra") or 0)
                except ValueError:
                    extra = 0
                budget_grant(
                    actor=viewer, user=person, kind=request.POST.get("kind", ""), extra=extra
                )
                messages.success(request, _("Granted."))
            elif action == "leaver_mark":
                leaver_mark(actor=viewer, user=person, reason=request.POST.get("reason", ""))
                messages.success(request, _("%(user)s is in leaver mode.") % {"user": person})
            elif action == "leaver_end":
                leaver_end(actor=viewer, user=person)
                messages.success(request, _("Leaver mode ended for %(user)s.") % {"user": person})
        except (Forbidden, NotFound):
            raise  # not one of theirs: the error page, as the API's 404
        except DomainError as error:
            messages.error(request, str(error.message))
        return redirect("budget-team")
    return render(
        request,
        "budgets/team.html",
        {
            "lines": team_budgets(viewer=viewer),
            "kinds": BudgetKind.choices,
            "warn_percent": warn_percent(),
        },
    )
