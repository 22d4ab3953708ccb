"""Seed files: whole-file validation with field paths, and writing through the repository."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from layers_common.api_keys import secret_matches
from layers_common.clock import add_months, parse_iso
from layers_common.repository.leasing_repository import LeasingRepository
from leasing_cli.seed import SeedError, apply_seed, load_seed, validate_seed
from leasing_cli.template import create_tables, load_template

ROOT = Path(__file__).resolve().parents[2]
DEMO_SEED = ROOT / "seeds" / "demo.json"
KEY = "lp_test_0123456789ABCDEF_" + "a" * 40 + "-_b"
OTHER_KEY = "lp_live_ZYXWVUTSRQ987654_" + "c" * 43


def minimal_seed() -> dict[str, Any]:
    return {
        "orgs": [
            {
                "id": "org_a",
                "name": "A",
                "walletBalanceCents": 1000,
                "apiKeys": [{"key": KEY, "scopes": ["*"]}],
                "projects": [{"id": "prj_a", "name": "Project A"}],
            }
        ],
        "pool": [{"socialAccountId": "sa_pool_1", "handle": "coffee.one", "vertical": "coffee"}],
        "socialAccounts": [
            {"socialAccountId": "sa_byo_1", "projectId": "prj_a", "handle": "byo", "platform": "tiktok"}
        ],
        "scheduledPosts": [
            {"scheduledPostId": "sp_1", "socialAccountId": "sa_byo_1", "scheduledFor": "2026-12-01T10:00:00Z"}
        ],
    }


def problems_of(data: dict[str, Any]) -> str:
    with pytest.raises(SeedError) as error:
        validate_seed(data)
    return str(error.value)


@pytest.fixture
def repository():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        tables = create_tables(client, load_template(ROOT / "template.yaml"))
        yield LeasingRepository(tables["LeasingTable"], client)


def test_the_demo_seed_is_valid():
    # Given the demo seed shipped with the repository
    # When it is loaded
    seed = load_seed(DEMO_SEED)

    # Then it has the two orgs, a lease and the BYO account with its queued posts
    assert [org.id for org in seed.orgs] == ["org_demo", "org_other"]
    assert seed.orgs[0].wallet_balance_cents == 300000
    assert seed.orgs[0].api_keys[0].scopes == ["*"]
    assert {lease.social_account_id for lease in seed.leases} <= {
        account.social_account_id for account in seed.pool
    }
    assert [post.status for post in seed.scheduled_posts] == ["queued", "queued", "queued"]


def test_a_seed_with_no_orgs_is_valid():
    # Given an empty seed
    # When it is validated
    seed = validate_seed({})

    # Then it has nothing to write
    assert seed.orgs == []


def test_omitted_optional_fields_take_their_defaults():
    # Given a seed that leaves out every optional field
    # When it is validated
    seed = validate_seed(minimal_seed())

    # Then the documented defaults apply
    org, pool_account = seed.orgs[0], seed.pool[0]
    assert (org.status, org.api_keys[0].tier, org.api_keys[0].status) == ("active", "standard", "active")
    assert (pool_account.platform, pool_account.followers, pool_account.geo) == ("tiktok", 0, [])
    assert pool_account.monthly_price_cents == 15000
    assert seed.scheduled_posts[0].status == "queued"


def test_a_malformed_key_is_reported_at_its_path_without_its_text():
    # Given a seed whose second key is malformed
    data = minimal_seed()
    bad_key = "lp_test_short_secret-that-must-not-be-echoed"
    data["orgs"][0]["apiKeys"].append({"key": bad_key})

    # When it is validated
    message = problems_of(data)

    # Then the message names the field and never repeats the key
    assert "orgs[0].apiKeys[1].key" in message
    assert bad_key not in message
    assert "secret-that-must-not-be-echoed" not in message


def test_an_unknown_field_is_refused_at_every_level():
    # Given a typo deep in the seed
    data = minimal_seed()
    data["orgs"][0]["projects"][0]["colour"] = "red"

    # When it is validated
    message = problems_of(data)

    # Then the unknown field is named
    assert "orgs[0].projects[0].colour" in message


def test_a_connected_account_must_reference_a_seeded_project():
    # Given a BYO account in a project nobody seeded
    data = minimal_seed()
    data["socialAccounts"][0]["projectId"] = "prj_missing"

    # When it is validated
    message = problems_of(data)

    # Then the reference is reported
    assert "socialAccounts[0].projectId" in message


def test_duplicate_ids_are_reported():
    # Given the same pool account id twice and the same key id in two orgs
    data = minimal_seed()
    data["pool"].append(copy.deepcopy(data["pool"][0]))
    data["orgs"].append({"id": "org_b", "name": "B", "apiKeys": [{"key": KEY}]})

    # When it is validated
    message = problems_of(data)

    # Then both duplicates are named
    assert "pool[1].socialAccountId" in message
    assert "orgs[1].apiKeys[0].key: duplicate keyId" in message


def test_a_scheduled_post_may_be_on_a_pool_account_but_not_on_an_account_that_does_not_exist(repository):
    # Given one post on a seeded pool account and one on an account that exists nowhere
    data = minimal_seed()
    data["scheduledPosts"] += [
        {"scheduledPostId": "sp_2", "socialAccountId": "sa_pool_1", "status": "published"},
        {"scheduledPostId": "sp_3", "socialAccountId": "sa_nobody"},
    ]

    # When it is applied
    with pytest.raises(SeedError) as error:
        apply_seed(repository, validate_seed(data))

    # Then only the unknown account is a problem, and nothing was written
    assert "scheduledPosts[2].socialAccountId" in str(error.value)
    assert "scheduledPosts[1]" not in str(error.value)
    assert repository.get_org("org_a") is None


def test_a_lease_must_be_of_a_pool_account_in_a_project_of_its_org():
    # Given a lease of a BYO account, into another org's project
    data = minimal_seed()
    data["orgs"].append({"id": "org_b", "name": "B", "projects": [{"id": "prj_b", "name": "B"}]})
    data["leases"] = [
        {
            "socialAccountId": "sa_byo_1",
            "orgId": "org_a",
            "projectId": "prj_b",
            "assignedAt": "2026-01-31T00:00:00Z",
        }
    ]

    # When it is validated
    message = problems_of(data)

    # Then both problems are named
    assert "leases[0].socialAccountId" in message
    assert "leases[0].projectId" in message


def test_a_disconnected_lease_needs_its_reason():
    # Given a disconnected lease without a reason
    data = minimal_seed()
    data["leases"] = [
        {
            "socialAccountId": "sa_pool_1",
            "orgId": "org_a",
            "projectId": "prj_a",
            "assignedAt": "2026-01-31T00:00:00Z",
            "status": "disconnected",
            "disconnectedAt": "2026-02-10T00:00:00Z",
        }
    ]

    # When it is validated
    message = problems_of(data)

    # Then the lease is reported
    assert "leases[0]" in message
    assert "disconnectedReason" in message


def test_a_timestamp_without_z_is_refused():
    # Given a scheduled time with an offset instead of Z
    data = minimal_seed()
    data["scheduledPosts"][0]["scheduledFor"] = "2026-12-01T10:00:00+02:00"

    # When it is validated
    message = problems_of(data)

    # Then the field is named
    assert "scheduledPosts[0].scheduledFor" in message


def test_a_file_that_is_not_json_is_reported_without_its_content(tmp_path):
    # Given a broken seed file holding a key
    path = tmp_path / "seed.json"
    path.write_text('{"orgs": [{"apiKeys": [{"key": "' + KEY + '"}]} oops')

    # When it is loaded
    with pytest.raises(SeedError) as error:
        load_seed(path)

    # Then the message says where, not what
    assert "line 1" in str(error.value)
    assert KEY not in str(error.value)


def test_applying_a_seed_writes_orgs_keys_projects_and_accounts(repository):
    # Given a valid seed
    seed = validate_seed(minimal_seed())

    # When it is applied
    apply_seed(repository, seed)

    # Then everything is readable through the repository, the key only as a hash
    assert repository.get_org("org_a").status == "active"
    assert repository.get_wallet_balance("org_a") == 1000
    assert repository.project_exists("org_a", "prj_a")
    key = repository.get_api_key("0123456789ABCDEF")
    assert (key.org_id, key.env, key.scopes, key.tier) == ("org_a", "test", ("*",), "standard")
    assert secret_matches("a" * 40 + "-_b", key.secret_hash)
    pool_account = repository.get_account("sa_pool_1")
    assert (pool_account.kind, pool_account.pool_status) == ("pool", "available")
    connected = repository.get_account("sa_byo_1")
    assert (connected.kind, connected.org_id, connected.project_id) == ("connected", "org_a", "prj_a")
    assert [post.scheduled_post_id for post in repository.list_scheduled_posts("sa_byo_1")] == ["sp_1"]


def test_a_seeded_lease_points_its_pool_account_at_it(repository):
    # Given a seed leasing the pool account on the last day of January
    data = minimal_seed()
    data["orgs"][0]["apiKeys"] = [{"key": OTHER_KEY, "scopes": []}]
    data["leases"] = [
        {
            "socialAccountId": "sa_pool_1",
            "orgId": "org_a",
            "projectId": "prj_a",
            "assignedAt": "2026-01-31T09:00:00Z",
            "leaseId": "lse_seeded",
            "periodsCharged": 1,
        }
    ]

    # When it is applied
    apply_seed(repository, validate_seed(data))

    # Then the lease copies the account and renews a calendar month later (clamped)
    lease = repository.get_lease("org_a", "lse_seeded")
    assert (lease.handle, lease.monthly_price_cents, lease.status) == ("coffee.one", 15000, "assigned")
    assert lease.next_renewal_at == "2026-02-28T09:00:00Z"
    account = repository.get_account("sa_pool_1")
    assert (account.pool_status, account.lease_id, account.leased_org_id) == ("leased", "lse_seeded", "org_a")


def test_a_seeded_lease_without_periods_is_paid_up_to_now(repository):
    # Given a seed leasing the pool account long ago, without saying how many months were charged
    data = minimal_seed()
    data["orgs"][0]["apiKeys"] = [{"key": OTHER_KEY, "scopes": []}]
    data["leases"] = [
        {
            "socialAccountId": "sa_pool_1",
            "orgId": "org_a",
            "projectId": "prj_a",
            "assignedAt": "2020-01-31T09:00:00Z",
            "leaseId": "lse_old",
        }
    ]

    # When it is applied
    apply_seed(repository, validate_seed(data))

    # Then its next renewal is the first monthly date still ahead (nothing overdue)
    lease = repository.get_lease("org_a", "lse_old")
    now = datetime.now(UTC)
    next_renewal = parse_iso(lease.next_renewal_at)
    assert now < next_renewal
    assert add_months(parse_iso("2020-01-31T09:00:00Z"), lease.periods_charged) == next_renewal
    assert add_months(parse_iso("2020-01-31T09:00:00Z"), lease.periods_charged - 1) <= now


def test_the_demo_seed_applies(repository):
    # Given the demo seed
    seed = load_seed(DEMO_SEED)

    # When it is applied
    apply_seed(repository, seed)

    # Then its seeded lease holds a pool account of org_demo
    lease = seed.leases[0]
    assert repository.get_account(lease.social_account_id).leased_org_id == "org_demo"
    assert json.loads(DEMO_SEED.read_text())["orgs"][0]["id"] == "org_demo"


def test_seed_flags_for_suspension_env_and_pool_status_are_applied(repository):
    # Given a seed with a suspended org (flag), a key whose record env differs from its prefix,
    # a suspended key (flag) and a pool account marked leased elsewhere
    data = minimal_seed()
    data["orgs"][0]["suspended"] = True
    data["orgs"][0]["apiKeys"] = [
        {"key": OTHER_KEY, "scopes": ["*"], "env": "test"},  # the text says lp_live_
    ]
    data["pool"][0]["status"] = "leased"
    # When it is applied
    apply_seed(repository, validate_seed(data))
    # Then the org is suspended, the key record says test, and the account is not available
    assert repository.get_org("org_a").status == "suspended"
    key_id = OTHER_KEY.split("_")[2]
    assert repository.get_api_key(key_id).env == "test"
    assert repository.get_account("sa_pool_1").pool_status == "leased"
    assert repository.list_available_pool("coffee") == []


# ------------------------------------------------------------- seeding never overwrites


def all_items(repository: LeasingRepository) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": repository.table_name, "ConsistentRead": True}
    while True:
        page = repository.client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_applying_the_same_seed_twice_is_refused_naming_the_ids_and_writes_nothing(repository):
    # Given the demo seed applied, then the demo lease's account in use
    seed = load_seed(DEMO_SEED)
    apply_seed(repository, seed)
    before = all_items(repository)

    # When it is applied again
    with pytest.raises(SeedError) as error:
        apply_seed(repository, seed, source="seeds/demo.json")

    # Then it is refused, naming what exists, and the table is exactly as it was
    message = str(error.value)
    assert "nothing was written" in message
    for named in (
        "org org_demo",
        "wallet of org org_demo",
        "pool account sa_pool_1",
        "API key PZJZFAXISQ2BI5FP",
    ):
        assert named in message
    assert all_items(repository) == before


def test_one_clashing_item_refuses_the_whole_file(repository):
    # Given an existing pool account
    apply_seed(
        repository,
        validate_seed({"pool": [{"socialAccountId": "sa_pool_1", "handle": "x", "vertical": "tea"}]}),
    )
    before = all_items(repository)

    # When a seed with new orgs and that same pool account id is applied
    with pytest.raises(SeedError) as error:
        apply_seed(repository, validate_seed(minimal_seed()))

    # Then only the pool account is named, and none of the new items were written
    assert "pool account sa_pool_1" in str(error.value)
    assert "org org_a" not in str(error.value)
    assert all_items(repository) == before


def test_a_seed_may_refer_to_what_exists_and_posts_on_a_leased_account_join_its_lease(repository):
    # Given the demo seed applied (sa_pool_2 leased to org_demo, sa_byo_1 connected)
    apply_seed(repository, load_seed(DEMO_SEED))
    lease_id = repository.get_account("sa_pool_2").lease_id
    # When a second seed adds posts on those existing accounts, a connected account in the
    # existing project and a lease request of the existing organization
    second = {
        "socialAccounts": [
            {"socialAccountId": "sa_byo_9", "orgId": "org_demo", "projectId": "prj_demo", "handle": "nine"}
        ],
        "scheduledPosts": [
            {"scheduledPostId": "sp_9", "socialAccountId": "sa_pool_2"},
            {"scheduledPostId": "sp_10", "socialAccountId": "sa_byo_1"},
        ],
        "leaseRequests": [
            {
                "requestId": "lreq_9",
                "orgId": "org_demo",
                "projectId": "prj_demo",
                "count": 1,
                "niche": {"vertical": "coffee"},
                "submittedAt": "2026-01-01T00:00:00Z",
            }
        ],
    }
    apply_seed(repository, validate_seed(second))
    # Then it is applied, and the post on the leased account belongs to its current lease
    posts = {post.scheduled_post_id: post for post in repository.list_scheduled_posts("sa_pool_2")}
    assert posts["sp_9"].lease_id == lease_id
    byo_posts = {post.scheduled_post_id: post for post in repository.list_scheduled_posts("sa_byo_1")}
    assert byo_posts["sp_10"].lease_id is None
    assert repository.get_account("sa_byo_9").org_id == "org_demo"
    assert repository.get_lease_request("org_demo", "lreq_9") is not None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            {
                "socialAccounts": [
                    {"socialAccountId": "sa_x", "orgId": "org_gone", "projectId": "prj_x", "handle": "x"}
                ]
            },
            "socialAccounts[0].projectId",
        ),
        (
            {"scheduledPosts": [{"scheduledPostId": "sp_x", "socialAccountId": "sa_gone"}]},
            "scheduledPosts[0].socialAccountId",
        ),
    ],
)
def test_a_reference_to_something_that_does_not_exist_is_refused(repository, change, named):
    # Given an empty table / When a seed refers to something that is nowhere / Then refused by path
    with pytest.raises(SeedError) as error:
        apply_seed(repository, validate_seed(change))
    assert named in str(error.value)
    assert all_items(repository) == []
