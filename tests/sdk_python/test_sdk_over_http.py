"""The Python SDK driving a real `leasing serve` over HTTP, the way the seed pages show it."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Any

import httpx
import pytest
from layers import (
    APIConnectionError,
    AsyncLayers,
    AuthenticationError,
    BillingExhaustedError,
    ConflictError,
    Layers,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
)

from tests.e2e_local.conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sdk")]

NICHE = {"vertical": "coffee", "audience": "home baristas 25-40", "language": "en", "geo": ["US", "CA"]}


def client(server: Server, key: str = "sdk", **options: Any) -> Layers:
    return Layers(api_key=server.world.keys[key], base_url=server.url, **options)


class DropResponses(httpx.BaseTransport):
    """A real HTTP transport that loses the first `drops` responses to `method`: the server acted,
    the client never heard back (what a dropped connection looks like from the client)."""

    def __init__(self, method: str, drops: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.method = method
        self.drops = drops
        self.seen: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.seen.append((request, response))
        if request.method == self.method and self.drops > 0:
            self.drops -= 1
            raise httpx.ReadError("connection dropped before the response arrived", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_the_seed_page_flow_requests_waits_lists_and_releases(sdk_server: Server) -> None:
    layers = client(sdk_server)
    # Given a partner integrating exactly as the product's documentation shows
    # When it requests accounts with its own idempotency key and waits for the request
    accepted = layers.leased_accounts.request(
        project_id="prj_a",
        count=2,
        niche=NICHE,
        target="Short-form brew tutorials",
        idempotency_key=str(uuid.uuid4()),
    )
    done = layers.leased_accounts.wait_for_request(accepted.request_id, timeout=30, poll_interval=0.2)
    # Then the 202 and the final state are models with snake_case fields and their own X-Request-Id
    assert accepted.status == "requested"
    assert accepted.request_id.startswith("lreq_")
    assert str(accepted._request_id).startswith("req_")
    assert done.status == "assigned"
    assert len(done.assigned_social_account_ids) == 2
    assert done.niche.vertical == "coffee"
    assert done._request_id != accepted._request_id
    # And both lookups (organization and project routes) find it
    assert layers.leased_accounts.get_request(accepted.request_id).status == "assigned"
    assert layers.leased_accounts.get_request(accepted.request_id, project_id="prj_a").count == 2
    # And the accounts are listed, then one is released and no longer listed
    listed = {
        account.social_account_id: account for account in layers.leased_accounts.list(project_id="prj_a")
    }
    first = done.assigned_social_account_ids[0]
    assert listed[first].next_renewal_at is not None
    assert listed[first].request_id == accepted.request_id
    released = layers.leased_accounts.release(first, reason="Customer churned")
    assert released.status == "disconnected"
    assert released.disconnected_reason == "released_by_partner"
    assert first not in {account.social_account_id for account in layers.leased_accounts.list()}
    assert first in {a.social_account_id for a in layers.leased_accounts.list(status="disconnected")}


def test_wait_for_request_returns_the_assignment_once_the_event_path_is_drained(sdk_server: Server) -> None:
    layers = client(sdk_server)
    # Given an accepted request and a drained event path
    accepted = layers.leased_accounts.request(project_id="prj_a2", count=1, niche={"vertical": "coffee"})
    assert sdk_server.call("POST", "/_local/drain").status_code == 200
    # When the partner waits for it
    done = layers.leased_accounts.wait_for_request(accepted.request_id, project_id="prj_a2", timeout=10)
    # Then it is assigned at once, with the assignment time
    assert done.status == "assigned"
    assert done.assigned_at is not None
    assert done.project_id == "prj_a2"


def test_a_byo_account_is_revoked_through_social_accounts(sdk_server: Server) -> None:
    layers = client(sdk_server)
    # Given a connected account with queued posts
    # When it is released as a lease, then revoked
    with pytest.raises(ConflictError) as refused:
        layers.leased_accounts.release("sa_byo_a")
    revoked = layers.social_accounts.revoke("sa_byo_a", reason="moving to another tool")
    # Then release is refused with NOT_LEASED and a hint, and the revocation cancels the queued posts
    assert refused.value.reason == "NOT_LEASED"
    assert "/v1/social-accounts/" in str(refused.value.hint)
    assert revoked.disconnected_reason == "revoked_by_partner"
    assert revoked.canceled_scheduled_posts == 2


def test_listing_pages_through_every_cursor_lazily(sdk_server: Server) -> None:
    layers = client(sdk_server)
    # Given the seeded disconnected lease and more leases than one page holds
    everything = [account.social_account_id for account in layers.leased_accounts.list(limit=200)]
    # When the list is read one item per page
    pager = layers.leased_accounts.list(limit=1)
    pages = list(pager.pages())
    paged = [account.social_account_id for account in layers.leased_accounts.list(limit=1)]
    # Then every account comes back once, in the same order, over one page per account
    assert len(everything) >= 3
    assert paged == everything
    assert len(pages) == len(everything)
    assert all(len(page.items) == 1 for page in pages)


def test_each_error_status_raises_its_own_class(sdk_server: Server) -> None:
    cases: list[tuple[type[Exception], Any]] = [
        (
            AuthenticationError,
            lambda: Layers(api_key="lp_test_nope", base_url=sdk_server.url).leased_accounts.get_request("x"),
        ),
        (
            BillingExhaustedError,
            lambda: client(sdk_server, "b").leased_accounts.request(project_id="prj_b", count=1, niche=NICHE),
        ),
        (PermissionDeniedError, lambda: client(sdk_server, "a_social").leased_accounts.get_request("lreq_x")),
        (NotFoundError, lambda: client(sdk_server).leased_accounts.get_request("lreq_missing")),
        (ConflictError, lambda: client(sdk_server).social_accounts.revoke("sa_leased_1")),
        (
            ValidationError,
            lambda: client(sdk_server).leased_accounts.request(project_id="prj_a", count=0, niche=NICHE),
        ),
        (ServiceUnavailableError, lambda: client(sdk_server, "c").leased_accounts.get_request("lreq_x")),
    ]
    for expected, action in cases:
        # Given a call the server refuses
        # When the SDK makes it
        with pytest.raises(expected) as raised:
            action()
        # Then the exception carries the status, the code, the message and the response's request id
        error = raised.value
        assert error.status in {401, 402, 403, 404, 409, 422, 503}, error  # type: ignore[attr-defined]
        assert error.code, error  # type: ignore[attr-defined]
        assert error.message, error  # type: ignore[attr-defined]
        assert str(error.request_id).startswith("req_")  # type: ignore[attr-defined]


def test_a_validation_error_lists_the_issue_paths(sdk_server: Server) -> None:
    layers = client(sdk_server)
    # Given a body with two problems
    # When it is sent
    with pytest.raises(ValidationError) as raised:
        layers.leased_accounts.request(
            project_id="prj_a", count=0, niche={"vertical": "coffee", "geo": ["US", "XX"]}
        )
    # Then each problem is an issue at its own path
    assert {issue["path"] for issue in raised.value.issues} == {"count", "niche.geo[1]"}


def test_reusing_an_idempotency_key_with_another_body_is_a_conflict_with_its_reason(
    sdk_server: Server,
) -> None:
    layers = client(sdk_server)
    key = str(uuid.uuid4())
    # Given a request accepted under an idempotency key
    layers.leased_accounts.request(project_id="prj_a", count=1, niche=NICHE, idempotency_key=key)
    # When the same key is sent with a different body
    with pytest.raises(ConflictError) as raised:
        layers.leased_accounts.request(project_id="prj_a", count=2, niche=NICHE, idempotency_key=key)
    # Then it is refused as a reuse, not retried
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_a_lost_202_is_retried_with_the_same_key_and_replayed_not_duplicated(sdk_server: Server) -> None:
    transport = DropResponses("POST")
    layers = client(sdk_server, http_client=httpx.Client(transport=transport))
    layers._sleep = lambda _seconds: None
    # Given a connection that drops the first answer to the lease request (the server did accept it)
    # When the SDK requests accounts without an idempotency key of the caller's
    accepted = layers.leased_accounts.request(project_id="prj_a", count=1, niche=NICHE)
    # Then it sent twice with one generated key, and the second answer is the replay of the first
    posts = [(request, response) for request, response in transport.seen if request.method == "POST"]
    assert len(posts) == 2
    assert posts[0][0].headers["Idempotency-Key"] == posts[1][0].headers["Idempotency-Key"]
    assert posts[1][1].headers["Idempotent-Replayed"] == "true"
    assert posts[0][1].json()["requestId"] == posts[1][1].json()["requestId"] == accepted.request_id


def test_a_release_whose_response_was_lost_is_not_sent_again(sdk_server: Server) -> None:
    transport = DropResponses("DELETE")
    layers = client(sdk_server, http_client=httpx.Client(transport=transport))
    # Given a leased account and a connection that drops the answer to the release
    # When the SDK releases it
    with pytest.raises(APIConnectionError):
        layers.leased_accounts.release("sa_leased_3")
    # Then it was sent once (the server did release it: a second release is a 404)
    assert [request.method for request, _ in transport.seen] == ["DELETE"]
    with pytest.raises(NotFoundError):
        client(sdk_server).leased_accounts.release("sa_leased_3")


def test_a_refused_connection_is_an_api_connection_error_after_the_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts: list[float] = []
    layers = Layers(api_key="lp_test_x", base_url=f"http://127.0.0.1:{port}", max_retries=2)
    layers._sleep = attempts.append
    # Given nothing listening on the port
    # When a release is attempted
    with pytest.raises(APIConnectionError) as raised:
        layers.leased_accounts.release("sa_1")
    # Then it was retried twice (nothing was sent), with growing backoff, and has no status
    assert len(attempts) == 2
    assert raised.value.status is None


def _spend_write_budget(server: Server, key: str) -> None:
    """Write until the key is answered 429 (a slow machine may cross into the next minute first)."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
        for _ in range(200):
            if http.delete("/v1/leased-accounts/sa_not_there").status_code == 429:
                return
    raise AssertionError("the write budget was never spent")


