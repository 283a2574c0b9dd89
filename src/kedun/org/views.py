from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
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
            from kedun.org.two_factor import NEEDS_CODE, missing_step

            step = missing_step(request)
            if step is not None:
                target = "login-two-factor" if step == NEEDS_CODE else "account-two-factor"
                query = f"?{urlencode({'next': next_url})}" if next_url else ""
                return redirect(reverse(target) + query)
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
    if request.method == "POST" and form is None:
        raise Forbidden()  # only the boss creates users
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
    from django_otp.plugins.otp_totp.models import TOTPDevice

    can_reset_two_factor = set(
        TOTPDevice.objects.filter(user_id__in=can_end_sessions, confirmed=True).values_list(
            "user_id", flat=True
        )
    )
    context = {
        "page": page,
        "form": form,
        "can_end_sessions": can_end_sessions,
        "can_reset_two_factor": can_reset_two_factor,
    }
    return render(request, "org/users.html", context)


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
    except (Forbidden, NotFound):
        raise  # not theirs to do: the error page, as the API's 403
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
    from kedun.org.two_factor import confirmed_device

    viewer = request.user
    assert isinstance(viewer, User)
    return render(request, "org/account.html", {"two_factor_device": confirmed_device(user=viewer)})


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _safe_next(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    return next_url


@login_required
def login_two_factor_view(request: HttpRequest) -> HttpResponse:
    """The second step of logging in, for a user with an authenticator app."""
    from kedun.org.two_factor import NEEDS_CODE, missing_step, verify_login

    next_url = _safe_next(request)
    if missing_step(request) != NEEDS_CODE:
        return redirect(next_url or "home")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            verify_login(request=request, code=form.cleaned_data["code"])
        except DomainError as error:
            form.add_error("code", str(error.message))
        else:
            _summarise_unread(request)
            return redirect(next_url or "home")
    return render(request, "org/login_two_factor.html", {"form": form, "next": next_url})


@login_required
def account_two_factor_view(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: the secret, the otpauth:// link, then a code to confirm."""
    from kedun.org import two_factor

    viewer = request.user
    assert isinstance(viewer, User)
    if two_factor.missing_step(request) == two_factor.NEEDS_CODE:
        return redirect("login-two-factor")
    next_url = _safe_next(request)
    if two_factor.confirmed_device(user=viewer) is not None:
        return redirect("account")
    device = two_factor.enrolment_device(user=viewer)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.enrol_confirm(request=request, code=form.cleaned_data["code"])
        except DomainError as error:
            form.add_error("code", str(error.message))
        else:
            messages.success(request, _("Two-factor login is on."))
            return redirect(next_url or "account")
    context = {
        "form": form,
        "next": next_url,
        "otpauth_url": device.config_url,
        # Only path data drawn from the link; nothing a user typed reaches the markup.
        "qr_svg": mark_safe(two_factor.qr_svg(device.config_url)),
        "secret": two_factor.secret_groups(device),
        "required": two_factor.required_for(viewer),
    }
    return render(request, "org/account_two_factor.html", context)


@login_required
@require_POST
def account_two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    from kedun.org.two_factor import disable

    viewer = request.user
    assert isinstance(viewer, User)
    try:
        disable(actor=viewer, user=viewer, code=request.POST.get("code", ""))
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Two-factor login is off."))
    return redirect("account")


@login_required
@require_POST
def user_two_factor_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """The boss or a manager removes a user's authenticator (a lost phone)."""
    from kedun.org.two_factor import disable

    viewer = request.user
    assert isinstance(viewer, User)
    user = user_directory(viewer=viewer).filter(pk=user_id).first()
    if user is None or user.pk == viewer.pk:
        raise NotFound()
    disable(actor=viewer, user=user)
    messages.success(
        request, _("%(name)s's authenticator app is removed.") % {"name": user.username}
    )
    return redirect("user-list")


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
