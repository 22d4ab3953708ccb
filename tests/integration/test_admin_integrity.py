"""`leasing admin` on a live system: seeds that never overwrite, the platform team's commands,
one ledger in time order, and the guard on seeding a deployed stack."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from layers_common.repository.leasing_repository import LeasingRepository
from layers_common.repository.records import LedgerEntry
from leasing_cli.admin.targets import stack_region
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.main import main
from leasing_cli.template import Template
from tests.integration.admin_runner import Admin, Outcome
from tests.integration.conftest import Api, table_items
from tests.integration.event_delivery import Delivery
from tests.integration.stack_template import leasing_stack_template
from tests.world import World, lease_body

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bus(dynamodb: Any, runtime: LambdaRuntime, template: Template) -> Delivery:
    return Delivery(dynamodb, runtime, template)


def refused(outcome: Outcome) -> str:
    assert outcome.code == 2, outcome
    assert outcome.out == ""
    assert "Traceback" not in outcome.err
    return outcome.err


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def assigned_leases_per_account(dynamodb: Any) -> Counter[str]:
    return Counter(
        item["socialAccountId"]["S"]
        for item in table_items(dynamodb)
        if item.get("entity", {}).get("S") == "lease" and item["status"]["S"] == "assigned"
    )


def state(dynamodb: Any) -> list[dict[str, Any]]:
    """Every item but rate-limit windows (calls made to observe would change those)."""
    return table_items(dynamodb)


# ------------------------------------------------------------------- seeding a running system


def test_seeding_a_running_system_with_overlapping_data_changes_nothing_and_never_leases_twice(
    admin: Admin, api: Api, world: World, dynamodb: Any, bus: Delivery, tmp_path: Path
) -> None:
    # Given a running system: the world seeded, an account leased through the API
    reply = api.post("/v1/projects/prj_a/leased-accounts/request", json_body=lease_body(count=1))
    assert reply.status == 202, reply.body
    bus.drain()
    before = state(dynamodb)
    # When the whole seed is applied again, and a seed mixing new and existing ids
    overlapping = {
        "orgs": [{"id": "org_new", "name": "New", "walletBalanceCents": 5}],
        "pool": [world.seed["pool"][0], {"socialAccountId": "sa_new", "handle": "new", "vertical": "coffee"}],
    }
    again = refused(admin("seed", write_json(tmp_path / "again.json", world.seed)))
    mixed = refused(admin("seed", write_json(tmp_path / "mixed.json", overlapping)))
    # Then both are refused, naming the existing ids, and nothing at all changed
    assert "org org_a" in again
    assert "nothing was written" in again
    assert f"pool account {world.seed['pool'][0]['socialAccountId']}" in mixed
    assert "org org_new" not in mixed  # only what exists is named
    assert state(dynamodb) == before
    # And later requests never lease an account twice
    for _ in range(3):
        assert (
            api.post("/v1/projects/prj_a/leased-accounts/request", json_body=lease_body(count=2)).status
            == 202
        )
    bus.drain()
    assert all(count == 1 for count in assigned_leases_per_account(dynamodb).values())


def test_a_disjoint_seed_on_a_running_system_adds_without_touching_anything(
    admin: Admin, world: World, dynamodb: Any, tmp_path: Path, repository: LeasingRepository
) -> None:
    # Given the running world
    before = state(dynamodb)
    # When a seed with only new ids (and a post on an existing account) is applied
    disjoint = {
        "orgs": [{"id": "org_fresh", "name": "Fresh", "walletBalanceCents": 700}],
        "pool": [{"socialAccountId": "sa_fresh", "handle": "fresh", "vertical": "tea"}],
        "scheduledPosts": [{"scheduledPostId": "sp_fresh", "socialAccountId": "sa_leased_1"}],
    }
    applied = admin("seed", write_json(tmp_path / "fresh.json", disjoint), "--json").json()
    # Then it is applied, every item that existed is unchanged, and the post joins the lease
    assert applied["applied"] is True
    after = {(item["pk"]["S"], item["sk"]["S"]): item for item in state(dynamodb)}
    for item in before:
        assert after[(item["pk"]["S"], item["sk"]["S"])] == item
    lease_id = repository.get_account("sa_leased_1").lease_id  # type: ignore[union-attr]
    [post] = [p for p in repository.list_scheduled_posts("sa_leased_1") if p.scheduled_post_id == "sp_fresh"]
    assert post.lease_id == lease_id


# ------------------------------------------------------------------- org, project, key commands


def test_org_list_shows_status_and_wallet_and_suspend_and_resume_take_effect_at_once(
    admin: Admin, api: Api
) -> None:
    # Given the world's organizations
    listed = {row["orgId"]: row for row in admin("org", "list", "--json").json()}
    assert listed["org_a"]["status"] == "active"
    assert listed["org_a"]["balanceCents"] == 300000
    # When org_a is suspended
    suspended = admin("org", "suspend", "org_a", "--json").json()
    # Then its keys get the kill switch at once, and a second suspend says it already was
    assert (
        suspended.items()
        >= {"orgId": "org_a", "status": "suspended", "previousStatus": "active", "changed": True}.items()
    )
    assert "within AuthorizerCacheSeconds" in suspended["takesEffect"]  # not at once on a deployed stack
    assert api.get("/v1/leased-accounts").status == 503
    again = admin("org", "suspend", "org_a")
    assert again.code == 0
    assert "already suspended" in again.out
    # When it is resumed / Then it is served again
    assert admin("org", "resume", "org_a", "--json").json()["status"] == "active"
    assert api.get("/v1/leased-accounts").status == 200
    # And an unknown organization is an error that writes nothing
    assert "no organization 'org_nope'" in refused(admin("org", "suspend", "org_nope"))


def test_project_list_names_an_organizations_projects(admin: Admin, world: World) -> None:
    rows = admin("project", "list", "org_a", "--json").json()
    assert [row["projectId"] for row in rows] == ["prj_a", "prj_a2"]
    assert "no organization" in refused(admin("project", "list", "org_nope"))


def test_key_list_never_shows_a_secret_or_its_hash(admin: Admin, world: World) -> None:
    # Given org_a's keys / When listed
    listed = admin("key", "list", "org_a", "--json")
    rows = listed.json()
    # Then each has id, scopes, tier, env, status, created, and nothing of the secret
    assert {row["keyId"] for row in rows} == {
        world.keys[name].split("_")[2] for name in world.keys if name.startswith("a")
    }
    assert all(set(row) == {"keyId", "scopes", "tier", "env", "status", "createdAt"} for row in rows)
    assert all(row["createdAt"] for row in rows)  # seeded keys record when they were written too
    text = listed.out + admin("key", "list", "org_a").out
    assert "secretHash" not in text
    for name, key in world.keys.items():
        assert key.split("_", 3)[3] not in text, name


def test_key_suspend_resume_and_revoke_with_clear_answers(admin: Admin, api: Api, world: World) -> None:
    key_id = world.keys["a"].split("_")[2]
    # When the key is suspended / Then it answers 503, and resuming it restores it
    assert admin("key", "suspend", key_id, "--json").json()["status"] == "suspended"
    assert api.get("/v1/leased-accounts").status == 503
    assert admin("key", "resume", key_id, "--json").json()["status"] == "active"
    assert api.get("/v1/leased-accounts").status == 200
    # When it is revoked twice / Then the second says it already was
    revoked = admin("key", "revoke", key_id, "--json").json()
    assert revoked.items() >= {"keyId": key_id, "status": "revoked"}.items()
    assert "takes effect at once locally" in revoked["takesEffect"]
    second = admin("key", "revoke", key_id, "--json").json()
    assert second == {"keyId": key_id, "status": "revoked", "alreadyRevoked": True}
    assert "already revoked" in admin("key", "revoke", key_id).out
    # And a revoked key can neither be resumed nor suspended
    assert "is revoked" in refused(admin("key", "resume", key_id))
    assert "is revoked" in refused(admin("key", "suspend", key_id))
    assert api.get("/v1/leased-accounts").status == 401


# ------------------------------------------------------------------------------- ledger order


def test_ledger_list_interleaves_admin_credits_and_service_charges_in_time_order(
    admin: Admin, api: Api, bus: Delivery, repository: LeasingRepository
) -> None:
    # Given an entry written with the old bare-ULID id, later in time than what follows it in the key order
    repository._transact(
        [
            repository._ledger_put(
                LedgerEntry("org_a", "01J00000000000000000000000", "credit", 1, "2030-01-01T00:00:00Z")
            )
        ]
    )
    # And, one after another: an admin credit, a service charge, another credit, another charge
    assert admin("wallet", "credit", "org_a", "100").code == 0
    assert api.post("/v1/projects/prj_a/leased-accounts/request", json_body=lease_body(count=1)).status == 202
    bus.drain()
    assert admin("wallet", "credit", "org_a", "200").code == 0
    assert api.post("/v1/projects/prj_a/leased-accounts/request", json_body=lease_body(count=1)).status == 202
    bus.drain()
    # When the ledger is listed
    ledger = admin("ledger", "list", "org_a", "--json").json()
    # Then it is in time order, the interleaving kept, the old entry last (it is the latest)
    assert [entry["at"] for entry in ledger] == sorted(entry["at"] for entry in ledger)
    kinds = [(entry["type"], entry["amountCents"]) for entry in ledger]
    credit_100, credit_200 = kinds.index(("credit", 100)), kinds.index(("credit", 200))
    charges = [index for index, (kind, _) in enumerate(kinds) if kind == "charge"]
    assert credit_100 < charges[-2] < credit_200 < charges[-1]
    assert ledger[-1]["entryId"] == "01J00000000000000000000000"
    # And --since and --limit page through it oldest first
    since = ledger[credit_200]["at"]
    assert (
        admin("ledger", "list", "org_a", "--since", since, "--limit", "1", "--json").json()[0]["at"] >= since
    )
    assert len(admin("ledger", "list", "org_a", "--limit", "2", "--json").json()) == 2
    assert "--since" in refused(admin("ledger", "list", "org_a", "--since", "yesterday"))


# ----------------------------------------------------------------------------- seeding a stack


def stack_template(stage: str | None) -> str:
    return json.dumps(leasing_stack_template(stage))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with mock_aws():
        yield boto3.client("cloudformation", region_name="eu-west-1")


@pytest.mark.parametrize(
    ("stage", "confirmed", "applied"),
    [("prod", True, False), (None, True, False), ("dev", False, False), ("dev", True, True)],
    ids=["prod-even-when-confirmed", "no-stage-parameter", "dev-unconfirmed", "dev-confirmed"],
)
def test_a_stack_is_seeded_only_when_its_stage_is_not_production_and_the_operator_says_so(
    aws: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stage: str | None,
    confirmed: bool,
    applied: bool,
) -> None:
    # Given a deployed stack of that stage
    aws.create_stack(StackName="leasing-x", TemplateBody=stack_template(stage))
    seed = write_json(tmp_path / "seed.json", {"orgs": [{"id": "org_s", "name": "S"}]})
    # When it is seeded through --stack
    flag = ["--i-know-this-is-a-stack"] if confirmed else []
    code = main(["admin", "--stack", "leasing-x", "seed", seed, *flag])
    err = capsys.readouterr().err
    # Then only a confirmed non-production stage is written
    table = aws.describe_stacks(StackName="leasing-x")["Stacks"][0]["Outputs"][0]["OutputValue"]
    org = LeasingRepository(table, boto3.client("dynamodb", region_name="eu-west-1")).get_org("org_s")
    assert (code, org is not None) == ((0, True) if applied else (2, False)), err


@pytest.mark.parametrize(
    ("environ", "profile", "region"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, "ap-south-1", "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-east-2"}, "ap-south-1", "us-east-2"),
        ({}, "ap-south-1", "ap-south-1"),
        ({}, None, None),
    ],
)
def test_the_stack_region_is_picked_as_the_aws_cli_picks_it(
    environ: dict[str, str], profile: str | None, region: str | None
) -> None:
    assert stack_region(environ, profile) == region


def test_stack_takes_aws_region_even_when_boto3_alone_would_not(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given only AWS_REGION set (boto3 alone reads AWS_DEFAULT_REGION), and a stack in that region
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    aws.create_stack(StackName="leasing-r", TemplateBody=stack_template("dev"))
    # When admin targets the stack / Then it finds it there
    assert main(["admin", "--stack", "leasing-r", "org", "list", "--json"]) == 0, capsys.readouterr().err
