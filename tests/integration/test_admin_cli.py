"""`leasing admin`: every command against an embedded DynamoDB with the template's tables, run
in-process through `leasing`'s own `main`, plus one session against `leasing serve` over HTTP."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from layers_common.api_keys import hash_secret, parse_api_key
from layers_common.clock import ulid
from layers_common.repository.leasing_repository import LeasingRepository
from layers_common.repository.records import AuditEntry, LedgerEntry
from leasing_cli.main import main
from tests.integration.admin_runner import Outcome
from tests.integration.conftest import table_items
from tests.integration.stack_template import leasing_stack_template
from tests.world import World, make_world

ROOT = Path(__file__).resolve().parents[2]
DEMO_SEED = ROOT / "seeds" / "demo.json"
ULID_ID = r"[0-9A-HJKMNP-TV-Z]{26}"
API_KEY_TEXT = re.compile(r"lp_(live|test)_[0-9A-Z]{16}_[A-Za-z0-9_-]{43}")


def refused(outcome: Outcome) -> str:
    """An expected error: exit code 2, nothing on stdout, one line on stderr (no traceback)."""
    assert outcome.code == 2, outcome
    assert outcome.out == ""
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("leasing admin")
    assert "Traceback" not in outcome.err
    return lines[0]


def items(dynamodb: Any) -> list[dict[str, Any]]:
    return table_items(dynamodb, include_rate_windows=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


# --------------------------------------------------------------------------------- org create


def test_org_create_writes_the_org_its_wallet_and_the_opening_credit(admin, repository):
    # Given an empty table
    # When an operator creates an org with an opening balance
    created = admin(
        "org", "create", "--name", "Acme Ltd", "--id", "org_acme", "--wallet-cents", "5000", "--json"
    )

    # Then it prints the org, and the org, its wallet and a ledger credit are stored
    assert created.json() == {"orgId": "org_acme", "name": "Acme Ltd", "walletBalanceCents": 5000}
    org = repository.get_org("org_acme")
    assert org is not None
    assert (org.name, org.status) == ("Acme Ltd", "active")
    assert repository.get_wallet_balance("org_acme") == 5000
    assert [(entry.type, entry.amount_cents) for entry in repository.list_ledger("org_acme")] == [
        ("credit", 5000)
    ]


def test_org_create_without_an_id_names_the_org_with_a_ulid_and_an_empty_wallet(admin, repository):
    # Given an empty table
    # When an org is created with only a name
    created = admin("org", "create", "--name", "Nameless", "--json").json()

    # Then its id is org_<ULID>, its wallet is empty and the ledger has nothing to say
    assert re.fullmatch(rf"org_{ULID_ID}", created["orgId"])
    assert created["walletBalanceCents"] == 0
    assert repository.get_wallet_balance(created["orgId"]) == 0
    assert repository.list_ledger(created["orgId"]) == []


def test_org_create_prints_a_readable_line_without_json(admin):
    # Given an empty table
    # When an org is created without --json
    created = admin("org", "create", "--name", "Acme", "--id", "org_acme", "--wallet-cents", "123456")

    # Then the line names the org and its balance in dollars
    assert created.code == 0
    assert created.out.strip() == "Created organization org_acme (Acme), wallet $1,234.56"


def test_org_create_refuses_an_existing_org_id_and_changes_nothing(admin, repository, dynamodb):
    # Given an org
    admin("org", "create", "--name", "First", "--id", "org_acme", "--wallet-cents", "100").ok()
    before = items(dynamodb)

    # When another org is created with the same id
    message = refused(admin("org", "create", "--name", "Second", "--id", "org_acme", "--wallet-cents", "9"))

    # Then it is refused and the table is as it was
    assert "org_acme" in message
    assert "already exists" in message
    assert items(dynamodb) == before


@pytest.mark.parametrize(
    ("words", "complaint"),
    [
        (("org", "create"), "--name"),
        (("org", "create", "--name"), "--name"),
        (("org", "create", "--name", "A", "--id", "org a"), "--id"),
        (("org", "create", "--name", "A", "--wallet-cents", "ten"), "--wallet-cents"),
        (("org", "create", "--name", "A", "--wallet-cents", "-1"), "--wallet-cents"),
        (("org", "create", "--name", "A", "--wallet-cents", "1.5"), "--wallet-cents"),
        (("org", "delete", "org_a"), "invalid choice"),
        (("org",), "required"),
        (("frobnicate",), "invalid choice"),
        ((), "required"),
        (("org", "create", "--name", "A", "--color", "blue"), "unrecognized arguments"),
    ],
)
def test_bad_arguments_are_one_line_on_stderr_with_exit_code_2_and_write_nothing(
    admin, dynamodb, words, complaint
):
    # Given an empty table
    # When the command line is wrong
    message = refused(admin(*words))

    # Then the one line says what is wrong, and nothing was written
    assert complaint in message
    assert items(dynamodb) == []


# ----------------------------------------------------------------------------- project create


def test_project_create_adds_a_project_to_an_existing_org(admin, repository):
    # Given an org
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()

    # When projects are created, one with an id and one without
    named = admin("project", "create", "org_acme", "--name", "Launch", "--id", "prj_launch", "--json")
    unnamed = admin("--json", "project", "create", "org_acme", "--name", "Other").json()

    # Then both exist in that org, the second with a prj_<ULID> id
    assert named.json() == {"projectId": "prj_launch", "orgId": "org_acme", "name": "Launch"}
    assert re.fullmatch(rf"prj_{ULID_ID}", unnamed["projectId"])
    assert repository.project_exists("org_acme", "prj_launch")
    assert repository.project_exists("org_acme", unnamed["projectId"])


def test_project_create_refuses_an_unknown_org_and_an_existing_project(admin, dynamodb):
    # Given an org with a project
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()
    admin("project", "create", "org_acme", "--name", "Launch", "--id", "prj_launch").ok()
    before = items(dynamodb)

    # When a project is created in an unknown org, or with a project id already used
    unknown_org = refused(admin("project", "create", "org_nope", "--name", "X", "--id", "prj_x"))
    taken = refused(admin("project", "create", "org_acme", "--name", "Again", "--id", "prj_launch"))

    # Then both are refused with a reason and nothing changed
    assert "no organization 'org_nope'" in unknown_org
    assert "prj_launch" in taken
    assert "already exists" in taken
    assert items(dynamodb) == before


# --------------------------------------------------------------------------------- API keys


def test_key_create_prints_the_key_once_and_stores_only_its_hash(admin, repository, dynamodb):
    # Given an org
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()

    # When a key is created with two scopes for the pilot tier
    created = admin(
        "key", "create", "org_acme", "--scopes", "leased:write", "social:write", "--tier", "pilot", "--json"
    ).json()

    # Then the output has the key text, which parses and matches the stored record
    assert set(created) == {"keyId", "key", "scopes", "tier"}
    assert created["scopes"] == ["leased:write", "social:write"]
    assert created["tier"] == "pilot"
    parsed = parse_api_key(created["key"])
    assert parsed is not None
    assert (parsed.key_id, parsed.env) == (created["keyId"], "test")
    record = repository.get_api_key(created["keyId"])
    assert record is not None
    assert record.org_id == "org_acme"
    assert record.secret_hash == hash_secret(parsed.secret)
    assert (record.scopes, record.tier, record.status, record.env) == (
        ("leased:write", "social:write"),
        "pilot",
        "active",
        "test",
    )
    # And neither the key text nor its secret is stored anywhere
    stored = json.dumps(items(dynamodb))
    assert created["key"] not in stored
    assert parsed.secret not in stored


def test_key_create_for_live_without_json_shows_the_key_in_the_readable_output(admin):
    # Given an org
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()

    # When a live key with every scope is created without --json
    created = admin("key", "create", "org_acme", "--scopes", "*", "--env", "live")

    # Then the text says it is shown only now and carries a live key
    assert created.code == 0
    assert "shown only now" in created.out
    keys_shown = [match.group(0) for match in API_KEY_TEXT.finditer(created.out)]
    assert len(keys_shown) == 1
    assert keys_shown[0].startswith("lp_live_")


def test_key_create_refuses_an_unknown_org(admin, dynamodb):
    # Given an empty table
    # When a key is created for an org that does not exist
    message = refused(admin("key", "create", "org_nope", "--scopes", "*"))

    # Then it is refused, no key is printed and none is stored
    assert "no organization 'org_nope'" in message
    assert "lp_" not in message
    assert items(dynamodb) == []


@pytest.mark.parametrize(
    ("words", "complaint"),
    [
        (("--scopes", "admin"), "--scopes: invalid choice: 'admin'"),
        (("--scopes", "*", "leased:read"), "invalid choice: 'leased:read'"),
        (("--scopes",), "--scopes: expected at least one argument"),
        ((), "the following arguments are required: --scopes"),
        (("--scopes", "*", "--tier", "gold"), "--tier: invalid choice: 'gold'"),
        (("--scopes", "*", "--env", "prod"), "--env: invalid choice: 'prod'"),
    ],
)
def test_key_create_rejects_bad_scopes_tiers_and_envs(admin, dynamodb, words, complaint):
    # Given an org
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()
    before = items(dynamodb)

    # When a key is asked for with a bad scope, tier or env
    message = refused(admin("key", "create", "org_acme", *words))

    # Then the line names the bad value and no key was stored
    assert complaint in message
    assert items(dynamodb) == before


def test_key_revoke_marks_an_existing_key_revoked(admin, repository):
    # Given an org with a key
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()
    key_id = admin("key", "create", "org_acme", "--scopes", "*", "--json").json()["keyId"]

    # When the key is revoked
    revoked = admin("key", "revoke", key_id, "--json")

    # Then the output says so, and when it takes effect here and on a deployed stack
    assert revoked.json() == {
        "keyId": key_id,
        "status": "revoked",
        "takesEffect": "takes effect at once locally; within AuthorizerCacheSeconds (300 s by default) on "
        "a deployed stack, where API Gateway keeps serving a cached authorizer result until it expires",
    }
    # And the stored key is revoked
    record = repository.get_api_key(key_id)
    assert record is not None
    assert record.status == "revoked"


def test_key_revoke_of_an_unknown_key_creates_nothing_and_never_echoes_a_pasted_key(admin, dynamodb):
    # Given an empty table, and a well-formed key that was never stored
    pasted = "lp_test_0123456789ABCDEF_" + "s" * 43

    # When it is revoked by id, and by its whole text
    by_id = refused(admin("key", "revoke", "0123456789ABCDEF"))
    by_text = refused(admin("key", "revoke", pasted))

    # Then both are refused naming only the key id, and no key item was created
    assert "no API key '0123456789ABCDEF'" in by_id
    assert "no API key '0123456789ABCDEF'" in by_text
    assert "sss" not in by_text
    assert items(dynamodb) == []


def test_an_api_key_in_a_bad_argument_is_redacted_from_the_error(admin):
    # Given a key pasted where a scope belongs
    pasted = "lp_live_0123456789ABCDEF_" + "x" * 43

    # When the command is run
    message = refused(admin("key", "create", "org_acme", "--scopes", pasted))

    # Then the error does not repeat the key's secret
    assert "x" * 10 not in message
    assert "<redacted>" in message


# ---------------------------------------------------------------------------- wallet, ledger


def test_wallet_credit_adds_to_the_balance_and_writes_a_ledger_credit(admin, repository):
    # Given an org with $10.00
    admin("org", "create", "--name", "Acme", "--id", "org_acme", "--wallet-cents", "1000").ok()

    # When $25.00 is credited
    credited = admin("wallet", "credit", "org_acme", "2500", "--json")

    # Then the new balance is printed and stored, and the ledger has the manual credit last
    assert credited.json() == {"orgId": "org_acme", "balanceCents": 3500}
    assert repository.get_wallet_balance("org_acme") == 3500
    last = repository.list_ledger("org_acme")[-1]
    assert (last.type, last.amount_cents, last.social_account_id, last.reason) == (
        "credit",
        2500,
        None,
        "manual credit",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", last.at)


def test_wallet_credit_refuses_an_unknown_org_and_writes_no_wallet_or_ledger(admin, dynamodb):
    # Given an empty table
    # When an unknown org is credited
    message = refused(admin("wallet", "credit", "org_nope", "100"))

    # Then it is refused and nothing (no wallet, no ledger entry) was written
    assert "no organization 'org_nope'" in message
    assert items(dynamodb) == []


@pytest.mark.parametrize("cents", ["0", "-5", "12.50", "ten", "1e3", ""])
def test_wallet_credit_needs_a_positive_whole_number_of_cents(admin, dynamodb, cents):
    # Given an org
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()
    before = items(dynamodb)

    # When it is credited with something that is not a positive integer
    message = refused(admin("wallet", "credit", "org_acme", cents))

    # Then the amount is refused and nothing changed
    assert "CENTS" in message
    assert items(dynamodb) == before


def test_wallet_show_prints_the_balance_as_json_or_dollars(admin):
    # Given an org with $3,000.00
    admin("org", "create", "--name", "Acme", "--id", "org_acme", "--wallet-cents", "300000").ok()

    # When its wallet is shown, with --json before the command and without
    as_json = admin("--json", "wallet", "show", "org_acme").json()
    as_text = admin("wallet", "show", "org_acme")

    # Then both give the balance
    assert as_json == {"orgId": "org_acme", "balanceCents": 300000}
    assert as_text.out.strip() == "org_acme: balance $3,000.00"


def test_wallet_show_and_ledger_list_refuse_an_unknown_org(admin):
    # Given an empty table
    # When an unknown org's wallet or ledger is asked for
    # Then both are refused
    assert "no organization 'org_nope'" in refused(admin("wallet", "show", "org_nope"))
    assert "no organization 'org_nope'" in refused(admin("ledger", "list", "org_nope"))


def test_ledger_list_gives_charges_and_credits_oldest_first_with_positive_amounts(admin, repository):
    # Given an org with an opening balance, a charge written by the service, and a manual credit
    admin("org", "create", "--name", "Acme", "--id", "org_acme", "--wallet-cents", "30000").ok()
    charge = LedgerEntry(
        org_id="org_acme",
        entry_id="01J00000000000000000000000",  # older than anything written now
        type="charge",
        amount_cents=15000,
        at="2024-06-01T00:00:00Z",
        social_account_id="sa_pool_1",
        lease_id="lse_1",
        request_id="req_1",
        period=1,
        reason="assignment",
    )
    repository._transact([repository._ledger_put(charge)])
    admin("wallet", "credit", "org_acme", "700").ok()

    # When the ledger is listed
    ledger = admin("ledger", "list", "org_acme", "--json").json()

    # Then the entries come oldest first, each amount positive, the type giving the direction
    assert [(entry["type"], entry["amountCents"]) for entry in ledger] == [
        ("charge", 15000),
        ("credit", 30000),
        ("credit", 700),
    ]
    assert ledger[0] == {
        "entryId": "01J00000000000000000000000",
        "type": "charge",
        "amountCents": 15000,
        "socialAccountId": "sa_pool_1",
        "leaseId": "lse_1",
        "requestId": "req_1",
        "period": 1,
        "reason": "assignment",
        "at": "2024-06-01T00:00:00Z",
    }
    assert ledger[2]["socialAccountId"] is None
    assert ledger[2]["reason"] == "manual credit"
    assert re.fullmatch(ULID_ID, ledger[0]["entryId"])  # written with the old, bare-ULID id
    assert all(re.fullmatch(rf"led_{ULID_ID}", entry["entryId"]) for entry in ledger[1:])
    # And the readable table signs the amounts
    text = admin("ledger", "list", "org_acme").out
    assert "-$150.00" in text
    assert "+$7.00" in text


# ------------------------------------------------------------------------------------- seed


def test_seed_applies_the_demo_seed_and_counts_what_it_wrote(admin, repository):
    # Given an empty table
    # When the demo seed is applied
    applied = admin("seed", str(DEMO_SEED), "--json").json()

    # Then the counts match the file, the orgs exist and no key text is printed
    demo = json.loads(DEMO_SEED.read_text())
    assert applied["applied"] is True
    assert applied["orgs"] == len(demo["orgs"])
    assert applied["pool"] == len(demo["pool"])
    assert repository.get_org("org_demo") is not None
    assert repository.get_wallet_balance("org_demo") == 300000
    assert not API_KEY_TEXT.search(json.dumps(applied))


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"orgs": [{"id": "org_x", "name": "X"}], "pool": [{"socialAccountId": "sa_1"}]}', "pool[0].handle"),
        ('{"orgs": [{"id": "org_x"', "is not JSON"),
        ('{"orgs": [{"id": "org_x", "name": "X", "apiKeys": [{"key": "lp_test_nope"}]}]}', "apiKeys[0].key"),
    ],
)
def test_seed_refuses_a_bad_file_before_writing_anything(admin, dynamodb, tmp_path, content, complaint):
    # Given a seed file with a valid org but a bad field elsewhere (or not JSON at all)
    bad = tmp_path / "bad.json"
    bad.write_text(content)

    # When it is applied
    message = refused(admin("seed", str(bad)))

    # Then the line names the problem and not even the valid org was written
    assert complaint in message
    assert items(dynamodb) == []


def test_seed_refuses_a_missing_file(admin, tmp_path):
    # Given a path with no file
    # When it is applied
    message = refused(admin("seed", str(tmp_path / "missing.json")))

    # Then the line says it cannot be read
    assert "cannot read seed file" in message


# ------------------------------------------------------------------------------------- pool


def pool_account(account_id: str, **fields: Any) -> dict[str, Any]:
    return {"socialAccountId": account_id, "handle": f"h.{account_id}", "vertical": "coffee", **fields}


def test_pool_add_writes_available_accounts_that_pool_list_shows_sorted_by_id(admin, tmp_path):
    # Given a file of two pool accounts
    accounts = [
        pool_account("sa_z", language="de", geo=["DE"], followers=10, monthlyPriceCents=9900),
        pool_account("sa_a"),
    ]
    added = admin("pool", "add", write_json(tmp_path / "pool.json", accounts), "--json")

    # When the pool is listed
    listed = admin("pool", "list", "--json").json()

    # Then both are there, available, sorted by id, with their attributes and defaults
    assert added.json() == {"added": 2, "socialAccountIds": ["sa_z", "sa_a"]}
    assert [row["socialAccountId"] for row in listed] == ["sa_a", "sa_z"]
    assert listed[1] == {
        "socialAccountId": "sa_z",
        "status": "available",
        "handle": "h.sa_z",
        "vertical": "coffee",
        "language": "de",
        "geo": ["DE"],
        "followers": 10,
        "monthlyPriceCents": 9900,
        "leaseId": None,
        "leasedOrgId": None,
    }
    assert listed[0]["monthlyPriceCents"] == 15000


def test_pool_add_refuses_ids_that_exist_and_writes_none_of_the_file(admin, repository, tmp_path):
    # Given a pool account already in the table
    admin("pool", "add", write_json(tmp_path / "one.json", [pool_account("sa_taken")])).ok()
    # When a file with a new account and the existing one is added
    message = refused(
        admin(
            "pool",
            "add",
            write_json(tmp_path / "two.json", [pool_account("sa_new"), pool_account("sa_taken")]),
        )
    )

    # Then it is refused naming the existing id, and the new account was not written either
    assert "sa_taken" in message
    assert repository.get_account("sa_new") is None


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ([pool_account("sa_1"), {"socialAccountId": "sa_2", "handle": "h"}], "pool[1].vertical"),
        ([pool_account("sa_1"), pool_account("sa_1")], "duplicate id 'sa_1'"),
        ([pool_account("sa_1", followers=-1)], "pool[0].followers"),
        ({"pool": [pool_account("sa_1")]}, "JSON array"),
    ],
)
def test_pool_add_validates_the_whole_file_first(admin, dynamodb, tmp_path, content, complaint):
    # Given a pool file with one bad entry (or not an array)
    # When it is added
    message = refused(admin("pool", "add", write_json(tmp_path / "pool.json", content)))

    # Then the line names the bad field and nothing was written
    assert complaint in message
    assert items(dynamodb) == []


def test_pool_add_refuses_a_file_that_is_not_json(admin, tmp_path):
    # Given a file that is not JSON
    broken = tmp_path / "pool.json"
    broken.write_text("[{")

    # When it is added
    # Then the line says so
    assert "is not JSON" in refused(admin("pool", "add", str(broken)))


def test_pool_list_filters_by_pool_status(admin, world: World):
    # Given the shared world: leased, released and free pool accounts
    # When the pool is listed by status
    leased = admin("pool", "list", "--status", "leased", "--json").json()
    available = admin("pool", "list", "--status", "available", "--json").json()
    everything = admin("pool", "list", "--json").json()

    # Then each list has only its status, and together they are the whole pool
    assert [row["socialAccountId"] for row in leased] == [
        "sa_leased_1",
        "sa_leased_2",
        "sa_leased_3",
        "sa_leased_4",
        "sa_leased_5",
        "sa_leased_b",
    ]
    assert {row["leasedOrgId"] for row in leased} == {"org_a", "org_b"}
    assert all(row["leaseId"] for row in leased)
    assert [row["socialAccountId"] for row in available] == ["sa_free_1", "sa_free_2", "sa_released"]
    assert len(everything) == len(world.seed["pool"])
    # And a status that does not exist is refused
    assert "--status: invalid choice" in refused(admin("pool", "list", "--status", "gone"))


def test_pool_list_prints_a_readable_table(admin, world):
    # Given the shared world
    # When the pool is listed without --json
    text = admin("pool", "list").out.splitlines()

    # Then there is a heading and one line per account
    assert text[0].split()[:3] == ["ID", "STATUS", "HANDLE"]
    assert len(text) == 1 + len(world.seed["pool"])


# ----------------------------------------------------------------------------- posts, audit


def test_posts_list_gives_an_accounts_scheduled_posts(admin, world):
    # Given the shared world's BYO account with three posts
    # When its posts are listed
    posts = admin("posts", "list", "--account", "sa_byo_a", "--json").json()

    # Then each post has its id, status and account
    assert sorted((post["scheduledPostId"], post["status"]) for post in posts) == [
        ("sp_pub", "published"),
        ("sp_q1", "queued"),
        ("sp_q2", "queued"),
    ]
    assert {post["socialAccountId"] for post in posts} == {"sa_byo_a"}
    assert all("scheduledFor" in post for post in posts)


def test_posts_and_audit_list_refuse_an_unknown_account_and_need_account(admin, world):
    # Given the shared world
    # When the posts or audit of an unknown account are listed, or no account is given
    # Then each is refused
    assert "no social account 'sa_nope'" in refused(admin("posts", "list", "--account", "sa_nope"))
    assert "no social account 'sa_nope'" in refused(admin("audit", "list", "--account", "sa_nope"))
    assert "--account" in refused(admin("posts", "list"))


def test_audit_list_gives_the_accounts_audit_oldest_first(admin, repository, world):
    # Given two audit entries of a pool account, written newest first by the service's repository
    for at, action, reason in [
        ("2026-03-02T00:00:00Z", "lease.released", "Churned"),
        ("2026-03-01T00:00:00Z", "lease.assigned", None),
    ]:
        entry = AuditEntry(
            social_account_id="sa_leased_3",
            action=action,
            at=at,
            org_id="org_a",
            actor_key_id="KEYA000000000001",
            reason=reason,
        )
        repository._transact([repository._audit_put(entry, ulid())])

    # When its audit log is listed
    audit = admin("audit", "list", "--account", "sa_leased_3", "--json").json()
    empty = admin("audit", "list", "--account", "sa_free_1", "--json").json()

    # Then the entries come oldest first with who, why and when; an account with no history has none
    assert audit == [
        {
            "action": "lease.assigned",
            "reason": None,
            "at": "2026-03-01T00:00:00Z",
            "orgId": "org_a",
            "actorKeyId": "KEYA000000000001",
        },
        {
            "action": "lease.released",
            "reason": "Churned",
            "at": "2026-03-02T00:00:00Z",
            "orgId": "org_a",
            "actorKeyId": "KEYA000000000001",
        },
    ]
    assert empty == []
    # And the readable table has a heading and one line per entry
    assert len(admin("audit", "list", "--account", "sa_leased_3").out.splitlines()) == 3


# ----------------------------------------------------------------------------------- targets


def test_json_may_come_before_or_after_the_command(admin):
    # Given an org
    admin("org", "create", "--name", "Acme", "--id", "org_acme").ok()

    # When the wallet is shown with --json before, after, and in both places
    # Then the output is the same
    before = admin("--json", "wallet", "show", "org_acme").json()
    after = admin("wallet", "show", "org_acme", "--json").json()
    both = admin("--json", "wallet", "show", "org_acme", "--json").json()
    assert before == after == both == {"orgId": "org_acme", "balanceCents": 0}


def test_exactly_one_target_is_required(admin, dynamodb_endpoint):
    # Given no target, then two targets
    # When a command is run
    missing = refused(admin("wallet", "show", "org_a", target=()))
    two = refused(
        admin(
            "wallet",
            "show",
            "org_a",
            target=("--endpoint-url", dynamodb_endpoint, "--server", "http://127.0.0.1:3000"),
        )
    )

    # Then both are refused
    assert "one of the arguments --server --endpoint-url --stack is required" in missing
    assert "not allowed with argument" in two


@pytest.mark.parametrize(
    ("target", "complaint"),
    [
        (("--endpoint-url", "http://127.0.0.1:{port}"), "cannot reach DynamoDB at http://127.0.0.1:"),
        (("--server", "http://127.0.0.1:{port}"), "cannot reach leasing serve at http://127.0.0.1:"),
        (("--server", "127.0.0.1:3000"), "--server must be an http:// or https:// URL"),
        (("--endpoint-url", "ftp://127.0.0.1"), "--endpoint-url must be an http:// or https:// URL"),
    ],
)
def test_an_unreachable_or_malformed_target_is_one_line_and_exit_code_2(admin, target, complaint):
    # Given a target nobody listens on (or that is not a URL)
    flag, url = target
    # When a command is run against it
    message = refused(admin("wallet", "show", "org_a", target=(flag, url.format(port=closed_port()))))

    # Then the line says what could not be reached
    assert complaint in message


def test_a_server_that_is_not_leasing_serve_is_refused(admin, dynamodb_endpoint):
    # Given a URL that answers HTTP but is not `leasing serve` (the DynamoDB endpoint itself)
    # When it is used as --server
    message = refused(admin("wallet", "show", "org_a", target=("--server", dynamodb_endpoint)))

    # Then it is refused without a traceback
    assert dynamodb_endpoint in message


def test_a_table_that_does_not_exist_at_the_endpoint_is_named(admin, dynamodb_endpoint):
    # Given an endpoint without that table
    # When a command is run with --table naming it
    message = refused(
        admin(
            "wallet", "show", "org_a", target=("--endpoint-url", dynamodb_endpoint, "--table", "NoSuchTable")
        )
    )

    # Then the table is named
    assert "no table 'NoSuchTable'" in message


STACK_TEMPLATE = leasing_stack_template()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process with fake credentials, and nothing pointing boto3 at the embedded DynamoDB."""
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with mock_aws():
        yield boto3.client("cloudformation", region_name="eu-west-1")


