"""Accepting a lease request (api.md 2.1): tenancy, idempotency, partner requestId, wallet, outbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

from layers_common.errors import BillingExhausted, Conflict, NotFound, ValidationFailed
from layers_common.models.lease_request import LeaseRequestBody
from layers_common.repository.records import LeaseRequestRecord
from layers_common.services.request_lease import RequestLease, RequestLeaseResult, request_lease
from tests.fakes import FakeLeasingStore, FixedClock, SimulatedCrash
from tests.unit.seeding import ORG, OTHER_ORG, OTHER_ORG_PROJECT, PROJECT, STANDARD_PRICE

BODY: dict[str, Any] = {
    "projectId": PROJECT,
    "count": 3,
    "niche": {"vertical": " Coffee ", "language": "en-US", "geo": ["US", "CA"]},
}


@pytest.fixture
def submit(store: FakeLeasingStore, clock: FixedClock, settings):
    """Submit a body as org_a (or another org) to a project path, with an optional Idempotency-Key."""

    def _submit(
        body: dict[str, Any] = BODY, *, key: str | None = None, path: str = PROJECT, org: str = ORG
    ) -> RequestLeaseResult:
        raw = json.loads(json.dumps(body))
        command = RequestLease(
            org_id=org,
            path_project_id=path,
            body=LeaseRequestBody.model_validate(raw),
            raw_body=raw,
            idempotency_key=key,
        )
        return request_lease(command, store=store, clock=clock, settings=settings)

    return _submit


def accepted_id(result: RequestLeaseResult) -> str:
    return str(json.loads(result.response.body)["requestId"])


def test_an_accepted_request_answers_202_with_its_location(submit):
    # Given org_a with a funded wallet
    # When it asks for accounts
    result = submit()
    # Then the answer is a 202 naming a new lreq_ id and where to poll it
    body = json.loads(result.response.body)
    assert result.response.status_code == 202
    assert not result.replayed
    assert body == {
        "requestId": body["requestId"],
        "status": "requested",
        "submittedAt": "2026-04-18T19:24:11Z",
    }
    assert body["requestId"].startswith("lreq_")
    assert len(body["requestId"]) == 5 + 26
    assert result.response.headers == {
        "Location": f"/v1/projects/{PROJECT}/leased-accounts/requests/{body['requestId']}"
    }


def test_an_accepted_request_is_stored_with_the_niche_as_submitted(submit, store):
    # Given org_a with a funded wallet
    # When it asks for accounts
    request_id = accepted_id(submit())
    # Then the request is stored, requested, with the niche echoed as sent
    stored = store.get_lease_request(ORG, request_id)
    assert stored is not None
    assert (stored.project_id, stored.count, stored.status) == (PROJECT, 3, "requested")
    assert stored.niche == BODY["niche"]


def test_an_accepted_request_emits_exactly_one_lease_requested_event(submit, store):
    # Given org_a with a funded wallet
    # When it asks for accounts
    request_id = accepted_id(submit())
    # Then one LeaseRequested event is in the outbox, with the trimmed niche
    events = store.events()
    assert len(events) == 1
    event = events[0]
    assert (event["eventType"], event["eventVersion"], event["orgId"]) == ("LeaseRequested", 1, ORG)
    assert (event["requestId"], event["projectId"], event["count"]) == (request_id, PROJECT, 3)
    assert event["niche"] == {
        "vertical": "Coffee",
        "audience": None,
        "language": "en-US",
        "geo": ["US", "CA"],
    }
    assert event["submittedAt"] == event["occurredAt"] == "2026-04-18T19:24:11Z"


def test_a_partner_request_id_is_used_as_the_request_id(submit, store):
    # Given a body naming its own requestId
    # When it is submitted
    result = submit({**BODY, "requestId": "partner-42"})
    # Then the request is stored under it
    assert accepted_id(result) == "partner-42"
    assert store.get_lease_request(ORG, "partner-42") is not None


def test_a_body_project_that_differs_from_the_path_is_a_validation_issue_at_project_id(submit, store):
    # Given a body for prj_a2 posted to prj_a
    # When it is submitted
    with pytest.raises(ValidationFailed) as raised:
        submit({**BODY, "projectId": "prj_a2"})
    # Then the issue is at projectId and nothing is stored
    assert [issue.path for issue in raised.value.issues] == ["projectId"]
    assert store.requests_of(ORG) == []
    assert store.events() == []


def test_an_unknown_project_is_not_found(submit, store):
    # Given a project that does not exist
    # When a request is posted to it
    with pytest.raises(NotFound):
        submit({**BODY, "projectId": "prj_nope"}, path="prj_nope")
    # Then nothing is stored
    assert store.requests_of(ORG) == []


def test_a_project_of_another_organization_is_not_found(submit, store):
    # Given org_b's project
    # When org_a posts a request to it
    with pytest.raises(NotFound):
        submit({**BODY, "projectId": OTHER_ORG_PROJECT}, path=OTHER_ORG_PROJECT)
    # Then nothing is stored for either organization
    assert store.requests_of(ORG) == []
    assert store.requests_of(OTHER_ORG) == []


def test_a_malformed_project_id_is_not_found(submit):
    # Given a path project id that cannot name anything
    bad = "prj a/../b"
    # When a request is posted to it
    # Then it is answered as not found
    with pytest.raises(NotFound):
        submit({**BODY, "projectId": bad}, path=bad)


def test_a_wallet_below_the_standard_price_is_billing_exhausted(submit, store):
    # Given a wallet one cent short of one account
    store.put_wallet(ORG, STANDARD_PRICE - 1)
    # When org_a asks for accounts
    with pytest.raises(BillingExhausted) as raised:
        submit()
    # Then it is a 402 that queued nothing
    assert raised.value.details == {"balanceCents": STANDARD_PRICE - 1, "requiredCents": STANDARD_PRICE}
    assert store.requests_of(ORG) == []
    assert store.events() == []


def test_a_wallet_of_exactly_the_standard_price_is_enough(submit, store):
    # Given a wallet holding exactly one account's price
    store.put_wallet(ORG, STANDARD_PRICE)
    # When org_a asks for accounts
    # Then the request is accepted
    assert submit().response.status_code == 202


def test_an_organization_without_a_wallet_is_billing_exhausted(submit, store):
    # Given an organization with no wallet item at all
    del store.wallets[ORG]
    # When it asks for accounts
    # Then it is a 402
    with pytest.raises(BillingExhausted):
        submit()


def test_a_402_forgets_the_idempotency_key_so_a_retry_after_top_up_runs_afresh(submit, store):
    # Given an empty wallet and a call with an Idempotency-Key that got a 402
    store.put_wallet(ORG, 0)
    with pytest.raises(BillingExhausted):
        submit(key="k-402")
    assert store.idempotency == {}
    # When the partner tops up and retries with the same key
    store.put_wallet(ORG, STANDARD_PRICE)
    result = submit(key="k-402")
    # Then the retry is accepted, not replayed
    assert result.response.status_code == 202
    assert not result.replayed
    assert len(store.requests_of(ORG)) == 1


def test_a_replay_with_the_same_key_returns_the_same_response_and_creates_nothing(submit, store, clock):
    # Given an accepted call with an Idempotency-Key
    first = submit(key="k-1")
    # When the same call is retried a minute later, keys reordered
    clock.advance(minutes=1)
    retry = submit(json.loads(json.dumps(BODY, sort_keys=True)), key="k-1")
    # Then the original response is replayed byte for byte, and there is still one request and one event
    assert retry.replayed
    assert retry.response == first.response
    assert len(store.requests_of(ORG)) == 1
    assert len(store.events()) == 1


def test_the_same_key_with_another_body_is_a_key_reused_conflict(submit, store):
    # Given an accepted call with an Idempotency-Key
    submit(key="k-1")
    # When the key is reused with another count
    with pytest.raises(Conflict) as raised:
        submit({**BODY, "count": 4}, key="k-1")
    # Then it is a 409 IDEMPOTENCY_KEY_REUSED and nothing new is stored
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert len(store.requests_of(ORG)) == 1


def test_the_same_key_while_the_first_call_runs_is_in_progress(submit, store):
    # Given a first call that has claimed its key and not finished yet
    store.crash_next("accept_lease_request")
    with pytest.raises(SimulatedCrash):
        submit(key="k-1")
    # When the same call is retried within the lock
    with pytest.raises(Conflict) as raised:
        submit(key="k-1")
    # Then it is a 409 IDEMPOTENCY_IN_PROGRESS with Retry-After 1
    assert (raised.value.reason, raised.value.retry_after) == ("IDEMPOTENCY_IN_PROGRESS", 1)


def test_a_retry_after_a_crash_creates_exactly_one_request(submit, store, clock, settings):
    # Given a first call that died before its transaction
    store.crash_next("accept_lease_request")
    with pytest.raises(SimulatedCrash):
        submit(key="k-1")
    # When the call is retried after the lock ran out, and then once more
    clock.advance(seconds=settings.idempotency_lock_seconds)
    first = submit(key="k-1")
    again = submit(key="k-1")
    # Then exactly one request and one event exist, and the last retry is a replay
    assert not first.replayed
    assert again.replayed
    assert again.response == first.response
    assert len(store.requests_of(ORG)) == 1
    assert len(store.events()) == 1


def test_a_call_presumed_dead_does_not_write_after_its_key_was_taken_over(submit, store, clock, settings):
    # Given a slow first call whose claim is taken over (and completed) while it runs
    def a_retry_wins_meanwhile() -> None:
        clock.advance(seconds=settings.idempotency_lock_seconds)
        submit(key="k-1")

    store.before_next("accept_lease_request", a_retry_wins_meanwhile)
    # When the slow call reaches its transaction
    with pytest.raises(Conflict) as raised:
        submit(key="k-1")
    # Then it writes nothing (one request, one event) and answers in progress
    assert raised.value.reason == "IDEMPOTENCY_IN_PROGRESS"
    assert len(store.requests_of(ORG)) == 1
    assert len(store.events()) == 1


def test_two_organizations_with_the_same_key_each_get_their_own_request(submit, store):
    # Given org_a accepted a call with key k-1
    submit(key="k-1")
    # When org_b uses k-1 for its own project
    result = submit(
        {**BODY, "projectId": OTHER_ORG_PROJECT}, key="k-1", path=OTHER_ORG_PROJECT, org=OTHER_ORG
    )
    # Then org_b's call runs, not a replay of org_a's
    assert not result.replayed
    assert len(store.requests_of(OTHER_ORG)) == 1


def test_reusing_a_partner_request_id_with_the_same_body_replays_the_original(submit, store, clock):
    # Given an accepted request with requestId partner-42
    body = {**BODY, "requestId": "partner-42"}
    first = submit(body)
    # When the same body is sent again later, without an Idempotency-Key
    clock.advance(minutes=5)
    again = submit(body)
    # Then the original 202 is replayed and nothing new is stored
    assert again.response == first.response
    assert again.replayed
    assert len(store.requests_of(ORG)) == 1
    assert len(store.events()) == 1


def test_reusing_a_partner_request_id_with_another_body_is_request_id_in_use(submit, store):
    # Given an accepted request with requestId partner-42
    submit({**BODY, "requestId": "partner-42"})
    # When requestId partner-42 is sent with another count
    with pytest.raises(Conflict) as raised:
        submit({**BODY, "requestId": "partner-42", "count": 9})
    # Then it is a 409 REQUEST_ID_IN_USE
    assert raised.value.reason == "REQUEST_ID_IN_USE"
    assert len(store.requests_of(ORG)) == 1


def test_a_request_id_in_use_conflict_forgets_the_idempotency_key(submit, store):
    # Given partner-42 in use, and a different body sent with it under a new Idempotency-Key
    submit({**BODY, "requestId": "partner-42"})
    with pytest.raises(Conflict):
        submit({**BODY, "requestId": "partner-42", "count": 9}, key="k-9")
    # When the partner fixes the requestId and retries with the same key
    result = submit({**BODY, "requestId": "partner-43", "count": 9}, key="k-9")
    # Then the key was not remembered: the corrected body is accepted, not a KEY_REUSED conflict
    assert result.response.status_code == 202
    assert not result.replayed


def test_a_partner_request_id_is_scoped_to_the_organization(submit, store):
    # Given org_a used requestId partner-42
    submit({**BODY, "requestId": "partner-42"})
    # When org_b uses partner-42 for its own request
    result = submit(
        {**BODY, "projectId": OTHER_ORG_PROJECT, "requestId": "partner-42"},
        path=OTHER_ORG_PROJECT,
        org=OTHER_ORG,
    )
    # Then org_b's request is accepted on its own
    assert not result.replayed
    assert store.get_lease_request(OTHER_ORG, "partner-42") is not None


def test_a_concurrent_call_with_the_same_partner_request_id_and_body_is_answered_as_a_replay(submit, store):
    # Given a call with partner-42 whose twin is accepted between its read and its write
    body = {**BODY, "requestId": "partner-42"}
    twin: list[RequestLeaseResult] = []
    store.before_next("accept_lease_request", lambda: twin.append(submit(body)))
    # When the call reaches its transaction
    result = submit(body)
    # Then it answers with the twin's 202 and only one request exists
    assert result.response == twin[0].response
    assert result.replayed
    assert len(store.requests_of(ORG)) == 1
    assert len(store.events()) == 1


def test_a_concurrent_call_with_the_same_partner_request_id_and_another_body_is_in_use(submit, store):
    # Given a call with partner-42 whose twin (another count) is accepted between its read and its write
    store.before_next("accept_lease_request", lambda: submit({**BODY, "requestId": "partner-42", "count": 1}))
    # When the call reaches its transaction
    with pytest.raises(Conflict) as raised:
        submit({**BODY, "requestId": "partner-42"})
    # Then it is REQUEST_ID_IN_USE
    assert raised.value.reason == "REQUEST_ID_IN_USE"


def test_a_replay_of_an_accepted_request_still_works_after_the_wallet_is_emptied(submit, store):
    # Given an accepted call with an Idempotency-Key, whose accounts then used up the wallet
    first = submit(key="k-1")
    store.put_wallet(ORG, 0)
    # When the call is retried
    retry = submit(key="k-1")
    # Then it gets its original 202, not a 402
    assert retry.replayed
    assert retry.response == first.response


def test_a_partner_request_id_replay_still_works_after_the_wallet_is_emptied(submit, store):
    # Given an accepted request partner-42, after which the wallet was emptied
    body = {**BODY, "requestId": "partner-42"}
    first = submit(body)
    store.put_wallet(ORG, 0)
    # When it is sent again
    # Then it gets its original 202
    assert submit(body).response == first.response


def test_a_partner_request_id_replay_is_remembered_under_the_idempotency_key(submit, store):
    # Given partner-42 accepted without a key, then replayed with key k-1
    body = {**BODY, "requestId": "partner-42"}
    submit(body)
    submit(body, key="k-1")
    # When k-1 is reused with another body
    # Then the key is known (completed with the replayed response)
    with pytest.raises(Conflict) as raised:
        submit({**body, "count": 1}, key="k-1")
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_the_stored_body_hash_lets_a_stale_record_be_compared(store, submit):
    # Given a request stored earlier for partner-7 with a different body hash
    store.put_lease_request(
        LeaseRequestRecord(
            org_id=ORG,
            request_id="partner-7",
            project_id=PROJECT,
            count=1,
            niche={"vertical": "tea"},
            status="assigned",
            submitted_at="2026-04-01T00:00:00Z",
            body_hash="0" * 64,
        )
    )
    # When partner-7 is sent with this body
    # Then it is REQUEST_ID_IN_USE
    with pytest.raises(Conflict) as raised:
        submit({**BODY, "requestId": "partner-7"})
    assert raised.value.reason == "REQUEST_ID_IN_USE"
