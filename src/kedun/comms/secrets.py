"""Mailbox passwords at rest: Fernet with a key derived from KEDUN_SECRET_KEY or a key file.

Kedun must hand the password to the mail server, so it cannot store a hash; it stores it
encrypted, and the key lives outside the database (MISSION §8).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from kedun.config.env import key_file


class PasswordUnreadable(Exception):
    """The stored password was encrypted with another key (the key file or secret changed)."""


@functools.cache
def _fernet() -> Fernet:
    if settings.MAIL_KEY_FROM_SECRET_KEY:
        material = settings.SECRET_KEY
    else:
        material = key_file(settings.MAIL_KEY_FILE, nbytes=32)
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"kedun mailbox passwords"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def password_encrypt(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode()


def password_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise PasswordUnreadable() from None
