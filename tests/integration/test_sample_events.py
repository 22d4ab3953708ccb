"""Every file in events/ replays against the demo seed with the outcome its name promises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from layers_common.dependencies import reset_dependencies
from layers_common.repository.leasing_repository import LeasingRepository
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.local_eventbridge import EventBridgeHTTPServer, LocalEventBridge
from leasing_cli.seed import apply_seed, load_seed
from leasing_cli.template import Template

EVENTS = Path(__file__).resolve().parents[2] / "events"
DEMO_SEED = Path(__file__).resolve().parents[2] / "seeds" / "demo.json"

EXPECTED_STATUS = {
    "RequestLeaseFunction/accepted.json": 202,
    "RequestLeaseFunction/validation-error.json": 422,
    "RequestLeaseFunction/project-not-found.json": 404,
    "GetLeaseRequestFunction/found.json": 200,
    "GetLeaseRequestFunction/found-by-project.json": 200,
    "GetLeaseRequestFunction/not-found.json": 404,
    "ListLeasedAccountsFunction/organization.json": 200,
    "ListLeasedAccountsFunction/project.json": 200,
    "ListLeasedAccountsFunction/invalid-limit.json": 422,
    "ListLeasedAccountsFunction/other-organizations-project.json": 404,
    "ReleaseLeasedAccountFunction/released.json": 200,
    "ReleaseLeasedAccountFunction/byo-account-conflict.json": 409,
    "ReleaseLeasedAccountFunction/not-found.json": 404,
    "RevokeSocialAccountFunction/revoked.json": 200,
    "RevokeSocialAccountFunction/leased-account-conflict.json": 409,
    "RevokeSocialAccountFunction/not-found.json": 404,
}
AUTHORIZER_ALLOWS = {
    "AuthorizerFunction/allow.json": True,
    "AuthorizerFunction/unknown-key.json": False,
    "AuthorizerFunction/malformed-key.json": False,
}


DEMO_LEASE = "lse_01M7F6YMM0QVACAT1TF6GRAA7Y"
PRICE = 15000

#: Consumer, relay and schedule samples: what the function returns (exactly, as `leasing invoke`
#: prints it) and what it changed in the demo seed's state (see `observed`); nothing else changes.
EXPECTED_RESULTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "OutboxRelayFunction/outbox-insert.json": ({"batchItemFailures": []}, {"bus": ["LeaseRequested"]}),
    "OutboxRelayFunction/outbox-not-an-insert.json": ({"batchItemFailures": []}, {}),
    "AssignAccountsFunction/lease-requested.json": (
        {
            "request_id": "lreq_demo_2",
            "status": "assigned",
            "assigned": ("sa_pool_1", "sa_pool_3"),
            "note": None,
            "claimed_now": 2,
            "charged_cents": 2 * PRICE,
            "completed_now": True,
        },
        {
            "wallet": 300000 - 2 * PRICE,
            "ledger": [("charge", PRICE, "sa_pool_1", 0), ("charge", PRICE, "sa_pool_3", 0)],
            "pool": {"sa_pool_1": "leased", "sa_pool_2": "leased", "sa_pool_3": "leased"},
            "lreq_demo_2": ("assigned", ["sa_pool_1", "sa_pool_3"]),
        },
    ),
    "AssignAccountsFunction/already-fulfilled.json": (
        {
            "request_id": "lreq_demo_1",
            "status": "partial",
            "assigned": ("sa_pool_2",),
            "note": "Assigned 1 of 2: no more warmed accounts match this niche.",
            "claimed_now": 0,
            "charged_cents": 0,
            "completed_now": False,
        },
        {},
    ),
    "CancelScheduledPostsFunction/leased-account-released.json": (
        {"socialAccountId": "sa_pool_2", "canceledScheduledPosts": 1},
        {"posts": {"sp_1": "queued", "sp_2": "queued", "sp_3": "canceled"}},
    ),
    "CancelScheduledPostsFunction/social-account-revoked.json": (
        {"socialAccountId": "sa_byo_1", "canceledScheduledPosts": 2},
        {"posts": {"sp_1": "canceled", "sp_2": "canceled", "sp_3": "queued"}},
    ),
    "ReturnToPoolFunction/leased-account-released.json": (
        {"socialAccountId": "sa_pool_2", "outcome": "returned"},
        {"pool": {"sa_pool_1": "available", "sa_pool_2": "available", "sa_pool_3": "available"}},
    ),
    "ReturnToPoolFunction/stale-lease.json": ({"socialAccountId": "sa_pool_2", "outcome": "not_leased"}, {}),
    # The release of a lease sa_pool_2 no longer holds: the current lease's post stays queued.
    "CancelScheduledPostsFunction/stale-lease.json": (
        {"socialAccountId": "sa_pool_2", "canceledScheduledPosts": 0},
        {"posts": {"sp_1": "queued", "sp_2": "queued", "sp_3": "queued"}},
    ),
    # A lease the organization never had: nothing is recorded.
    "BillingFunction/stale-lease.json": (
        {"leaseId": "lse_01M7A0000000000000000000ZZ", "recorded": False},
        {},
    ),
    "BillingFunction/leased-account-released.json": (
        {"leaseId": DEMO_LEASE, "recorded": True},
        {"ledger": [("lease_ended", 0, "sa_pool_2", None)]},
    ),
    "BillingFunction/lease-disconnected-insufficient-funds.json": (
        {"leaseId": DEMO_LEASE, "recorded": True},
        {"ledger": [("lease_ended", 0, "sa_pool_2", None)]},
    ),
    "RenewLeasesFunction/hourly.json": (
        {"renewed": 1, "chargedCents": PRICE, "disconnectedForInsufficientFunds": []},
        {"wallet": 300000 - PRICE, "ledger": [("charge", PRICE, "sa_pool_2", 1)]},
    ),
    "RenewLeasesFunction/before-renewal.json": (
        {"renewed": 0, "chargedCents": 0, "disconnectedForInsufficientFunds": []},
        {},
    ),
}


def sample(relative: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / relative).read_text()))


def test_every_sample_event_has_an_expected_outcome_and_every_function_has_success_and_error_cases() -> None:
    # Given the events folder
    files = {str(path.relative_to(EVENTS)) for path in EVENTS.glob("*/*.json")}
    # Then each file is accounted for here, and each function has at least one success and one error case
    assert files == set(EXPECTED_STATUS) | set(AUTHORIZER_ALLOWS) | set(EXPECTED_RESULTS)
    for function in {name.split("/")[0] for name in EXPECTED_STATUS}:
        statuses = [status for name, status in EXPECTED_STATUS.items() if name.startswith(function + "/")]
        assert any(status < 400 for status in statuses), function
        assert any(status >= 400 for status in statuses), function


@pytest.fixture
def demo(repository: LeasingRepository) -> LeasingRepository:
    apply_seed(repository, load_seed(DEMO_SEED))
    return repository


@pytest.mark.parametrize("relative", sorted(EXPECTED_STATUS))
def test_an_endpoint_sample_event_replays_with_its_status(
    demo: Any, runtime: LambdaRuntime, relative: str
) -> None:
    # Given the demo seed and a sample event
    function = relative.split("/")[0]
    # When the function is invoked with it, as `leasing invoke` does
    result = runtime.invoke(function, sample(relative))
    # Then the status is the one the file's name promises, with the envelope on errors
    assert result["statusCode"] == EXPECTED_STATUS[relative], result["body"]
    body = json.loads(result["body"])
    if result["statusCode"] >= 400:
        assert set(body["error"]) >= {"code", "message", "requestId"}


@pytest.mark.parametrize("relative", sorted(AUTHORIZER_ALLOWS))
def test_an_authorizer_sample_event_allows_or_refuses(
    demo: Any, runtime: LambdaRuntime, relative: str
) -> None:
    # Given the demo seed and an authorizer event
    event = sample(relative)
    if AUTHORIZER_ALLOWS[relative]:
        # When it carries the demo key, Then the policy allows and the context names the organization
        result = runtime.invoke("AuthorizerFunction", event)
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert result["context"]["orgId"] == "org_demo"
        assert "secret" not in json.dumps(result).lower()
    else:
        # When the key is unknown or malformed, Then it raises API Gateway's Unauthorized
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            runtime.invoke("AuthorizerFunction", event)


# ------------------------------------------------------------- relay, consumers and the schedule


@pytest.fixture
def bus(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalEventBridge]:
    """A local EventBridge (PutEvents only, recording) that the relay publishes to, as in `leasing invoke`."""
    eventbridge = LocalEventBridge(template)
    with EventBridgeHTTPServer(eventbridge) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", server.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTS", server.endpoint_url)
        reset_dependencies()  # the events client is built on first use, with this endpoint
        yield eventbridge
    reset_dependencies()  # no later test may keep a client for a closed endpoint


def observed(repository: LeasingRepository, eventbridge: LocalEventBridge) -> dict[str, Any]:
    """What the samples can change in the demo seed's world."""
    request = repository.get_lease_request("org_demo", "lreq_demo_2", consistent=True)
    assert request is not None
    posts = repository.list_scheduled_posts("sa_byo_1") + repository.list_scheduled_posts("sa_pool_2")
    pool = {
        account_id: account.pool_status
        for account_id in ("sa_pool_1", "sa_pool_2", "sa_pool_3")
        if (account := repository.get_account(account_id)) is not None
    }
    return {
        "wallet": repository.get_wallet_balance("org_demo"),
        "ledger": sorted(
            (entry.type, entry.amount_cents, entry.social_account_id, entry.period)
            for entry in repository.list_ledger("org_demo")
        ),
        "posts": {post.scheduled_post_id: post.status for post in posts},
        "pool": pool,
        "lreq_demo_2": (request.status, list(request.assigned_social_account_ids)),
        "bus": [accepted["event"]["detail-type"] for accepted in eventbridge.accepted],
    }


