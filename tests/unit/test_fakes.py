"""The fake store keeps the conditions of the real repository that the services rely on."""

from __future__ import annotations

from layers_common.repository.leasing_repository import IdempotencyClaim
from layers_common.repository.records import AuditEntry, LeaseRequestRecord, OutboxMessage, StoredResponse
from tests.fakes import FakeLeasingStore
from tests.unit.seeding import ORG, leased_account

RESPONSE = StoredResponse(202, "{}")


def request(request_id: str = "lreq_1") -> LeaseRequestRecord:
    return LeaseRequestRecord(
        org_id=ORG,
        request_id=request_id,
        project_id="prj_a",
        count=1,
        niche={"vertical": "tea"},
        status="requested",
        submitted_at="2026-04-18T19:24:11Z",
        body_hash="h",
    )


def claim(token: str) -> IdempotencyClaim:
    return IdempotencyClaim(org_id=ORG, method="POST", route="/r", key="k", token=token)


def message(event_id: str) -> OutboxMessage:
    return OutboxMessage(event_id=event_id, event_type="LeaseRequested", detail_json="{}")


def test_accepting_a_taken_request_id_writes_nothing(store: FakeLeasingStore):
    # Given an accepted request lreq_1
    store.accept_lease_request(request(), message("evt_1"), RESPONSE, None, now_epoch=0)
    # When lreq_1 is accepted again
    outcome = store.accept_lease_request(request(), message("evt_2"), RESPONSE, None, now_epoch=0)
    # Then the outcome is request_id_taken and no second event was written
    assert outcome == "request_id_taken"
    assert list(store.outbox) == ["evt_1"]


def test_accepting_with_a_lost_claim_writes_nothing(store: FakeLeasingStore):
    # Given a key claimed by token "mine", then taken over by "theirs"
    store.claim_idempotency(claim("mine"), body_hash="h", now=0, lock_until=30, expires_at=100)
    store.take_over_idempotency(claim("theirs"), stale_token="mine", lock_until=60)
    # When "mine" tries to accept
    outcome = store.accept_lease_request(request(), message("evt_1"), RESPONSE, claim("mine"), now_epoch=0)
    # Then the claim is lost and nothing was written
    assert outcome == "claim_lost"
    assert store.lease_requests == {}
    assert store.outbox == {}


def test_a_take_over_needs_the_stale_token(store: FakeLeasingStore):
    # Given a key claimed by token "first"
    store.claim_idempotency(claim("first"), body_hash="h", now=0, lock_until=30, expires_at=100)
    # When someone takes it over naming another token
    # Then it is refused
    assert not store.take_over_idempotency(claim("late"), stale_token="other", lock_until=60)


def test_a_key_is_claimed_again_only_after_its_window(store: FakeLeasingStore):
    # Given a key claimed with a window ending at 100
    store.claim_idempotency(claim("first"), body_hash="h", now=0, lock_until=30, expires_at=100)
    # When it is claimed at 99 and at 100
    before = store.claim_idempotency(claim("second"), body_hash="h", now=99, lock_until=129, expires_at=199)
    after = store.claim_idempotency(claim("third"), body_hash="h", now=100, lock_until=130, expires_at=200)
    # Then the first attempt sees the live record and the second claims it
    assert before is not None
    assert before.token == "first"
    assert after is None


def test_only_an_assigned_lease_can_be_released(store: FakeLeasingStore):
    # Given a lease already released
    lease = leased_account(store, "sa_1", status="disconnected")
    # When it is released
    released = store.release_lease(
        lease,
        disconnected_at="t",
        disconnected_reason="released_by_partner",
        audit=store_audit(),
        audit_id="aud_1",
        event=message("evt_1"),
        now_epoch=0,
    )
    # Then nothing happens
    assert not released
    assert store.outbox == {}


def store_audit() -> AuditEntry:
    return AuditEntry(
        social_account_id="sa_1", action="lease.released", at="t", org_id=ORG, actor_key_id=None, reason=None
    )
