"""The lifecycle sections of a customer's page: countdown, follow-ups, account team, ownership
history, and the owner's and manager's controls (stage, grade, release, transfer, hold)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from kedun.core import clock
from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.customers.models import Customer, OwnershipEvent, OwnershipKind, TeamAccess
from kedun.customers.selectors import customer_list_visible_to
from kedun.lifecycle import services
from kedun.lifecycle.forms import (
    FollowUpForm,
    GradeForm,
    HoldForm,
    ReleaseForm,
    StageForm,
    TeamMemberForm,
    TeamRemoveForm,
    TransferForm,
)
from kedun.lifecycle.rules import Deadline
from kedun.lifecycle.selectors import (
    countdown,
    follow_up_list,
    ownership_history,
    reps_managed_by,
    team_of,
)
from kedun.org.models import User
from kedun.org.selectors import user_directory

from .common import refused


@dataclasses.dataclass(frozen=True)
class Controls:
    """What the viewer may do with the customer: the services' rules, asked in advance."""

    follow_up: bool
    manage: bool  # release, stage, grade, the account team, clearing a reminder
    transfer: bool
    hold: bool


def _controls(viewer: User, customer: Customer) -> Controls:
    owner = customer.owner
    if owner is None or not viewer.is_active:
        return Controls(False, False, False, False)
    manages_owner = services.manages(viewer, owner)
    manage = owner.pk == viewer.pk or manages_owner
    boss = viewer.has_role(*services.MANAGING_ROLES) and manages_owner
    writes = services.team_access_of(viewer, customer) == TeamAccess.WRITE
    return Controls(follow_up=manage or writes, manage=manage, transfer=boss, hold=boss)


def _team_people(viewer: User, customer: Customer) -> QuerySet[User]:
    people = user_directory(viewer=viewer).filter(is_active=True)
    return people.exclude(pk=customer.owner_id) if customer.owner_id else people


def _transfer_reps(viewer: User, customer: Customer) -> QuerySet[User]:
    reps = reps_managed_by(actor=viewer)
    return reps.exclude(pk=customer.owner_id) if customer.owner_id else reps


def _form(
    action: str, viewer: User, customer: Customer, controls: Controls, data: Any = None
) -> forms.Form | None:
    """The form of one action on the customer's page, bound to `data` when given; None when
    the viewer has no such control."""
    kwargs: dict[str, Any] = {"data": data, "prefix": action}
    if action == "follow_up" and controls.follow_up:
        return FollowUpForm(**kwargs, today=timezone.localdate(clock.now()))
    if action == "release" and controls.manage:
        return ReleaseForm(**kwargs)
    if action == "stage" and controls.manage:
        return StageForm(**kwargs, initial={"stage": customer.stage})
    if action == "grade" and controls.manage:
        return GradeForm(**kwargs, initial={"grade": customer.grade})
    if action == "team_add" and controls.manage:
        return TeamMemberForm(**kwargs, people=_team_people(viewer, customer))
    if action in ("team_remove", "follow_up_done") and controls.manage:
        return TeamRemoveForm(**kwargs) if action == "team_remove" else forms.Form(**kwargs)
    if action == "transfer" and controls.transfer:
        return TransferForm(**kwargs, reps=_transfer_reps(viewer, customer))
    if action == "hold" and controls.hold:
        return HoldForm(**kwargs, initial={"hold": not customer.on_hold})
    return None


