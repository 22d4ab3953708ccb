"""The `leasing` command: run the system locally (`serve`), run one function (`invoke`)."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import ExitStack, redirect_stdout
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from leasing_cli.seed import SeedError, SeedFile, load_seed
from leasing_cli.template import (
    LOCAL_COMMAND,
    Template,
    TemplateError,
    default_template_path,
    load_template,
    parse_parameter_overrides,
)

EXIT_USAGE = 2
#: `FunctionId[:text],...`: the local event path makes those functions fail (test fault injection).
FAULTS_VARIABLE = "LEASING_LOCAL_FAULTS"
SHUTDOWN_GRACE_SECONDS = 1.0
DEFAULT_SEED = Path(__file__).resolve().parent.parent / "seeds" / "demo.json"


class CommandError(Exception):
    """A problem the user can fix (bad file, unknown function): printed without a traceback."""


def _overrides(words: Sequence[str] | None) -> dict[str, str] | None:
    """`--parameter-overrides Key=Value ...`; None (not given) means samconfig.toml's, as `sam local`."""
    if words is None:
        return None
    return parse_parameter_overrides(" ".join(words))


def _load(
    template_path: str | None,
    seed_paths: Sequence[str],
    overrides: Sequence[str] | None = None,
    command: str = LOCAL_COMMAND,
) -> tuple[Template, list[SeedFile]]:
    # Every input is validated before anything starts or is written.
    template = load_template(template_path or default_template_path(), _overrides(overrides), command=command)
    return template, [load_seed(path) for path in seed_paths]


# ---------------------------------------------------------------------------------------- serve


def main_bus_name(template: Template) -> str:
    """The bus the functions publish to: the one `EVENT_BUS_NAME` names, else the template's only
    custom bus, else `default`."""
    buses = template.event_bus_names()
    for function in template.functions.values():
        name = function.environment.get("EVENT_BUS_NAME")
        if name in buses:
            return str(name)
    custom = sorted(buses - {"default"})
    return custom[0] if len(custom) == 1 else "default"


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace, stdout: TextIO) -> int:
    from leasing_cli.api_reference import DocumentedApiGateway
    from leasing_cli.event_path import EventPath, add_event_routes
    from leasing_cli.failure_queues import Faults
    from leasing_cli.gateway import AuthorizerCache, GatewayHTTPServer, add_health_route
    from leasing_cli.local_system import local_system

    template, seeds = _load(args.template, args.seed, args.parameter_overrides)
    if args.authorizer_cache_ttl is not None and args.authorizer_cache_ttl < 0:
        raise CommandError("--authorizer-cache-ttl must be 0 or more seconds")
    cache: AuthorizerCache | None = None
    if args.authorizer_cache == "on" and template.api is not None:
        ttl = (
            template.api.authorizer_ttl_seconds
            if args.authorizer_cache_ttl is None
            else args.authorizer_cache_ttl
        )
        cache = AuthorizerCache(ttl)
        print(
            f"leasing serve: authorizer cache on ({ttl:g} s per Authorization value, as API Gateway): "
            "a revoked key keeps working until its entry expires",
            file=sys.stderr,
        )
    faults = Faults.parse(os.environ.get(FAULTS_VARIABLE, ""))
    for fault in faults.list():
        print(
            f"leasing serve: fault injection ({FAULTS_VARIABLE}): {fault.function_id} fails", file=sys.stderr
        )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        # Function output (Powertools logs print to stdout) goes to stderr, so stdout carries only
        # the ready line: a parent reading that line need not drain the pipe afterwards.
        with (
            redirect_stdout(sys.stderr),
            local_system(template, seeds, dynamodb_endpoint=args.dynamodb_endpoint) as system,
            ExitStack() as stack,
        ):
            system.runtime.load_all()
            # + /openapi.json and /docs in front of the API
            gateway = DocumentedApiGateway(template, system.runtime, authorizer_cache=cache)
            add_health_route(
                gateway,
                system.dynamodb_endpoint,
                system.tables,
                {
                    "eventBridgeEndpoint": system.events_endpoint,
                    "eventBusName": main_bus_name(template),
                    "authorizerCache": None if cache is None else {"ttlSeconds": cache.ttl_seconds},
                },
            )
            # The event path (stream → relay → bus → rules → consumers) runs in daemon threads.
            event_path = EventPath(
                template,
                system.runtime,
                system.eventbridge,
                system.client,
                system.dynamodb_endpoint,
                run_schedules=args.run_schedules,
                faults=faults,
            )
            stack.enter_context(event_path)
            add_event_routes(gateway, event_path)
            try:
                server = GatewayHTTPServer((args.host, args.port), gateway, access_log=args.access_log)
            except OSError as error:
                hint = ""
                if error.errno == errno.EADDRINUSE:
                    hint = (
                        f"; another process is using port {args.port}: pick another with "
                        f"`--port N` (or `make dev PORT=N`), or 0 for any free port"
                    )
                raise CommandError(
                    f"cannot listen on {args.host}:{args.port}: {error.strerror}{hint}"
                ) from None
            try:
                print(f"Listening on {server.url}", file=stdout, flush=True)
                server.serve_forever()
            finally:
                # SIGTERM/SIGINT: no new connections; requests in flight finish (then the event
                # path's current step, then DynamoDB), all within about two seconds.
                server.stop(grace=SHUTDOWN_GRACE_SECONDS)
    except KeyboardInterrupt:
        pass
    return 0


