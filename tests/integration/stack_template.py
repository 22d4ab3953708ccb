"""A minimal CloudFormation template of the stack that `leasing admin --stack` reads (moto)."""

from __future__ import annotations

from typing import Any


def leasing_stack_template(stage: str | None = None) -> dict[str, Any]:
    """The leasing table, its `TableName` output and, when given, the `Stage` parameter's default."""
    document: dict[str, Any] = {
        "Resources": {
            "LeasingTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "AttributeDefinitions": [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            }
        },
        "Outputs": {"TableName": {"Value": {"Ref": "LeasingTable"}}},
    }
    if stage is not None:
        document["Parameters"] = {"Stage": {"Type": "String", "Default": stage}}
    return document
