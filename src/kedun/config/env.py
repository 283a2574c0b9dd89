"""Reading Kedun's configuration from the environment.

Every helper fails loudly with a message that names the variable: a typo in a deployment must
stop start-up, not silently fall back to a default.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured


class ConfigError(ImproperlyConfigured):
    pass


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} is out of range ({minimum}–{maximum})")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{name} is set but empty; give a comma-separated list")
    return items


def env_counts(name: str, default: dict[str, int], *, keys: set[str]) -> dict[str, int]:
    """ "sales=60,manager=300": a whole number per known key; a key left out keeps its default,
    `key=none` removes it (no limit)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return dict(default)
    counts = dict(default)
    for item in raw.split(","):
        key, sep, value = item.strip().partition("=")
        key = key.strip()
        if not sep or key not in keys:
            raise ConfigError(
                f"{name}: {item.strip()!r} is not KEY=NUMBER with KEY one of {sorted(keys)}"
            )
        if value.strip().lower() == "none":
            counts.pop(key, None)
            continue
        try:
            counts[key] = int(value.strip())
        except ValueError:
            raise ConfigError(f"{name}: {value.strip()!r} is not a whole number") from None
        if counts[key] < 0:
            raise ConfigError(f"{name}: {key}={counts[key]} is negative")
    return counts


def env_time_zone(name: str, default: str) -> str:
    value = env_str(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name}={value!r} is not a known time zone (e.g. Asia/Shanghai)"
        ) from None
    return value


def env_url(name: str, schemes: set[str]) -> str | None:
    raw = env_str(name)
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path.strip("/")):
        allowed = ", ".join(sorted(schemes))
        raise ConfigError(f"{name}={_redact(raw)!r} is not a valid URL (scheme one of {allowed})")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError(f"{name}={_redact(raw)!r} has an invalid port") from None
    return raw


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def data_dir(name: str = "KEDUN_DATA_DIR", default: str = "var") -> Path:
    path = Path(env_str(name, default) or default).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{name}={str(path)!r} cannot be created: {error.strerror}") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"{name}={str(path)!r} is not writable")
    return path


def key_file(path: Path, *, nbytes: int = 48) -> str:
    """A secret kept in the data directory, generated on first use (mode 0600)."""
    if not path.exists():
        try:
            # O_EXCL: two processes starting at once must not write two different keys.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(nbytes))
    value = path.read_text().strip()
    if len(value) < 32:
        raise ConfigError(f"{path} holds a key shorter than 32 characters; delete it to regenerate")
    return value


def env_fraction(name: str, default: str, *, maximum: str) -> Decimal:
    """A rate such as 0.03 (3 %): at most four decimal places, between 0 and `maximum`."""
    raw = env_str(name, default) or default
    try:
        value = Decimal(raw)
    except ArithmeticError:
        value = Decimal("NaN")
    in_range = value.is_finite() and 0 <= value <= Decimal(maximum)
    if not in_range or value != value.quantize(Decimal("0.0001")):
        raise ConfigError(f"{name}={raw!r} is not a fraction from 0 to {maximum}, e.g. {default}")
    return value


def env_tile_url(name: str) -> str:
    """A map tile URL template (http or https, with {z}, {x} and {y}), or "" when unset."""
    raw = env_str(name)
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL")
    missing = [part for part in ("{z}", "{x}", "{y}") if part not in raw]
    if missing:
        raise ConfigError(
            f"{name}={raw!r} lacks {', '.join(missing)}: e.g. https://tiles.example.com/{{z}}/{{x}}/{{y}}.png"
        )
    return raw
