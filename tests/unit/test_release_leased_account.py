"""Releasing a leased account (api.md 2.4): immediate end, one set of side effects, tenancy."""

from __future__ import annotations

import pytest

from layers_common.errors import Conflict, NotFound
from layers_common.models.leased_account import ReleaseResult
from layers_common.principal import Principal
from layers_common.services.release_leased_account import release_leased_account
from tests.fakes import FakeLeasingStore, FixedClock
from tests.unit.seeding import (
    ORG,
    OTHER_ORG,
    OTHER_ORG_PROJECT,
    connected_account,
    leased_account,
    pool_account,
)


def release(
    store: FakeLeasingStore,
    clock: FixedClock,
    caller: Principal,
    social_account_id: str = "sa_1",
    reason: str | None = None,
) -> ReleaseResult:
    return release_leased_account(
        store, clock, caller=caller, social_account_id=social_account_id, reason=reason
    )


def test_releasing_an_assigned_lease_answers_200_disconnected(store, clock, caller):
    # Given an account leased to org_a
    leased_account(store, "sa_1")
    # When org_a releases it
    result = release(store, clock, caller)
    # Then the answer is the contract's body
    assert result.model_dump(mode="json") == {
        "socialAccountId": "sa_1",
        "status": "disconnected",
        "disconnectedReason": "released_by_partner",
        "disconnectedAt": "2026-04-18T19:24:11Z",
    }


def test_a_released_lease_stops_renewing_at_once(store, clock, caller):
    # Given an account leased to org_a
    lease = leased_account(store, "sa_1")
    # When org_a releases it
    release(store, clock, caller)
    # Then the lease is disconnected with no next renewal
    stored = store.get_lease(ORG, lease.lease_id)
    assert stored is not None
    assert (stored.status, stored.next_renewal_at, stored.disconnected_reason) == (
        "disconnected",
        None,
        "released_by_partner",
    )


def test_a_release_emits_one_event_and_one_audit_entry_with_the_reason(store, clock, caller):
    # Given an account leased to org_a
    lease = leased_account(store, "sa_1")
    # When org_a releases it with a reason
    release(store, clock, caller, reason="campaign over")
    # Then one LeasedAccountReleased event and one audit entry say who, when and why
    [event] = store.events()
    assert (event["eventType"], event["leaseId"], event["socialAccountId"]) == (
        "LeasedAccountReleased",
        lease.lease_id,
        "sa_1",
    )
    assert (event["releasedByKeyId"], event["disconnectedReason"]) == (caller.key_id, "released_by_partner")
    [audit] = store.list_audit("sa_1")
    assert (audit.action, audit.actor_key_id, audit.reason, audit.at) == (
        "lease.released",
        caller.key_id,
        "campaign over",
        "2026-04-18T19:24:11Z",
    )


def test_a_second_release_is_not_found(store, clock, caller):
    # Given an account org_a has just released
    leased_account(store, "sa_1")
    release(store, clock, caller)
    # When it is released again
    with pytest.raises(NotFound):
        release(store, clock, caller)
    # Then there is still one event
    assert len(store.events()) == 1


def test_of_two_concurrent_releases_the_loser_is_not_found(store: FakeLeasingStore, clock, caller):
    # Given two releases of one lease, the other landing between this one's read and write
    leased_account(store, "sa_1")
    winner = []
    store.before_next("release_lease", lambda: winner.append(release(store, clock, caller)))
    # When this release reaches its write
    with pytest.raises(NotFound):
        release(store, clock, caller)
    # Then the other got its 200 and there is exactly one set of side effects
    assert len(winner) == 1
    assert len(store.events()) == 1
    assert len(store.list_audit("sa_1")) == 1


def test_releasing_a_connected_account_is_a_not_leased_conflict_with_a_hint(store, clock, caller):
    # Given a BYO account of org_a
    connected_account(store, "sa_byo")
    # When org_a releases it
    with pytest.raises(Conflict) as raised:
        release(store, clock, caller, "sa_byo")
    # Then it is 409 NOT_LEASED pointing at the revoke route, and nothing changed
    assert raised.value.details == {"reason": "NOT_LEASED", "hint": "DELETE /v1/social-accounts/sa_byo"}
    assert store.events() == []


def test_releasing_another_organizations_connected_account_is_not_found(store, clock, caller):
    # Given a BYO account of org_b
    connected_account(store, "sa_byo_b", org_id=OTHER_ORG, project_id=OTHER_ORG_PROJECT)
    # When org_a releases it
    # Then it is not found (not a conflict that would reveal it exists)
    with pytest.raises(NotFound):
        release(store, clock, caller, "sa_byo_b")


def test_releasing_another_organizations_lease_is_not_found(store, clock, caller):
    # Given an account leased to org_b
    lease = leased_account(store, "sa_b", org_id=OTHER_ORG, project_id=OTHER_ORG_PROJECT)
    # When org_a releases it
    with pytest.raises(NotFound):
        release(store, clock, caller, "sa_b")
    # Then org_b's lease is untouched
    stored = store.get_lease(OTHER_ORG, lease.lease_id)
    assert stored is not None
    assert stored.status == "assigned"


def test_releasing_a_pool_account_nobody_leases_is_not_found(store, clock, caller):
    # Given an available pool account
    pool_account(store, "sa_free")
    # When org_a releases it
    # Then it is not found
    with pytest.raises(NotFound):
        release(store, clock, caller, "sa_free")


def test_releasing_an_unknown_account_is_not_found(store, clock, caller):
    # Given no such account
    # When it is released
    # Then it is not found
    with pytest.raises(NotFound):
        release(store, clock, caller, "sa_never")


@pytest.mark.parametrize("social_account_id", ["", "sa 1", "sa/1", "x" * 129])
def test_releasing_a_malformed_id_is_not_found(store, clock, caller, social_account_id):
    # Given an id that cannot name anything
    # When it is released
    # Then it is not found
    with pytest.raises(NotFound):
        release(store, clock, caller, social_account_id)
