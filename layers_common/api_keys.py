"""API key format `lp_<env>_<keyId>_<secret>`: parsing by position, generation and hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from typing import Literal

Env = Literal["live", "test"]

KEY_ID_LENGTH = 16
SECRET_LENGTH = 43  # base64url of 32 random bytes, unpadded
_KEY_ID_ALPHABET = frozenset(string.digits + string.ascii_uppercase)
_SECRET_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")
_ENVS: tuple[Env, ...] = ("live", "test")


@dataclass(frozen=True)
class ParsedKey:
    env: Env
    key_id: str
    secret: str

    def __repr__(self) -> str:  # never let the secret reach a log line by accident
        return f"ParsedKey(env={self.env!r}, key_id={self.key_id!r}, secret=<redacted>)"


def parse_api_key(raw: str) -> ParsedKey | None:
    """Parse by position: the secret may itself contain `_` and `-`, so never split on `_`."""
    for env in _ENVS:
        prefix = f"lp_{env}_"
        if not raw.startswith(prefix):
            continue
        rest = raw[len(prefix) :]
        key_id, separator, secret = rest[:KEY_ID_LENGTH], rest[KEY_ID_LENGTH : KEY_ID_LENGTH + 1], rest[17:]
        if (
            len(key_id) == KEY_ID_LENGTH
            and set(key_id) <= _KEY_ID_ALPHABET
            and separator == "_"
            and len(secret) == SECRET_LENGTH
            and set(secret) <= _SECRET_ALPHABET
        ):
            return ParsedKey(env=env, key_id=key_id, secret=secret)
        return None
    return None


def parse_bearer(header: str | None) -> ParsedKey | None:
    """`Authorization: Bearer <key>` is the only accepted credential (scheme case-insensitive)."""
    if not header:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return parse_api_key(credential.strip())


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of the secret: the secret is 256 random bits, so no slow KDF is needed."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def generate_api_key(env: Env) -> tuple[ParsedKey, str]:
    """A new key and its full text (shown once to the operator, never stored)."""
    key_id = "".join(secrets.choice(sorted(_KEY_ID_ALPHABET)) for _ in range(KEY_ID_LENGTH))
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    parsed = ParsedKey(env=env, key_id=key_id, secret=secret)
    return parsed, format_api_key(parsed)


def format_api_key(key: ParsedKey) -> str:
    return f"lp_{key.env}_{key.key_id}_{key.secret}"
