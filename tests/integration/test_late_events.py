"""Property: an event about an older lease changes nothing of the account's current lease.

EventBridge retries a target for up to an hour, and each consumer of a release is its own target,
so an account can be returned to the pool and leased again (by the same or another organization)
before a consumer gets the release of its previous lease. Whatever consumer gets that late event,
however often, in whatever order, and even re-published under another event id: the new lease,
its posts, the pool and every wallet stay as they were.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers_common.api_keys import generate_api_key
from layers_common.repository.leasing_repository import LeasingRepository
from layers_common.repository.records import ScheduledPostRecord
from leasing_cli.gateway import LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.seed import apply_seed, validate_seed
from leasing_cli.template import Template, create_tables
from tests.integration.conftest import Api
from tests.integration.event_delivery import Delivery

ACCOUNT = "sa_late"
PRICE = 15000
ORGS = ("org_x", "org_y")
CONSUMERS = ("CancelScheduledPostsFunction", "ReturnToPoolFunction", "BillingFunction")


def fresh_market(dynamodb: Any, template: Template, repository: LeasingRepository) -> dict[str, str]:
    """Empty tables, then two organizations (a key and a project each) and one pool account."""
    for name in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=name)
    create_tables(dynamodb, template)
    keys: dict[str, str] = {}
    orgs = []
    for org in ORGS:
        _, keys[org] = generate_api_key("test")
        orgs.append(
            {
                "id": org,
                "name": org,
                "walletBalanceCents": 10 * PRICE,
                "apiKeys": [{"key": keys[org], "scopes": ["*"]}],
                "projects": [{"id": f"prj_{org}", "name": org}],
            }
        )
    pool = [{"socialAccountId": ACCOUNT, "handle": "late", "vertical": "coffee", "monthlyPriceCents": PRICE}]
    apply_seed(repository, validate_seed({"orgs": orgs, "pool": pool}))
    return keys


def lease(api: Api, org: str, bus: Delivery) -> None:
    body = {"projectId": f"prj_{org}", "count": 1, "niche": {"vertical": "coffee"}}
    reply = api.post(f"/v1/projects/prj_{org}/leased-accounts/request", json_body=body)
    assert reply.status == 202, reply.body
    bus.drain()


def queue_posts(repository: LeasingRepository, prefix: str, count: int) -> None:
    account = repository.get_account(ACCOUNT)
    assert account is not None
    assert account.lease_id is not None
    for n in range(count):
        repository.put_scheduled_post(
            ScheduledPostRecord(f"sp_{prefix}_{n}", ACCOUNT, "queued", None, lease_id=account.lease_id)
        )


def state(repository: LeasingRepository) -> dict[str, Any]:
    """What a late event must not touch: the account, its lease, posts, wallets, charges."""
    account = repository.get_account(ACCOUNT)
    assert account is not None
    leases = {
        org: [
            (lease.lease_id, lease.status, lease.periods_charged)
            for lease in repository.list_leases(org, None, "assigned", 50, None).leases
        ]
        for org in ORGS
    }
    return {
        "account": (account.pool_status, account.lease_id, account.leased_org_id),
        "leases": leases,
        "posts": {post.scheduled_post_id: post.status for post in repository.list_scheduled_posts(ACCOUNT)},
        "wallets": {org: repository.get_wallet_balance(org) for org in ORGS},
        "charges": {
            org: [(e.lease_id, e.amount_cents) for e in repository.list_ledger(org) if e.type == "charge"]
            for org in ORGS
        },
    }


def republished(event: dict[str, Any]) -> dict[str, Any]:
    """The same release under a new event id (as if announced twice): a different delivery."""
    detail = {**event["detail"], "eventId": f"evt_{uuid.uuid4().hex}"}
    return {**event, "id": str(uuid.uuid4()), "detail": detail}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first_org=st.sampled_from(ORGS),
    second_org=st.sampled_from(ORGS),
    old_posts=st.integers(0, 2),
    new_posts=st.integers(1, 2),
    deliveries=st.lists(st.tuples(st.sampled_from(CONSUMERS), st.booleans()), min_size=1, max_size=6),
)
def test_a_late_release_of_an_older_lease_changes_nothing_of_the_new_lease(
    dynamodb: Any,
    template: Template,
    runtime: LambdaRuntime,
    gateway: LocalApiGateway,
    first_org: str,
    second_org: str,
    old_posts: int,
    new_posts: int,
    deliveries: list[tuple[str, bool]],
) -> None:
    repository = LeasingRepository("LeasingTable", dynamodb)
    keys = fresh_market(dynamodb, template, repository)
    bus = Delivery(dynamodb, runtime, template)
    # Given the account leased to one organization, with queued posts of that lease
    lease(Api(gateway, key=keys[first_org]), first_org, bus)
    queue_posts(repository, "old", old_posts)
    # And released: only return-to-pool has run, the other consumers' deliveries are still late
    reply = Api(gateway, key=keys[first_org]).delete(f"/v1/leased-accounts/{ACCOUNT}")
    assert reply.status == 200, reply.body
    [release] = bus.pending("LeasedAccountReleased")
    assert runtime.invoke("ReturnToPoolFunction", release)["outcome"] == "returned"
    bus.delivered.add(release["detail"]["eventId"])
    # And leased again (same or another organization), with queued posts of the new lease
    lease(Api(gateway, key=keys[second_org]), second_org, bus)
    queue_posts(repository, "new", new_posts)
    before = state(repository)
    assert before["account"][0] == "leased"
    assert before["account"][2] == second_org
    # When the old lease's release reaches consumers late, repeatedly, or re-published
    for consumer, as_new_event in deliveries:
        runtime.invoke(consumer, republished(release) if as_new_event else release)
    after = state(repository)
    # Then the new lease, the account, the wallets and the charges are untouched
    for part in ("account", "leases", "wallets", "charges"):
        assert after[part] == before[part], part
    # And so are the new lease's posts; only the old lease's own posts may have been canceled
    assert {p: s for p, s in after["posts"].items() if p.startswith("sp_new")} == {
        p: s for p, s in before["posts"].items() if p.startswith("sp_new")
    }
    assert all(after["posts"][p] in ("queued", "canceled") for p in after["posts"] if p.startswith("sp_old"))
    # And the old lease's end is in its organization's ledger at most once
    old_lease = json.loads(json.dumps(release["detail"]))["leaseId"]
    ended = [
        e for e in repository.list_ledger(first_org) if e.type == "lease_ended" and e.lease_id == old_lease
    ]
    assert len(ended) <= 1
    if any(consumer == "BillingFunction" for consumer, _ in deliveries):
        assert len(ended) == 1
