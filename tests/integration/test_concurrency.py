"""Properties under concurrency: calls race through the local gateway on separate threads.

The embedded DynamoDB serializes its requests (moto is not atomic otherwise), so what these tests
exercise is the service's own conditional writes and transactions, as DynamoDB would decide them.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.integration.conftest import Api, items_with_prefix
from tests.world import World, lease_body, wait_for_fresh_minute

REQUEST_URL = "/v1/projects/prj_a/leased-accounts/request"
RACERS = 8


def race(calls: int, action: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(lambda _: action(), range(calls)))


def test_concurrent_identical_idempotent_requests_create_exactly_one_request(api: Api, dynamodb: Any) -> None:
    # Given one body and one Idempotency-Key
    def submit() -> Any:
        return api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "race-1"})

    # When eight copies race
    replies = race(RACERS, submit)
    # Then every answer is the 202 (first or replayed) or IDEMPOTENCY_IN_PROGRESS, and one request exists
    statuses = sorted(reply.status for reply in replies)
    assert set(statuses) <= {202, 409}
    accepted = [reply for reply in replies if reply.status == 202]
    assert accepted
    assert len({reply.body for reply in accepted}) == 1
    for reply in replies:
        if reply.status == 409:
            assert reply.json()["error"]["details"]["reason"] == "IDEMPOTENCY_IN_PROGRESS"
    assert len(items_with_prefix(dynamodb, "LREQ#")) == 1
    assert len(items_with_prefix(dynamodb, "OUTBOX#")) == 1


def test_concurrent_requests_with_one_partner_request_id_create_exactly_one_request(
    api: Api, dynamodb: Any
) -> None:
    # Given one body with a partner requestId and no Idempotency-Key
    def submit() -> Any:
        return api.post(REQUEST_URL, json_body=lease_body(requestId="race-partner-id"))

    # When eight copies race
    replies = race(RACERS, submit)
    # Then all are the same 202 and one request exists
    assert {reply.status for reply in replies} == {202}
    assert len({reply.body for reply in replies}) == 1
    assert len(items_with_prefix(dynamodb, "LREQ#")) == 1


def test_two_concurrent_releases_give_one_200_and_one_404_with_one_set_of_side_effects(
    api: Api, dynamodb: Any
) -> None:
    # Given an assigned lease
    # When two releases race (several rounds, on distinct leases)
    for account in ("sa_leased_1", "sa_leased_2", "sa_leased_3"):
        replies = race(2, lambda account=account: api.delete(f"/v1/leased-accounts/{account}"))
        # Then exactly one wins
        assert sorted(reply.status for reply in replies) == [200, 404]
    # And each lease has one audit entry and one event
    assert len(items_with_prefix(dynamodb, "AUDIT#")) == 3
    assert len(items_with_prefix(dynamodb, "OUTBOX#")) == 3


def test_concurrent_revokes_cancel_posts_once(api: Api, dynamodb: Any) -> None:
    # Given a BYO account with two queued posts
    # When four revokes race
    replies = race(4, lambda: api.delete("/v1/social-accounts/sa_byo_a"))
    # Then one succeeds having canceled both posts, the others are 404
    assert sorted(reply.status for reply in replies) == [200, 404, 404, 404]
    winner = next(reply for reply in replies if reply.status == 200)
    assert winner.json()["canceledScheduledPosts"] == 2


def test_the_rate_limit_holds_under_concurrent_calls(api: Api, world: World) -> None:
    # Given a standard key (60 writes a minute)
    key = world.keys["a_ratelimit"]
    wait_for_fresh_minute()
    # When 70 invalid writes race (they count, and write nothing else)
    replies = race(70, lambda: api.post(REQUEST_URL, json_body={"x": 1}, key=key))
    # Then no calendar minute let more than 60 through, and the rest were 429
    passed = Counter(reply.header("X-RateLimit-Reset") for reply in replies if reply.status == 422)
    assert all(count <= 60 for count in passed.values())
    assert sum(passed.values()) + [reply.status for reply in replies].count(429) == 70
    if len(passed) == 1:
        assert [reply.status for reply in replies].count(429) == 10
