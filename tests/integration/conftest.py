"""Integration harness: handlers in-process behind the local API Gateway, on an embedded DynamoDB.

Tables are created from template.yaml for every test, so the schema cannot drift from the template.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from layers_common.dependencies import reset_dependencies
from layers_common.repository.leasing_repository import LeasingRepository
from leasing_cli.embedded_dynamodb import EmbeddedDynamoDB
from leasing_cli.gateway import GatewayReply, GatewayRequest, LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime, configure_process_environment
from leasing_cli.seed import apply_seed, validate_seed
from leasing_cli.template import Template, create_tables, default_template_path, load_template
from tests.integration.admin_runner import Admin, Outcome
from tests.world import World, make_world

TABLE = "LeasingTable"


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    with EmbeddedDynamoDB() as dynamodb:
        yield dynamodb.endpoint_url


@pytest.fixture(scope="session")
def template() -> Template:
    return load_template(default_template_path())


@pytest.fixture(scope="session")
def runtime(template: Template, dynamodb_endpoint: str) -> LambdaRuntime:
    configure_process_environment(template, dynamodb_endpoint)
    reset_dependencies()
    return LambdaRuntime(template)


@pytest.fixture(scope="session")
def gateway(template: Template, runtime: LambdaRuntime) -> LocalApiGateway:
    return LocalApiGateway(template, runtime)


@pytest.fixture
def dynamodb(dynamodb_endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def repository(runtime: LambdaRuntime, dynamodb: Any, template: Template) -> LeasingRepository:
    """Fresh tables from the template for each test."""
    for name in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=name)
    create_tables(dynamodb, template)
    return LeasingRepository(TABLE, dynamodb)


@pytest.fixture
def world(repository: LeasingRepository) -> World:
    world = make_world()
    apply_seed(repository, validate_seed(world.seed))
    return world


@dataclass
class Api:
    """A partner's view of the API, through the local gateway (same pipeline as `leasing serve`)."""

    gateway: LocalApiGateway
    key: str | None = None

    def call(
        self,
        method: str,
        target: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> GatewayReply:
        sent: list[tuple[str, str]] = []
        credential = key if key is not None else self.key
        if credential:
            sent.append(("Authorization", f"Bearer {credential}"))
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.append(("Content-Type", "application/json"))
        sent.extend((headers or {}).items())
        return self.gateway.handle(
            GatewayRequest(method=method, target=target, headers=sent, body=body or b"")
        )

    def get(self, target: str, **kwargs: Any) -> GatewayReply:
        return self.call("GET", target, **kwargs)

    def post(self, target: str, **kwargs: Any) -> GatewayReply:
        return self.call("POST", target, **kwargs)

    def delete(self, target: str, **kwargs: Any) -> GatewayReply:
        return self.call("DELETE", target, **kwargs)


@pytest.fixture
def api(gateway: LocalApiGateway, world: World) -> Api:
    return Api(gateway, key=world.keys["a"])


def table_items(dynamodb: Any, *, include_rate_windows: bool = False) -> list[dict[str, Any]]:
    """Every item of the table (tests only: the service itself never scans)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if not include_rate_windows:
        items = [item for item in items if not item["pk"]["S"].startswith("RATE#")]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def items_with_prefix(dynamodb: Any, prefix: str) -> list[dict[str, Any]]:
    return [
        item
        for item in table_items(dynamodb)
        if item["pk"]["S"].startswith(prefix) or item["sk"]["S"].startswith(prefix)
    ]


@pytest.fixture
def admin(repository: LeasingRepository, dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]) -> Admin:
    """`leasing admin --endpoint-url <embedded DynamoDB> <words…>` on fresh tables (or `target=`)."""
    from leasing_cli.main import main

    def run(*words: str, target: tuple[str, ...] | None = None) -> Outcome:
        capsys.readouterr()
        code = main(
            ["admin", *(target if target is not None else ("--endpoint-url", dynamodb_endpoint)), *words]
        )
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
