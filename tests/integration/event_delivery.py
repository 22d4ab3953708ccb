"""Deliver outbox items to the consumers the template's rules route them to, in-process.

The local runtime does this in the background (stream → relay → bus → rules); these tests deliver
by hand so that each step, duplicate and crash can be placed exactly.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.template import Template

TABLE = "LeasingTable"


def rule_targets(template: Template) -> dict[str, list[str]]:
    """detail-type → functions whose EventBridgeRule pattern names it (from template.yaml)."""
    targets: dict[str, list[str]] = {}
    for logical_id, resource in template.resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "EventBridgeRule":
                continue
            for detail_type in event["Properties"]["Pattern"].get("detail-type", []):
                targets.setdefault(detail_type, []).append(logical_id)
    return targets


def envelope(detail_json: str, detail_type: str) -> dict[str, Any]:
    detail = json.loads(detail_json)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "layers.leasing",
        "account": "123456789012",
        "time": detail.get("occurredAt"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


@dataclass
class Delivery:
    dynamodb: Any
    runtime: LambdaRuntime
    template: Template
    delivered: set[str] = field(default_factory=set)

    def outbox(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": TABLE, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        events = [item for item in items if item["pk"]["S"].startswith("OUTBOX#")]
        return sorted(events, key=lambda item: item["eventId"]["S"])

    def pending(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        return [
            envelope(item["detail"]["S"], item["eventType"]["S"])
            for item in self.outbox()
            if item["eventId"]["S"] not in self.delivered
            and (detail_type is None or item["eventType"]["S"] == detail_type)
        ]

    def deliver(self, event: dict[str, Any]) -> list[Any]:
        """Invoke every consumer of this event once; return their results."""
        results = [
            self.runtime.invoke(function, event)
            for function in rule_targets(self.template).get(event["detail-type"], [])
        ]
        self.delivered.add(event["detail"]["eventId"])
        return results

    def drain(self) -> int:
        """Deliver until no undelivered outbox item is left (consumers may write new ones)."""
        count = 0
        while events := self.pending():
            for event in events:
                self.deliver(event)
                count += 1
        return count