def test_the_demo_seed_gives_the_consumer_samples_something_to_act_on(
    demo: LeasingRepository, bus: LocalEventBridge
) -> None:
    # Given the demo seed
    # When its state is read
    state = observed(demo, bus)
    # Then a request waits for assignment, sa_pool_2 is leased with a queued post, nothing is billed yet
    assert state == {
        "wallet": 300000,
        "ledger": [],
        "posts": {"sp_1": "queued", "sp_2": "queued", "sp_3": "queued"},
        "pool": {"sa_pool_1": "available", "sa_pool_2": "leased", "sa_pool_3": "available"},
        "lreq_demo_2": ("requested", []),
        "bus": [],
    }
    lease = demo.get_lease("org_demo", DEMO_LEASE)
    assert lease is not None
    assert (lease.status, lease.next_renewal_at) == ("assigned", "2026-12-15T09:00:00Z")


@pytest.mark.parametrize("relative", sorted(EXPECTED_RESULTS))
def test_a_consumer_relay_or_schedule_sample_replays_with_its_result_and_effect(
    demo: LeasingRepository, runtime: LambdaRuntime, bus: LocalEventBridge, relative: str
) -> None:
    # Given the demo seed, a bus to publish to, and a sample event
    function = relative.split("/")[0]
    before = observed(demo, bus)
    expected_result, changes = EXPECTED_RESULTS[relative]
    # When the function is invoked with it, as `leasing invoke` does
    result = runtime.invoke(function, sample(relative))
    # Then it returns what the file's name promises and changed exactly what it should
    assert result == expected_result
    after = observed(demo, bus)
    assert after == {**before, **changes}


def test_the_relayed_outbox_insert_is_published_as_the_event_it_carries(
    demo: LeasingRepository, runtime: LambdaRuntime, bus: LocalEventBridge
) -> None:
    # Given the stream record of one outbox insert
    event = sample("OutboxRelayFunction/outbox-insert.json")
    detail = json.loads(event["Records"][0]["dynamodb"]["NewImage"]["detail"]["S"])
    # When the relay runs
    runtime.invoke("OutboxRelayFunction", event)
    # Then the bus got it on the leasing bus with our source, its type as detail-type, its detail as is
    [accepted] = bus.accepted
    assert accepted["bus"] in bus.buses - {"default"}
    assert accepted["event"]["source"] == "layers.leasing"
    assert accepted["event"]["detail-type"] == "LeaseRequested"
    assert accepted["event"]["detail"] == detail
    # And it is the same event the AssignAccountsFunction sample delivers
    assert detail == sample("AssignAccountsFunction/lease-requested.json")["detail"]
