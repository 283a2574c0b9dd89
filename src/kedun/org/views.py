from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.login import LoginRefused, session_login, session_logout
from kedun.org.models import Department, Role, User
from kedun.org.selectors import department_list, is_above, user_directory
from kedun.org.services import user_create, user_deactivate, user_end_sessions


class LoginForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput)


def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            session_login(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except LoginRefused as refusal:
            form.add_error(None, str(refusal.message))
            # A failed form is redisplayed (200), as Django's own login does; a lock is 429.
            status = 429 if refusal.code == "locked" else 200
        else:
            _summarise_unread(request)
            return redirect(next_url or "home")
    return render(request, "org/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    session_logout(request=request)
    return redirect("login")


class UserCreateForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=100, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"), queryset=Department.objects.none()
    )
    manager = forms.ModelChoiceField(
        label=gettext_lazy("Manager"), required=False, queryset=User.objects.none()
    )
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = department_list()
        cast(forms.ModelChoiceField, self.fields["manager"]).queryset = User.objects.filter(
            is_active=True, role__in=[Role.ADMIN, Role.MANAGER]
        ).order_by("username")


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    if not viewer.has_role(Role.ADMIN, Role.MANAGER):
        raise Forbidden()
    form = UserCreateForm(request.POST or None) if viewer.role == Role.ADMIN else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                actor=viewer,
                username=data["username"],
                role=data["role"],
                department=data["department"],
                manager=data["manager"],
                password=data["password"],
                full_name=data["full_name"],
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("%(name)s can now log in.") % {"name": user.username})
            return redirect("user-list")
    page = Paginator(user_directory(viewer=viewer), 50).get_page(request.GET.get("page"))
    # Whose sessions the viewer may end: the boss anyone's, a manager their reports'.
    can_end_sessions = {
        person.pk for person in page if person.is_active and is_above(actor=viewer, user=person)
    }
    return render(
        request,
        "org/users.html",
        {"page": page, "form": form, "can_end_sessions": can_end_sessions},
    )


@login_required
@require_POST
def user_deactivate_view(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    user = user_directory(viewer=viewer).filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    try:
        user_deactivate(actor=viewer, user=user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("%(name)s is deactivated; their sessions and API token no longer work.")
            % {"name": user.username},
        )
    return redirect("user-list")


@login_required
def account_view(request: HttpRequest) -> HttpResponse:
    """The user's own account: sessions and two-factor login."""
    return render(request, "org/account.html", {})


@login_required
@require_POST
def account_logout_everywhere_view(request: HttpRequest) -> HttpResponse:
    """Ends every session of the user, this one included (a lost phone, a shared computer)."""
    viewer = request.user
    assert isinstance(viewer, User)
    user_end_sessions(actor=viewer, user=viewer)
    messages.success(request, _("You are logged out on every device."))
    return redirect("login")


@login_required
@require_POST
def user_end_sessions_view(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer = request.user
    assert isinstance(viewer, User)
    user = user_directory(viewer=viewer).filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    user_end_sessions(actor=viewer, user=user)  # Forbidden unless the viewer is above them
    messages.success(
        request, _("%(name)s is logged out on every device.") % {"name": user.username}
    )
    return redirect("user-list")


def _summarise_unread(request: HttpRequest) -> None:
    """What happened while the user was away, right after login (MISSION §3)."""
    from kedun.notifications.selectors import notifications_for, unread_count

    user = request.user
    assert isinstance(user, User)
    count = unread_count(user=user)
    if count:
        latest = notifications_for(user=user).filter(read_at__isnull=True)[:3]
        titles = "；".join(n.title for n in latest)
        messages.info(
            request,
            _("While you were away: %(count)d new notifications — %(titles)s")
            % {"count": count, "titles": titles},
        )