# --------------------------------------------------------------------------------------- invoke


def invoke(args: argparse.Namespace, stdout: TextIO) -> int:
    from leasing_cli.local_system import local_system

    template, seeds = _load(
        args.template, args.seed or [str(DEFAULT_SEED)], args.parameter_overrides, "local_invoke"
    )
    if args.function not in template.functions:
        known = ", ".join(sorted(template.functions))
        raise CommandError(f"no function {args.function!r} in {template.path.name}; known: {known}")
    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read event file {args.event}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{args.event} is not JSON: {error.msg} at line {error.lineno}") from None
    result: Any
    with redirect_stdout(sys.stderr), local_system(template, seeds) as system:
        try:
            result = system.runtime.invoke(args.function, event)
        except Exception as error:  # reported like `sam local invoke` does, as the result
            result = {"errorMessage": str(error), "errorType": type(error).__name__}
        if system.eventbridge.accepted_count:  # PutEvents are accepted and recorded, not delivered
            print(
                f"leasing invoke: {system.eventbridge.accepted_count} event(s) put on the local bus "
                "(recorded only; `leasing serve` delivers them)",
                file=sys.stderr,
            )
    print(json.dumps(result, indent=2, default=str), file=stdout, flush=True)
    return 0


def openapi(args: argparse.Namespace, stdout: TextIO) -> int:
    """`leasing openapi`: the document built from the API functions' resolvers (never in Lambda)."""
    from leasing_cli.openapi import build_openapi, render

    template = load_template(args.template or default_template_path())
    text = render(build_openapi(template))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        stdout.write(text)
        stdout.flush()
    return 0


# ----------------------------------------------------------------------------------------- CLI


def _parameter_overrides_option(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "--parameter-overrides",
        nargs="+",
        metavar="KEY=VALUE",
        help=f"template parameters (default: samconfig.toml [default.{command}.parameters], "
        "as `sam local` reads them; then the template's defaults)",
    )


class _ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default when it has a real one (not for flags and absent values)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, []) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("layers-leasing")
    except PackageNotFoundError:  # run from a checkout that was not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leasing", description="Run the leasing service locally from template.yaml (no Docker, no AWS)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve",
        help="serve the API, with an embedded DynamoDB",
        description=(
            "Serve the template's API on HTTP with the authorizer, the functions and the event path, "
            "on an embedded DynamoDB. State lives in memory and is lost when the server stops; "
            "use --dynamodb-endpoint to keep it in a DynamoDB-compatible server you run."
        ),
        formatter_class=_ShowDefaults,
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve_parser.add_argument(
        "--port", type=int, default=3000, help="port to listen on (0 picks a free port; `make dev PORT=N`)"
    )
    serve_parser.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="FILE",
        help="seed file applied at start (repeatable; none by default; `make dev` uses seeds/demo.json)",
    )
    serve_parser.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="use this DynamoDB-compatible endpoint (state kept across restarts); by default an "
        "embedded in-memory DynamoDB whose state is lost when the server stops",
    )
    serve_parser.add_argument(
        "--template", metavar="PATH", help="SAM template (default: template.yaml of this repository)"
    )
    _parameter_overrides_option(serve_parser, "local_start_api")
    serve_parser.add_argument(
        "--access-log",
        action="store_true",
        help="log method, path and status per request to stderr (off by default)",
    )
    serve_parser.add_argument(
        "--run-schedules",
        action="store_true",
        help="fire rate() schedules on their own (off by default: only via "
        "POST /_local/schedules/<FunctionLogicalId>)",
    )
    serve_parser.add_argument(
        "--authorizer-cache",
        choices=("on", "off"),
        default="off",
        help="cache the authorizer's result per Authorization value for the template's ReauthorizeEvery, "
        "as API Gateway does (default off: a revoked key stops working at once)",
    )
    serve_parser.add_argument(
        "--authorizer-cache-ttl",
        type=float,
        metavar="SECONDS",
        help="with --authorizer-cache on: this TTL instead of the template's (for tests)",
    )
    serve_parser.set_defaults(handler=serve)

    invoke_parser = commands.add_parser("invoke", help="run one function once, like `sam local invoke`")
    invoke_parser.add_argument("function", metavar="FunctionLogicalId")
    invoke_parser.add_argument("--event", required=True, metavar="FILE", help="event JSON file")
    invoke_parser.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="FILE",
        help="seed file (repeatable; default seeds/demo.json)",
    )
    invoke_parser.add_argument("--template", metavar="PATH", help="SAM template (default: template.yaml)")
    _parameter_overrides_option(invoke_parser, "local_invoke")
    invoke_parser.set_defaults(handler=invoke)
    openapi_parser = commands.add_parser("openapi", help="print the merged OpenAPI 3 document of every route")
    openapi_parser.add_argument("--template", metavar="PATH", help="SAM template (default: template.yaml)")
    openapi_parser.add_argument("--output", metavar="FILE", help="write it to FILE instead of stdout")
    openapi_parser.set_defaults(handler=openapi)

    from leasing_cli import admin

    admin.register(commands)  # `leasing admin …`: the ops tool (leasing_cli/admin/)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args, sys.stdout)
    except (CommandError, SeedError, TemplateError) as error:
        print(f"leasing {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "serve" and argv is None:
        # Everything is stopped in order by now (HTTP, event path, DynamoDB). Tearing down the
        # interpreter's objects (the whole embedded database) would take another second or so
        # of SIGTERM-to-exit for nothing: leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
