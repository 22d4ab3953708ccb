"""The argument parser of `leasing admin`: every bad argument is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import NoReturn

from layers_common.api_keys import KEY_ID_LENGTH, parse_api_key

SCOPES = ("leased:write", "social:write", "*")
TIERS = ("standard", "pilot", "partner")
ENVS = ("live", "test")
POOL_STATUSES = ("available", "leased")
MAX_CENTS = 10**12

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_KEY_ID = re.compile(rf"^[0-9A-Z]{{{KEY_ID_LENGTH}}}$")
# Anything shaped like an API key is redacted from error messages, whatever argument it came in.
_API_KEY_TEXT = re.compile(r"lp_(live|test)_[0-9A-Za-z]+_[A-Za-z0-9_-]+")


class UsageError(Exception):
    """A bad command line; the message is one line and never contains an API key."""


def redact(message: str) -> str:
    return _API_KEY_TEXT.sub(lambda match: f"lp_{match.group(1)}_<redacted>", message)


class AdminParser(argparse.ArgumentParser):
    """argparse, except that errors raise `UsageError` (one line) instead of printing the usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(redact(f"{self.prog}: {message}"))


# -- argument types (messages never repeat the value: it could be a pasted API key) -----------


def identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise argparse.ArgumentTypeError("must be 1-128 characters of A-Z a-z 0-9 _ -")
    return value


def name(value: str) -> str:
    if not value.strip() or len(value) > 200:
        raise argparse.ArgumentTypeError("must be 1-200 characters, not blank")
    return value


def positive_cents(value: str) -> int:
    if not re.fullmatch(r"\d+", value) or not 0 < int(value) <= MAX_CENTS:
        raise argparse.ArgumentTypeError(f"must be a positive whole number of cents, got {value!r}")
    return int(value)


def non_negative_cents(value: str) -> int:
    if not re.fullmatch(r"\d+", value) or int(value) > MAX_CENTS:
        raise argparse.ArgumentTypeError(f"must be a whole number of cents (0 or more), got {value!r}")
    return int(value)


def timestamp(value: str) -> str:
    """An ISO-8601 instant, normalized to the ledger's `2026-04-18T19:24:11Z` form."""
    from layers_common.clock import isoformat, parse_iso

    try:
        return isoformat(parse_iso(value))
    except ValueError:
        message = f"must be an ISO-8601 time such as 2026-04-18T19:24:11Z, got {value!r}"
        raise argparse.ArgumentTypeError(message) from None


def positive_count(value: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,8}", value):
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, got {value!r}")
    return int(value)


def key_id(value: str) -> str:
    """A key id; a whole key is accepted too (only its id is kept, the secret is dropped)."""
    parsed = parse_api_key(value)
    if parsed is not None:
        return parsed.key_id
    if not _KEY_ID.match(value):
        raise argparse.ArgumentTypeError(f"must be a key id ({KEY_ID_LENGTH} characters of 0-9 A-Z)")
    return value


# -- the parser ------------------------------------------------------------------------------


def _json_flag(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a command's own `--json` must not reset a `--json` given before the command.
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON (for scripts)"
    )


def _command(
    group: argparse._SubParsersAction[AdminParser], name_: str, action: str, help_: str
) -> AdminParser:
    parser = group.add_parser(name_, help=help_, description=help_)
    parser.set_defaults(action=action)
    _json_flag(parser)
    return parser


