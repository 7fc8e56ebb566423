"""Secrets as the store keeps them: never the secret itself.

    hash_password(password)         -> an argon2id hash (memory-hard, salted)
    check_password(stored, password) -> (matches, a new hash when the parameters changed)
    waste_check(password)            -> the same work as a check, for a name that has no account
    token_digest(token)              -> what is kept of an app's token (SHA-256)
    fever_digest(api_key)            -> what is kept of a Fever API key (SHA-256 of it)

argon2-cffi compares in constant time. Tokens are random (256 bits), so a fast digest is
enough for them: it only keeps a copy of the database from being a list of live tokens.
The Fever API key is md5("name:password") by that protocol's design; only accounts that ask
for Fever get one (``aggregator users add NAME --fever``).
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aggregator.errors import AccountError

MAX_PASSWORD_BYTES = 1024  # argon2 takes any length; a bound keeps a login request cheap


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2-cffi's current recommended parameters (RFC 9106 low-memory)


def hash_password(password: str) -> str:
    """The argon2id hash of a password fit for an account (AccountError when it is not)."""
    if not password:
        raise AccountError("the password is empty")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise AccountError(f"the password is longer than {MAX_PASSWORD_BYTES} bytes")
    return _hasher().hash(password)


def check_password(stored: str, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches the stored hash, and a new hash to store when the hash
    was made with other parameters than today's (the password is at hand only now)."""
    if not password or len(password.encode()) > MAX_PASSWORD_BYTES:
        return False, None
    try:
        _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if _hasher().check_needs_rehash(stored):
        return True, _hasher().hash(password)
    return True, None


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def waste_check(password: str) -> None:
    """As much work as checking a password, so that an unknown name answers no faster."""
    check_password(_dummy_hash(), password or "-")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fever_api_key(name: str, password: str) -> str:
    """The key a Fever client sends: md5("name:password"), as that protocol defines it."""
    return hashlib.md5(f"{name}:{password}".encode()).hexdigest()  # noqa: S324 - Fever's spec


def fever_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.strip().lower().encode()).hexdigest()
