"""What each `leasing admin` command does: (what `--json` prints, the readable text)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layers_common.api_keys import generate_api_key, hash_secret
from layers_common.clock import SystemClock, isoformat, ledger_entry_id, new_id
from layers_common.repository.records import AccountRecord, ApiKeyRecord, LedgerEntry, OrgRecord
from leasing_cli.admin.render import money, table
from leasing_cli.admin.store import AdminRepository
from leasing_cli.seed import SeedError, SeedFile, load_seed, read_json_file, validate_seed

Result = tuple[Any, str]
Command = Callable[[AdminRepository, argparse.Namespace], Result]


class AdminError(Exception):
    """An operation refused (unknown org, id taken, …): one line on stderr, exit code 2."""


def _now() -> str:
    return isoformat(SystemClock().now())


def _require_org(repo: AdminRepository, org_id: str) -> None:
    if not repo.org_exists(org_id):
        raise AdminError(f"no organization {org_id!r}")


# -- input files (validated before the target is touched) -------------------------------------


def read_pool_file(path: str) -> SeedFile:
    """A JSON array of pool accounts, validated with the seed model (field paths `pool[i].…`)."""
    file = Path(path)
    data = read_json_file(file, "pool file")
    if not isinstance(data, list):
        raise SeedError(f"{file} must hold a JSON array of pool accounts")
    return validate_seed({"pool": data}, source=str(file))


def validate_inputs(args: argparse.Namespace) -> None:
    """Read and validate every input file first: a bad file writes nothing and needs no target."""
    if args.action == "seed":
        args.seed_file = load_seed(args.file)
    elif args.action == "pool_add":
        args.pool_file = read_pool_file(args.file)


# -- commands ---------------------------------------------------------------------------------


PRODUCTION_STAGES = ("prod", "production", "live")


def _stack_may_be_seeded(args: argparse.Namespace) -> None:
    """A deployed stage is seeded only when it is not production and the operator says so."""
    target = getattr(args, "target", None)
    if target is None or target.kind != "stack":
        return
    stage = (target.stage or "").lower()
    if not stage or stage in PRODUCTION_STAGES or stage.startswith("prod"):
        shown = target.stage or "unknown (no Stage parameter)"
        raise AdminError(
            f"refusing to seed {target.label}: its stage is {shown}, seeds never go to production"
        )
    if not args.stack_confirmed:
        raise AdminError(
            f"{target.label} is a deployed stage ({target.stage}): add --i-know-this-is-a-stack to seed it"
        )


def seed(repo: AdminRepository, args: argparse.Namespace) -> Result:
    from leasing_cli.seed import apply_seed

    _stack_may_be_seeded(args)
    data: SeedFile = args.seed_file
    apply_seed(repo, data, source=args.file)  # checks the whole file first; never overwrites
    counts = {
        "orgs": len(data.orgs),
        "apiKeys": sum(len(org.api_keys) for org in data.orgs),
        "projects": sum(len(org.projects) for org in data.orgs),
        "pool": len(data.pool),
        "socialAccounts": len(data.social_accounts),
        "scheduledPosts": len(data.scheduled_posts),
        "leases": len(data.leases),
        "leaseRequests": len(data.lease_requests),
    }
    summary = ", ".join(f"{count} {what}" for what, count in counts.items())
    return {"applied": True, **counts}, f"Applied {args.file}: {summary}"


def org_create(repo: AdminRepository, args: argparse.Namespace) -> Result:
    org_id = args.org_id or new_id("org")
    at = _now()
    opening = (
        LedgerEntry(
            org_id=org_id,
            entry_id=ledger_entry_id(at),
            type="credit",
            amount_cents=args.wallet_cents,
            at=at,
            reason="opening balance",
        )
        if args.wallet_cents > 0
        else None
    )
    org = OrgRecord(org_id=org_id, name=args.name, status="active")
    if not repo.create_org(org, created_at=at, opening_credit=opening):
        raise AdminError(f"organization {org_id!r} already exists (nothing written)")
    result = {"orgId": org_id, "name": args.name, "walletBalanceCents": args.wallet_cents}
    return result, f"Created organization {org_id} ({args.name}), wallet {money(args.wallet_cents)}"


def project_create(repo: AdminRepository, args: argparse.Namespace) -> Result:
    project_id = args.project_id or new_id("prj")
    outcome = repo.create_project(args.org_id, project_id, args.name, created_at=_now())
    if outcome == "no_org":
        raise AdminError(f"no organization {args.org_id!r}")
    if outcome == "exists":
        raise AdminError(f"project {project_id!r} already exists in {args.org_id!r} (nothing written)")
    result = {"projectId": project_id, "orgId": args.org_id, "name": args.name}
    return result, f"Created project {project_id} ({args.name}) in {args.org_id}"


def key_create(repo: AdminRepository, args: argparse.Namespace) -> Result:
    parsed, text = generate_api_key(args.env)
    scopes = list(dict.fromkeys(args.scopes))  # in the order given, without repeats
    record = ApiKeyRecord(
        key_id=parsed.key_id,
        org_id=args.org_id,
        secret_hash=hash_secret(parsed.secret),
        env=parsed.env,
        scopes=tuple(scopes),
        tier=args.tier,
        status="active",
    )
    outcome = repo.create_api_key(record, created_at=_now())
    if outcome == "no_org":
        raise AdminError(f"no organization {args.org_id!r}")
    if outcome == "exists":  # 80 random bits: practically never
        raise AdminError(f"key id {parsed.key_id} is taken; run the command again")
    result = {"keyId": parsed.key_id, "key": text, "scopes": scopes, "tier": args.tier}
    lines = [
        f"Created key {parsed.key_id} for {args.org_id} (tier {args.tier}, scopes {' '.join(scopes)})",
        f"Key (shown only now, only its hash is stored): {text}",
    ]
    return result, "\n".join(lines)


def key_revoke(repo: AdminRepository, args: argparse.Namespace) -> Result:
    outcome = repo.revoke_api_key(args.key_id, revoked_at=_now())
    if outcome == "missing":
        raise AdminError(f"no API key {args.key_id!r}")
    if outcome == "unchanged":
        result = {"keyId": args.key_id, "status": "revoked", "alreadyRevoked": True}
        return result, f"Key {args.key_id} was already revoked (nothing changed)"
    from leasing_cli.admin.effect import access_change_notice

    notice = access_change_notice()
    return (
        {"keyId": args.key_id, "status": "revoked", "takesEffect": notice},
        f"Revoked key {args.key_id}: {notice}",
    )


def _status_change(what: str, ident: str, outcome: str, before: str | None, to: str, id_field: str) -> Result:
    """The answer of a suspend / resume: done, already so (exit 0), or refused (exit 2)."""
    if outcome == "missing":
        raise AdminError(f"no {what} {ident!r}")
    if outcome == "refused":
        raise AdminError(
            f"{what} {ident} is {before or 'without a status'}: it cannot become {to} (nothing changed)"
        )
    result: dict[str, Any] = {
        id_field: ident,
        "status": to,
        "previousStatus": before,
        "changed": outcome == "changed",
    }
    if outcome == "unchanged":
        return result, f"{what.capitalize()} {ident} was already {to} (nothing changed)"
    from leasing_cli.admin.effect import access_change_notice

    result["takesEffect"] = notice = access_change_notice()
    return result, f"{what.capitalize()} {ident}: {before or 'no status'} -> {to}; {notice}"


def org_suspend(repo: AdminRepository, args: argparse.Namespace) -> Result:
    outcome, before = repo.set_org_status(args.org_id, to="suspended", allowed_from=None, at=_now())
    return _status_change("organization", args.org_id, outcome, before, "suspended", "orgId")


def org_resume(repo: AdminRepository, args: argparse.Namespace) -> Result:
    outcome, before = repo.set_org_status(args.org_id, to="active", allowed_from=None, at=_now())
    return _status_change("organization", args.org_id, outcome, before, "active", "orgId")


def key_suspend(repo: AdminRepository, args: argparse.Namespace) -> Result:
    outcome, before = repo.set_api_key_status(
        args.key_id, to="suspended", allowed_from=("active",), at=_now()
    )
    return _status_change("API key", args.key_id, outcome, before, "suspended", "keyId")


def key_resume(repo: AdminRepository, args: argparse.Namespace) -> Result:
    # Only a suspended key comes back: a revoked key stays revoked (issue a new one instead).
    outcome, before = repo.set_api_key_status(
        args.key_id, to="active", allowed_from=("suspended",), at=_now()
    )
    return _status_change("API key", args.key_id, outcome, before, "active", "keyId")


def org_list(repo: AdminRepository, args: argparse.Namespace) -> Result:
    rows = repo.list_orgs()
    shown = [
        {**row, "balance": None if row["balanceCents"] is None else money(row["balanceCents"])}
        for row in rows
    ]
    columns = [
        ("orgId", "ORG"),
        ("name", "NAME"),
        ("status", "STATUS"),
        ("balance", "WALLET"),
        ("createdAt", "CREATED"),
    ]
    return rows, table(shown, columns, empty="No organizations")


def project_list(repo: AdminRepository, args: argparse.Namespace) -> Result:
    _require_org(repo, args.org_id)
    rows = repo.list_projects(args.org_id)
    columns = [("projectId", "PROJECT"), ("name", "NAME"), ("createdAt", "CREATED")]
    return rows, table(rows, columns, empty=f"No projects in {args.org_id}")


def key_list(repo: AdminRepository, args: argparse.Namespace) -> Result:
    _require_org(repo, args.org_id)
    rows = repo.list_api_keys(args.org_id)  # id, scopes, tier, env, status, created: never the hash
    columns = [
        ("keyId", "KEY"),
        ("scopes", "SCOPES"),
        ("tier", "TIER"),
        ("env", "ENV"),
        ("status", "STATUS"),
        ("createdAt", "CREATED"),
    ]
    return rows, table(rows, columns, empty=f"No API keys in {args.org_id}")


def wallet_credit(repo: AdminRepository, args: argparse.Namespace) -> Result:
    at = _now()
    credit = LedgerEntry(
        org_id=args.org_id,
        entry_id=ledger_entry_id(at),
        type="credit",
        amount_cents=args.cents,
        at=at,
        reason="manual credit",
    )
    balance = repo.credit_wallet(credit)
    if balance is None:
        raise AdminError(f"no organization {args.org_id!r} (nothing written)")
    result = {"orgId": args.org_id, "balanceCents": balance}
    return result, f"Credited {money(args.cents)} to {args.org_id}: balance {money(balance)}"


def wallet_show(repo: AdminRepository, args: argparse.Namespace) -> Result:
    _require_org(repo, args.org_id)
    balance = repo.get_wallet_balance(args.org_id) or 0
    return {"orgId": args.org_id, "balanceCents": balance}, f"{args.org_id}: balance {money(balance)}"


def ledger_list(repo: AdminRepository, args: argparse.Namespace) -> Result:
    _require_org(repo, args.org_id)
    entries = [entry for entry in repo.list_ledger(args.org_id) if not args.since or entry.at >= args.since]
    entries = entries[: args.limit] if args.limit else entries
    rows = [
        {
            "entryId": entry.entry_id,
            "type": entry.type,
            "amountCents": entry.amount_cents,
            "socialAccountId": entry.social_account_id,
            "leaseId": entry.lease_id,
            "requestId": entry.request_id,
            "period": entry.period,
            "reason": entry.reason,
            "at": entry.at,
        }
        for entry in entries
    ]
    shown = [
        {**row, "amount": ("-" if entry.type == "charge" else "+") + money(entry.amount_cents)}
        for row, entry in zip(rows, entries, strict=True)
    ]
    columns = [
        ("at", "AT"),
        ("type", "TYPE"),
        ("amount", "AMOUNT"),
        ("socialAccountId", "ACCOUNT"),
        ("leaseId", "LEASE"),
        ("period", "PERIOD"),
        ("reason", "REASON"),
    ]
    return rows, table(shown, columns, empty=f"No ledger entries for {args.org_id}")


def pool_add(repo: AdminRepository, args: argparse.Namespace) -> Result:
    accounts = [
        AccountRecord(
            social_account_id=account.social_account_id,
            kind="pool",
            handle=account.handle,
            platform=account.platform,
            followers=account.followers,
            pool_status="available",
            vertical=account.vertical,
            language=account.language,
            geo=tuple(account.geo),
            monthly_price_cents=account.monthly_price_cents,
        )
        for account in args.pool_file.pool
    ]
    taken = repo.existing_accounts(account.social_account_id for account in accounts)
    if taken:
        raise AdminError(f"social accounts already exist (nothing written): {', '.join(sorted(taken))}")
    # Checked, then written: two operators adding the same id at the same moment is not a case
    # an ops tool needs to arbitrate.
    repo.put_accounts(accounts)
    ids = [account.social_account_id for account in accounts]
    return {"added": len(ids), "socialAccountIds": ids}, f"Added {len(ids)} pool accounts"


def pool_list(repo: AdminRepository, args: argparse.Namespace) -> Result:
    rows = [
        {
            "socialAccountId": account.social_account_id,
            "status": account.pool_status,
            "handle": account.handle,
            "vertical": account.vertical,
            "language": account.language,
            "geo": list(account.geo),
            "followers": account.followers,
            "monthlyPriceCents": account.monthly_price_cents,
            "leaseId": account.lease_id,
            "leasedOrgId": account.leased_org_id,
        }
        for account in repo.list_pool(args.status)
    ]
    columns = [
        ("socialAccountId", "ID"),
        ("status", "STATUS"),
        ("handle", "HANDLE"),
        ("vertical", "VERTICAL"),
        ("language", "LANGUAGE"),
        ("geo", "GEO"),
        ("followers", "FOLLOWERS"),
        ("monthlyPriceCents", "PRICE_CENTS"),
        ("leasedOrgId", "LEASED_TO"),
    ]
    return rows, table(rows, columns, empty="No pool accounts")


def _require_account(repo: AdminRepository, social_account_id: str, found_any: bool) -> None:
    if not found_any and repo.get_account(social_account_id) is None:
        raise AdminError(f"no social account {social_account_id!r}")


def posts_list(repo: AdminRepository, args: argparse.Namespace) -> Result:
    posts = repo.list_scheduled_posts(args.account)
    _require_account(repo, args.account, bool(posts))
    rows = [
        {
            "scheduledPostId": post.scheduled_post_id,
            "status": post.status,
            "scheduledFor": post.scheduled_for,
            "socialAccountId": post.social_account_id,
        }
        for post in posts
    ]
    columns = [("scheduledPostId", "POST"), ("status", "STATUS"), ("scheduledFor", "SCHEDULED_FOR")]
    return rows, table(rows, columns, empty=f"No scheduled posts for {args.account}")


def audit_list(repo: AdminRepository, args: argparse.Namespace) -> Result:
    entries = repo.list_audit(args.account)
    _require_account(repo, args.account, bool(entries))
    rows = [
        {
            "action": entry.action,
            "reason": entry.reason,
            "at": entry.at,
            "orgId": entry.org_id,
            "actorKeyId": entry.actor_key_id,
        }
        for entry in entries
    ]
    columns = [
        ("at", "AT"),
        ("action", "ACTION"),
        ("reason", "REASON"),
        ("orgId", "ORG"),
        ("actorKeyId", "KEY"),
    ]
    return rows, table(rows, columns, empty=f"No audit entries for {args.account}")


COMMANDS: dict[str, Command] = {
    "seed": seed,
    "org_create": org_create,
    "project_create": project_create,
    "key_create": key_create,
    "key_revoke": key_revoke,
    "key_list": key_list,
    "key_suspend": key_suspend,
    "key_resume": key_resume,
    "org_list": org_list,
    "org_suspend": org_suspend,
    "org_resume": org_resume,
    "project_list": project_list,
    "wallet_credit": wallet_credit,
    "wallet_show": wallet_show,
    "ledger_list": ledger_list,
    "pool_add": pool_add,
    "pool_list": pool_list,
    "posts_list": posts_list,
    "audit_list": audit_list,
}
