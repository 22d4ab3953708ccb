"""`leasing admin --stack NAME dlq list|replay` against a stack in moto's server (loopback only).

moto runs as its own process (`python -m moto.server`), reached through `AWS_ENDPOINT_URL`: an
in-process `mock_aws()` would reset moto's state, which the embedded DynamoDB of the other tests of
this worker shares. The stack has failure queues (found through its resources) and an
`EventBusName` output; a rule on that bus copies what replay puts there into a capture queue, so the
test sees the events AWS would route to the consumers.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from leasing_cli.admin.cli import main
from leasing_cli.admin.dlq import understand

STACK = "leasing-prod"
BUS = "leasing-prod"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:leasing-prod-BillingFunction-X"

STACK_TEMPLATE = {
    "Resources": {
        "BillingFailureQueue": {"Type": "AWS::SQS::Queue"},
        "BillingDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "OutboxRelayFailureQueue": {"Type": "AWS::SQS::Queue"},
    },
    "Outputs": {"EventBusName": {"Value": BUS}, "TableName": {"Value": "LeasingTable"}},
}

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "LeasedAccountReleased",
    "source": "layers.leasing",
    "account": "123456789012",
    "time": "2026-11-30T10:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"eventId": "evt_1", "leaseId": "lse_1", "orgId": "org_1"},
}


def invocation_record(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "timestamp": "2026-11-30T10:03:00.000Z",
        "requestContext": {
            "requestId": "c3c1a8a4-0000-4000-8000-000000000001",
            "functionArn": FUNCTION_ARN + ":$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": []},
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=2):  # noqa: S310
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    reset = urllib.request.Request(moto_server + "/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_server)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(STACK_TEMPLATE))
    resources = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    urls = {item["LogicalResourceId"]: item["PhysicalResourceId"] for item in resources}
    sqs = boto3.client("sqs", endpoint_url=moto_server)
    events = boto3.client("events", endpoint_url=moto_server)
    events.create_event_bus(Name=BUS)
    capture = sqs.create_queue(QueueName="capture")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="capture", EventBusName=BUS, EventPattern=json.dumps({"source": ["layers.leasing"]}))
    events.put_targets(
        Rule="capture", EventBusName=BUS, Targets=[{"Id": "capture", "Arn": attributes["QueueArn"]}]
    )
    return {"sqs": sqs, "urls": urls, "capture": capture}


def admin(*argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--stack", STACK, *argv, "--json"], stdout=out, stderr=err)
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else None, err.getvalue()


def visible(aws: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    response = aws["sqs"].receive_message(
        QueueUrl=aws["urls"].get(queue, queue), MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    messages: list[dict[str, Any]] = response.get("Messages") or []
    return messages


def test_replay_of_an_invocation_record_puts_the_original_event_on_the_stacks_bus_and_deletes_it(aws):
    # Given Lambda's invocation record of a failed release event in the billing failure queue
    aws["sqs"].send_message(
        QueueUrl=aws["urls"]["BillingFailureQueue"], MessageBody=json.dumps(invocation_record(EVENT))
    )

    # When the queue is listed, then replayed
    code, listed, stderr = admin("dlq", "list", "BillingFailureQueue")
    assert code == 0, stderr
    code, replayed, stderr = admin("dlq", "replay", "BillingFailureQueue")

    # Then the listing understood the record, the replay succeeded, and the message is gone
    assert [(m["kind"], m["reason"], m["function"], m["condition"], m["attempts"]) for m in listed] == [
        ("invocation-record", "function-error", "leasing-prod-BillingFunction-X", "RetriesExhausted", 3)
    ]
    assert code == 0, stderr
    assert (replayed["replayed"], replayed["failed"]) == (1, 0)
    assert visible(aws, "BillingFailureQueue") == []
    # And the bus got the original event's source, detail-type and detail
    (delivered,) = visible(aws, aws["capture"])
    body = json.loads(delivered["Body"])
    assert (body["source"], body["detail-type"], body["detail"]) == (
        EVENT["source"],
        EVENT["detail-type"],
        EVENT["detail"],
    )


def test_replay_of_an_eventbridge_dead_letter_message_puts_the_event_back(aws):
    # Given an event EventBridge could not deliver, with its attributes
    attributes = {
        "RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/leasing-prod/billing",
        "TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:leasing-prod-BillingFunction-X",
        "ERROR_CODE": "NO_PERMISSIONS",
        "ERROR_MESSAGE": "not allowed",
        "RETRY_ATTEMPTS": "0",
    }
    aws["sqs"].send_message(
        QueueUrl=aws["urls"]["BillingDeadLetterQueue"],
        MessageBody=json.dumps(EVENT),
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )

    # When it is listed and replayed
    _, listed, _ = admin("dlq", "list", "BillingDeadLetterQueue")
    code, replayed, stderr = admin("dlq", "replay", "BillingDeadLetterQueue")

    # Then it was read as an event with EventBridge's error, replayed and deleted
    assert [(m["kind"], m["reason"], m["error"], m["attempts"]) for m in listed] == [
        ("event", "delivery", "NO_PERMISSIONS: not allowed", 1)
    ]
    assert code == 0, stderr
    assert replayed["replayed"] == 1
    assert visible(aws, "BillingDeadLetterQueue") == []
    assert json.loads(visible(aws, aws["capture"])[0]["Body"])["detail"] == EVENT["detail"]


def test_replay_only_the_given_id_and_leave_the_others_visible(aws):
    # Given two messages
    url = aws["urls"]["BillingFailureQueue"]
    first = aws["sqs"].send_message(QueueUrl=url, MessageBody=json.dumps(invocation_record(EVENT)))[
        "MessageId"
    ]
    other_event = {**EVENT, "detail": {**dict(EVENT["detail"]), "eventId": "evt_2"}}
    aws["sqs"].send_message(QueueUrl=url, MessageBody=json.dumps(invocation_record(other_event)))

    # When only the first is replayed
    code, replayed, stderr = admin("dlq", "replay", "BillingFailureQueue", "--id", first)

    # Then only it was replayed, and the other is still there to read
    assert code == 0, stderr
    assert replayed["messages"] == [{"messageId": first, "kind": "invocation-record", "replayed": True}]
    (left,) = visible(aws, "BillingFailureQueue")
    assert json.loads(left["Body"])["requestPayload"]["detail"]["eventId"] == "evt_2"


def test_a_message_whose_put_fails_is_kept_and_the_exit_code_says_so(aws):
    # Given a message that is not an event at all
    aws["sqs"].send_message(QueueUrl=aws["urls"]["BillingFailureQueue"], MessageBody="not json")

    # When the queue is replayed
    code, replayed, _ = admin("dlq", "replay", "BillingFailureQueue")

    # Then nothing was deleted and the failure is counted
    assert code == 1
    assert (replayed["replayed"], replayed["failed"]) == (0, 1)
    assert len(visible(aws, "BillingFailureQueue")) == 1


def test_an_unknown_queue_is_a_one_line_usage_error_naming_the_stacks_queues(aws):
    # Given / When a queue the stack does not have is replayed
    code, _, stderr = admin("dlq", "replay", "NoSuchQueue")
    # Then it is refused with the stack's queues
    assert code == 2
    assert "BillingFailureQueue" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_stream_batch_record_is_understood_as_a_range_of_the_stream():
    # Given the record an event source mapping sends for a stream batch
    record = {
        "requestContext": {
            "requestId": "r",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:relay",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 11,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-30T10:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": "s",
            "startSequenceNumber": "1",
            "endSequenceNumber": "2",
            "batchSize": 2,
        },
    }
    # When it is read / Then it is a stream batch of the relay, not an event
    message = understand("OutboxRelayFailureQueue", "m", record, {})
    assert (message.kind, message.function, message.attempts, message.event) == (
        "stream-batch",
        "relay",
        11,
        None,
    )
    assert message.batch is not None
    assert message.batch["batchSize"] == 2
