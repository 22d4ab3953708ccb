"""Resolving an Authorization header to a principal (api.md 1, Authentication)."""

from __future__ import annotations

import pytest

from layers_common.api_keys import ParsedKey, format_api_key, generate_api_key, hash_secret
from layers_common.errors import Unauthenticated
from layers_common.repository.records import ApiKeyRecord, OrgRecord
from layers_common.services.authorize import authorize
from tests.fakes import FakeLeasingStore


def stored_key(store: FakeLeasingStore, **changes) -> tuple[ParsedKey, str]:
    """Store a key of org_a (active, live) and return it with its Authorization header."""
    parsed, text = generate_api_key(changes.pop("env", "live"))
    record = ApiKeyRecord(
        key_id=parsed.key_id,
        org_id="org_a",
        secret_hash=hash_secret(parsed.secret),
        env=parsed.env,
        scopes=("leased:write",),
        tier="pilot",
        status="active",
    )
    store.put_api_key(record._replace(**changes))
    return parsed, f"Bearer {text}"


def test_a_valid_key_resolves_to_its_organization_scopes_and_tier(store):
    # Given an active key of org_a
    parsed, header = stored_key(store)
    # When the header is authorized
    caller = authorize(store, header, accept_test_keys=False)
    # Then the principal carries the key's record
    assert (caller.org_id, caller.key_id, caller.scopes, caller.tier, caller.env, caller.suspended) == (
        "org_a",
        parsed.key_id,
        frozenset({"leased:write"}),
        "pilot",
        "live",
        False,
    )


def test_an_unknown_key_id_is_unauthenticated(store):
    # Given a well-formed key that was never stored
    _, text = generate_api_key("live")
    # When it is authorized
    # Then the caller is unauthenticated
    with pytest.raises(Unauthenticated):
        authorize(store, f"Bearer {text}", accept_test_keys=False)


def test_a_wrong_secret_is_unauthenticated(store):
    # Given a stored key presented with another secret
    parsed, _ = stored_key(store)
    forged = ParsedKey(env=parsed.env, key_id=parsed.key_id, secret=generate_api_key("live")[0].secret)
    # When it is authorized
    # Then the caller is unauthenticated
    with pytest.raises(Unauthenticated):
        authorize(store, f"Bearer {format_api_key(forged)}", accept_test_keys=False)


def test_a_revoked_key_is_unauthenticated(store):
    # Given a revoked key
    _, header = stored_key(store, status="revoked")
    # When it is authorized
    # Then the caller is unauthenticated
    with pytest.raises(Unauthenticated):
        authorize(store, header, accept_test_keys=False)


def test_a_key_presented_with_the_other_env_prefix_is_unauthenticated(store):
    # Given a live key presented as lp_test_
    parsed, _ = stored_key(store)
    other_env = ParsedKey(env="test", key_id=parsed.key_id, secret=parsed.secret)
    # When it is authorized
    # Then the caller is unauthenticated
    with pytest.raises(Unauthenticated):
        authorize(store, f"Bearer {format_api_key(other_env)}", accept_test_keys=False)


def test_a_key_whose_organization_is_missing_is_unauthenticated(store):
    # Given a key of an organization that does not exist
    _, header = stored_key(store, org_id="org_gone")
    # When it is authorized
    # Then the caller is unauthenticated
    with pytest.raises(Unauthenticated):
        authorize(store, header, accept_test_keys=False)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer lp_live_short"])
def test_a_missing_or_malformed_header_is_unauthenticated(store, header):
    # Given no usable credential
    # When it is authorized
    # Then the caller is unauthenticated
    with pytest.raises(Unauthenticated):
        authorize(store, header, accept_test_keys=False)


def test_every_refusal_says_the_same_thing(store):
    # Given an unknown key and a revoked key
    _, unknown = generate_api_key("live")
    _, revoked = stored_key(store, status="revoked")
    messages = []
    for header in (f"Bearer {unknown}", revoked, None):
        # When each is authorized
        with pytest.raises(Unauthenticated) as raised:
            authorize(store, header, accept_test_keys=False)
        messages.append((raised.value.message, raised.value.details))
    # Then the refusals cannot be told apart
    assert len(set(map(str, messages))) == 1


def test_a_suspended_key_authenticates_as_a_suspended_principal(store):
    # Given a suspended key
    _, header = stored_key(store, status="suspended")
    # When it is authorized
    caller = authorize(store, header, accept_test_keys=False)
    # Then the principal is marked suspended (the kill switch answers downstream)
    assert caller.suspended


def test_a_key_of_a_suspended_organization_authenticates_as_a_suspended_principal(store):
    # Given an active key of an organization that is suspended
    store.put_org(OrgRecord(org_id="org_a", name="Org A", status="suspended"))
    _, header = stored_key(store)
    # When it is authorized
    caller = authorize(store, header, accept_test_keys=False)
    # Then the principal is marked suspended
    assert caller.suspended


def test_an_unknown_tier_on_the_record_is_treated_as_standard(store):
    # Given a key record with a tier the service does not know
    _, header = stored_key(store, tier="gold")
    # When it is authorized
    # Then the principal's tier is standard
    assert authorize(store, header, accept_test_keys=False).tier == "standard"


# -- fail closed: every key status x organization status x key env x stage setting -------------

KEY_STATUSES = ["active", "suspended", "revoked", "", "Active", "disabled"]
ORG_STATUSES = ["active", "suspended", "closed", "", "ACTIVE"]


def expected_outcome(key_status: str, org_status: str, env: str, accept_test_keys: bool) -> str:
    """The contract's answer: `ok`, `suspended` (503 downstream) or `401`."""
    if key_status not in {"active", "suspended"} or org_status not in {"active", "suspended"}:
        return "401"
    if env == "test" and not accept_test_keys:
        return "401"
    return "suspended" if "suspended" in (key_status, org_status) else "ok"


@pytest.mark.parametrize("key_status", KEY_STATUSES)
@pytest.mark.parametrize("org_status", ORG_STATUSES)
@pytest.mark.parametrize("env", ["live", "test"])
@pytest.mark.parametrize("accept_test_keys", [True, False])
def test_a_key_is_accepted_only_when_it_and_its_organization_are_exactly_active(
    store, key_status, org_status, env, accept_test_keys
):
    # Given a key with this status, env and organization status, on a stage with this setting
    store.put_org(OrgRecord(org_id="org_a", name="Org A", status=org_status))
    _, header = stored_key(store, status=key_status, env=env)
    # When it is authorized
    try:
        caller = authorize(store, header, accept_test_keys=accept_test_keys)
        outcome = "suspended" if caller.suspended else "ok"
    except Unauthenticated:
        outcome = "401"
    # Then the answer is the fail-closed matrix's
    assert outcome == expected_outcome(key_status, org_status, env, accept_test_keys)


def test_a_stored_key_without_a_status_is_unauthenticated(store):
    # Given a key record whose status attribute is missing (read back as "")
    _, header = stored_key(store, status="")
    # When it is authorized / Then refused
    with pytest.raises(Unauthenticated):
        authorize(store, header, accept_test_keys=True)


def test_a_refused_test_key_says_the_same_as_an_unknown_key(store):
    # Given an active test key on a stage that refuses test keys, and an unknown key
    _, test_key = stored_key(store, env="test")
    _, unknown = generate_api_key("live")
    messages = []
    for header in (test_key, f"Bearer {unknown}"):
        with pytest.raises(Unauthenticated) as raised:
            authorize(store, header, accept_test_keys=False)
        messages.append((raised.value.message, raised.value.details))
    # Then the two refusals cannot be told apart
    assert messages[0] == messages[1]
