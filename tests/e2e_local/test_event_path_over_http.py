"""Fulfilment, billing, renewals and the release fan-out (api.md §3) against `leasing serve`.

Driven only from outside: the partner API over HTTP, `leasing admin --server URL … --json` as a
subprocess, and the local control routes (`/_local/drain`, `/_local/schedules/…`, `/_local/dlq`).
No sleeps: every asynchronous step is awaited with `POST /_local/drain`.

Each scenario has its own organization and its own vertical in the pool, so the scenarios sharing
the module's server never compete for accounts or money. The race and renewal scenarios get a
server of their own (a renewal run charges every lease that is due, whoever's it is).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from layers_common.api_keys import generate_api_key
from layers_common.clock import add_months, isoformat, parse_iso
from tests.e2e_local.conftest import Server, start_server
from tests.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-event-path")]

PRICE = 15000
LEASING = Path(sys.executable).with_name("leasing")

#: Scenario → (wallet in cents, vertical of its pool accounts, pool account ids).
SCENARIOS: dict[str, tuple[int, str, list[str]]] = {
    "assign": (10 * PRICE, "tea", ["sa_tea_1", "sa_tea_2", "sa_tea_3"]),
    "partial": (10 * PRICE, "yoga", ["sa_yoga_1"]),
    "nomatch": (10 * PRICE, "knitting", []),
    "poor": (PRICE, "chess", ["sa_chess_1"]),
    "limited": (int(2.5 * PRICE), "golf", ["sa_golf_1", "sa_golf_2", "sa_golf_3", "sa_golf_4"]),
    "race": (20 * PRICE, "surf", [f"sa_surf_{n}" for n in range(1, 6)]),
    "release": (10 * PRICE, "bake", ["sa_bake_1"]),
    "renew": (3 * PRICE, "wine", ["sa_wine_1"]),
    "broke": (PRICE, "beer", ["sa_beer_1"]),
}
#: Accounts priced above the default (the API's 402 check uses the default price; assignment, the account's).
PREMIUM = {"sa_chess_1": 20000}
POSTS = {
    "sa_bake_1": {"sp_bake_q1": "queued", "sp_bake_q2": "queued", "sp_bake_pub": "published"},
    "sa_beer_1": {"sp_beer_q1": "queued", "sp_beer_failed": "failed"},
}


def make_seed(*scenarios: str) -> World:
    """One org (`org_<scenario>`, project `prj_<scenario>`, a partner-tier key) per scenario."""
    keys: dict[str, str] = {}
    orgs: list[dict[str, Any]] = []
    pool: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    for scenario in scenarios:
        wallet, vertical, accounts = SCENARIOS[scenario]
        _, key = generate_api_key("test")
        keys[scenario] = key
        orgs.append(
            {
                "id": f"org_{scenario}",
                "name": scenario.title(),
                "walletBalanceCents": wallet,
                "apiKeys": [{"key": key, "scopes": ["*"], "tier": "partner"}],
                "projects": [{"id": f"prj_{scenario}", "name": scenario.title()}],
            }
        )
        for rank, account in enumerate(accounts):
            # Fewer followers down the list, so the ranking (and the expected order) is the list order.
            pool.append(
                {
                    "socialAccountId": account,
                    "handle": account.replace("_", "."),
                    "followers": 10_000 - rank,
                    "vertical": vertical,
                    "language": "en-US",
                    "geo": ["US"],
                    "monthlyPriceCents": PREMIUM.get(account, PRICE),
                }
            )
            posts += [
                {"scheduledPostId": post_id, "socialAccountId": account, "status": status}
                for post_id, status in POSTS.get(account, {}).items()
            ]
    return World(seed={"orgs": orgs, "pool": pool, "scheduledPosts": posts}, keys=keys)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("event-path"),
        make_seed("assign", "partial", "nomatch", "release"),
    )
    yield running
    running.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start a server of the test's own, seeded with the given scenarios; stopped after the test."""
    started: list[Server] = []

    def start(*scenarios: str) -> Server:
        folder = tmp_path / f"serve-{len(started)}"
        folder.mkdir()
        running = start_server(folder, make_seed(*scenarios))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


