"""Configuration by environment: bad values stop start-up naming the variable;
production settings pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def kedun(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("KEDUN_")}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    full_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    full_env["KEDUN_DATA_DIR"] = str(tmp_path / "data")
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "kedun", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("KEDUN_DEBUG", "maybe", "KEDUN_DEBUG='maybe' is not a boolean"),
        ("KEDUN_DATABASE_URL", "mysql://x@y/z", "KEDUN_DATABASE_URL"),
        ("KEDUN_DATABASE_URL", "postgres://u@h:port/db", "has an invalid port"),
        ("KEDUN_REDIS_URL", "http://localhost", "KEDUN_REDIS_URL"),
        (
            "KEDUN_TIME_ZONE",
            "Mars/Olympus",
            "KEDUN_TIME_ZONE='Mars/Olympus' is not a known time zone",
        ),
        ("KEDUN_SECRET_KEY", "short", "KEDUN_SECRET_KEY must be at least 50 characters"),
        ("KEDUN_VIEW_BUDGETS", "boss=5", "KEDUN_VIEW_BUDGETS: 'boss=5' is not KEY=NUMBER"),
        ("KEDUN_REVEAL_BUDGETS", "manager=lots", "KEDUN_REVEAL_BUDGETS: 'lots' is not a whole"),
        ("KEDUN_EXPORT_ROLES", "admin,intern", "KEDUN_EXPORT_ROLES: unknown role"),
        ("KEDUN_ALLOWED_HOSTS", " , ", "KEDUN_ALLOWED_HOSTS is set but empty"),
        ("KEDUN_MAX_REQUEST_MB", "ten", "KEDUN_MAX_REQUEST_MB='ten' is not a whole number"),
        ("KEDUN_LOG_LEVEL", "LOUD", "KEDUN_LOG_LEVEL='LOUD'"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_it(tmp_path, name, value, says):
    result = kedun("check", env={name: value}, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "configuration error" in result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_password_is_not_printed(tmp_path):
    result = kedun(
        "check", env={"KEDUN_DATABASE_URL": "postgres://u:s3cret@h:bad/db"}, tmp_path=tmp_path
    )
    assert result.returncode == 2
    assert "s3cret" not in result.stderr


def test_the_secret_key_is_generated_once_into_the_data_dir(tmp_path):
    assert kedun("check", env={}, tmp_path=tmp_path).returncode == 0
    key_file = tmp_path / "data" / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert kedun("check", env={}, tmp_path=tmp_path).returncode == 0
    assert key_file.read_text() == first


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = kedun(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "KEDUN_HTTPS": "true",
            "KEDUN_DEBUG": "false",
            "KEDUN_ALLOWED_HOSTS": "crm.example.com",
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_postgresql_connections_plan_for_ssds_unless_the_url_says_otherwise(tmp_path):
    """random_page_cost 1.1 on every connection; `?options=` in the URL wins (read from the
    settings as a fresh process builds them, no server needed)."""
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    url = "postgres://kedun@db.example:5432/kedun"
    plain = kedun("shell", "-c", show, env={"KEDUN_DATABASE_URL": url}, tmp_path=tmp_path)
    chosen = kedun(
        "shell",
        "-c",
        show,
        env={"KEDUN_DATABASE_URL": url + "?options=-c%20random_page_cost%3D4"},
        tmp_path=tmp_path,
    )
    assert "'options': '-c random_page_cost=1.1'" in plain.stdout, plain.stderr
    assert "'options': '-c random_page_cost=4'" in chosen.stdout, chosen.stderr


SHARED_SECRET = "3f9c1a7be0d24c58a61e9b7f02d4c8e1a5b3f7d9c2e4a6b8d0f1e3c5a7b9d2f4"


def test_a_shared_database_without_shared_keys_is_warned_about_at_deployment(tmp_path):
    production = {
        "KEDUN_HTTPS": "true",
        "KEDUN_ALLOWED_HOSTS": "crm.example.com",
        "KEDUN_DATABASE_URL": "postgres://kedun@db.example:5432/kedun",
    }
    bare = kedun("check", "--deploy", env=production, tmp_path=tmp_path)
    keyed = kedun(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**production, "KEDUN_SECRET_KEY": SHARED_SECRET, "KEDUN_AUDIT_KEY": SHARED_SECRET},
        tmp_path=tmp_path,
    )

    assert "(kedun.W001) KEDUN_SECRET_KEY is not set" in bare.stderr, bare.stderr
    assert "(kedun.W002) KEDUN_AUDIT_KEY is not set" in bare.stderr, bare.stderr
    assert keyed.returncode == 0, keyed.stdout + keyed.stderr
    assert "no issues" in keyed.stdout