def _into_a_window_with(seconds: float) -> None:
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.1)


def test_a_429_without_retries_raises_rate_limit_error_with_retry_after(sdk_server: Server) -> None:
    key = sdk_server.world.keys["sdk_ratelimit_once"]
    _into_a_window_with(20)
    _spend_write_budget(sdk_server, key)
    layers = Layers(api_key=key, base_url=sdk_server.url, max_retries=0)
    # Given a key whose write budget for this minute is spent
    # When it requests accounts
    with pytest.raises(RateLimitError) as raised:
        layers.leased_accounts.request(project_id="prj_a", count=1, niche=NICHE)
    # Then the error says how long to wait
    assert raised.value.status == 429
    assert raised.value.code == "RATE_LIMITED"
    assert 0 < (raised.value.retry_after or 0) <= 60


def test_a_429_is_retried_after_retry_after_and_then_succeeds(sdk_server: Server) -> None:
    key = sdk_server.world.keys["sdk_ratelimit_retry"]
    _into_a_window_with(20)
    _spend_write_budget(sdk_server, key)
    window_ends = 60 - time.time() % 60
    layers = Layers(api_key=key, base_url=sdk_server.url, max_retries=1)
    # Given a key whose write budget is spent for the rest of this minute
    # When it requests accounts with one retry allowed
    started = time.monotonic()
    accepted = layers.leased_accounts.request(project_id="prj_a", count=1, niche=NICHE)
    # Then the SDK waited for the window to turn, and the retry was accepted
    assert time.monotonic() - started >= window_ends - 1.5
    assert accepted.status == "requested"


def test_the_async_client_has_the_same_surface(sdk_server: Server) -> None:
    async def scenario() -> tuple[Any, Any, list[str]]:
        async with AsyncLayers(api_key=sdk_server.world.keys["sdk_async"], base_url=sdk_server.url) as layers:
            accepted = await layers.leased_accounts.request(project_id="prj_a", count=1, niche=NICHE)
            done = await layers.leased_accounts.wait_for_request(accepted.request_id, timeout=30)
            ids = [account.social_account_id async for account in layers.leased_accounts.list(limit=2)]
            released = await layers.leased_accounts.release(done.assigned_social_account_ids[0])
            return done, released, ids

    # Given the async client
    # When it requests, waits, pages and releases
    done, released, ids = asyncio.run(scenario())
    # Then it behaves as the sync client does
    assert done.status == "assigned"
    assert done.assigned_social_account_ids[0] in ids
    assert released.social_account_id == done.assigned_social_account_ids[0]
