"""Reads of the organisation, and the data-scope filter every other app's selectors use."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from kedun.org.models import DataScope, Department, Role, User


def subordinate_ids(*, manager: User) -> set[int]:
    """Everyone who reports to `manager`, directly or through other managers."""
    found: set[int] = set()
    frontier = {manager.pk}
    while frontier:
        reports = set(User.objects.filter(manager_id__in=frontier).values_list("pk", flat=True))
        frontier = reports - found - {manager.pk}
        found |= frontier
    return found


def scope_filter(*, viewer: User, owner_field: str = "owner") -> Q:
    """A Q that keeps the records whose owner the viewer may see, by the viewer's data scope.

    `owner_field` names the record's owner (a user); "" when the records are users themselves.
    """

    def lookup(suffix: str) -> str:
        return f"{owner_field}__{suffix}" if owner_field else suffix

    if not viewer.is_active:
        return Q(pk__in=[])
    scope = viewer.data_scope
    if scope == DataScope.ALL:
        return Q()
    if scope == DataScope.OWN:
        return Q(**{lookup("pk"): viewer.pk})
    if scope == DataScope.OWN_AND_SUBORDINATES:
        return Q(**{lookup("pk__in"): subordinate_ids(manager=viewer) | {viewer.pk}})
    if scope == DataScope.DEPARTMENT:
        return Q(**{lookup("department"): viewer.department_id})
    if scope == DataScope.DEPARTMENT_TREE:
        return Q(**{lookup("department__path__startswith"): viewer.department.path})
    return Q(pk__in=[])  # an unknown scope sees nothing


def scope_filter_by_owner_ids(*, viewer: User, owner_field: str = "owner") -> Q:
    """scope_filter, with a department scope resolved first into its people's ids (one query):
    `owner_id IN (1, 2, …)` is served by an index that starts with the owner, where the
    department's path reached through a join made PostgreSQL read every record (issue 13).
    Every owner in the departments counts, deactivated ones too, as in scope_filter."""
    scope = viewer.data_scope
    if not viewer.is_active or scope not in (DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE):
        return scope_filter(viewer=viewer, owner_field=owner_field)
    people = (
        User.objects.filter(department_id=viewer.department_id)
        if scope == DataScope.DEPARTMENT
        else User.objects.filter(department__path__startswith=viewer.department.path)
    )
    ids = list(people.values_list("pk", flat=True))
    return Q(**{f"{owner_field}__pk__in" if owner_field else "pk__in": ids})


def users_in_scope_of(*, viewer: User) -> QuerySet[User]:
    """The users whose records the viewer may see (themselves included)."""
    return User.objects.filter(scope_filter(viewer=viewer, owner_field=""))


def user_directory(*, viewer: User) -> QuerySet[User]:
    """Everyone may see who works where (an owner's name and department are never secret)."""
    if not viewer.is_active:
        return User.objects.none()
    return User.objects.select_related("department", "manager").order_by(
        "department__path", "username"
    )


def department_list() -> QuerySet[Department]:
    return Department.objects.order_by("path")


def is_above(*, actor: User, user: User) -> bool:
    """The actor stands over `user`: the boss, or a manager on the user's chain of managers.
    Never oneself — what one may not do alone (approve one's own export, grant oneself more
    budget, end one's own leaver mode) needs someone above."""
    if not actor.is_active or actor.pk == user.pk:
        return False
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.MANAGER and user.pk in subordinate_ids(manager=actor)