def build_parser(prog: str = "leasing admin") -> AdminParser:
    parser = AdminParser(
        prog=prog,
        description=(
            "Operate the leasing table: against a running `leasing serve` (--server), any DynamoDB "
            "endpoint (--endpoint-url) or a deployed stack (--stack, table from its outputs)."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--server", metavar="URL", help="a running `leasing serve`, e.g. http://127.0.0.1:3000"
    )
    target.add_argument("--endpoint-url", metavar="URL", help="a DynamoDB endpoint (dummy credentials)")
    target.add_argument("--stack", metavar="NAME", help="a deployed CloudFormation stack (AWS credentials)")
    parser.add_argument(
        "--table", metavar="NAME", help="table name (default: from the target, or LeasingTable)"
    )
    parser.add_argument("--json", action="store_true", default=False, help="print JSON (for scripts)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    seed = _command(
        commands,
        "seed",
        "seed",
        "validate a seed file, check it against what exists, then write it (never overwrites)",
    )
    seed.add_argument("file", metavar="FILE")
    seed.add_argument(
        "--i-know-this-is-a-stack",
        dest="stack_confirmed",
        action="store_true",
        help="required to seed a deployed (--stack) stage; never allowed on a production stage",
    )

    org = commands.add_parser("org", help="organizations").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    org_create = _command(org, "create", "org_create", "create an organization and its wallet")
    org_create.add_argument("--name", required=True, type=name)
    org_create.add_argument("--id", dest="org_id", metavar="ORG", type=identifier, help="default org_<ULID>")
    org_create.add_argument("--wallet-cents", type=non_negative_cents, default=0, metavar="N")
    _command(org, "list", "org_list", "list organizations with status and wallet balance")
    for verb, help_ in (
        ("suspend", "suspend an organization (its keys answer 503)"),
        ("resume", "resume it"),
    ):
        _command(org, verb, f"org_{verb}", help_).add_argument("org_id", metavar="ORG", type=identifier)

    project = commands.add_parser("project", help="projects").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    project_create = _command(project, "create", "project_create", "create a project in an organization")
    project_create.add_argument("org_id", metavar="ORG", type=identifier)
    project_create.add_argument("--name", required=True, type=name)
    project_create.add_argument(
        "--id", dest="project_id", metavar="PRJ", type=identifier, help="default prj_<ULID>"
    )
    project_list = _command(project, "list", "project_list", "list an organization's projects")
    project_list.add_argument("org_id", metavar="ORG", type=identifier)

    key = commands.add_parser("key", help="API keys").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    key_create = _command(key, "create", "key_create", "create an API key (its text is shown only once)")
    key_create.add_argument("org_id", metavar="ORG", type=identifier)
    key_create.add_argument(
        "--scopes",
        nargs="+",
        required=True,
        choices=SCOPES,
        metavar="SCOPE",
        help="one or more of: leased:write social:write '*' (quote the star in a shell)",
    )
    key_create.add_argument("--tier", choices=TIERS, default="standard")
    key_create.add_argument("--env", choices=ENVS, default="test", help="default test")
    key_revoke = _command(key, "revoke", "key_revoke", "revoke an API key")
    key_revoke.add_argument("key_id", metavar="KEYID", type=key_id)
    key_list = _command(key, "list", "key_list", "list an organization's keys (never a secret or its hash)")
    key_list.add_argument("org_id", metavar="ORG", type=identifier)
    for verb, help_ in (
        ("suspend", "suspend an API key (it answers 503)"),
        ("resume", "resume a suspended key"),
    ):
        _command(key, verb, f"key_{verb}", help_).add_argument("key_id", metavar="KEYID", type=key_id)

    wallet = commands.add_parser("wallet", help="wallets").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    credit = _command(wallet, "credit", "wallet_credit", "add money to a wallet (with a ledger entry)")
    credit.add_argument("org_id", metavar="ORG", type=identifier)
    credit.add_argument("cents", metavar="CENTS", type=positive_cents)
    show = _command(wallet, "show", "wallet_show", "show a wallet's balance")
    show.add_argument("org_id", metavar="ORG", type=identifier)

    ledger = commands.add_parser("ledger", help="ledger").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    ledger_list = _command(ledger, "list", "ledger_list", "an organization's ledger, oldest first")
    ledger_list.add_argument("org_id", metavar="ORG", type=identifier)
    ledger_list.add_argument("--since", type=timestamp, metavar="TIME", help="entries at or after TIME")
    ledger_list.add_argument("--limit", type=positive_count, metavar="N", help="the first N entries")

    pool = commands.add_parser("pool", help="pool accounts").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    pool_add = _command(pool, "add", "pool_add", "add pool accounts from a JSON array (seed pool shape)")
    pool_add.add_argument("file", metavar="FILE")
    pool_list = _command(pool, "list", "pool_list", "list pool accounts by id")
    pool_list.add_argument("--status", choices=POOL_STATUSES)

    posts = commands.add_parser("posts", help="scheduled posts").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    posts_list = _command(posts, "list", "posts_list", "a social account's scheduled posts")
    posts_list.add_argument("--account", required=True, metavar="SA", type=identifier)

    audit = commands.add_parser("audit", help="audit log").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    audit_list = _command(audit, "list", "audit_list", "a social account's audit log, oldest first")
    audit_list.add_argument("--account", required=True, metavar="SA", type=identifier)

    from leasing_cli.admin import dlq

    dlq.register(commands, _command)  # `dlq list|replay` (leasing_cli/admin/dlq.py)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse `leasing admin` arguments; `UsageError` on anything wrong."""
    return build_parser().parse_args(list(argv))
