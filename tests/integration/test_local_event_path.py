"""The local event path: stream → relay → bus → rules → consumers, with retries, DLQs and drain.

Stand-in functions (tests/integration/event_path_project.py) run behind a small template with the
same kinds of event sources as template.yaml; one test reads the real template's sources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from leasing_cli.event_path import EventPath, add_event_routes, failed_index, rate_seconds
from leasing_cli.event_patterns import EventMatcher, EventPatternError, validate_pattern
from leasing_cli.gateway import GatewayReply, GatewayRequest, LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime, function_environment
from leasing_cli.local_eventbridge import EventBridgeHTTPServer, LocalEventBridge
from leasing_cli.local_system import local_dynamodb_client
from leasing_cli.template import Template, TemplateError, create_tables, default_template_path, load_template
from tests.integration.event_path_project import BUS, TABLE, outbox_put, read_log, write_project


@dataclass
class EventPathHarness:
    folder: Path
    template: Template
    dynamodb: Any
    events: Any  # a boto3 EventBridge client on the local endpoint
    event_path: EventPath
    gateway: LocalApiGateway

    def local(self, method: str, path: str, body: Any = None) -> GatewayReply:
        payload = b"" if body is None else json.dumps(body).encode()
        return self.gateway.handle(GatewayRequest(method=method, target=path, headers=[], body=payload))

    def drain(self) -> dict[str, int]:
        reply = self.local("POST", "/_local/drain")
        assert reply.status == 200, reply.body
        result: dict[str, int] = reply.json()
        return result

    def log(self, name: str) -> list[Any]:
        return read_log(self.folder, name)

    def write_outbox(self, *puts: dict[str, Any]) -> None:
        self.dynamodb.transact_write_items(TransactItems=list(puts))

    def put_event(self, detail_type: str, detail: dict[str, Any], source: str = "layers.leasing") -> Any:
        return self.events.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": BUS,
                }
            ]
        )


@pytest.fixture
def harness(tmp_path, dynamodb_endpoint, monkeypatch) -> Iterator[EventPathHarness]:
    template = load_template(write_project(tmp_path))
    dynamodb = local_dynamodb_client(dynamodb_endpoint)
    if TABLE in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=TABLE)
    create_tables(dynamodb, template)
    eventbridge = LocalEventBridge(template)
    with EventBridgeHTTPServer(eventbridge) as server:
        for name, value in function_environment(template, dynamodb_endpoint, server.endpoint_url).items():
            monkeypatch.setenv(name, value)
        runtime = LambdaRuntime(template)
        with EventPath(template, runtime, eventbridge, dynamodb, dynamodb_endpoint) as event_path:
            gateway = LocalApiGateway(template, runtime)
            add_event_routes(gateway, event_path)
            events = boto3.client(
                "events",
                endpoint_url=server.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            yield EventPathHarness(tmp_path, template, dynamodb, events, event_path, gateway)
    dynamodb.delete_table(TableName=TABLE)


# ------------------------------------------------------------------------------ stream → relay


def test_an_outbox_insert_reaches_the_relay_and_other_records_are_skipped(harness):
    # Given an outbox item and an ordinary item written in one transaction, then the ordinary one changed
    harness.write_outbox(
        outbox_put("LeaseRequested", {"orgId": "org_1"}, event_id="evt_1"),
        {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "ORG#org_1"}, "sk": {"S": "PROFILE"}}}},
    )
    harness.dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "ORG#org_1"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Acme"}},
    )

    # When the event path is drained
    result = harness.drain()

    # Then the relay saw only the outbox INSERT, and its event reached the matching consumer
    assert harness.log("relay-batches") == [["evt_1"]]
    assigned = harness.log("AssignFunction")
    assert [entry["detail"] for entry in assigned] == [{"orgId": "org_1", "eventId": "evt_1"}]
    assert result == {"processed": 2, "failed": 0}  # one record relayed, one delivery


def test_the_relay_gets_lambdas_dynamodb_stream_event_shape(harness, tmp_path):
    # Given a relay that also records its whole event
    relay = tmp_path / "functions" / "relay" / "app.py"
    relay.write_text(
        relay.read_text().replace(
            'log("relay-batches", ids)', 'log("relay-batches", ids)\n    log("relay-events", event)'
        )
    )
    harness.write_outbox(outbox_put("LeaseRequested", {"orgId": "org_1"}, event_id="evt_1"))

    # When the stream is processed
    harness.drain()

    # Then each record has the fields Lambda passes, the stream ARN and epoch-second timestamps
    (event,) = harness.log("relay-events")
    (record,) = event["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"].startswith(
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/stream/"
    )
    data = record["dynamodb"]
    assert data["Keys"] == {"pk": {"S": "OUTBOX#evt_1"}, "sk": {"S": "OUTBOX"}}
    assert data["NewImage"]["eventType"] == {"S": "LeaseRequested"}
    assert "OldImage" not in data
    assert isinstance(data["ApproximateCreationDateTime"], int)
    assert data["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert data["SequenceNumber"].isdigit()
    assert data["SizeBytes"] > 0


def test_the_relay_gets_batches_of_at_most_the_mappings_batch_size(harness):
    # Given twelve outbox items written at once (the mapping's BatchSize is 10)
    harness.write_outbox(
        *(outbox_put("LeasedAccountAssigned", {"n": n}, event_id=f"evt_{n:02d}") for n in range(12))
    )

    # When the stream is processed
    harness.drain()

    # Then the relay got them in order, in batches of 10 and 2
    batches = harness.log("relay-batches")
    assert [len(batch) for batch in batches] == [10, 2]
    assert [item for batch in batches for item in batch] == [f"evt_{n:02d}" for n in range(12)]


def test_a_partial_batch_failure_is_retried_from_the_failed_record(harness):
    # Given three outbox items in one batch, the second of which the relay fails once
    harness.write_outbox(
        outbox_put("LeasedAccountAssigned", {"n": 1}, event_id="evt_a"),
        outbox_put("LeasedAccountAssigned", {"n": 2, "relay": "fail-once"}, event_id="evt_b"),
        outbox_put("LeasedAccountAssigned", {"n": 3}, event_id="evt_c"),
    )

    # When the stream is processed
    result = harness.drain()

    # Then the retry starts at the failed record (and the later records come again, as in Lambda)
    assert harness.log("relay-batches") == [["evt_a", "evt_b", "evt_c"], ["evt_b", "evt_c"]]
    # And each event reached its consumer once (EventBridge delivers in no particular order)
    assert sorted(entry["detail"]["n"] for entry in harness.log("BillingFunction")) == [1, 2, 3]
    assert result == {"processed": 6, "failed": 0}  # 3 records relayed, 3 deliveries


def test_a_relay_error_bisects_the_batch_and_only_the_poison_record_goes_to_the_on_failure_queue(harness):
    # Given a batch whose middle record always makes the relay raise
    harness.write_outbox(
        outbox_put("LeasedAccountAssigned", {"n": 1}, event_id="evt_a"),
        outbox_put("LeasedAccountAssigned", {"n": 2, "relay": "raise"}, event_id="evt_poison"),
        outbox_put("LeasedAccountAssigned", {"n": 3}, event_id="evt_c"),
    )

    # When the stream is processed
    result = harness.drain()

    # Then the healthy records were published, and the poison one alone was retried, then given up
    assert sorted(entry["detail"]["n"] for entry in harness.log("BillingFunction")) == [1, 3]
    batches = harness.log("relay-batches")
    assert batches[0] == ["evt_a", "evt_poison", "evt_c"]
    assert batches.count(["evt_poison"]) == 3  # MaximumRetryAttempts 2 → 3 attempts once isolated
    assert result == {"processed": 4, "failed": 1}
    # And only it is described in the mapping's OnFailure queue, as Lambda describes a stream batch
    (entry,) = harness.local("GET", "/_local/dlq").json()
    assert (entry["queue"], entry["function"], entry["reason"]) == (
        "RelayFailureQueue",
        "RelayFunction",
        "stream-batch",
    )
    assert entry["attempts"] == 3
    assert entry["error"] == {"type": "RuntimeError", "message": "relay cannot publish a poison record"}
    (poison,) = entry["event"]["Records"]
    assert poison["dynamodb"]["Keys"]["pk"]["S"] == "OUTBOX#evt_poison"
    record = entry["message"]
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:RelayFunction")
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = record["DDBStreamBatchInfo"]
    sequence = poison["dynamodb"]["SequenceNumber"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequence,
        sequence,
        1,
    )
    assert info["streamArn"] == poison["eventSourceARN"]
    assert info["shardId"]
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")


# ------------------------------------------------------------------------------- bus and rules


def test_put_events_reaches_the_consumer_whose_pattern_matches_and_not_the_other(harness):
    # Given the local EventBridge endpoint, as a function's boto3 client sees it
    # When an event is put on the bus
    response = harness.put_event("LeaseRequested", {"orgId": "org_1"})
    harness.drain()

    # Then it is accepted with an id, and only the rule for LeaseRequested delivered it
    assert response["FailedEntryCount"] == 0
    event_id = response["Entries"][0]["EventId"]
    (delivered,) = harness.log("AssignFunction")
    assert delivered["id"] == event_id
    assert delivered["detail-type"] == "LeaseRequested"
    assert harness.log("BillingFunction") == []


def test_a_consumer_gets_the_eventbridge_envelope(harness, tmp_path):
    # Given a consumer that records its whole event
    consumer = tmp_path / "functions" / "consumer" / "app.py"
    consumer.write_text(
        consumer.read_text().replace(
            'detail = event["detail"]', 'detail = event["detail"]\n    log("envelopes", event)'
        )
    )

    # When an event with a time and resources is put
    harness.events.put_events(
        Entries=[
            {
                "Source": "layers.leasing",
                "DetailType": "LeaseRequested",
                "Detail": json.dumps({"orgId": "org_1"}),
                "EventBusName": f"arn:aws:events:us-east-1:123456789012:event-bus/{BUS}",
                "Time": "2026-12-01T10:00:00Z",
                "Resources": ["arn:aws:local:thing"],
            }
        ]
    )
    harness.drain()

    # Then the consumer gets EventBridge's envelope
    (event,) = harness.log("envelopes")
    assert set(event) == {
        "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"
    }  # fmt: skip
    assert event["version"] == "0"
    assert event["source"] == "layers.leasing"
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert event["time"] == "2026-12-01T10:00:00Z"
    assert event["resources"] == ["arn:aws:local:thing"]
    assert event["detail"] == {"orgId": "org_1"}


def test_invalid_entries_fail_one_by_one_and_more_than_ten_fail_the_call(harness):
    # Given entries EventBridge would refuse, next to a good one
    entries = [
        {"DetailType": "LeaseRequested", "Detail": "{}", "EventBusName": BUS},
        {"Source": "layers.leasing", "Detail": "{}", "EventBusName": BUS},
        {"Source": "layers.leasing", "DetailType": "LeaseRequested", "EventBusName": BUS},
        {"Source": "layers.leasing", "DetailType": "LeaseRequested", "Detail": "[1]", "EventBusName": BUS},
        {"Source": "layers.leasing", "DetailType": "LeaseRequested", "Detail": "{x", "EventBusName": BUS},
        {"Source": "layers.leasing", "DetailType": "LeaseRequested", "Detail": "{}", "EventBusName": "nope"},
        {"Source": "layers.leasing", "DetailType": "LeaseRequested", "Detail": "{}", "EventBusName": BUS},
    ]

    # When they are put
    response = harness.events.put_events(Entries=entries)

    # Then each bad entry fails with an error code, and the good one is accepted
    codes = [entry.get("ErrorCode") for entry in response["Entries"]]
    assert codes == [
        "InvalidArgument",
        "InvalidArgument",
        "InvalidArgument",
        "MalformedDetail",
        "MalformedDetail",
        "ResourceNotFoundException",
        None,
    ]
    assert response["FailedEntryCount"] == 6
    assert "EventId" in response["Entries"][-1]

    # And eleven entries are refused as a whole
    with pytest.raises(harness.events.exceptions.ClientError) as refused:
        harness.events.put_events(Entries=[entries[-1]] * 11)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    harness.drain()
    assert len(harness.log("AssignFunction")) == 1


def test_a_consumer_that_fails_twice_succeeds_on_lambdas_third_attempt_whatever_the_rule_says(harness):
    # Given a consumer that fails its first two attempts, with no EventInvokeConfig (Lambda's
    # default: 2 retries) and a rule RetryPolicy of 0 (which covers delivery only)
    response = harness.put_event("Flaky", {"n": 1})
    event_id = response["Entries"][0]["EventId"]

    # When the event path is drained
    result = harness.drain()

    # Then Lambda's third attempt succeeded and nothing went to a failure queue
    assert harness.log("FlakyFunction-attempts") == [event_id] * 3
    assert [entry["id"] for entry in harness.log("FlakyFunction")] == [event_id]
    assert harness.local("GET", "/_local/dlq").json() == []
    assert result == {"processed": 1, "failed": 0}


def test_a_consumer_that_always_fails_is_retried_as_its_event_invoke_config_says_then_recorded(harness):
    # Given a consumer that always raises (EventInvokeConfig: 1 retry, OnFailure BrokenFailureQueue;
    # its rule's RetryPolicy says 2 retries and has a DLQ, which cover delivery only)
    response = harness.put_event("Broken", {"n": 1})
    event_id = response["Entries"][0]["EventId"]

    # When the event path is drained
    result = harness.drain()

    # Then it was attempted 1 + MaximumRetryAttempts times, then the invocation record was sent to
    # the function's OnFailure queue (not the rule's dead-letter queue)
    assert harness.log("BrokenFunction-attempts") == [event_id] * 2
    (entry,) = harness.local("GET", "/_local/dlq").json()
    assert (entry["queue"], entry["function"], entry["reason"]) == (
        "BrokenFailureQueue",
        "BrokenFunction",
        "function-error",
    )
    assert entry["attempts"] == 2
    assert entry["error"] == {"type": "RuntimeError", "message": "always broken"}
    assert entry["event"]["id"] == event_id
    assert entry["messageId"]
    assert entry["sentAt"].endswith("Z")
    record = entry["message"]
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(":function:BrokenFunction:$LATEST")
    assert record["requestPayload"] == entry["event"]
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "always broken"
    assert any("always broken" in line for line in record["responsePayload"]["stackTrace"])
    assert result == {"processed": 0, "failed": 1}


def test_a_consumer_without_a_destination_loses_the_event_and_the_runtime_says_so(harness, capfd):
    # Given a consumer that always raises and has no OnFailure destination nor dead-letter queue
    response = harness.put_event("Dropped", {"n": 1})
    event_id = response["Entries"][0]["EventId"]

    # When the event path is drained
    result = harness.drain()

    # Then Lambda's default 3 attempts ran, and the event is listed as dropped (queue null)
    assert harness.log("DroppedFunction-attempts") == [event_id] * 3
    (entry,) = harness.local("GET", "/_local/dlq").json()
    assert (entry["queue"], entry["function"], entry["reason"], entry["attempts"]) == (
        None, "DroppedFunction", "function-error", 3
    )  # fmt: skip
    assert entry["event"]["id"] == event_id
    assert result == {"processed": 0, "failed": 1}
    # And an ERROR line on stderr says the event would be lost on AWS
    assert "ERROR DroppedFunction" in capfd.readouterr().err


def test_an_event_too_old_for_the_next_retry_goes_to_the_destination_as_event_age_exceeded(harness):
    # Given a consumer that always raises, with MaximumEventAgeInSeconds 60: Lambda's first retry
    # comes about a minute later, so the event is older than that by then
    harness.put_event("Aged", {"n": 1})

    # When the event path is drained
    harness.drain()

    # Then it was attempted once, and recorded with the condition EventAgeExceeded
    assert len(harness.log("AgedFunction-attempts")) == 1
    (entry,) = harness.local("GET", "/_local/dlq").json()
    assert (entry["queue"], entry["reason"], entry["attempts"]) == ("AgedFailureQueue", "event-age", 1)
    assert entry["message"]["requestContext"]["condition"] == "EventAgeExceeded"
    assert entry["message"]["requestContext"]["approximateInvokeCount"] == 1


def test_an_event_the_rule_cannot_deliver_goes_to_the_rules_dead_letter_queue_as_eventbridge_sends_it(
    harness,
):
    # Given a fault that keeps EventBridge from invoking the consumer (as a missing permission would)
    reply = harness.local("PUT", "/_local/faults/BrokenFunction", {"stage": "delivery"})
    assert reply.status == 200, reply.body

    # When an event for it is put on the bus and drained
    response = harness.put_event("Broken", {"n": 1})
    harness.drain()

    # Then the function never ran, and the rule's DLQ holds the event with EventBridge's attributes
    assert harness.log("BrokenFunction-attempts") == []
    (entry,) = harness.local("GET", "/_local/dlq").json()
    assert (entry["queue"], entry["reason"], entry["attempts"]) == ("BrokenDeadLetterQueue", "delivery", 1)
    assert entry["message"] == entry["event"]
    assert entry["event"]["id"] == response["Entries"][0]["EventId"]
    attributes = {name: value["StringValue"] for name, value in entry["messageAttributes"].items()}
    assert attributes["RULE_ARN"].endswith(":rule/leasing-dev/BrokenFunction-Broken")
    assert attributes["TARGET_ARN"].endswith(":function:BrokenFunction")
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert attributes["ERROR_MESSAGE"]


def test_a_message_is_deleted_from_its_queue_by_id_and_a_second_delete_is_a_404(harness):
    # Given a message in a failure queue
    harness.put_event("Broken", {"n": 1})
    harness.drain()
    (entry,) = harness.local("GET", "/_local/dlq?queue=BrokenFailureQueue").json()

    # When it is deleted, twice
    first = harness.local("DELETE", f"/_local/dlq/BrokenFailureQueue/{entry['messageId']}")
    second = harness.local("DELETE", f"/_local/dlq/BrokenFailureQueue/{entry['messageId']}")

    # Then the first delete removed it and the second found nothing; unknown queues are 404s too
    assert first.status == 200
    assert second.status == 404
    assert harness.local("GET", "/_local/dlq").json() == []
    assert harness.local("GET", "/_local/dlq?queue=NoSuchQueue").status == 404


def test_an_injected_fault_matching_one_event_fails_only_that_event(harness):
    # Given a fault on the assignment consumer for events whose JSON contains "poison"
    reply = harness.local("PUT", "/_local/faults/AssignFunction", {"match": "poison"})
    assert reply.status == 200, reply.body
    assert harness.local("GET", "/_local/faults").json()[0]["function"] == "AssignFunction"

    # When a healthy and a poison event are put on the bus
    harness.put_event("LeaseRequested", {"n": 1})
    harness.put_event("LeaseRequested", {"n": 2, "note": "poison"})
    harness.drain()

    # Then the healthy one was handled and the poison one dropped after 3 attempts (no destination)
    assert [entry["detail"]["n"] for entry in harness.log("AssignFunction")] == [1]
    (entry,) = harness.local("GET", "/_local/dlq").json()
    assert (entry["function"], entry["queue"], entry["attempts"]) == ("AssignFunction", None, 3)
    assert entry["error"]["type"] == "InjectedFault"
    # And once the fault is cleared the function works again
    assert harness.local("DELETE", "/_local/faults/AssignFunction").status == 200
    assert harness.local("DELETE", "/_local/faults/AssignFunction").status == 404


def test_rate_schedules_are_understood_and_cron_is_left_to_the_route():
    # Given / When schedule expressions are read / Then rate() gives seconds, cron() none
    assert rate_seconds("rate(1 hour)") == 3600
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(2 days)") == 172800
    assert rate_seconds("cron(0 * * * ? *)") is None


# ---------------------------------------------------------------------------------------- drain


def test_drain_returns_only_when_the_whole_chain_is_quiescent(harness):
    # Given an outbox event whose consumers write new outbox items, three hops deep
    harness.write_outbox(
        outbox_put(
            "LeaseRequested",
            {"next": ["LeasedAccountAssigned", "LeasedAccountReleased", "LeasedAccountRenewed"]},
            event_id="evt_root",
        )
    )

    # When the event path is drained once
    result = harness.drain()

    # Then every hop ran: stream → relay → Assign → outbox → relay → Billing → ... → the last hop
    assert len(harness.log("AssignFunction")) == 1
    steps = [entry["detail"]["step"] for entry in harness.log("BillingFunction")]
    assert steps == [1, 2, 3]
    assert len(harness.log("relay-batches")) == 4
    assert result == {"processed": 8, "failed": 0}  # 4 records relayed, 4 deliveries

    # And a second drain finds nothing new
    assert harness.drain() == {"processed": 0, "failed": 0}


# ------------------------------------------------------------------------------------ schedules


def test_the_schedules_route_invokes_the_function_with_the_given_time(harness):
    # Given a function with a Schedule event
    # When its schedule is triggered with a time
    reply = harness.local("POST", "/_local/schedules/RenewFunction", {"time": "2027-01-31T23:00:00Z"})

    # Then it ran now, with a scheduled event at that time, and its result is returned
    assert reply.status == 200
    assert reply.json() == {
        "function": "RenewFunction",
        "result": {
            "now": "2027-01-31T23:00:00Z",
            "detailType": "Scheduled Event",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/RenewFunction-Hourly"],
        },
    }


def test_the_schedules_route_defaults_to_now_and_refuses_bad_input(harness):
    # Given / When the schedule is triggered without a body
    reply = harness.local("POST", "/_local/schedules/RenewFunction")

    # Then the event's time is now, in EventBridge's format
    assert reply.status == 200
    assert reply.json()["result"]["now"].endswith("Z")

    # And a bad time is a 422, a function without a schedule a 404
    assert harness.local("POST", "/_local/schedules/RenewFunction", {"time": "yesterday"}).status == 422
    assert harness.local("POST", "/_local/schedules/RenewFunction", {"time": 5}).status == 422
    assert harness.local("POST", "/_local/schedules/AssignFunction", {}).status == 404
    assert harness.local("POST", "/_local/schedules/NoSuchFunction").status == 404


# ---------------------------------------------------------------------- template and patterns


def test_the_real_template_declares_the_event_path_sources():
    # Given the repository's template
    template = load_template(default_template_path())

    # When its event sources are read
    (relay,) = template.functions["OutboxRelayFunction"].stream_sources
    rules = {rule.function_id: rule for rule in template.event_rules}
    schedules = {schedule.function_id: schedule for schedule in template.schedules}

    # Then the relay reads the table's stream with partial batch responses, bisect, a cap and a DLQ
    assert relay.table_id == "LeasingTable"
    assert relay.starting_position == "TRIM_HORIZON"
    assert 1 <= relay.batch_size <= 10_000
    assert relay.bisect_on_error
    assert relay.report_batch_item_failures
    assert relay.maximum_retry_attempts >= 0
    assert relay.on_failure_destination == "OutboxRelayFailureQueue"
    # And its filter lets outbox inserts through, nothing else
    (matcher,) = [EventMatcher(pattern) for pattern in relay.filter_patterns]
    outbox = {
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"pk": {"S": "OUTBOX#evt_1"}, "sk": {"S": "OUTBOX"}}},
    }
    assert matcher.matches(outbox)
    assert not matcher.matches({**outbox, "eventName": "MODIFY"})
    assert not matcher.matches({"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "ORG#1"}}}})

    # And every consumer has a rule on the leasing bus with a retry policy and a dead-letter queue
    # (delivery), and an asynchronous invocation config with an OnFailure queue (function errors)
    assert {"AssignAccountsFunction", "CancelScheduledPostsFunction", "ReturnToPoolFunction",
            "BillingFunction"} <= set(rules)  # fmt: skip
    for rule in rules.values():
        assert rule.bus_name == "leasing-dev"
        assert rule.bus_name in template.event_bus_names()
        assert rule.pattern["source"] == ["layers.leasing"]
        assert rule.maximum_retry_attempts >= 0
        assert rule.dead_letter_queue
        config = template.functions[rule.function_id].async_config
        assert config.on_failure_destination in template.queue_ids
        assert config.on_failure_destination != rule.dead_letter_queue
    assign = EventMatcher(rules["AssignAccountsFunction"].pattern)
    assert assign.matches({"source": "layers.leasing", "detail-type": "LeaseRequested", "detail": {}})
    assert not assign.matches({"source": "layers.leasing", "detail-type": "LeasedAccountReleased"})

    # And renewals run on a rate schedule with a retry policy and a dead-letter queue
    renew = schedules["RenewLeasesFunction"]
    assert renew.expression.startswith("rate(")
    assert renew.dead_letter_queue


def test_an_invalid_rule_pattern_is_a_template_error(tmp_path):
    # Given a template whose rule pattern is not an event pattern
    source = write_project(tmp_path).read_text().replace("detail-type: [Broken]", "detail-type: Broken")
    (tmp_path / "template.yaml").write_text(source)

    # When it is loaded / Then the error names the function and its event
    with pytest.raises(TemplateError, match=r"BrokenFunction\.Broken"):
        load_template(tmp_path / "template.yaml")


@pytest.mark.parametrize("use_moto", [True, False])
def test_patterns_match_exact_values_prefixes_and_nested_fields(use_moto):
    # Given a pattern with exact values, a prefix, anything-but, exists and numeric filters
    matcher = EventMatcher(
        {
            "source": ["layers.leasing"],
            "detail-type": [{"prefix": "LeasedAccount"}],
            "detail": {
                "status": [{"anything-but": ["canceled"]}],
                "note": [{"exists": False}],
                "count": [{"numeric": [">", 0, "<=", 5]}],
            },
        },
        use_moto=use_moto,
    )
    event = {
        "source": "layers.leasing",
        "detail-type": "LeasedAccountReleased",
        "detail": {"status": "queued", "count": 2},
    }

    # When / Then events are matched field by field
    assert matcher.matches(event)
    assert not matcher.matches({**event, "source": "other"})
    assert not matcher.matches({**event, "detail-type": "LeaseRequested"})
    assert not matcher.matches({**event, "detail": {"status": "canceled", "count": 2}})
    assert not matcher.matches({**event, "detail": {"status": "queued", "count": 2, "note": "x"}})
    assert not matcher.matches({**event, "detail": {"status": "queued", "count": 9}})


@pytest.mark.parametrize("pattern", ['{"source": "x"}', "[1]", "{}", "not json", {"detail": {"a": 1}}])
def test_a_malformed_pattern_is_refused(pattern):
    # Given / When / Then
    with pytest.raises(EventPatternError):
        validate_pattern(pattern)


def test_a_partial_batch_response_naming_an_unknown_record_fails_the_batch():
    # Given a batch of two records
    batch = [{"dynamodb": {"SequenceNumber": "100"}}, {"dynamodb": {"SequenceNumber": "101"}}]

    # When / Then the lowest failed record is found, success is recognised, nonsense is refused
    assert (
        failed_index({"batchItemFailures": [{"itemIdentifier": "101"}, {"itemIdentifier": "100"}]}, batch)
        == 0
    )
    assert failed_index({"batchItemFailures": []}, batch) is None
    assert failed_index(None, batch) is None
    with pytest.raises(ValueError, match="not a record"):
        failed_index({"batchItemFailures": [{"itemIdentifier": "999"}]}, batch)
    with pytest.raises(ValueError, match="not a record"):
        failed_index({"batchItemFailures": [{"itemIdentifier": ""}]}, batch)
