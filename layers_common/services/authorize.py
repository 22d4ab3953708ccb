"""Resolve an `Authorization` header to the calling key's organization, scopes and tier."""

from __future__ import annotations

from typing import Protocol

from layers_common.api_keys import hash_secret, parse_bearer, secret_matches
from layers_common.errors import Unauthenticated
from layers_common.principal import TIERS, Principal
from layers_common.repository.records import ApiKeyRecord, OrgRecord

# Compared against when the key id is unknown, so that case costs the same as a wrong secret.
_UNKNOWN_KEY_HASH = hash_secret("0" * 43)


class AuthStore(Protocol):
    def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    def get_org(self, org_id: str) -> OrgRecord | None: ...


def authorize(store: AuthStore, authorization: str | None) -> Principal:
    """The caller, or `Unauthenticated` without saying why (suspension is reported downstream)."""
    parsed = parse_bearer(authorization)
    if parsed is None:
        raise Unauthenticated()
    record = store.get_api_key(parsed.key_id)
    matches = secret_matches(parsed.secret, record.secret_hash if record else _UNKNOWN_KEY_HASH)
    if record is None or not matches or record.env != parsed.env or record.status == "revoked":
        raise Unauthenticated()
    org = store.get_org(record.org_id)
    if org is None:
        raise Unauthenticated()
    return Principal(
        org_id=record.org_id,
        key_id=record.key_id,
        scopes=frozenset(record.scopes),
        tier=record.tier if record.tier in TIERS else "standard",
        env=record.env,
        suspended=record.status == "suspended" or org.status == "suspended",
    )