# --------------------------------------------------------------------------------------- helpers


def admin(server: Server, *args: str) -> Any:
    """`leasing admin --server URL <args> --json`, as ops would run it."""
    done = subprocess.run(
        [str(LEASING), "admin", "--server", server.url, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def drain(server: Server) -> dict[str, int]:
    reply = server.call("POST", "/_local/drain")
    assert reply.status_code == 200, reply.text
    result: dict[str, int] = reply.json()
    assert result["failed"] == 0, server.call("GET", "/_local/dlq").text
    return result


def request_accounts(server: Server, scenario: str, count: int, vertical: str | None = None) -> str:
    body = {
        "projectId": f"prj_{scenario}",
        "count": count,
        "niche": {"vertical": vertical or SCENARIOS[scenario][1], "language": "en", "geo": ["US"]},
    }
    reply = server.call(
        "POST",
        f"/v1/projects/prj_{scenario}/leased-accounts/request",
        key=server.world.keys[scenario],
        json=body,
    )
    assert reply.status_code == 202, reply.text
    return str(reply.json()["requestId"])


def lease_request(server: Server, scenario: str, request_id: str) -> dict[str, Any]:
    reply = server.call("GET", f"/v1/leased-accounts/requests/{request_id}", key=server.world.keys[scenario])
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def leased(server: Server, scenario: str, status: str = "assigned") -> list[dict[str, Any]]:
    reply = server.call(
        "GET", f"/v1/leased-accounts?status={status}&limit=200", key=server.world.keys[scenario]
    )
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def wallet(server: Server, scenario: str) -> int:
    return int(admin(server, "wallet", "show", f"org_{scenario}")["balanceCents"])


def ledger(server: Server, scenario: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = admin(server, "ledger", "list", f"org_{scenario}")
    return entries


def charges(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in entries if entry["type"] == "charge"]


def pool_status(server: Server, scenario: str) -> dict[str, str]:
    accounts = set(SCENARIOS[scenario][2])
    return {
        row["socialAccountId"]: row["status"]
        for row in admin(server, "pool", "list")
        if row["socialAccountId"] in accounts
    }


def leased_in_pool(server: Server) -> set[str]:
    return {row["socialAccountId"] for row in admin(server, "pool", "list", "--status", "leased")}


def assert_money_adds_up(server: Server, scenario: str) -> list[dict[str, Any]]:
    """wallet = start - charges >= 0, and each account was charged for its assignment exactly once."""
    entries = ledger(server, scenario)
    charged = charges(entries)
    assert all(entry["amountCents"] > 0 for entry in charged)
    assert (
        wallet(server, scenario)
        == SCENARIOS[scenario][0] - sum(entry["amountCents"] for entry in charged)
        >= 0
    )
    firsts = [entry["socialAccountId"] for entry in charged if entry["period"] == 0]
    assert len(firsts) == len(set(firsts))
    return entries


def schedule_renewals(server: Server, moment: str) -> dict[str, Any]:
    reply = server.call("POST", "/_local/schedules/RenewLeasesFunction", json={"time": moment})
    assert reply.status_code == 200, reply.text
    assert reply.json()["function"] == "RenewLeasesFunction"
    result: dict[str, Any] = reply.json()["result"]
    return result


def a_month_after(assigned_at: str, months: int = 1) -> str:
    return isoformat(add_months(parse_iso(assigned_at), months))


# ----------------------------------------------------------------------------------- assignment


def test_a_request_is_assigned_charged_listed_and_leased_out_of_the_pool_after_a_drain(
    server: Server,
) -> None:
    # Given three tea accounts in the pool and a wallet of ten months
    # When two are requested and the event path is drained
    request_id = request_accounts(server, "assign", 2)
    assert lease_request(server, "assign", request_id)["status"] == "requested"
    assert drain(server)["processed"] >= 2  # at least the relayed event and its assignment
    # Then the request is assigned with the two best-ranked accounts
    view = lease_request(server, "assign", request_id)
    assert (view["status"], view["note"]) == ("assigned", None)
    assert view["assignedSocialAccountIds"] == ["sa_tea_1", "sa_tea_2"]
    assert view["assignedAt"] is not None
    # And the partner lists them, each renewing a month after its assignment
    items = leased(server, "assign")
    assert sorted(item["socialAccountId"] for item in items) == ["sa_tea_1", "sa_tea_2"]
    for item in items:
        assert item["requestId"] == request_id
        assert item["nextRenewalAt"] == a_month_after(item["assignedAt"])
    # And ops sees one charge per account, the wallet down by them, and both accounts leased out
    entries = assert_money_adds_up(server, "assign")
    assert sorted((e["socialAccountId"], e["amountCents"], e["period"]) for e in charges(entries)) == [
        ("sa_tea_1", PRICE, 0),
        ("sa_tea_2", PRICE, 0),
    ]
    assert wallet(server, "assign") == 8 * PRICE
    assert pool_status(server, "assign") == {
        "sa_tea_1": "leased",
        "sa_tea_2": "leased",
        "sa_tea_3": "available",
    }
    assert {"sa_tea_1", "sa_tea_2"} <= leased_in_pool(server)


def test_a_request_larger_than_the_pool_is_partial_and_billed_for_what_was_assigned(server: Server) -> None:
    # Given one yoga account
    # When three are requested
    request_id = request_accounts(server, "partial", 3)
    drain(server)
    # Then the request is partial and says why, and only the one account was charged
    view = lease_request(server, "partial", request_id)
    assert view["status"] == "partial"
    assert view["assignedSocialAccountIds"] == ["sa_yoga_1"]
    assert view["note"] == "Assigned 1 of 3: no more warmed accounts match this niche."
    assert [e["socialAccountId"] for e in charges(assert_money_adds_up(server, "partial"))] == ["sa_yoga_1"]
    assert wallet(server, "partial") == 9 * PRICE


def test_a_request_nothing_matches_is_rejected_with_its_note_and_charges_nothing(server: Server) -> None:
    # Given no knitting account anywhere in the pool
    # When knitting accounts are requested
    request_id = request_accounts(server, "nomatch", 2)
    drain(server)
    # Then the request is rejected, nothing assigned, nothing charged
    view = lease_request(server, "nomatch", request_id)
    assert (view["status"], view["note"]) == ("rejected", "No warmed account matches this niche.")
    assert (view["assignedSocialAccountIds"], view["assignedAt"]) == ([], None)
    assert ledger(server, "nomatch") == []
    assert wallet(server, "nomatch") == 10 * PRICE


def test_a_request_the_wallet_cannot_cover_is_rejected_and_the_account_stays_in_the_pool(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("poor")
    # Given a chess account at 200.00 a month and a wallet of 150.00 (enough for the request to be accepted)
    # When it is requested
    request_id = request_accounts(server, "poor", 1)
    drain(server)
    # Then the request is rejected because of the wallet, and nothing moved
    view = lease_request(server, "poor", request_id)
    assert (view["status"], view["note"]) == ("rejected", "The wallet could not cover one account.")
    assert view["assignedSocialAccountIds"] == []
    assert ledger(server, "poor") == []
    assert wallet(server, "poor") == PRICE
    assert pool_status(server, "poor") == {"sa_chess_1": "available"}


def test_assignment_stops_where_the_wallet_does_without_overdrawing_it(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("limited")
    # Given four golf accounts and a wallet of two and a half months
    # When four are requested
    request_id = request_accounts(server, "limited", 4)
    drain(server)
    # Then two are assigned, the note blames the wallet, and the wallet keeps the remainder
    view = lease_request(server, "limited", request_id)
    assert view["status"] == "partial"
    assert view["assignedSocialAccountIds"] == ["sa_golf_1", "sa_golf_2"]
    assert view["note"] == "Assigned 2 of 4: the wallet could not cover more accounts."
    assert len(charges(assert_money_adds_up(server, "limited"))) == 2
    assert wallet(server, "limited") == PRICE // 2
    assert pool_status(server, "limited") == {
        "sa_golf_1": "leased",
        "sa_golf_2": "leased",
        "sa_golf_3": "available",
        "sa_golf_4": "available",
    }


def test_concurrent_requests_for_more_than_the_pool_never_share_an_account_or_overdraw(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("race")
    # Given five surf accounts and four partners' requests for three each, sent at the same time
    with ThreadPoolExecutor(max_workers=4) as threads:
        request_ids = list(threads.map(lambda _: request_accounts(server, "race", 3), range(4)))
    # When the event path is drained
    drain(server)
    # Then no account was assigned twice, and no more than the pool holds
    views = [lease_request(server, "race", request_id) for request_id in request_ids]
    assigned = [account for view in views for account in view["assignedSocialAccountIds"]]
    assert len(assigned) == len(set(assigned))
    assert set(assigned) <= set(SCENARIOS["race"][2])
    for view in views:
        if view["status"] == "partial":
            assert view["note"].endswith("no more warmed accounts match this niche.")
    # And the money matches the assignments: one charge each, wallet = start - charges >= 0
    charged = charges(assert_money_adds_up(server, "race"))
    assert sorted(entry["socialAccountId"] for entry in charged) == sorted(assigned)
    assert sorted(item["socialAccountId"] for item in leased(server, "race")) == sorted(assigned)
    assert {account for account, status in pool_status(server, "race").items() if status == "leased"} == set(
        assigned
    )
    # And every request was decided by the drain (a canceled racing claim stalls nothing)
    assert all(view["status"] in {"assigned", "partial", "rejected"} for view in views)
    assert len(assigned) == len(SCENARIOS["race"][2])


def test_a_request_after_one_the_wallet_could_not_cover_is_still_assigned_after_a_drain(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("poor", "assign")
    # Given a request the wallet could not cover (its claim's transaction was cancelled)
    rejected = request_accounts(server, "poor", 1)
    drain(server)
    assert lease_request(server, "poor", rejected)["status"] == "rejected"
    # When another partner's request is accepted and the event path is drained
    request_id = request_accounts(server, "assign", 1)
    drain(server)
    # Then it is assigned like any other
    assert lease_request(server, "assign", request_id)["status"] == "assigned"


# ------------------------------------------------------------------------------------- release


def test_a_release_cancels_queued_posts_returns_the_account_and_ends_the_lease_in_ledger_and_audit(
    server: Server,
) -> None:
    # Given a leased bake account with two queued posts and a published one
    request_accounts(server, "release", 1)
    drain(server)
    assert [item["socialAccountId"] for item in leased(server, "release")] == ["sa_bake_1"]
    assert "sa_bake_1" in leased_in_pool(server)
    # When the partner releases it and the fan-out is drained
    reply = server.call(
        "DELETE",
        "/v1/leased-accounts/sa_bake_1",
        key=server.world.keys["release"],
        json={"reason": "campaign over"},
    )
    assert reply.status_code == 200, reply.text
    assert drain(server)["processed"] >= 4  # the relayed event, then its three consumers
    # Then its queued posts are canceled and the published one is untouched
    posts = {
        post["scheduledPostId"]: post["status"]
        for post in admin(server, "posts", "list", "--account", "sa_bake_1")
    }
    assert posts == {"sp_bake_q1": "canceled", "sp_bake_q2": "canceled", "sp_bake_pub": "published"}
    # And the account is available in the pool again
    assert pool_status(server, "release") == {"sa_bake_1": "available"}
    assert "sa_bake_1" not in leased_in_pool(server)
    # And the ledger records the end of the lease (no refund), the audit the release and its reason
    entries = assert_money_adds_up(server, "release")
    ended = [entry for entry in entries if entry["type"] == "lease_ended"]
    assert [(e["socialAccountId"], e["amountCents"], e["reason"]) for e in ended] == [
        ("sa_bake_1", 0, "released_by_partner")
    ]
    assert wallet(server, "release") == 9 * PRICE
    audit = admin(server, "audit", "list", "--account", "sa_bake_1")
    assert [(entry["action"], entry["reason"]) for entry in audit] == [("lease.released", "campaign over")]
    # And the partner sees it among the ended leases, no longer among the assigned ones
    assert leased(server, "release") == []
    assert [
        (i["socialAccountId"], i["disconnectedReason"]) for i in leased(server, "release", "disconnected")
    ] == [("sa_bake_1", "released_by_partner")]


def test_nothing_failed_or_was_dropped(server: Server) -> None:
    # Given every scenario above ran against this server
    # When everything pending is drained and the failure queues (and dropped events) are read
    drain(server)
    reply = server.call("GET", "/_local/dlq")
    # Then it is empty
    assert reply.status_code == 200
    assert reply.json() == []


# ------------------------------------------------------------------------------------ renewals


def test_a_renewal_run_a_month_after_assignment_charges_once_and_again_at_that_time_charges_nothing(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("renew")
    # Given a wine account leased now, with a wallet of three months
    request_accounts(server, "renew", 1)
    drain(server)
    [lease] = leased(server, "renew")
    due = a_month_after(lease["assignedAt"])
    assert lease["nextRenewalAt"] == due
    # When the renewal schedule runs a second before the renewal is due
    early = schedule_renewals(server, isoformat(parse_iso(due) - timedelta(seconds=1)))
    # Then nothing is charged yet
    assert early == {"renewed": 0, "chargedCents": 0, "disconnectedForInsufficientFunds": []}
    # And at the due time
    report = schedule_renewals(server, due)
    # Then one more period was charged and the next renewal is a month later
    assert report == {"renewed": 1, "chargedCents": PRICE, "disconnectedForInsufficientFunds": []}
    entries = assert_money_adds_up(server, "renew")
    assert sorted((e["socialAccountId"], e["period"]) for e in charges(entries)) == [
        ("sa_wine_1", 0),
        ("sa_wine_1", 1),
    ]
    assert wallet(server, "renew") == PRICE
    [renewed] = leased(server, "renew")
    assert renewed["nextRenewalAt"] == a_month_after(lease["assignedAt"], 2)
    # When the schedule runs again at the same time (a retried or duplicated run)
    again = schedule_renewals(server, due)
    # Then nothing more is charged
    assert again == {"renewed": 0, "chargedCents": 0, "disconnectedForInsufficientFunds": []}
    assert len(charges(ledger(server, "renew"))) == 2
    assert wallet(server, "renew") == PRICE
    drain(server)
    assert server.call("GET", "/_local/dlq").json() == []


def test_a_renewal_the_wallet_cannot_cover_disconnects_the_lease_and_runs_the_release_fan_out(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("broke")
    # Given a beer account leased now with a wallet of exactly one month, and a queued post on it
    request_accounts(server, "broke", 1)
    drain(server)
    [lease] = leased(server, "broke")
    assert wallet(server, "broke") == 0
    # When the renewal schedule runs when the second month is due
    report = schedule_renewals(server, a_month_after(lease["assignedAt"]))
    # Then nothing is charged and the lease is disconnected for insufficient funds
    assert report == {"renewed": 0, "chargedCents": 0, "disconnectedForInsufficientFunds": ["sa_beer_1"]}
    assert leased(server, "broke") == []
    ended = leased(server, "broke", "disconnected")
    assert [(i["socialAccountId"], i["disconnectedReason"], i["nextRenewalAt"]) for i in ended] == [
        ("sa_beer_1", "insufficient_funds", None)
    ]
    # And after a drain the release fan-out ran: post canceled, account back in the pool, end in the ledger
    drain(server)
    posts = {
        post["scheduledPostId"]: post["status"]
        for post in admin(server, "posts", "list", "--account", "sa_beer_1")
    }
    assert posts == {"sp_beer_q1": "canceled", "sp_beer_failed": "failed"}
    assert pool_status(server, "broke") == {"sa_beer_1": "available"}
    entries = assert_money_adds_up(server, "broke")
    assert [(e["type"], e["socialAccountId"], e["reason"]) for e in entries if e["type"] != "charge"] == [
        ("lease_ended", "sa_beer_1", "insufficient_funds")
    ]
    assert len(charges(entries)) == 1
    audit = admin(server, "audit", "list", "--account", "sa_beer_1")
    assert [entry["action"] for entry in audit] == ["lease.disconnected"]
    # And no event failed (no failure queue message, nothing dropped)
    assert server.call("GET", "/_local/dlq").json() == []


# ------------------------------------------------------------------ late events on the local bus


def put_on_local_bus(server: Server, detail_type: str, detail: dict[str, Any]) -> None:
    """PutEvents to the EventBridge endpoint `/_local/health` reports, as a producer in AWS would."""
    import boto3

    health = server.call("GET", "/_local/health").json()
    if "eventBridgeEndpoint" not in health:  # reported once the local-health change is merged
        pytest.skip("`/_local/health` does not report the local EventBridge endpoint yet")
    events = boto3.client(
        "events",
        endpoint_url=health["eventBridgeEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    answer = events.put_events(
        Entries=[
            {
                "Source": "layers.leasing",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": health["eventBusName"],
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0, answer


def test_a_late_release_of_an_older_lease_on_the_bus_changes_nothing_of_the_new_lease(
    own_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = own_server("release")
    # Given sa_bake_1 leased, released (fan-out drained) and leased again by the same organization
    request_accounts(server, "release", 1)
    drain(server)
    assert server.call("DELETE", "/v1/leased-accounts/sa_bake_1", key=server.world.keys["release"]).ok
    drain(server)
    [old_end] = [entry for entry in ledger(server, "release") if entry["type"] == "lease_ended"]
    request_accounts(server, "release", 1)
    drain(server)
    assert pool_status(server, "release") == {"sa_bake_1": "leased"}
    # And posts queued for the new lease (seeded onto the leased account: they join its lease)
    seed = tmp_path / "posts.json"
    seed.write_text(
        json.dumps({"scheduledPosts": [{"scheduledPostId": "sp_new", "socialAccountId": "sa_bake_1"}]})
    )
    admin(server, "seed", str(seed))
    before = (wallet(server, "release"), leased(server, "release"), ledger(server, "release"))
    # When the old lease's release reaches the bus again (a late, re-published event)
    put_on_local_bus(
        server,
        "LeasedAccountReleased",
        {
            "eventId": "evt_late_release_1",
            "eventType": "LeasedAccountReleased",
            "eventVersion": 1,
            "occurredAt": "2026-11-30T00:00:00Z",
            "orgId": "org_release",
            "leaseId": old_end["leaseId"],
            "socialAccountId": "sa_bake_1",
            "projectId": "prj_release",
            "requestId": old_end["requestId"],
            "disconnectedReason": "released_by_partner",
            "disconnectedAt": "2026-11-30T00:00:00Z",
            "releasedByKeyId": None,
        },
    )
    assert drain(server)["processed"] >= 3
    # Then the new lease keeps its account and its queued post, and no money or ledger entry moved
    posts = {
        p["scheduledPostId"]: p["status"] for p in admin(server, "posts", "list", "--account", "sa_bake_1")
    }
    assert posts["sp_new"] == "queued"
    assert pool_status(server, "release") == {"sa_bake_1": "leased"}
    assert (wallet(server, "release"), leased(server, "release"), ledger(server, "release")) == before
    assert server.call("GET", "/_local/dlq").json() == []