def test_stack_target_uses_the_table_named_in_the_stack_outputs(aws, capsys):
    # Given a deployed stack whose TableName output names its table
    aws.create_stack(StackName="leasing-prod", TemplateBody=json.dumps(STACK_TEMPLATE))

    # When an org is created and its wallet credited through --stack
    def admin_on_stack(*words: str) -> Any:
        capsys.readouterr()
        assert main(["admin", "--stack", "leasing-prod", *words, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    admin_on_stack("org", "create", "--name", "Prod org", "--id", "org_prod")
    shown = admin_on_stack("wallet", "credit", "org_prod", "4200")

    # Then the writes landed in the stack's table
    assert shown == {"orgId": "org_prod", "balanceCents": 4200}
    table = aws.describe_stacks(StackName="leasing-prod")["Stacks"][0]["Outputs"][0]["OutputValue"]
    repository = LeasingRepository(table, boto3.client("dynamodb", region_name="eu-west-1"))
    assert repository.get_wallet_balance("org_prod") == 4200


def test_stack_target_refuses_a_missing_stack_and_a_stack_without_the_output(aws, capsys):
    # Given a stack with no TableName output
    other = {"Resources": STACK_TEMPLATE["Resources"], "Outputs": {}}
    aws.create_stack(StackName="something-else", TemplateBody=json.dumps(other))

    # When admin targets a stack that does not exist, and that one
    codes = [
        main(["admin", "--stack", "no-such-stack", "wallet", "show", "org_a"]),
        main(["admin", "--stack", "something-else", "wallet", "show", "org_a"]),
    ]

    # Then both are one-line errors with exit code 2
    err = capsys.readouterr().err.splitlines()
    assert codes == [2, 2]
    assert "stack 'no-such-stack' does not exist" in err[0]
    assert "stack 'something-else' has no TableName output" in err[1]


# ---------------------------------------------------------------- against `leasing serve`


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    from tests.e2e_local.conftest import start_server

    server = start_server(tmp_path, make_world())
    yield server
    server.stop()


@pytest.mark.e2e
@pytest.mark.xdist_group("e2e")
def test_a_key_created_with_admin_works_over_http_until_it_is_revoked(serve, capsys):
    # Given a running `leasing serve`
    def admin(*words: str) -> Any:
        capsys.readouterr()
        code = main(["admin", "--server", serve.url, *words, "--json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return json.loads(captured.out)

    # When an operator creates an org, a project, a key and credits the wallet through --server
    org = admin("org", "create", "--name", "HTTP org")
    project = admin("project", "create", org["orgId"], "--name", "HTTP project")
    key = admin("key", "create", org["orgId"], "--scopes", "*")
    wallet = admin("wallet", "credit", org["orgId"], "30000")

    # Then the new key lists the org's (no) leased accounts over HTTP
    assert project["orgId"] == org["orgId"]
    assert wallet == {"orgId": org["orgId"], "balanceCents": 30000}
    listed = requests.get(
        serve.url + "/v1/leased-accounts", headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []

    # And once it is revoked the very next call is refused (no authorizer cache locally)
    assert admin("key", "revoke", key["keyId"])["status"] == "revoked"
    refused_call = requests.get(
        serve.url + "/v1/leased-accounts", headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
    )
    assert refused_call.status_code == 401
    # And the server never logged the key
    assert key["key"] not in serve.log.read_text()
