"""The caller: scopes, and the authorizer context round trip."""

from __future__ import annotations

import pytest

from layers_common.errors import ForbiddenScope
from layers_common.principal import LEASED_WRITE, SOCIAL_WRITE, Principal


def principal(scopes: set[str], **changes) -> Principal:
    values = {
        "org_id": "org_a",
        "key_id": "KEYA000000000001",
        "scopes": frozenset(scopes),
        "tier": "pilot",
        "env": "live",
    }
    return Principal(**{**values, **changes})


@pytest.mark.parametrize("scope", [LEASED_WRITE, SOCIAL_WRITE, "anything:else"])
def test_the_star_scope_grants_every_scope(scope):
    # Given a key with scope `*`
    caller = principal({"*"})
    # When any scope is checked
    # Then it is granted
    assert caller.has_scope(scope)


@pytest.mark.parametrize("scope", [LEASED_WRITE, SOCIAL_WRITE, "*"])
def test_an_empty_scope_list_grants_nothing(scope):
    # Given a key without scopes
    caller = principal(set())
    # When any scope is checked
    # Then it is refused
    assert not caller.has_scope(scope)


def test_a_named_scope_grants_only_itself():
    # Given a key with leased:write only
    caller = principal({LEASED_WRITE})
    # When both scopes are checked
    # Then only leased:write is granted
    assert caller.has_scope(LEASED_WRITE)
    assert not caller.has_scope(SOCIAL_WRITE)


def test_requiring_a_missing_scope_names_it_in_the_error():
    # Given a key with leased:write only
    caller = principal({LEASED_WRITE})
    # When social:write is required
    with pytest.raises(ForbiddenScope) as raised:
        caller.require(SOCIAL_WRITE)
    # Then the error names the scope
    assert raised.value.details == {"requiredScope": SOCIAL_WRITE}


@pytest.mark.parametrize("suspended", [False, True])
def test_the_authorizer_context_round_trips(suspended):
    # Given a principal with several scopes
    caller = principal({LEASED_WRITE, SOCIAL_WRITE}, suspended=suspended)
    # When it is passed through the authorizer context
    context = caller.to_context()
    # Then every value is a flat string and the principal reads back unchanged
    assert all(isinstance(value, str) for value in context.values())
    assert Principal.from_context({**context}) == caller


def test_an_empty_scope_list_round_trips_as_empty():
    # Given a principal without scopes
    caller = principal(set())
    # When it is passed through the authorizer context
    # Then it still has no scopes
    assert Principal.from_context({**caller.to_context()}) == caller


@pytest.mark.parametrize(
    "context", [None, {}, {"orgId": "org_a"}, {"keyId": "K"}, {"orgId": "", "keyId": "K"}]
)
def test_a_context_without_org_or_key_is_no_principal(context):
    # Given an authorizer context missing the organization or key
    # When it is read
    # Then there is no principal
    assert Principal.from_context(context) is None


def test_an_unknown_tier_in_the_context_falls_back_to_standard():
    # Given a context with a tier the service does not know
    context: dict[str, object] = {
        "orgId": "org_a",
        "keyId": "K",
        "scopes": "*",
        "tier": "platinum",
        "env": "live",
    }
    # When it is read
    caller = Principal.from_context(context)
    # Then the tier is standard
    assert caller is not None
    assert caller.tier == "standard"


def test_a_boolean_suspended_flag_in_the_context_is_understood():
    # Given a context where API Gateway passed suspended as a boolean
    context = {"orgId": "org_a", "keyId": "K", "scopes": "", "suspended": True}
    # When it is read
    caller = Principal.from_context(context)
    # Then the principal is suspended
    assert caller is not None
    assert caller.suspended
