"""Secrets kept encrypted at rest (mailbox passwords), with key rotation.

``FIELD_ENCRYPTION_KEYS`` holds Fernet keys, newest first: the first encrypts, all of
them decrypt (MultiFernet), so a new key can be put in front, ``manage.py
rotate_secrets`` re-encrypts everything with it, and the old key is then removed. With
no keys configured, one is derived from SECRET_KEY (fine for development; set real
keys in production, so that rotating SECRET_KEY does not lock the passwords away).
"""

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(b"field-encryption:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def secret_encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def secret_rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    return _fernet().rotate(token.encode()).decode()
