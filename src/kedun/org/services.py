"""Writes to the organisation: departments, users, tokens, deactivation. Each one audited."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from kedun.audit.services import audit_record, diff, snapshot
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.org.models import (
    ROLE_DEFAULT_SCOPE,
    DataScope,
    Department,
    Role,
    User,
    new_security_stamp,
)
from kedun.org.selectors import is_above

_USER_FIELDS = ["username", "full_name", "role", "department", "manager", "data_scope", "is_active"]


def _require_admin(actor: User | None) -> None:
    # actor None is the `kedun` command run by whoever has the server's shell.
    if actor is not None and not actor.has_role(Role.ADMIN):
        raise Forbidden()


def department_create(
    *, actor: User | None, name: str, parent: Department | None = None
) -> Department:
    _require_admin(actor)
    name = name.strip()
    if not name:
        raise Invalid(_("A department needs a name."))
    with transaction.atomic():
        siblings = Department.objects.filter(parent=parent, name=name)
        if siblings.exists():
            raise Conflict(_("A department named %(name)s already exists there.") % {"name": name})
        department = Department.objects.create(name=name, parent=parent, created_at=clock.now())
        prefix = parent.path if parent else "/"
        department.path = f"{prefix}{department.pk}/"
        department.save(update_fields=["path"])
        audit_record(
            actor=actor,
            action="department.created",
            target=department,
            changes={"name": name, "parent": parent.pk if parent else None},
        )
    return department


def department_root() -> Department:
    """The company itself: the first top-level department, created when none exists."""
    root = Department.objects.filter(parent__isnull=True).order_by("pk").first()
    if root is None:
        root = department_create(actor=None, name=_("Company"))
    return root


def user_create(
    *,
    actor: User | None,
    username: str,
    role: str,
    department: Department,
    manager: User | None = None,
    password: str | None = None,
    full_name: str = "",
    data_scope: str | None = None,
) -> User:
    _require_admin(actor)
    username = username.strip()
    if not username:
        raise Invalid(_("A user needs a username."))
    if role not in Role.values:
        raise Invalid(
            _("Unknown role %(role)s; choose one of %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)},
            code="unknown_role",
        )
    scope = data_scope or ROLE_DEFAULT_SCOPE[role]
    _check_scope(role, scope)
    if manager is not None and not manager.is_active:
        raise Invalid(_("The manager %(name)s is deactivated.") % {"name": manager.username})
    user = User(
        username=username,
        role=role,
        department=department,
        manager=manager,
        full_name=full_name.strip(),
        data_scope=scope,
        date_joined=clock.now(),
    )
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise Invalid(" ".join(error.messages), code="weak_password") from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save(force_insert=True)
            audit_record(
                actor=actor,
                action="user.created",
                target=user,
                changes=snapshot(user, _USER_FIELDS),
            )
    except IntegrityError:
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict(
                _("A user named %(name)s already exists.") % {"name": username}, code="user_exists"
            ) from None
        raise
    return user


def _check_scope(role: str, scope: str) -> None:
    if scope not in DataScope.values:
        raise Invalid(_("Unknown data scope %(scope)s.") % {"scope": scope})
    if role == Role.SALES and scope == DataScope.ALL:
        raise Invalid(_("A salesperson's data scope cannot be “all”."))


def user_update(*, actor: User | None, user: User, **changes: object) -> User:
    """Change role, department, manager, data scope or name (admin only)."""
    _require_admin(actor)
    allowed = {"role", "department", "manager", "data_scope", "full_name"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(_("These fields cannot be changed here: %(f)s") % {"f": ", ".join(unknown)})
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = snapshot(user, _USER_FIELDS)
        if "role" in changes and "data_scope" not in changes:
            changes["data_scope"] = ROLE_DEFAULT_SCOPE[str(changes["role"])]
        for field, value in changes.items():
            setattr(user, field, value)
        _check_scope(user.role, user.data_scope)
        if user.manager_id == user.pk:
            raise Invalid(_("A user cannot be their own manager."))
        user.save(update_fields=list(changes))
        audit_record(
            actor=actor,
            action="user.updated",
            target=user,
            changes=diff(before, snapshot(user, _USER_FIELDS)),
        )
    return user


def user_set_password(*, actor: User | None, user: User, password: str) -> None:
    if actor is not None and actor.pk != user.pk:
        _require_admin(actor)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), code="weak_password") from None
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=actor, action="user.password_set", target=user)


def user_deactivate(*, actor: User | None, user: User) -> User:
    """Revoke all access at once: sessions (via the security stamp) and the API token."""
    _require_admin(actor)
    return user_revoke_access(actor=actor, user=user)


def user_revoke_access(*, actor: User | None, user: User) -> User:
    """Deactivate without the admin check: for callers that checked their own rule (the
    departure handover lets a manager hand over the people they manage)."""
    if actor is not None and actor.pk == user.pk:
        raise Invalid(_("You cannot deactivate yourself."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.is_active:
            return user
        user.is_active = False
        user.deactivated_at = clock.now()
        user.security_stamp = new_security_stamp()
        user.save(update_fields=["is_active", "deactivated_at", "security_stamp"])
        tokens_revoked, _deleted = Token.objects.filter(user=user).delete()
        audit_record(
            actor=actor,
            action="user.deactivated",
            target=user,
            changes={"is_active": [True, False], "tokens_revoked": tokens_revoked},
        )
    return user


def user_end_sessions(*, actor: User | None, user: User) -> None:
    """Log a user out everywhere (e.g. a lost phone): the user themselves, the boss, or a
    manager the user reports to. A new security stamp changes the session hash, so every
    session ends whatever engine stores them (database, cache or signed cookies)."""
    if actor is not None and actor.pk != user.pk and not is_above(actor=actor, user=user):
        raise Forbidden()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.security_stamp = new_security_stamp()
        user.save(update_fields=["security_stamp"])
        audit_record(
            actor=actor,
            action="user.sessions_ended",
            target=user,
            changes={"by_self": actor is not None and actor.pk == user.pk},
        )


def token_for_user(*, actor: User | None, user: User) -> Token:
    """The user's API token, issued on first request."""
    if actor is not None and actor.pk != user.pk:
        _require_admin(actor)
    if not user.is_active:
        raise Invalid(
            _("%(name)s is deactivated and cannot have an API token.") % {"name": user.username}
        )
    with transaction.atomic():
        token, created = Token.objects.get_or_create(user=user)
        if created:
            audit_record(actor=actor, action="token.issued", target=user)
    return token
