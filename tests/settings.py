"""Test settings: Kedun's own settings, read with a throw-away data directory."""

import os
import tempfile

os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-test-"))
os.environ["KEDUN_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
os.environ.setdefault("KEDUN_JOBS_IMMEDIATE", "true")

from kedun.config.settings import *  # noqa: F403

# Hashing passwords slowly protects real users; in tests it only costs minutes.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
