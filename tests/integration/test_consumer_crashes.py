"""Crashes in the release fan-out (api.md §3): a function dies right after its write committed.

Each consumer of `LeasedAccountReleased` (and the release endpoint itself) is made to die just after
the write that is its effect; the event (or the partner's call) is then delivered again, as Lambda's
asynchronous retry (or a replay from the function's failure queue, or the partner) would. The final
state must be a clean run's: nothing lost, nothing done twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from layers_common.api_keys import generate_api_key
from layers_common.repository.leasing_repository import LeasingRepository
from leasing_cli.gateway import LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.seed import apply_seed, validate_seed
from leasing_cli.template import Template
from tests.integration.conftest import Api, table_items
from tests.integration.event_delivery import Delivery, rule_targets

ORG = "org_f"
ACCOUNT = "sa_fan"
LEASE = "lse_fan_1"
WALLET = 100_000
CONSUMERS = ("CancelScheduledPostsFunction", "ReturnToPoolFunction", "BillingFunction")


class SandboxKilled(BaseException):
    """The execution environment went away (timeout, out of memory): no handler code can catch it."""


@pytest.fixture
def partner(repository: LeasingRepository, gateway: LocalApiGateway) -> Api:
    """Org F holds a lease of `sa_fan`, which has two queued posts and a published one."""
    _, key = generate_api_key("test")
    seed = {
        "orgs": [
            {
                "id": ORG,
                "name": "F",
                "walletBalanceCents": WALLET,
                "apiKeys": [{"key": key, "scopes": ["*"]}],
                "projects": [{"id": "prj_f", "name": "F"}],
            }
        ],
        "pool": [
            {"socialAccountId": ACCOUNT, "handle": "fan.out", "vertical": "coffee", "geo": ["US"]},
        ],
        "scheduledPosts": [
            {"scheduledPostId": "sp_q1", "socialAccountId": ACCOUNT, "status": "queued"},
            {"scheduledPostId": "sp_q2", "socialAccountId": ACCOUNT, "status": "queued"},
            {"scheduledPostId": "sp_pub", "socialAccountId": ACCOUNT, "status": "published"},
        ],
        "leases": [
            {
                "socialAccountId": ACCOUNT,
                "orgId": ORG,
                "projectId": "prj_f",
                "assignedAt": "2026-11-01T10:00:00Z",
                "leaseId": LEASE,
                "requestId": "lreq_f",
                "periodsCharged": 1,
            }
        ],
    }
    apply_seed(repository, validate_seed(seed))
    return Api(gateway, key=key)


@pytest.fixture
def bus(dynamodb: Any, runtime: LambdaRuntime, template: Template) -> Delivery:
    return Delivery(dynamodb, runtime, template)


def release(api: Api) -> int:
    return api.delete(f"/v1/leased-accounts/{ACCOUNT}", json_body={"reason": "campaign over"}).status


def outbox_types(bus: Delivery) -> list[str]:
    return sorted(item["eventType"]["S"] for item in bus.outbox())


def observed(repository: LeasingRepository, api: Api, dynamodb: Any) -> dict[str, Any]:
    """Everything the release and its fan-out may change, without ids or times that differ per run."""
    account = repository.get_account(ACCOUNT)
    assert account is not None
    ended = api.get("/v1/leased-accounts?status=disconnected").json()["items"]
    consumed = [
        item["pk"]["S"].split("#")[1]
        for item in table_items(dynamodb)
        if item["pk"]["S"].startswith("CONSUMED#")
    ]
    return {
        "posts": sorted(
            (post.scheduled_post_id, post.status) for post in repository.list_scheduled_posts(ACCOUNT)
        ),
        "account": (account.pool_status, account.lease_id, account.leased_org_id),
        "available": [pooled.social_account_id for pooled in repository.list_available_pool("coffee")],
        "wallet": repository.get_wallet_balance(ORG),
        "ledger": sorted(
            (entry.type, entry.amount_cents, entry.social_account_id, entry.lease_id, entry.reason)
            for entry in repository.list_ledger(ORG)
        ),
        "leases": {
            "assigned": [item["socialAccountId"] for item in api.get("/v1/leased-accounts").json()["items"]],
            "ended": [(item["socialAccountId"], item["disconnectedReason"]) for item in ended],
        },
        "audit": [(entry.action, entry.reason) for entry in repository.list_audit(ACCOUNT)],
        "consumed": sorted(consumed),
    }


#: The state after one release of `sa_fan` and one complete fan-out, with no crash anywhere.
CLEAN_RELEASE: dict[str, Any] = {
    "posts": [("sp_pub", "published"), ("sp_q1", "canceled"), ("sp_q2", "canceled")],
    "account": ("available", None, None),
    "available": [ACCOUNT],
    "wallet": WALLET,
    "ledger": [("lease_ended", 0, ACCOUNT, LEASE, "released_by_partner")],
    "leases": {"assigned": [], "ended": [(ACCOUNT, "released_by_partner")]},
    "audit": [("lease.released", "campaign over")],
    "consumed": ["billing", "cancel-scheduled-posts", "return-to-pool"],
}


def die_after(
    monkeypatch: pytest.MonkeyPatch, method: str, call: int, crash: BaseException
) -> Callable[[], int]:
    """Make `LeasingRepository.<method>` do its real write, then raise `crash` on its `call`-th call."""
    real = getattr(LeasingRepository, method)
    calls = {"n": 0}

    def write_then_die(self: LeasingRepository, *args: Any, **kwargs: Any) -> Any:
        result = real(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == call:
            raise crash
        return result

    monkeypatch.setattr(LeasingRepository, method, write_then_die)
    return lambda: calls["n"]


# ------------------------------------------------------------------------------- the reference


def test_a_clean_release_and_fan_out_cancel_the_queued_posts_return_the_account_and_record_the_end(
    partner: Api, repository: LeasingRepository, bus: Delivery, dynamodb: Any
) -> None:
    # Given a leased account with queued posts
    # When the partner releases it and every consumer gets the event once
    assert release(partner) == 200
    [released] = bus.pending("LeasedAccountReleased")
    assert sorted(rule_targets(bus.template)["LeasedAccountReleased"]) == sorted(CONSUMERS)
    bus.deliver(released)
    # Then the state is the reference the crash tests compare with
    assert observed(repository, partner, dynamodb) == CLEAN_RELEASE
    assert outbox_types(bus) == ["LeasedAccountReleased"]


# ---------------------------------------------------------------------- consumers that crash


@pytest.mark.parametrize(
    ("consumer", "method", "call"),
    [
        pytest.param(
            "CancelScheduledPostsFunction", "cancel_scheduled_post", 1, id="cancel-after-first-post"
        ),
        pytest.param("CancelScheduledPostsFunction", "cancel_scheduled_post", 2, id="cancel-after-last-post"),
        pytest.param("CancelScheduledPostsFunction", "mark_consumed", 1, id="cancel-after-consumed-marker"),
        pytest.param("ReturnToPoolFunction", "return_to_pool", 1, id="return-to-pool-after-commit"),
        pytest.param("BillingFunction", "record_lease_end", 1, id="billing-after-commit"),
    ],
)
def test_a_consumer_that_dies_right_after_its_write_and_gets_the_event_again_leaves_a_clean_runs_state(
    partner: Api,
    repository: LeasingRepository,
    bus: Delivery,
    dynamodb: Any,
    runtime: LambdaRuntime,
    monkeypatch: pytest.MonkeyPatch,
    consumer: str,
    method: str,
    call: int,
) -> None:
    # Given a released account whose release event is on its way to the consumers
    assert release(partner) == 200
    [released] = bus.pending("LeasedAccountReleased")
    # When the consumer dies right after its write committed
    calls = die_after(monkeypatch, method, call, RuntimeError("injected crash after commit"))
    with pytest.raises(RuntimeError, match="injected crash after commit"):
        runtime.invoke(consumer, released)
    assert calls() == call  # the real write ran before the crash
    monkeypatch.undo()
    # And Lambda retries the event (its asynchronous invocation), and a replay from the failure
    # queue puts it on the bus again, to every consumer of the rule
    runtime.invoke(consumer, released)
    bus.deliver(released)
    # Then the state is exactly a clean run's: posts canceled once, account back once, one end of lease
    assert observed(repository, partner, dynamodb) == CLEAN_RELEASE
    # And the fan-out wrote no new event of its own
    assert outbox_types(bus) == ["LeasedAccountReleased"]


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_a_consumer_that_gets_the_event_after_dying_reports_no_second_effect(
    partner: Api,
    repository: LeasingRepository,
    bus: Delivery,
    runtime: LambdaRuntime,
    monkeypatch: pytest.MonkeyPatch,
    consumer: str,
) -> None:
    # Given a consumer that died right after committing its effect for a release event
    method = {
        "CancelScheduledPostsFunction": "mark_consumed",
        "ReturnToPoolFunction": "return_to_pool",
        "BillingFunction": "record_lease_end",
    }[consumer]
    assert release(partner) == 200
    [released] = bus.pending("LeasedAccountReleased")
    die_after(monkeypatch, method, 1, RuntimeError("injected crash after commit"))
    with pytest.raises(RuntimeError):
        runtime.invoke(consumer, released)
    monkeypatch.undo()
    # When the event is delivered again
    result = runtime.invoke(consumer, released)
    # Then the redelivery says it did nothing new
    assert (
        result
        == {
            "CancelScheduledPostsFunction": {"socialAccountId": ACCOUNT, "canceledScheduledPosts": 0},
            "ReturnToPoolFunction": {"socialAccountId": ACCOUNT, "outcome": "duplicate"},
            "BillingFunction": {"leaseId": LEASE, "recorded": False},
        }[consumer]
    )


# ----------------------------------------------------------------- the release endpoint crashes


@pytest.mark.parametrize("crash", [False, True], ids=["clean", "dies-after-commit"])
def test_a_release_whose_function_dies_after_the_commit_and_is_retried_equals_a_single_clean_release(
    partner: Api,
    repository: LeasingRepository,
    bus: Delivery,
    dynamodb: Any,
    monkeypatch: pytest.MonkeyPatch,
    crash: bool,
) -> None:
    # Given a leased account
    if crash:
        # When the release transaction commits and then the function's sandbox dies before answering
        die_after(monkeypatch, "release_lease", 1, SandboxKilled())
        with pytest.raises(SandboxKilled):
            release(partner)
        monkeypatch.undo()
    else:
        # When the partner releases it and gets its answer
        assert release(partner) == 200
    # And the partner retries the DELETE
    retry = partner.delete(f"/v1/leased-accounts/{ACCOUNT}", json_body={"reason": "campaign over"})
    # Then the retry finds nothing left to release
    assert retry.status == 404, retry.body
    assert retry.json()["error"]["code"] == "NOT_FOUND"
    # And the lease ended once: one audit entry and one release event, whatever happened to the answer
    assert [entry.action for entry in repository.list_audit(ACCOUNT)] == ["lease.released"]
    assert outbox_types(bus) == ["LeasedAccountReleased"]
    # And once the fan-out ran, the state is a clean single release's
    assert bus.drain() == 1
    assert observed(repository, partner, dynamodb) == CLEAN_RELEASE
