"""DynamoDB round trips per endpoint call, counted, for the authorizer and the endpoint function apart.

An embedded DynamoDB gets the template's tables and the demo seed; every endpoint is called once
through the local API Gateway (the same pipeline as `leasing serve`: authorizer, then function).
A botocore `before-call` hook on the functions' DynamoDB client counts API calls (one per request
the SDK makes on behalf of the code; retries of one call are not counted twice), attributed to the
function being invoked. The authorizer runs on every call here (API Gateway's authorizer cache is
not modelled), so its count is what an uncached call pays.

    python bench/round_trips.py [--seed seeds/demo.json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from layers_common.repository.dynamodb import dynamodb_client
from layers_common.repository.leasing_repository import LeasingRepository
from leasing_cli.embedded_dynamodb import EmbeddedDynamoDB
from leasing_cli.gateway import GatewayReply, GatewayRequest, LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime, configure_process_environment
from leasing_cli.seed import apply_seed, load_seed
from leasing_cli.template import Template, create_tables, load_template

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = "(outside a function)"


@dataclass
class RoundTripCounter:
    """DynamoDB operations by the function that made them (`before-call` fires once per API call)."""

    current: str = OUTSIDE
    calls: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.setdefault(self.current, []).append(model.name)

    def of(self, function_id: str) -> list[str]:
        return self.calls.get(function_id, [])

    @contextmanager
    def attributed_to(self, function_id: str) -> Iterator[None]:
        previous, self.current = self.current, function_id
        try:
            yield
        finally:
            self.current = previous


class CountingRuntime(LambdaRuntime):
    """The local runtime, telling the counter which function each DynamoDB call belongs to."""

    def __init__(self, template: Template, counter: RoundTripCounter) -> None:
        super().__init__(template)
        self.counter = counter

    def invoke(self, logical_id: str, event: Any) -> Any:
        with self.counter.attributed_to(logical_id):
            return super().invoke(logical_id, event)


def operations(names: list[str]) -> str:
    """`GetItem, UpdateItem x2` in order of first use."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(name if count == 1 else f"{name} x{count}" for name, count in counts.items()) or "-"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    target: str
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


def demo_cases(seed: dict[str, Any]) -> list[Case]:
    """One call of each endpoint on the demo seed's first organization."""
    org = seed["orgs"][0]
    project = org["projects"][0]["id"]
    request_id = next(
        request["requestId"] for request in seed["leaseRequests"] if request["orgId"] == org["id"]
    )
    leased = next(lease["socialAccountId"] for lease in seed["leases"] if lease["orgId"] == org["id"])
    connected = next(account["socialAccountId"] for account in seed["socialAccounts"])
    body = {
        "projectId": project,
        "count": 1,
        "niche": {"vertical": "coffee", "language": "en", "geo": ["US"]},
    }
    key = (("Idempotency-Key", "bench-round-trips-1"),)
    request_path = f"/v1/projects/{project}/leased-accounts/request"
    return [
        Case("POST request", "POST", request_path, body),
        Case("POST request + Idempotency-Key", "POST", request_path, body, key),
        Case("POST request replay (same key)", "POST", request_path, body, key),
        Case(
            "GET request (project route)",
            "GET",
            f"/v1/projects/{project}/leased-accounts/requests/{request_id}",
        ),
        Case("GET request (org route)", "GET", f"/v1/leased-accounts/requests/{request_id}"),
        Case("list (project route)", "GET", f"/v1/projects/{project}/leased-accounts"),
        Case("list (org route)", "GET", "/v1/leased-accounts"),
        Case("list (org route, ?projectId)", "GET", f"/v1/leased-accounts?projectId={project}"),
        Case("release", "DELETE", f"/v1/leased-accounts/{leased}"),
        Case("revoke", "DELETE", f"/v1/social-accounts/{connected}"),
    ]


def send(gateway: LocalApiGateway, case: Case, api_key: str) -> GatewayReply:
    headers = [("Authorization", f"Bearer {api_key}"), *case.headers]
    body = b""
    if case.body is not None:
        body = json.dumps(case.body).encode()
        headers.append(("Content-Type", "application/json"))
    return gateway.handle(GatewayRequest(method=case.method, target=case.target, headers=headers, body=body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=Path, default=ROOT / "seeds" / "demo.json")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args(argv)

    template = load_template(args.template)
    raw_seed = json.loads(args.seed.read_text(encoding="utf-8"))
    api_key = raw_seed["orgs"][0]["apiKeys"][0]["key"]
    with EmbeddedDynamoDB() as dynamodb:
        configure_process_environment(template, dynamodb.endpoint_url)
        setup = boto3.client("dynamodb")  # the environment now points at the embedded DynamoDB
        create_tables(setup, template)
        table = template.functions[next(iter(template.functions))].environment["TABLE_NAME"]
        apply_seed(LeasingRepository(table, setup), load_seed(args.seed))

        counter = RoundTripCounter()
        client = dynamodb_client()  # the functions' client (one per execution environment)
        client.meta.events.register("before-call.dynamodb", counter)
        runtime = CountingRuntime(template, counter)
        gateway = LocalApiGateway(template, runtime)
        authorizer = template.api.authorizer_function_id if template.api else None
        logs = io.StringIO()  # the functions' JSON logs and metrics; kept apart from the table
        with redirect_stdout(logs):
            runtime.load_all()  # the loggers bind to the redirected stdout

        rows: list[tuple[str, str, str, str, str]] = []
        for case in demo_cases(raw_seed):
            counter.calls.clear()
            with redirect_stdout(logs):
                reply = send(gateway, case, api_key)
            route = gateway.routes.match(GatewayRequest(case.method, case.target, []).path)
            function_id = route.methods[case.method].function_id if route else "?"
            by_authorizer = counter.of(authorizer) if authorizer else []
            by_function = counter.of(function_id)
            unattributed = sum(
                len(names) for name, names in counter.calls.items() if name not in {authorizer, function_id}
            )
            if unattributed:
                print(
                    f"warning: {unattributed} DynamoDB calls outside the authorizer and {function_id}",
                    file=sys.stderr,
                )
            rows.append(
                (
                    case.name,
                    str(reply.status),
                    str(len(by_authorizer)),
                    str(len(by_function)),
                    f"authorizer: {operations(by_authorizer)}; function: {operations(by_function)}",
                )
            )

    titles = ("call", "status", "authorizer round trips", "function round trips", "operations")
    widths = [max(len(row[index]) for row in [titles, *rows]) for index in range(len(titles))]
    print(f"DynamoDB round trips per call ({args.seed.name}, authorizer not cached)")
    for row in [titles, tuple("-" * width for width in widths), *rows]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
