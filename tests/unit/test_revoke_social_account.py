"""Revoking a connected (BYO) account (api.md 2.5): queued posts canceled, leased accounts refused."""

from __future__ import annotations

import pytest

from layers_common.errors import Conflict, NotFound
from layers_common.models.leased_account import RevokeResult
from layers_common.principal import Principal
from layers_common.services.revoke_social_account import revoke_social_account
from tests.fakes import FakeLeasingStore, FixedClock
from tests.unit.seeding import (
    OTHER_ORG,
    OTHER_ORG_PROJECT,
    connected_account,
    leased_account,
    pool_account,
    scheduled_posts,
)


def revoke(
    store: FakeLeasingStore,
    clock: FixedClock,
    caller: Principal,
    social_account_id: str = "sa_byo",
    reason: str | None = None,
) -> RevokeResult:
    return revoke_social_account(
        store, clock, caller=caller, social_account_id=social_account_id, reason=reason
    )


def statuses(store: FakeLeasingStore, social_account_id: str = "sa_byo") -> dict[str, int]:
    counts: dict[str, int] = {}
    for post in store.list_scheduled_posts(social_account_id):
        counts[post.status] = counts.get(post.status, 0) + 1
    return counts


def test_revoking_a_connected_account_answers_200_with_the_canceled_count(store, clock, caller):
    # Given a BYO account of org_a with 4 queued posts
    connected_account(store, "sa_byo")
    scheduled_posts(store, "sa_byo", queued=4)
    # When org_a revokes it
    result = revoke(store, clock, caller)
    # Then the answer is the contract's body
    assert result.model_dump(mode="json") == {
        "socialAccountId": "sa_byo",
        "status": "disconnected",
        "disconnectedReason": "revoked_by_partner",
        "canceledScheduledPosts": 4,
        "disconnectedAt": "2026-04-18T19:24:11Z",
    }


def test_only_queued_posts_are_canceled_and_counted(store, clock, caller):
    # Given queued, published and failed posts
    connected_account(store, "sa_byo")
    scheduled_posts(store, "sa_byo", queued=2, published=3, failed=1)
    # When the account is revoked
    result = revoke(store, clock, caller)
    # Then only the queued ones were canceled, and counted
    assert result.canceled_scheduled_posts == 2
    assert statuses(store) == {"canceled": 2, "published": 3, "failed": 1}


def test_a_revoked_account_is_disconnected_with_one_event_and_one_audit_entry(store, clock, caller):
    # Given a BYO account of org_a
    connected_account(store, "sa_byo")
    # When it is revoked with a reason
    revoke(store, clock, caller, reason="client left")
    # Then the account is disconnected, one SocialAccountRevoked event and one audit entry exist
    account = store.get_account("sa_byo")
    assert account is not None
    assert account.status == "disconnected"
    assert [event["eventType"] for event in store.events()] == ["SocialAccountRevoked"]
    [audit] = store.list_audit("sa_byo")
    assert (audit.action, audit.reason, audit.actor_key_id) == (
        "social_account.revoked",
        "client left",
        caller.key_id,
    )


def test_more_queued_posts_than_one_transaction_holds_are_all_canceled(store, clock, caller):
    # Given 150 queued posts (a transaction holds at most 97 beside the account, audit and event)
    connected_account(store, "sa_byo")
    scheduled_posts(store, "sa_byo", queued=150)
    # When the account is revoked
    result = revoke(store, clock, caller)
    # Then all 150 are canceled and counted
    assert result.canceled_scheduled_posts == 150
    assert statuses(store) == {"canceled": 150}


def test_a_post_published_while_revoking_is_not_counted(store, clock, caller):
    # Given two queued posts, one of which gets published between the read and the transaction
    connected_account(store, "sa_byo")
    scheduled_posts(store, "sa_byo", queued=2)
    published = store.list_scheduled_posts("sa_byo")[0]

    def publish() -> None:

        store.put_scheduled_post(published._replace(status="published"))

    store.before_next("revoke_connected_account", publish)
    # When the account is revoked
    result = revoke(store, clock, caller)
    # Then only the post still queued is canceled and counted
    assert result.canceled_scheduled_posts == 1
    assert statuses(store) == {"published": 1, "canceled": 1}


