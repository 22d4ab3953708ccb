"""`Idempotency-Key`: fingerprints, claims, replays and the 409 reasons."""

from __future__ import annotations

import json

import pytest

from layers_common import idempotency
from layers_common.errors import Conflict
from layers_common.repository.records import StoredResponse
from tests.fakes import FakeLeasingStore

NOW = 1_776_540_251
WINDOW = 24 * 3600
LOCK = 30
BODY = {"projectId": "prj_a", "count": 5, "niche": {"vertical": "coffee", "geo": ["US", "CA"]}}
RESPONSE = StoredResponse(202, '{"requestId":"lreq_1","status":"requested"}', {"Location": "/x"})


def begin(
    store: FakeLeasingStore, *, body=BODY, now=NOW, key="key-1", org="org_a"
) -> idempotency.IdempotencyStart:
    return idempotency.begin(
        store,
        org_id=org,
        method="POST",
        route="/v1/projects/{projectId}/leased-accounts/request",
        key=key,
        body_hash=idempotency.body_fingerprint(body),
        now=now,
        window_seconds=WINDOW,
        lock_seconds=LOCK,
    )


def test_the_fingerprint_ignores_key_order_and_whitespace():
    # Given the same body sent with other key order and spacing
    reordered = json.loads(
        '{ "niche" : {"geo":["US","CA"], "vertical":"coffee"},\n "count":5, "projectId":"prj_a" }'
    )
    # When both are fingerprinted
    # Then the fingerprints are equal
    assert idempotency.body_fingerprint(reordered) == idempotency.body_fingerprint(BODY)


@pytest.mark.parametrize(
    "other",
    [
        {**BODY, "count": 6},
        {**BODY, "niche": {"vertical": "coffee", "geo": ["CA", "US"]}},
        {**BODY, "note": None},
    ],
    ids=["value", "list-order", "extra-null"],
)
def test_the_fingerprint_changes_with_the_content(other):
    # Given a body that differs in content
    # When both are fingerprinted
    # Then the fingerprints differ
    assert idempotency.body_fingerprint(other) != idempotency.body_fingerprint(BODY)


def test_a_new_key_is_claimed(store):
    # Given a key never used
    # When a call begins with it
    start = begin(store)
    # Then the call owns an in-progress claim and there is nothing to replay
    assert start.replay is None
    assert start.claim is not None
    record = store.get_idempotency(start.claim)
    assert record is not None
    assert record.status == "in_progress"
    assert record.locked_until == NOW + LOCK
    assert record.expires_at == NOW + WINDOW


def test_a_completed_key_with_the_same_body_replays_the_response(store):
    # Given a key whose first call completed
    first = begin(store)
    assert first.claim is not None
    store.complete_idempotency(first.claim, RESPONSE)
    # When a call begins with the same key and body, in another key order
    start = begin(store, body=json.loads(json.dumps(BODY, sort_keys=True)), now=NOW + 3600)
    # Then the original response is replayed and nothing is claimed
    assert start == idempotency.IdempotencyStart(claim=None, replay=RESPONSE)


def test_a_completed_key_with_another_body_is_a_key_reused_conflict(store):
    # Given a key whose first call completed
    first = begin(store)
    assert first.claim is not None
    store.complete_idempotency(first.claim, RESPONSE)
    # When a call begins with the same key and another body
    with pytest.raises(Conflict) as raised:
        begin(store, body={**BODY, "count": 6})
    # Then it is a 409 IDEMPOTENCY_KEY_REUSED
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert raised.value.details["reason"] == raised.value.reason


def test_a_key_in_progress_with_another_body_is_a_key_reused_conflict(store):
    # Given a key whose first call is still running
    begin(store)
    # When a call begins with the same key and another body
    with pytest.raises(Conflict) as raised:
        begin(store, body={**BODY, "count": 6}, now=NOW + 1)
    # Then the body mismatch wins over the in-progress state
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_a_key_still_locked_is_an_in_progress_conflict_with_retry_after_one(store):
    # Given a key whose first call is still running
    begin(store)
    # When a call begins with the same key and body within the lock
    with pytest.raises(Conflict) as raised:
        begin(store, now=NOW + LOCK - 1)
    # Then it is a 409 IDEMPOTENCY_IN_PROGRESS with Retry-After 1
    assert raised.value.reason == "IDEMPOTENCY_IN_PROGRESS"
    assert raised.value.retry_after == 1


def test_a_key_whose_lock_expired_is_taken_over(store):
    # Given a key whose first call died holding it
    first = begin(store)
    assert first.claim is not None
    # When a call begins with the same key and body after the lock ran out
    start = begin(store, now=NOW + LOCK)
    # Then the new call owns the claim and the dead call no longer does
    assert start.claim is not None
    assert start.replay is None
    record = store.get_idempotency(start.claim)
    assert record is not None
    assert record.token == start.claim.token != first.claim.token
    assert not store.complete_idempotency(first.claim, RESPONSE)


def test_a_take_over_that_loses_the_race_is_in_progress(store):
    # Given a key whose first call died, and a second retry that takes it over first
    begin(store)
    store.before_next("take_over_idempotency", lambda: begin(store, now=NOW + LOCK))
    # When a third call tries to take it over at the same moment
    with pytest.raises(Conflict) as raised:
        begin(store, now=NOW + LOCK)
    # Then it is told the key is in progress
    assert raised.value.reason == "IDEMPOTENCY_IN_PROGRESS"


def test_a_key_older_than_the_window_is_claimed_afresh(store):
    # Given a key whose first call completed more than 24 hours ago
    first = begin(store)
    assert first.claim is not None
    store.complete_idempotency(first.claim, RESPONSE)
    # When a call begins with the same key and another body after the window
    start = begin(store, body={**BODY, "count": 9}, now=NOW + WINDOW)
    # Then it is claimed as new
    assert start.claim is not None
    assert start.replay is None


def test_a_forgotten_key_runs_afresh(store):
    # Given a key whose first call failed with a 4xx and was forgotten
    first = begin(store)
    assert first.claim is not None
    store.forget_idempotency(first.claim)
    # When a call begins with the same key and another body
    start = begin(store, body={**BODY, "count": 9}, now=NOW + 1)
    # Then it is claimed as new
    assert start.claim is not None


def test_two_organizations_using_the_same_key_never_collide(store):
    # Given org_a completed a call with key-1
    first = begin(store)
    assert first.claim is not None
    store.complete_idempotency(first.claim, RESPONSE)
    # When org_b begins a call with key-1 and another body
    start = begin(store, org="org_b", body={**BODY, "count": 2})
    # Then org_b gets its own claim
    assert start.claim is not None
    assert start.replay is None


def test_only_the_owner_can_forget_a_claim(store):
    # Given a key taken over by a second call
    first = begin(store)
    assert first.claim is not None
    second = begin(store, now=NOW + LOCK)
    assert second.claim is not None
    # When the first (presumed dead) call forgets its claim
    store.forget_idempotency(first.claim)
    # Then the second call's claim is still there
    assert store.get_idempotency(second.claim) is not None
