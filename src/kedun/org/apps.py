from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "kedun.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from django.conf import settings

        check_totp_roles(settings.KEDUN_TOTP_REQUIRED_ROLES)


def check_totp_roles(roles: list[str]) -> None:
    """A misspelt role would silently leave that role without the second factor."""
    from kedun.config.env import ConfigError
    from kedun.org.models import Role

    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ConfigError(
            f"KEDUN_TOTP_REQUIRED_ROLES names unknown roles {sorted(unknown)}; "
            f"choose from {', '.join(Role.values)}"
        )
