"""DynamoDB client factory and attribute-value conversion (numbers come back as `int`)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
AttributeMap = dict[str, Any]


@cache
def dynamodb_client() -> DynamoDBClient:
    """One client per execution environment, created on first use (not at import time).

    The endpoint follows the standard `AWS_ENDPOINT_URL_DYNAMODB` variable, which is how the
    local runtime and the tests point functions at the embedded DynamoDB.
    """
    # botocore directly: boto3's own import (resources, s3transfer) is cold-start cost we never use.
    from botocore.config import Config
    from botocore.session import get_session

    # In Lambda an environment runs one invocation at a time; the local runtime runs many in one
    # process, sharing this module and so this client: with botocore's default pool of 10, every
    # call beyond the 10th at once opened (and then dropped) a connection of its own.
    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=64,
    )
    return cast("DynamoDBClient", get_session().create_client("dynamodb", config=config))


def _serialize(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [_serialize(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {key: _serialize(item) for key, item in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def _deserialize(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else number
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_deserialize(item) for item in value]
    if kind == "M":
        return {key: _deserialize(item) for key, item in value.items()}
    if kind == "SS":
        return sorted(value)
    raise TypeError(f"unsupported attribute type {kind}")


def to_attributes(item: Item) -> AttributeMap:
    return {key: _serialize(value) for key, value in item.items()}


def to_attribute(value: Any) -> dict[str, Any]:
    return _serialize(value)


def from_attributes(attributes: AttributeMap) -> Item:
    return {key: _deserialize(value) for key, value in attributes.items()}


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def cancellation_codes(error: Exception) -> list[str]:
    """Per-item reasons of a canceled transaction, in the order the items were sent."""
    response = getattr(error, "response", None) or {}
    return [str(reason.get("Code") or "None") for reason in response.get("CancellationReasons", [])]
