"""`leasing admin`: wiring into the `leasing` command, target resolution, output and error handling.

Exit codes: 0 done; 2 a bad argument, input file, target or refused operation (one line on
stderr, nothing written); 1 an unexpected DynamoDB error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from leasing_cli.admin.args import UsageError, parse_args, redact
from leasing_cli.admin.commands import COMMANDS, AdminError, validate_inputs
from leasing_cli.admin.dlq import DlqError
from leasing_cli.admin.store import AdminRepository
from leasing_cli.admin.targets import Target, TargetError, resolve_target
from leasing_cli.seed import SeedError

PROG = "leasing admin"
EXIT_USAGE = 2
EXIT_FAILED = 1


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add `admin` to the `leasing` command's subcommands.

    The `leasing` parser only collects the words after `admin` (with `+` as its option prefix,
    `--server` and friends are plain words to it); `leasing admin`'s own parser reads them, so that
    its errors are one line and its `--help` lists its commands.
    """
    parser = commands.add_parser(
        "admin",
        help="operate the leasing table (seed, orgs, keys, wallets, pool, …); see `leasing admin -h`",
        prefix_chars="+",
        add_help=False,
    )
    parser.add_argument("admin_argv", nargs="*")
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace, stdout: TextIO) -> int:
    return main(args.admin_argv, stdout=stdout)


def _one_line(message: str) -> str:
    """Multi-line messages (a seed file's list of problems) joined on one line."""
    first, *rest = [line.strip() for line in str(message).splitlines() if line.strip()] or [""]
    return " ".join([first, "; ".join(rest)]).strip() if rest else first


def _fail(stderr: TextIO, message: str) -> None:
    print(f"{PROG}: {redact(_one_line(message))}", file=stderr, flush=True)


def _aws_failure(error: Exception, target: Target | None) -> tuple[str, int]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    where = target.label if target else "the target"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        if code == "ResourceNotFoundException" and target is not None:
            return f"no table {target.table_name!r} ({where}); is --table right?", EXIT_USAGE
        return f"{where} refused the call: {code}: {details.get('Message', '')}", EXIT_FAILED
    if isinstance(error, NoCredentialsError):
        return f"no AWS credentials for {where}", EXIT_USAGE
    assert isinstance(error, BotoCoreError)
    return f"cannot reach {where}: {error}", EXIT_USAGE


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    target: Target | None = None
    try:
        args = parse_args(argv)
        validate_inputs(args)
        if args.action.startswith("dlq_"):  # failure queues, not the table (leasing_cli/admin/dlq.py)
            from leasing_cli.admin import dlq

            result, text, code = dlq.run(args)
            print(json.dumps(result, indent=2) if args.json else text, file=out, flush=True)
            return code
        target = resolve_target(
            server=args.server, endpoint_url=args.endpoint_url, stack=args.stack, table=args.table
        )
        repo = AdminRepository(target.table_name, target.client)
        args.target = target  # a command may depend on where it runs (seeding a stack)
        result, text = COMMANDS[args.action](repo, args)
    except UsageError as error:  # already names the (sub)command: `leasing admin key create: …`
        print(redact(_one_line(str(error))), file=err, flush=True)
        return EXIT_USAGE
    except (SeedError, TargetError, AdminError, DlqError) as error:
        _fail(err, str(error))
        return EXIT_USAGE
    except (BotoCoreError, ClientError) as error:
        message, code = _aws_failure(error, target)
        _fail(err, message)
        return code
    print(json.dumps(result, indent=2) if args.json else text, file=out, flush=True)
    return 0


def run() -> None:
    """`python -m leasing_cli.admin …` without the `leasing` wrapper."""
    sys.exit(main(sys.argv[1:]))
