"""Resolve an `Authorization` header to the calling key's organization, scopes and tier.

Fail closed (api.md 1, Authentication): a key is accepted only when its own status and its
organization's are exactly `active`; `suspended` (either) is reported downstream as the kill
switch; a missing status or any other value is a 401, as is a `lp_test_` key on a stage that does
not accept test keys.
"""

from __future__ import annotations

from typing import Protocol

from layers_common.api_keys import hash_secret, parse_bearer, secret_matches
from layers_common.errors import Unauthenticated
from layers_common.principal import TIERS, Principal
from layers_common.repository.records import ApiKeyRecord, OrgRecord

# Compared against when the key id is unknown, so that case costs the same as a wrong secret.
_UNKNOWN_KEY_HASH = hash_secret("0" * 43)
ACTIVE = "active"
SUSPENDED = "suspended"
_ADMITTED = frozenset({ACTIVE, SUSPENDED})  # every other status (or none) is refused


class AuthStore(Protocol):
    def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    def get_org(self, org_id: str) -> OrgRecord | None: ...


def authorize(store: AuthStore, authorization: str | None, *, accept_test_keys: bool) -> Principal:
    """The caller, or `Unauthenticated` without saying why (suspension is reported downstream)."""
    parsed = parse_bearer(authorization)
    if parsed is None:
        raise Unauthenticated()
    record = store.get_api_key(parsed.key_id)
    matches = secret_matches(parsed.secret, record.secret_hash if record else _UNKNOWN_KEY_HASH)
    if record is None or not matches or record.env != parsed.env or record.status not in _ADMITTED:
        raise Unauthenticated()
    if parsed.env == "test" and not accept_test_keys:
        raise Unauthenticated()
    org = store.get_org(record.org_id)
    if org is None or org.status not in _ADMITTED:
        raise Unauthenticated()
    return Principal(
        org_id=record.org_id,
        key_id=record.key_id,
        scopes=frozenset(record.scopes),
        tier=record.tier if record.tier in TIERS else "standard",
        env=record.env,
        suspended=record.status == SUSPENDED or org.status == SUSPENDED,
    )