def _perform(action: str, data: dict[str, Any], viewer: User, customer: Customer) -> str:
    """Run the action's service; returns what to tell the user."""
    name = customer.name
    if action == "follow_up":
        follow_up = services.follow_up_log(
            actor=viewer,
            customer=customer,
            kind=data["kind"],
            content=data["content"],
            next_follow_up_on=data["next_follow_up_on"],
        )
        if follow_up.qualifying:
            return _("Follow-up logged; the release countdown starts again.")
        return _(
            "Follow-up logged. It does not restart the release countdown: its type does not "
            "count, or it is too short."
        )
    if action == "follow_up_done":
        services.follow_up_done(actor=viewer, customer=customer)
        return _("Reminder cleared.")
    if action == "release":
        services.customer_release(actor=viewer, customer_id=customer.pk, reason=data["reason"])
        return _("%(name)s is back in the pool.") % {"name": name}
    if action == "transfer":
        to = data["to"]
        services.customer_transfer(
            actor=viewer, customer_id=customer.pk, to=to, reason=data["reason"]
        )
        return _("%(name)s now belongs to %(rep)s.") % {"name": name, "rep": to.display_name}
    if action == "hold":
        services.customer_hold(
            actor=viewer, customer_id=customer.pk, hold=data["hold"], reason=data["reason"]
        )
        if data["hold"]:
            return _("%(name)s is on hold: it will not be released.") % {"name": name}
        return _("The hold on %(name)s is lifted.") % {"name": name}
    if action == "stage":
        services.customer_stage_set(actor=viewer, customer=customer, stage=data["stage"])
        return _("Stage changed.")
    if action == "grade":
        services.customer_grade_set(actor=viewer, customer=customer, grade=data["grade"])
        return _("Grade changed.")
    if action == "team_add":
        member = data["user"]
        services.team_member_add(
            actor=viewer,
            customer=customer,
            user=member,
            access=data["access"],
            until=data["until"],
        )
        return _("%(name)s is on the account team.") % {"name": member.display_name}
    if action == "team_remove":
        member = user_directory(viewer=viewer).filter(pk=data["user"]).first()
        if member is None:
            raise NotFound()
        services.team_member_remove(actor=viewer, customer=customer, user=member)
        return _("%(name)s has left the account team.") % {"name": member.display_name}
    raise NotFound()


def _next_page(request: HttpRequest, viewer: User, customer: Customer) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    if customer_list_visible_to(viewer=viewer).filter(pk=customer.pk).exists():
        return reverse("customer-detail", args=[customer.pk])
    # Released or transferred out of the viewer's sight.
    return reverse("my-customers")


def customer_lifecycle_action(
    request: HttpRequest, *, viewer: User, customer: Customer
) -> HttpResponse | dict[str, forms.Form]:
    """One lifecycle POST from the customer's page (the `action` field says which): a redirect
    when done; otherwise the bound form with its errors, for the page to show again."""
    action = request.POST.get("action", "")
    form = _form(action, viewer, customer, _controls(viewer, customer), data=request.POST)
    if form is None:
        raise Forbidden()
    if form.is_valid():
        try:
            message = _perform(action, form.cleaned_data, viewer, customer)
        except DomainError as error:
            refused(error)
            form.add_error(None, str(error.message))
        else:
            messages.success(request, message)
            return redirect(_next_page(request, viewer, customer))
    if action in ("follow_up_done", "team_remove"):  # a bare button: nothing to correct
        messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
        return redirect(_next_page(request, viewer, customer))
    return {action: form}


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime
    kind: str
    label: str
    from_owner: str
    to_owner: str
    actor: str  # "" : the system
    reason: str


def _reason_text(event: OwnershipEvent) -> str:
    """The sweep writes its rule as "no_follow_up:30"; people read the rule."""
    if event.kind == OwnershipKind.RELEASED_AUTO:
        rule, _sep, days = event.reason.partition(":")
        if rule in ("no_follow_up", "no_deal") and days.isdigit():
            return Deadline(event.at, rule, int(days)).describe()
    return event.reason


def _history(customer: Customer) -> list[HistoryRow]:
    return [
        HistoryRow(
            at=event.at,
            kind=event.kind,
            label=event.get_kind_display(),
            from_owner=event.from_owner.display_name if event.from_owner else "",
            to_owner=event.to_owner.display_name if event.to_owner else "",
            actor=event.actor.display_name if event.actor else "",
            reason=_reason_text(event),
        )
        for event in ownership_history(customer=customer)[:200]
    ]


def customer_lifecycle_context(
    request: HttpRequest,
    *,
    viewer: User,
    customer: Customer,
    bound: dict[str, forms.Form] | None = None,
) -> dict[str, Any]:
    """Everything the lifecycle sections of the customer's page show, as `life`."""
    bound = bound or {}
    controls = _controls(viewer, customer)
    forms_shown = {
        action: bound[action] if action in bound else _form(action, viewer, customer, controls)
        for action in ("follow_up", "release", "stage", "grade", "team_add", "transfer", "hold")
    }
    follow_ups = Paginator(follow_up_list(customer=customer), 20).get_page(
        request.GET.get("follow_ups")
    )
    return {
        "life": {
            "countdown": countdown(customer),
            "controls": controls,
            "forms": forms_shown,
            "open": next(iter(bound), ""),  # the section whose form needs another look
            "follow_ups": follow_ups,
            "team": list(team_of(customer=customer)),
            "history": _history(customer),
        }
    }
