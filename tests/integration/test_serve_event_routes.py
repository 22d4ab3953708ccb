"""`leasing serve` and `leasing invoke` run the event path of the template (stand-in functions)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.event_path_project import TABLE, outbox_put, read_log, write_project

ROOT = Path(__file__).resolve().parents[2]


def leasing(*args: str) -> list[str]:
    return [sys.executable, "-m", "leasing_cli.main", *args]


def call(base: tuple[str, int], method: str, path: str, body: Any = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(*base, timeout=60)
    payload = None if body is None else json.dumps(body)
    connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    result = response.status, json.loads(response.read() or b"null")
    connection.close()
    return result


@pytest.fixture
def served(tmp_path):
    template = write_project(tmp_path)
    process = subprocess.Popen(
        leasing("serve", "--port", "0", "--template", str(template)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("Listening on http://127.0.0.1:"):
        process.kill()
        pytest.fail(f"serve did not start: {line!r} {process.communicate()[1]}")
    host, port = line.removeprefix("Listening on http://").split(":")
    yield (host, int(port)), process
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_serve_runs_the_event_path_and_answers_the_local_routes(served, tmp_path):
    base, process = served
    # Given the running server's DynamoDB, and an outbox item whose consumers chain two more events
    _, health = call(base, "GET", "/_local/health")
    dynamodb: Any = boto3.client(
        "dynamodb",
        endpoint_url=health["dynamodbEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    dynamodb.transact_write_items(
        TransactItems=[outbox_put("LeaseRequested", {"next": ["LeasedAccountAssigned", "Broken"]})]
    )

    # When the event path is drained over HTTP
    status, drained = call(base, "POST", "/_local/drain")

    # Then the chain ran to its end through the real PutEvents endpoint, and the broken consumer's
    # invocation record is in its OnFailure queue after 1 + MaximumRetryAttempts (1) attempts
    assert status == 200
    assert drained == {"processed": 5, "failed": 1}  # 3 records relayed, 2 deliveries; 1 failed
    assert len(read_log(tmp_path, "AssignFunction")) == 1
    assert len(read_log(tmp_path, "BillingFunction")) == 1
    status, dlq = call(base, "GET", "/_local/dlq")
    assert status == 200
    assert [(entry["queue"], entry["function"], entry["attempts"]) for entry in dlq] == [
        ("BrokenFailureQueue", "BrokenFunction", 2)
    ]

    # And the schedules route runs the scheduled function at the given time
    status, scheduled = call(
        base, "POST", "/_local/schedules/RenewFunction", {"time": "2027-02-28T00:00:00Z"}
    )
    assert status == 200
    assert scheduled["result"]["now"] == "2027-02-28T00:00:00Z"

    # And the health route names the local EventBridge, which a plain boto3 client can put events on
    assert health["eventBusName"] == "leasing-dev"
    events: Any = boto3.client(
        "events",
        endpoint_url=health["eventBridgeEndpoint"],
        region_name="eu-west-3",
        aws_access_key_id="anything",
        aws_secret_access_key="anything",
    )
    response = events.put_events(
        Entries=[{"Source": "test", "DetailType": "Flaky", "Detail": "{}", "EventBusName": "leasing-dev"}]
    )
    assert response["FailedEntryCount"] == 0
    status, drained = call(base, "POST", "/_local/drain")
    assert drained == {"processed": 1, "failed": 0}
    assert read_log(tmp_path, "FlakyFunction-attempts") == [response["Entries"][0]["EventId"]] * 3

    # And SIGTERM stops everything cleanly
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr


def test_invoke_runs_the_relay_against_a_recording_event_bus(tmp_path):
    # Given a DynamoDB stream event with one outbox record
    write_project(tmp_path)
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"pk": {"S": "OUTBOX#evt_1"}, "sk": {"S": "OUTBOX"}},
            "NewImage": outbox_put("LeaseRequested", {"orgId": "org_1"}, "evt_1")["Put"]["Item"],
            "SequenceNumber": "100",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/stream/local",
    }
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"Records": [record]}))

    # When the relay is invoked on its own
    result = subprocess.run(
        leasing(
            "invoke", "RelayFunction", "--event", str(event), "--template", str(tmp_path / "template.yaml")
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Then its PutEvents succeeded against the local bus, which only recorded the event
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"batchItemFailures": []}
    assert "1 event(s) put on the local bus" in result.stderr
    assert read_log(tmp_path, "AssignFunction") == []