def test_revoking_a_leased_account_is_a_leased_account_conflict_that_changes_nothing(store, clock, caller):
    # Given an account leased to org_a, with a queued post
    lease = leased_account(store, "sa_1")
    scheduled_posts(store, "sa_1", queued=1)
    # When org_a revokes it through the BYO route
    with pytest.raises(Conflict) as raised:
        revoke(store, clock, caller, "sa_1")
    # Then it is 409 LEASED_ACCOUNT pointing at the release route, and nothing changed
    assert raised.value.details == {"reason": "LEASED_ACCOUNT", "hint": "DELETE /v1/leased-accounts/sa_1"}
    stored = store.get_lease(lease.org_id, lease.lease_id)
    assert stored is not None
    assert stored.status == "assigned"
    assert statuses(store, "sa_1") == {"queued": 1}
    assert store.events() == []


def test_revoking_another_organizations_leased_account_is_not_found(store, clock, caller):
    # Given an account leased to org_b
    leased_account(store, "sa_b", org_id=OTHER_ORG, project_id=OTHER_ORG_PROJECT)
    # When org_a revokes it
    # Then it is not found (not a conflict revealing the lease)
    with pytest.raises(NotFound):
        revoke(store, clock, caller, "sa_b")


def test_revoking_a_pool_account_nobody_leases_is_not_found(store, clock, caller):
    # Given an available pool account
    pool_account(store, "sa_free")
    # When org_a revokes it
    # Then it is not found
    with pytest.raises(NotFound):
        revoke(store, clock, caller, "sa_free")


def test_revoking_another_organizations_connected_account_is_not_found(store, clock, caller):
    # Given a BYO account of org_b with a queued post
    connected_account(store, "sa_byo_b", org_id=OTHER_ORG, project_id=OTHER_ORG_PROJECT)
    scheduled_posts(store, "sa_byo_b", queued=1)
    # When org_a revokes it
    with pytest.raises(NotFound):
        revoke(store, clock, caller, "sa_byo_b")
    # Then org_b's account and post are untouched
    account = store.get_account("sa_byo_b")
    assert account is not None
    assert account.status == "connected"
    assert statuses(store, "sa_byo_b") == {"queued": 1}


def test_revoking_an_already_disconnected_account_is_not_found(store, clock, caller):
    # Given a BYO account already disconnected
    connected_account(store, "sa_byo", status="disconnected")
    # When it is revoked
    # Then it is not found
    with pytest.raises(NotFound):
        revoke(store, clock, caller)


def test_a_second_revoke_is_not_found(store, clock, caller):
    # Given a BYO account org_a has just revoked
    connected_account(store, "sa_byo")
    revoke(store, clock, caller)
    # When it is revoked again
    with pytest.raises(NotFound):
        revoke(store, clock, caller)
    # Then there is still one event
    assert len(store.events()) == 1


def test_of_two_concurrent_revokes_the_loser_is_not_found(store, clock, caller):
    # Given two revokes of one account, the other landing between this one's read and write
    connected_account(store, "sa_byo")
    scheduled_posts(store, "sa_byo", queued=3)
    winner = []
    store.before_next("revoke_connected_account", lambda: winner.append(revoke(store, clock, caller)))
    # When this revoke reaches its write
    with pytest.raises(NotFound):
        revoke(store, clock, caller)
    # Then the other counted the 3 posts and there is one event
    assert winner[0].canceled_scheduled_posts == 3
    assert len(store.events()) == 1


def test_revoking_an_unknown_account_is_not_found(store, clock, caller):
    # Given no such account
    # When it is revoked
    # Then it is not found
    with pytest.raises(NotFound):
        revoke(store, clock, caller, "sa_never")


@pytest.mark.parametrize("social_account_id", ["", "sa byo", "sa/1", "x" * 129])
def test_revoking_a_malformed_id_is_not_found(store, clock, caller, social_account_id):
    # Given an id that cannot name anything
    # When it is revoked
    # Then it is not found
    with pytest.raises(NotFound):
        revoke(store, clock, caller, social_account_id)
