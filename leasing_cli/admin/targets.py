"""Where `leasing admin` works: a running `leasing serve`, any DynamoDB endpoint, or a deployed stack.

Local targets (`--server`, `--endpoint-url`) always get dummy credentials and a fixed region, so
they never touch real AWS whatever the environment holds; `--stack` uses the standard credential
chain and region.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_TABLE = "LeasingTable"
TABLE_OUTPUT = "TableName"
STAGE_PARAMETER = "Stage"
HEALTH_PATH = "/_local/health"
HEALTH_TIMEOUT_SECONDS = 5
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIAL = "testing"


class TargetError(Exception):
    """A target that is missing, malformed or unreachable (exit code 2)."""


class StackDescriber(Protocol):
    """The one CloudFormation call `--stack` needs (boto3's client, or a fake in tests)."""

    def describe_stacks(self, *, StackName: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Target:
    label: str  # for messages: "leasing serve at http://…", "DynamoDB at http://…", "stack NAME"
    table_name: str
    client: DynamoDBClient
    kind: str = "endpoint"  # server | endpoint | stack
    stage: str | None = None  # a stack's `Stage` parameter


def _client_config() -> Config:
    from botocore.config import Config

    # Few retries and short connect timeouts: an unreachable target fails in seconds, not minutes.
    return Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=20)


def _http_url(value: str, flag: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise TargetError(f"{flag} must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def local_client(endpoint_url: str) -> DynamoDBClient:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_CREDENTIAL,
        aws_secret_access_key=LOCAL_CREDENTIAL,
        aws_session_token=None,
        config=_client_config(),
    )


def read_health(server_url: str) -> tuple[str, dict[str, str]]:
    """`GET <server>/_local/health` → (DynamoDB endpoint, tables by logical id)."""
    url = server_url + HEALTH_PATH
    try:
        # The scheme was checked to be http(s) by `_http_url`.
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as error:
        raise TargetError(f"{url} answered {error.code}: is {server_url} a `leasing serve`?") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise TargetError(f"cannot reach leasing serve at {server_url}: {reason}") from None
    try:
        health = json.loads(body)
        endpoint = health["dynamodbEndpoint"]
        tables = health.get("tables") or {}
        if not isinstance(endpoint, str) or not isinstance(tables, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TargetError(
            f"{url} did not answer like `leasing serve` (no dynamodbEndpoint and tables)"
        ) from None
    return endpoint, {str(name): str(table) for name, table in tables.items()}


def _describe_stack(cloudformation: StackDescriber, stack_name: str) -> Mapping[str, Any]:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name).get("Stacks") or []
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationError" and "does not exist" in str(details.get("Message")):
            raise TargetError(f"stack {stack_name!r} does not exist (in this account and region)") from None
        raise TargetError(f"cannot describe stack {stack_name!r}: {details.get('Code')}") from None
    if not stacks:
        raise TargetError(f"stack {stack_name!r} does not exist (in this account and region)")
    return cast(Mapping[str, Any], stacks[0])


def _table_output(stack: Mapping[str, Any], stack_name: str) -> str:
    for output in stack.get("Outputs") or []:
        if output.get("OutputKey") == TABLE_OUTPUT and output.get("OutputValue"):
            return str(output["OutputValue"])
    raise TargetError(f"stack {stack_name!r} has no {TABLE_OUTPUT} output (is it the leasing stack?)")


def table_name_from_stack(cloudformation: StackDescriber, stack_name: str) -> str:
    """The stack's `TableName` output."""
    return _table_output(_describe_stack(cloudformation, stack_name), stack_name)


def stack_stage(stack: Mapping[str, Any]) -> str | None:
    """The stack's `Stage` parameter (None when it has none)."""
    for parameter in stack.get("Parameters") or []:
        if parameter.get("ParameterKey") == STAGE_PARAMETER:
            return str(parameter.get("ResolvedValue") or parameter.get("ParameterValue") or "") or None
    return None


def stack_region(environ: Mapping[str, str], profile_region: str | None) -> str | None:
    """The region as the AWS CLI picks it: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the
    profile's (boto3 alone ignores `AWS_REGION`)."""
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or profile_region or None


def _stack_target(stack_name: str, table: str | None) -> Target:
    import os

    import boto3
    from botocore.exceptions import BotoCoreError, NoCredentialsError, NoRegionError

    region = stack_region(os.environ, boto3.session.Session().region_name)
    if not region:
        raise TargetError("--stack needs an AWS region: set AWS_REGION (or a profile's region)")
    session = boto3.session.Session(region_name=region)
    try:
        cloudformation = cast(StackDescriber, session.client("cloudformation", config=_client_config()))
        stack = _describe_stack(cloudformation, stack_name)
        table_name = table or _table_output(stack, stack_name)
    except NoCredentialsError:
        raise TargetError("--stack needs AWS credentials (none found in the standard chain)") from None
    except NoRegionError:
        raise TargetError("--stack needs an AWS region: set AWS_REGION (or a profile's region)") from None
    except BotoCoreError as error:
        raise TargetError(f"cannot reach CloudFormation for stack {stack_name!r}: {error}") from None
    client = session.client("dynamodb", config=_client_config())
    return Target(
        label=f"stack {stack_name} ({region})",
        table_name=table_name,
        client=client,
        kind="stack",
        stage=stack_stage(stack),
    )


def resolve_target(
    *, server: str | None, endpoint_url: str | None, stack: str | None, table: str | None
) -> Target:
    """Exactly one of server / endpoint_url / stack (the argument parser enforces it too)."""
    chosen = [value for value in (server, endpoint_url, stack) if value is not None]
    if len(chosen) != 1:
        raise TargetError("give exactly one target: --server URL, --endpoint-url URL or --stack NAME")
    if server is not None:
        server_url = _http_url(server, "--server")
        endpoint, tables = read_health(server_url)
        table_name = table or tables.get(DEFAULT_TABLE)
        if table_name is None and len(tables) == 1:
            table_name = next(iter(tables.values()))
        if table_name is None:
            raise TargetError(f"leasing serve at {server_url} reports no {DEFAULT_TABLE}; pass --table")
        return Target(
            label=f"leasing serve at {server_url}",
            table_name=table_name,
            client=local_client(endpoint),
            kind="server",
        )
    if endpoint_url is not None:
        url = _http_url(endpoint_url, "--endpoint-url")
        return Target(label=f"DynamoDB at {url}", table_name=table or DEFAULT_TABLE, client=local_client(url))
    assert stack is not None
    return _stack_target(stack, table)
