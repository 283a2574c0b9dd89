"""Kedun's settings: one file, driven by the environment only (see .env.example)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dj_database_url

from kedun.config.env import (
    ConfigError,
    data_dir,
    env_bool,
    env_counts,
    env_fraction,
    env_int,
    env_list,
    env_str,
    env_tile_url,
    env_time_zone,
    env_url,
    key_file,
)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()
DEBUG = env_bool("KEDUN_DEBUG", False)
# Behind a TLS-terminating proxy: secure cookies, HSTS, redirect to https.
HTTPS = env_bool("KEDUN_HTTPS", False)

KEDUN_SECRET_KEY_SET = bool(env_str("KEDUN_SECRET_KEY"))  # else generated (core.checks warns)
SECRET_KEY = env_str("KEDUN_SECRET_KEY") or key_file(DATA_DIR / "secret_key", nbytes=48)
if len(SECRET_KEY) < 50:
    raise ConfigError("KEDUN_SECRET_KEY must be at least 50 characters long")
# The audit key: keys the audit chain (HMAC-SHA-256) and signs its checkpoints. It lives outside
# the database so that database access alone cannot forge events: KEDUN_AUDIT_KEY on the
# application servers (the same on every one), else this file, made on first use (mode 0600).
# Kept apart from SECRET_KEY so rotating one does not void the other.
AUDIT_KEY = env_str("KEDUN_AUDIT_KEY")
if AUDIT_KEY and len(AUDIT_KEY) < 32:
    raise ConfigError("KEDUN_AUDIT_KEY must be at least 32 characters long")
AUDIT_HMAC_KEY_FILE = DATA_DIR / "audit_hmac_key"
# Where the worker ships a signed checkpoint of the chain's head (a directory, a file, or
# s3://bucket/prefix/), and how often (hours; 0: never). Empty: no shipments.
KEDUN_AUDIT_CHECKPOINT_TO = env_str("KEDUN_AUDIT_CHECKPOINT_TO")
KEDUN_AUDIT_CHECKPOINT_HOURS = env_int("KEDUN_AUDIT_CHECKPOINT_HOURS", 1, maximum=24)
# The nightly backup (`kedun backup` by the worker at this local hour) into this directory,
# keeping the newest N (0: no nightly backup). Better on another disk than the data dir's.
KEDUN_BACKUP_DIR = Path(env_str("KEDUN_BACKUP_DIR") or DATA_DIR / "backups").expanduser()
KEDUN_BACKUP_KEEP = env_int("KEDUN_BACKUP_KEEP", 7, maximum=1000)
KEDUN_BACKUP_HOUR = env_int("KEDUN_BACKUP_HOUR", 3, maximum=23)

ALLOWED_HOSTS = env_list("KEDUN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("KEDUN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular_sidecar",
    "huey.contrib.djhuey",
    "kedun.core",
    "kedun.org",
    "kedun.audit",
    "kedun.backup",
    "kedun.customers",
    "kedun.lifecycle",
    "kedun.sales",
    "kedun.field",
    "kedun.comms",
    "kedun.history",
    "kedun.insights",
    "kedun.jobs",
    "kedun.notifications",
    "kedun.budgets",
    "kedun.exports",
    "kedun.demo",
]

MIDDLEWARE = [
    "kedun.core.middleware.RequestSizeLimitMiddleware",
    "kedun.core.middleware.NulCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kedun.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kedun.core.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kedun.core.middleware.ClientAddressMiddleware",
    "kedun.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "kedun.config.urls"
WSGI_APPLICATION = "kedun.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kedun.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_url("KEDUN_DATABASE_URL", {"postgres", "postgresql", "pgsql"})
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Random reads cost about what sequential ones do on SSDs and for data in cache: with the
    # default 4.0 the planner hashed whole tables where a covering index answers in its own
    # order (bench/sales_reports.py, wins and losses company-wide: 287 → 154 ms per table).
    # Options given in the URL (?options=…) win.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c random_page_cost=1.1")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "kedun.sqlite3"),
            "OPTIONS": {
                # IMMEDIATE: a transaction that reads then writes takes the write lock at BEGIN,
                # so concurrent writers wait (busy timeout) instead of failing with
                # "database is locked" (IDENTITY-NOTES.md). It also serialises audit appends.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                # A 64 MB page cache and memory-mapped reads: at a million customers the
                # registry's indexes no longer fit SQLite's 2 MB default cache.
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-65536;PRAGMA mmap_size=268435456;"
                    "PRAGMA temp_store=MEMORY;"
                ),
            },
            # Tests use a file, not memory, so that threads and processes share one database.
            "TEST": {"NAME": str(DATA_DIR / "test-kedun.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users and sessions -----------------------------------------------------------------------
AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("KEDUN_SESSION_HOURS", 12, minimum=1, maximum=24 * 90) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
LOGIN_FAILURE_LIMIT = 5
# Roles that must log in with an authenticator app (TOTP) after the password, e.g.
# "admin,manager"; anyone else may turn it on for themselves on their account page.
KEDUN_TOTP_REQUIRED_ROLES = [
    role.lower() for role in env_list("KEDUN_TOTP_REQUIRED_ROLES", default=[])
]
OTP_TOTP_ISSUER = "Kedun"
LOGIN_LOCK_MINUTES = 15

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_time_zone("KEDUN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files and uploads ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Served from the apps' static folders directly: `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
S3_BUCKET = env_str("KEDUN_S3_BUCKET")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
KEDUN_S3_ENDPOINT_URL = env_url("KEDUN_S3_ENDPOINT_URL", {"http", "https"})
KEDUN_S3_REGION = env_str("KEDUN_S3_REGION") or None
KEDUN_S3_ACCESS_KEY = env_str("KEDUN_S3_ACCESS_KEY") or None
KEDUN_S3_SECRET_KEY = env_str("KEDUN_S3_SECRET_KEY") or None
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": KEDUN_S3_ENDPOINT_URL,
            "region_name": KEDUN_S3_REGION,
            "access_key": KEDUN_S3_ACCESS_KEY,
            "secret_key": KEDUN_S3_SECRET_KEY,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
# Request bodies above this are refused with 413 before anything reads them.
# Customer grades, best first (MISSION §4); pool rules can differ per grade.
KEDUN_CUSTOMER_GRADES = env_list("KEDUN_CUSTOMER_GRADES", ["A", "B", "C", "D"])
# The pool sweep's daily run, local time (hour, minute).
KEDUN_POOL_SWEEP_HOUR = env_int("KEDUN_POOL_SWEEP_HOUR", 2, maximum=23)


# Commission on collected cash (MISSION §5): the rate where neither the product nor the rep's
# terms give one; the share of each commission retained; the clean period that releases it.
KEDUN_COMMISSION_RATE = env_fraction("KEDUN_COMMISSION_RATE", "0.03", maximum="0.9999")
KEDUN_COMMISSION_RETAINED = env_fraction("KEDUN_COMMISSION_RETAINED", "0.30", maximum="1")
KEDUN_COMMISSION_CLEAN_DAYS = env_int("KEDUN_COMMISSION_CLEAN_DAYS", 730, maximum=36500)

MAX_REQUEST_BYTES = env_int("KEDUN_MAX_REQUEST_MB", 10, minimum=1, maximum=1024) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Field check-ins (MISSION §6): a photo and a voice report, each at most this large. The
# check-in routes (and only they) take a body of both files plus the form fields.
KEDUN_FIELD_MAX_UPLOAD_BYTES = (
    env_int("KEDUN_FIELD_MAX_UPLOAD_MB", 20, minimum=1, maximum=512) * 1024 * 1024
)
KEDUN_FIELD_MAX_REQUEST_BYTES = 2 * KEDUN_FIELD_MAX_UPLOAD_BYTES + 1024 * 1024
# Map tiles behind a rep's day (https://…/{z}/{x}/{y}.png); none by default: the day is then
# an offline drawing. The page's Content-Security-Policy allows this one origin for images.
KEDUN_MAP_TILE_URL = env_tile_url("KEDUN_MAP_TILE_URL")

# --- Security headers ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; media-src 'self' blob:; worker-src 'self'; "
    "object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-kedun-session"
    CSRF_COOKIE_NAME = "__Host-kedun-csrf"
# How many proxies in front of Kedun append to X-Forwarded-For (0: use REMOTE_ADDR only).
TRUSTED_PROXY_COUNT = env_int("KEDUN_TRUSTED_PROXIES", 0, maximum=10)

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call then gets 401 with WWW-Authenticate, not 403.
        "kedun.core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "kedun.core.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "kedun.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "kedun.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kedun API",
    "DESCRIPTION": "Kedun (客盾) CRM — every customer relationship kept by the company.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several serializers have a "kind"; each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "ExportKindEnum": "kedun.exports.models.ExportKind",
        "BudgetKindEnum": "kedun.budgets.models.BudgetKind",
        "FollowUpKindEnum": "kedun.customers.models.FollowUpKind",
    },
}

# --- Background jobs -----------------------------------------------------------------------------
REDIS_URL = env_url("KEDUN_REDIS_URL", {"redis", "rediss", "unix"})
JOBS_IMMEDIATE = env_bool("KEDUN_JOBS_IMMEDIATE", False)
HUEY: dict[str, Any]
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "kedun",
        "url": REDIS_URL,
        "immediate": JOBS_IMMEDIATE,
        "utc": True,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "kedun",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": JOBS_IMMEDIATE,
        "utc": True,
    }
HUEY["consumer"] = {
    "workers": env_int("KEDUN_WORKER_THREADS", 2, minimum=1, maximum=64),
    "worker_type": "thread",
    "periodic": True,
}

# --- Logging -------------------------------------------------------------------------------------
LOG_LEVEL = env_str("KEDUN_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ConfigError(f"KEDUN_LOG_LEVEL={LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"huey": {"level": "WARNING"}, "waitress.queue": {"level": "ERROR"}},
}

# --- Mail and SMS (comms) ------------------------------------------------------------------------
# Mailbox passwords are encrypted with a key derived from KEDUN_SECRET_KEY when it is set (every
# machine shares it), else from this file, generated on first use. Changing the key means
# entering the mailbox passwords again.
MAIL_KEY_FILE = DATA_DIR / "mail_key"
MAIL_KEY_FROM_SECRET_KEY = bool(env_str("KEDUN_SECRET_KEY"))
KEDUN_MAIL_SYNC_MINUTES = env_int("KEDUN_MAIL_SYNC_MINUTES", 5, minimum=1, maximum=1440)
KEDUN_MAIL_TIMEOUT = env_int("KEDUN_MAIL_TIMEOUT", 30, minimum=1, maximum=600)
# Messages stored per transaction while syncing (the folder's last UID moves with each batch).
KEDUN_MAIL_BATCH = env_int("KEDUN_MAIL_BATCH", 100, minimum=1, maximum=5000)
# Mail older than this many days is removed by the daily retention job (0: kept for ever).
KEDUN_MAIL_RETENTION_DAYS = env_int("KEDUN_MAIL_RETENTION_DAYS", 0, maximum=36500)
KEDUN_SMS_BACKEND = env_str("KEDUN_SMS_BACKEND", "console").lower()
if KEDUN_SMS_BACKEND not in {"console", "http"}:
    raise ConfigError(f"KEDUN_SMS_BACKEND={KEDUN_SMS_BACKEND!r} is not one of console, http")
# The HTTP gateway: a URL with {phone}, {text}, {template}, {params} (JSON of the variables)
# placeholders, the method, a body template for POST, and a regular expression that a
# successful answer matches.
KEDUN_SMS_HTTP_URL = env_str("KEDUN_SMS_HTTP_URL")
KEDUN_SMS_HTTP_METHOD = env_str("KEDUN_SMS_HTTP_METHOD", "POST").upper()
KEDUN_SMS_HTTP_BODY = env_str("KEDUN_SMS_HTTP_BODY")
KEDUN_SMS_HTTP_CONTENT_TYPE = env_str(
    "KEDUN_SMS_HTTP_CONTENT_TYPE", "application/x-www-form-urlencoded"
)
KEDUN_SMS_HTTP_SUCCESS = env_str("KEDUN_SMS_HTTP_SUCCESS", '"(?:code|Code)"\\s*:\\s*"?(?:0|OK)"?')
if KEDUN_SMS_BACKEND == "http" and not KEDUN_SMS_HTTP_URL.startswith(("http://", "https://")):
    raise ConfigError("KEDUN_SMS_BACKEND=http needs KEDUN_SMS_HTTP_URL (http:// or https://)")
try:
    re.compile(KEDUN_SMS_HTTP_SUCCESS)
except re.error as _error:
    raise ConfigError(f"KEDUN_SMS_HTTP_SUCCESS is not a regular expression: {_error}") from None
if KEDUN_SMS_HTTP_METHOD not in {"GET", "POST"}:
    raise ConfigError(f"KEDUN_SMS_HTTP_METHOD={KEDUN_SMS_HTTP_METHOD!r} is not GET or POST")
KEDUN_SMS_PER_HOUR = env_int("KEDUN_SMS_PER_HOUR", 20, minimum=1, maximum=100000)
KEDUN_SMS_PER_DAY = env_int("KEDUN_SMS_PER_DAY", 100, minimum=1, maximum=1000000)

# --- Trust: view and reveal budgets, exports (MISSION §8) ---------------------------------------
_ROLES = {"admin", "manager", "sales", "orders", "logistics", "finance", "auditor"}
# Other people's customers a user may open per day, by role; a role left out has no limit.
KEDUN_VIEW_BUDGETS = env_counts(
    "KEDUN_VIEW_BUDGETS",
    {"manager": 300, "sales": 60, "orders": 200, "logistics": 200, "finance": 200},
    keys=_ROLES,
)
# Masked contact data a manager (or the boss) may reveal per day, by role.
KEDUN_REVEAL_BUDGETS = env_counts("KEDUN_REVEAL_BUDGETS", {"manager": 40}, keys=_ROLES)
# A user in leaver mode (marked as leaving by their manager) gets at most these per day.
KEDUN_LEAVER_VIEW_BUDGET = env_int("KEDUN_LEAVER_VIEW_BUDGET", 10, maximum=100000)
KEDUN_LEAVER_REVEAL_BUDGET = env_int("KEDUN_LEAVER_REVEAL_BUDGET", 0, maximum=100000)
# The manager hears once a day when a user has used this share of a budget.
KEDUN_BUDGET_WARN_PERCENT = env_int("KEDUN_BUDGET_WARN_PERCENT", 80, minimum=1, maximum=100)
# The leaver's daily report of customers opened, local hour.
KEDUN_LEAVER_REPORT_HOUR = env_int("KEDUN_LEAVER_REPORT_HOUR", 7, maximum=23)
# Exports up to this many rows run at once; larger ones wait for a manager's approval.
KEDUN_EXPORT_APPROVAL_ROWS = env_int("KEDUN_EXPORT_APPROVAL_ROWS", 200, minimum=1, maximum=10**7)
# Roles that may export without a grant; others need one from a manager over them.
KEDUN_EXPORT_ROLES = env_list("KEDUN_EXPORT_ROLES", ["admin", "manager"])
if not set(KEDUN_EXPORT_ROLES) <= _ROLES:
    raise ConfigError(f"KEDUN_EXPORT_ROLES: unknown role in {KEDUN_EXPORT_ROLES}")
# The canary row's email domain: a domain the company receives mail for turns a leaked file's
# use into mail in the company's own inbox.
# A reserved domain by default: a canary address must never reach a real stranger's mailbox.
KEDUN_CANARY_EMAIL_DOMAIN = env_str("KEDUN_CANARY_EMAIL_DOMAIN", "example.com")
