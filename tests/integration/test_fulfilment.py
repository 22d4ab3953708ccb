"""Assignment, billing, renewals and the release fan-out (api.md §3), through the real handlers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from layers_common.api_keys import generate_api_key
from layers_common.clock import add_months, isoformat, parse_iso
from layers_common.repository.leasing_repository import LeasingRepository
from layers_common.repository.records import ScheduledPostRecord
from leasing_cli.gateway import LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.seed import apply_seed, validate_seed
from leasing_cli.template import Template
from tests.integration.conftest import Api
from tests.integration.event_delivery import Delivery

PRICE = 15000


def pool_account(account_id: str, **overrides: Any) -> dict[str, Any]:
    account = {
        "socialAccountId": account_id,
        "handle": f"h.{account_id}",
        "followers": 1000,
        "vertical": "coffee",
        "language": "en-US",
        "geo": ["US"],
    }
    account.update(overrides)
    return account


@pytest.fixture
def market(repository: LeasingRepository, gateway: LocalApiGateway) -> tuple[Api, dict[str, Any]]:
    """Org M (wallet $1,500) with one project, a key, and an empty pool (tests add accounts)."""
    _, key = generate_api_key("test")
    seed = {
        "orgs": [
            {
                "id": "org_m",
                "name": "M",
                "walletBalanceCents": 10 * PRICE,
                "apiKeys": [{"key": key, "scopes": ["*"]}],
                "projects": [{"id": "prj_m", "name": "M"}],
            }
        ]
    }
    apply_seed(repository, validate_seed(seed))
    return Api(gateway, key=key), seed


@pytest.fixture
def bus(dynamodb: Any, runtime: LambdaRuntime, template: Template) -> Delivery:
    return Delivery(dynamodb, runtime, template)


def add_pool(repository: LeasingRepository, *accounts: dict[str, Any]) -> None:
    apply_seed(repository, validate_seed({"pool": list(accounts)}))


def request(api: Api, count: int, niche: dict[str, Any] | None = None, **extra: Any) -> str:
    body = {"projectId": "prj_m", "count": count, "niche": niche or {"vertical": "coffee"}, **extra}
    reply = api.post("/v1/projects/prj_m/leased-accounts/request", json_body=body)
    assert reply.status == 202, reply.body
    return str(reply.json()["requestId"])


def status_of(api: Api, request_id: str) -> dict[str, Any]:
    reply = api.get(f"/v1/leased-accounts/requests/{request_id}")
    assert reply.status == 200
    return dict(reply.json())


def wallet(repository: LeasingRepository) -> int:
    return repository.get_wallet_balance("org_m") or 0


def state(repository: LeasingRepository, api: Api) -> dict[str, Any]:
    """What a partner and ops can observe, without ids that differ between runs."""
    leases = api.get("/v1/leased-accounts?limit=200").json()["items"]
    ended = api.get("/v1/leased-accounts?status=disconnected&limit=200").json()["items"]
    return {
        "wallet": wallet(repository),
        "ledger": sorted(
            (e.type, e.amount_cents, e.social_account_id, e.period) for e in repository.list_ledger("org_m")
        ),
        "assigned": sorted(item["socialAccountId"] for item in leases),
        "ended": sorted((item["socialAccountId"], item["disconnectedReason"]) for item in ended),
    }


# ------------------------------------------------------------------------------- assignment


def test_a_request_is_fulfilled_with_matching_accounts_in_rank_order(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given accounts that differ in geo overlap, followers, language and vertical
    add_pool(
        repository,
        pool_account("sa_a", geo=["US"], followers=50_000),
        pool_account("sa_b", geo=["US", "CA"], followers=100),
        pool_account("sa_c", geo=["US", "CA"], followers=100),
        pool_account("sa_d", geo=["GB"], followers=90_000, language="en-GB"),
        pool_account("sa_e", geo=["US", "CA"], followers=999_999, language="de"),
        pool_account("sa_f", geo=["US", "CA"], followers=999_999, vertical="fitness"),
        pool_account("sa_g", geo=["US", "CA"], followers=999_999, language=None),
    )
    # When 4 English coffee accounts for US/CA are requested and the event is delivered
    request_id = request(api, 4, {"vertical": " Coffee ", "language": "en", "geo": ["US", "CA"]})
    bus.drain()
    # Then the best matches were assigned: most geo overlap, then followers, then id
    view = status_of(api, request_id)
    assert view["status"] == "assigned"
    assert view["assignedSocialAccountIds"] == ["sa_b", "sa_c", "sa_a", "sa_d"]
    assert view["note"] is None
    assert view["assignedAt"] is not None
    # And each was charged once, leased and listed with its renewal date a month out
    assert wallet(repository) == 6 * PRICE
    charges = [entry for entry in repository.list_ledger("org_m") if entry.type == "charge"]
    assert sorted(entry.social_account_id or "" for entry in charges) == ["sa_a", "sa_b", "sa_c", "sa_d"]
    listed = api.get("/v1/projects/prj_m/leased-accounts").json()["items"]
    assert sorted(item["socialAccountId"] for item in listed) == ["sa_a", "sa_b", "sa_c", "sa_d"]
    for item in listed:
        assert item["requestId"] == request_id
        assert item["nextRenewalAt"] == isoformat(add_months(parse_iso(item["assignedAt"]), 1))
    # And the accounts left the pool
    assert {account.pool_status for account in map(repository.get_account, ["sa_a", "sa_d"]) if account} == {
        "leased"
    }


def test_a_request_the_pool_cannot_fill_is_partial_and_billed_only_for_what_was_assigned(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given one matching account
    add_pool(repository, pool_account("sa_only"))
    # When three are requested
    request_id = request(api, 3)
    bus.drain()
    # Then the request is partial, says why, and one account was charged
    view = status_of(api, request_id)
    assert view["status"] == "partial"
    assert view["assignedSocialAccountIds"] == ["sa_only"]
    assert view["note"] == "Assigned 1 of 3: no more warmed accounts match this niche."
    assert wallet(repository) == 9 * PRICE


def test_a_request_nothing_matches_is_rejected_and_charges_nothing(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given a pool of coffee accounts in English only
    add_pool(repository, pool_account("sa_1"), pool_account("sa_2", language="en-GB"))
    # When German coffee accounts are requested
    request_id = request(api, 2, {"vertical": "coffee", "language": "de"})
    bus.drain()
    # Then it is rejected with a note, nothing assigned, nothing charged
    view = status_of(api, request_id)
    assert view["status"] == "rejected"
    assert view["note"] == "No warmed account matches this niche."
    assert view["assignedAt"] is None
    assert view["assignedSocialAccountIds"] == []
    assert wallet(repository) == 10 * PRICE


def test_assignment_stops_where_the_wallet_does_and_never_overdraws(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given five matching accounts and a wallet of 2.5 accounts
    add_pool(repository, *(pool_account(f"sa_{n}") for n in range(5)))
    repository.put_wallet("org_m", int(2.5 * PRICE))
    # When five are requested
    request_id = request(api, 5)
    bus.drain()
    # Then two are assigned, the note blames the wallet, and the wallet holds the remainder
    view = status_of(api, request_id)
    assert view["status"] == "partial"
    assert len(view["assignedSocialAccountIds"]) == 2
    assert view["note"] == "Assigned 2 of 5: the wallet could not cover more accounts."
    assert wallet(repository) == PRICE // 2


def test_each_assignment_charges_the_accounts_own_price(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given a premium account
    add_pool(repository, pool_account("sa_premium", monthlyPriceCents=20000))
    # When it is assigned
    request(api, 1)
    bus.drain()
    # Then its own price was charged and listed
    assert wallet(repository) == 10 * PRICE - 20000
    assert api.get("/v1/leased-accounts").json()["items"][0]["monthlyPriceCents"] == 20000


def test_delivering_the_lease_requested_event_twice_changes_nothing_the_second_time(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given a fulfilled request
    add_pool(repository, *(pool_account(f"sa_{n}") for n in range(4)))
    request_id = request(api, 2)
    [requested] = bus.pending("LeaseRequested")
    bus.deliver(requested)
    before = state(repository, api)
    # When the same event is delivered again
    bus.deliver(requested)
    # Then nothing changed
    assert state(repository, api) == before
    assert status_of(api, request_id)["status"] == "assigned"


def test_concurrent_requests_competing_for_one_pool_never_share_an_account_or_overdraw(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given a pool of 7 accounts, a wallet of 10 accounts, and 6 requests for 3 each (18 > 7)
    add_pool(repository, *(pool_account(f"sa_{n:02d}", followers=n) for n in range(7)))
    request_ids = [request(api, 3) for _ in range(6)]
    events = bus.pending("LeaseRequested")
    assert len(events) == 6
    # When their assignments run concurrently (each delivered twice, to add duplicates)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda event: bus.runtime.invoke("AssignAccountsFunction", event), events * 2))
    # Then no account was assigned twice, assigned <= pool, and the wallet equals start - charges
    assigned = [sa for rid in request_ids for sa in status_of(api, rid)["assignedSocialAccountIds"]]
    assert len(assigned) == len(set(assigned)) == 7
    charges = sum(e.amount_cents for e in repository.list_ledger("org_m") if e.type == "charge")
    assert charges == 7 * PRICE
    assert wallet(repository) == 10 * PRICE - charges >= 0
    assert {status_of(api, rid)["status"] for rid in request_ids} <= {"assigned", "partial", "rejected"}


@pytest.mark.parametrize("crash_after", [1, 2, 3])
def test_a_crash_between_assignment_steps_then_a_retry_leaves_the_state_of_a_clean_run(
    market: Any,
    repository: LeasingRepository,
    bus: Delivery,
    monkeypatch: pytest.MonkeyPatch,
    crash_after: int,
) -> None:
    api, _ = market
    # Given two accounts to assign (steps: claim 1, claim 2, completion)
    add_pool(repository, pool_account("sa_x", followers=2), pool_account("sa_y", followers=1))
    request_id = request(api, 2)
    [requested] = bus.pending("LeaseRequested")
    # When the function dies right after its n-th committed transaction
    real = LeasingRepository._transact
    calls = {"n": 0}

    def crashing(self: LeasingRepository, operations: list[dict[str, Any]]) -> None:
        real(self, operations)
        calls["n"] += 1
        if calls["n"] == crash_after:
            raise RuntimeError("injected crash")

    monkeypatch.setattr(LeasingRepository, "_transact", crashing)
    with pytest.raises(RuntimeError, match="injected crash"):
        bus.runtime.invoke("AssignAccountsFunction", requested)
    monkeypatch.setattr(LeasingRepository, "_transact", real)
    # And EventBridge retries the delivery
    bus.runtime.invoke("AssignAccountsFunction", requested)
    # Then the outcome is exactly a clean run's
    view = status_of(api, request_id)
    assert view["status"] == "assigned"
    assert view["assignedSocialAccountIds"] == ["sa_x", "sa_y"]
    assert state(repository, api) == {
        "wallet": 8 * PRICE,
        "ledger": [("charge", PRICE, "sa_x", 0), ("charge", PRICE, "sa_y", 0)],
        "assigned": ["sa_x", "sa_y"],
        "ended": [],
    }
    assigned_events = [e for e in bus.pending() if e["detail-type"] == "LeasedAccountAssigned"]
    completed = [e for e in bus.pending() if e["detail-type"] == "LeaseRequestCompleted"]
    assert len(assigned_events) == 2
    assert len(completed) == 1


# ------------------------------------------------------------------------ release fan-out


def lease_and_release(api: Api, repository: LeasingRepository, bus: Delivery) -> str:
    """Lease `sa_r` (two queued posts and one published), then release it through the API."""
    add_pool(repository, pool_account("sa_r"))
    request(api, 1)
    bus.drain()
    for n, status in enumerate(["queued", "queued", "published"]):
        repository.put_scheduled_post(ScheduledPostRecord(f"sp_{n}", "sa_r", status, None))
    reply = api.delete("/v1/leased-accounts/sa_r", json_body={"reason": "done"})
    assert reply.status == 200
    return "sa_r"


def test_a_release_cancels_queued_posts_returns_the_account_and_records_the_end(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given a leased account with two queued posts and a published one, released by the partner
    account = lease_and_release(api, repository, bus)
    # When the fan-out runs
    bus.drain()
    # Then the queued posts are canceled, the account is available again, and the ledger shows the end
    statuses = sorted(post.status for post in repository.list_scheduled_posts(account))
    assert statuses == ["canceled", "canceled", "published"]
    pooled = repository.get_account(account)
    assert pooled is not None
    assert pooled.pool_status == "available"
    assert pooled.lease_id is None
    ended = [e for e in repository.list_ledger("org_m") if e.type == "lease_ended"]
    assert [(e.social_account_id, e.amount_cents, e.reason) for e in ended] == [
        (account, 0, "released_by_partner")
    ]
    # And no refund: the wallet still shows the one charge
    assert wallet(repository) == 9 * PRICE


def test_every_release_consumer_given_the_same_event_twice_changes_nothing_the_second_time(
    market: Any, repository: LeasingRepository, bus: Delivery
) -> None:
    api, _ = market
    # Given a release whose fan-out already ran once
    lease_and_release(api, repository, bus)
    [released] = bus.pending("LeasedAccountReleased")
    bus.deliver(released)
    # And the account was leased again meanwhile
    second = request(api, 1)
    bus.drain()
    assert status_of(api, second)["assignedSocialAccountIds"] == ["sa_r"]
    before = state(repository, api)
    # When the old release event is delivered again to every consumer
    results = bus.deliver(released)
    # Then nothing changed: the new lease stands, the ledger has one end
    assert state(repository, api) == before
    assert len(results) == 3


# ------------------------------------------------------------------------------- renewals


def renew(runtime: LambdaRuntime, at: str) -> dict[str, Any]:
    event = {
        "version": "0",
        "id": "b5a1c8e2-0000-4000-8000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/RenewLeasesFunction-Hourly"],
        "detail": {},
    }
    return dict(runtime.invoke("RenewLeasesFunction", event))


def assigned_at(api: Api) -> str:
    return str(api.get("/v1/leased-accounts").json()["items"][0]["assignedAt"])


def test_a_renewal_run_twice_for_the_same_period_charges_once(
    market: Any, repository: LeasingRepository, bus: Delivery, runtime: LambdaRuntime
) -> None:
    api, _ = market
    # Given a lease assigned now
    add_pool(repository, pool_account("sa_ren"))
    request(api, 1)
    bus.drain()
    start = parse_iso(assigned_at(api))
    # When the renewal runs a second before it is due, at the due time, and again at the due time
    before_due = renew(runtime, isoformat(add_months(start, 1) - timedelta(seconds=1)))
    due = renew(runtime, isoformat(add_months(start, 1)))
    again = renew(runtime, isoformat(add_months(start, 1)))
    # Then one renewal was charged, and the next one is a month later
    assert (before_due["renewed"], due["renewed"], again["renewed"]) == (0, 1, 0)
    assert wallet(repository) == 8 * PRICE
    item = api.get("/v1/leased-accounts").json()["items"][0]
    assert item["nextRenewalAt"] == isoformat(add_months(start, 2))


def test_an_overdue_lease_is_charged_each_period_in_order_until_the_wallet_runs_out(
    market: Any, repository: LeasingRepository, bus: Delivery, runtime: LambdaRuntime
) -> None:
    api, _ = market
    # Given a lease and a wallet that covers two more months
    add_pool(repository, pool_account("sa_due"))
    repository.put_scheduled_post(ScheduledPostRecord("sp_due", "sa_due", "queued", None))
    request(api, 1)
    bus.drain()
    repository.put_wallet("org_m", 2 * PRICE)
    start = parse_iso(assigned_at(api))
    # When the renewal runs four months later
    report = renew(runtime, isoformat(add_months(start, 4)))
    # Then periods 1 and 2 were charged, period 3 was not covered and the lease was disconnected
    assert report["renewed"] == 2
    assert report["disconnectedForInsufficientFunds"] == ["sa_due"]
    assert wallet(repository) == 0
    periods = sorted(e.period or 0 for e in repository.list_ledger("org_m") if e.type == "charge")
    assert periods == [0, 1, 2]
    ended = api.get("/v1/leased-accounts?status=disconnected").json()["items"]
    assert [
        (item["socialAccountId"], item["disconnectedReason"], item["nextRenewalAt"]) for item in ended
    ] == [("sa_due", "insufficient_funds", None)]
    # And it goes through the release fan-out: posts canceled, account back in the pool
    bus.drain()
    assert [post.status for post in repository.list_scheduled_posts("sa_due")] == ["canceled"]
    account = repository.get_account("sa_due")
    assert account is not None
    assert account.pool_status == "available"


def test_a_released_lease_never_renews(
    market: Any, repository: LeasingRepository, bus: Delivery, runtime: LambdaRuntime
) -> None:
    api, _ = market
    # Given a lease released before its renewal
    add_pool(repository, pool_account("sa_gone"))
    request(api, 1)
    bus.drain()
    start = parse_iso(assigned_at(api))
    assert api.delete("/v1/leased-accounts/sa_gone").status == 200
    # When renewals run long after
    report = renew(runtime, isoformat(add_months(start, 6)))
    # Then nothing was charged
    assert report["renewed"] == 0
    assert wallet(repository) == 9 * PRICE


@pytest.mark.parametrize(
    ("assigned", "months", "expected"),
    [
        ("2026-01-31T10:00:00Z", 1, "2026-02-28T10:00:00Z"),
        ("2026-01-31T10:00:00Z", 2, "2026-03-31T10:00:00Z"),
        ("2028-01-31T10:00:00Z", 1, "2028-02-29T10:00:00Z"),
        ("2026-08-31T23:59:59Z", 13, "2027-09-30T23:59:59Z"),
    ],
)
def test_renewal_dates_count_calendar_months_from_assignment_without_drift(
    assigned: str, months: int, expected: str
) -> None:
    # Given an assignment date / When n months are added / Then the day clamps to the month's end
    assert isoformat(add_months(parse_iso(assigned), months)) == expected
