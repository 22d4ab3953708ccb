"""The whole system started locally: DynamoDB, the template's tables, seeds and the Lambda runtime.

`leasing serve` and `leasing invoke` both start from here, and so can tests that want the same
wiring without a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layers_common.repository.leasing_repository import LeasingRepository
from leasing_cli.embedded_dynamodb import EmbeddedDynamoDB
from leasing_cli.lambda_runtime import LOCAL_AWS_ENVIRONMENT, LambdaRuntime, configure_process_environment
from leasing_cli.local_eventbridge import EventBridgeHTTPServer, LocalEventBridge
from leasing_cli.seed import SeedFile, apply_seed
from leasing_cli.template import REGION, Template, TemplateError, create_tables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def local_dynamodb_client(endpoint_url: str) -> DynamoDBClient:
    """A client for a local endpoint, with fake credentials whatever the environment holds."""
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=LOCAL_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass(frozen=True)
class LocalSystem:
    template: Template
    dynamodb_endpoint: str
    client: DynamoDBClient
    tables: dict[str, str]  # logical id → table name
    repository: LeasingRepository
    runtime: LambdaRuntime
    eventbridge: LocalEventBridge  # records PutEvents until an event path attaches its delivery
    events_endpoint: str


def leasing_table_name(template: Template, tables: dict[str, str]) -> str:
    """The table the functions use: the one `TABLE_NAME` refers to, or the template's only table."""
    for function in template.functions.values():
        name = function.environment.get("TABLE_NAME")
        if name is not None and name in tables.values():
            return name
    if len(tables) == 1:
        return next(iter(tables.values()))
    raise TemplateError("cannot tell which table is the leasing table (no TABLE_NAME in the environment)")


@contextmanager
def local_system(
    template: Template, seeds: Sequence[SeedFile] = (), *, dynamodb_endpoint: str | None = None
) -> Iterator[LocalSystem]:
    """Start DynamoDB (embedded unless an endpoint is given), create the tables, apply the seeds.

    A local EventBridge (PutEvents only) is started too and named by `AWS_ENDPOINT_URL_EVENTS`; it
    only records events until `leasing_cli.event_path.EventPath` attaches rule delivery to it.
    With an external endpoint, tables that already exist are kept as they are.
    """
    with ExitStack() as stack:
        endpoint = dynamodb_endpoint or stack.enter_context(EmbeddedDynamoDB()).endpoint_url
        eventbridge = LocalEventBridge(template)
        events_server = stack.enter_context(EventBridgeHTTPServer(eventbridge))
        configure_process_environment(template, endpoint, events_server.endpoint_url)
        client = local_dynamodb_client(endpoint)
        tables = create_tables(client, template, skip_existing=dynamodb_endpoint is not None)
        repository = LeasingRepository(leasing_table_name(template, tables), client)
        for seed in seeds:
            apply_seed(repository, seed)
        yield LocalSystem(
            template=template,
            dynamodb_endpoint=endpoint,
            client=client,
            tables=tables,
            repository=repository,
            runtime=LambdaRuntime(template),
            eventbridge=eventbridge,
            events_endpoint=events_server.endpoint_url,
        )
