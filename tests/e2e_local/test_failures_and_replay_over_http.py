"""Failures of the event path as AWS handles them, and their replay, against `leasing serve`.

Fault injection (`PUT /_local/faults/{functionId}`: the local runtime raises in place of the
handler, never code in the functions) makes a consumer fail; Lambda's asynchronous invocation
retries it as its `EventInvokeConfig` says and then sends the invocation record to its `OnFailure`
queue. `leasing admin dlq replay` (a subprocess, as ops would run it) puts the events back on the
bus once the fault is removed; the consumers' idempotency makes the effect happen exactly once.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from leasing_cli.template import Template, default_template_path, load_template
from tests.e2e_local.conftest import Server, start_server
from tests.e2e_local.test_event_path_over_http import (
    LEASING,
    assert_money_adds_up,
    charges,
    lease_request,
    ledger,
    make_seed,
    request_accounts,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-event-path")]

#: The five asynchronously invoked functions, and the detail-type that reaches each (None: schedule).
ASYNC_CONSUMERS = {
    "AssignAccountsFunction": "LeaseRequested",
    "CancelScheduledPostsFunction": "SocialAccountRevoked",
    "ReturnToPoolFunction": "LeasedAccountReleased",
    "BillingFunction": "LeasedAccountReleased",
    "RenewLeasesFunction": None,
}


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(default_template_path())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("failures"), make_seed("assign", "release"))
    yield running
    running.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(*scenarios: str) -> Server:
        folder = tmp_path / f"serve-{len(started)}"
        folder.mkdir()
        running = start_server(folder, make_seed(*scenarios))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


# --------------------------------------------------------------------------------------- helpers


def leasing_admin(server: Server, *args: str) -> tuple[int, Any, str]:
    done = subprocess.run(
        [str(LEASING), "admin", "--server", server.url, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def drain(server: Server) -> dict[str, int]:
    reply = server.call("POST", "/_local/drain")
    assert reply.status_code == 200, reply.text
    result: dict[str, int] = reply.json()
    return result


def inject(server: Server, function_id: str, **fault: Any) -> None:
    reply = server.call("PUT", f"/_local/faults/{function_id}", json=fault)
    assert reply.status_code == 200, reply.text


def clear(server: Server, function_id: str) -> None:
    reply = server.call("DELETE", f"/_local/faults/{function_id}")
    assert reply.status_code == 200, reply.text


def queue_entries(server: Server, queue: str) -> list[dict[str, Any]]:
    reply = server.call("GET", "/_local/dlq", params={"queue": queue})
    assert reply.status_code == 200, reply.text
    entries: list[dict[str, Any]] = reply.json()
    return entries


def events_client(server: Server) -> Any:
    """A plain boto3 EventBridge client on the endpoint `/_local/health` names (any credentials)."""
    health = server.call("GET", "/_local/health").json()
    return boto3.client(
        "events",
        endpoint_url=health["eventBridgeEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    ), health["eventBusName"]


def depth_alarm_queues(template: Template) -> set[str]:
    """Queues with an `ApproximateNumberOfMessagesVisible` alarm in the template."""
    queues: set[str] = set()
    for resource in template.resources.values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        if properties.get("MetricName") != "ApproximateNumberOfMessagesVisible":
            continue
        for dimension in properties.get("Dimensions") or []:
            value = dimension.get("Value")
            if dimension.get("Name") == "QueueName" and isinstance(value, dict) and "Fn::GetAtt" in value:
                queues.add(value["Fn::GetAtt"][0])
    return queues


# ------------------------------------------------------------------------- attempts and queues


@pytest.mark.parametrize("function_id", list(ASYNC_CONSUMERS))
def test_a_consumer_that_raises_is_attempted_per_its_config_then_recorded_in_its_alarmed_failure_queue(
    server: Server, template: Template, function_id: str
) -> None:
    # Given the template's asynchronous invocation config of the function, with a failure queue
    # that has a depth alarm
    config = template.functions[function_id].async_config
    queue = config.on_failure_destination
    assert queue is not None
    assert queue in depth_alarm_queues(template)
    assert config.maximum_retry_attempts == 2
    # And a fault that makes the function raise on every invocation
    inject(server, function_id, message="consumer down")
    try:
        # When an event for it arrives (from its rule, or from its schedule) and the path is drained
        detail_type = ASYNC_CONSUMERS[function_id]
        if detail_type is None:
            reply = server.call(
                "POST",
                f"/_local/schedules/{function_id}",
                json={"time": "2027-01-15T09:00:00Z", "invocation": "Event"},
            )
            assert reply.status_code == 202, reply.text
            event_id = reply.json()["eventId"]
        else:
            events, bus = events_client(server)
            put = events.put_events(
                Entries=[
                    {
                        "Source": "layers.leasing",
                        "DetailType": detail_type,
                        "Detail": json.dumps({"eventId": f"evt_fault_{function_id}"}),
                        "EventBusName": bus,
                    }
                ]
            )
            assert put["FailedEntryCount"] == 0
            event_id = put["Entries"][0]["EventId"]
        drain(server)
    finally:
        clear(server, function_id)

    # Then exactly 1 + MaximumRetryAttempts attempts were made, and the invocation record of the
    # event is in the function's own failure queue
    (entry,) = [item for item in queue_entries(server, queue) if item["event"]["id"] == event_id]
    assert entry["function"] == function_id
    assert entry["reason"] == "function-error"
    assert entry["attempts"] == 1 + config.maximum_retry_attempts
    assert entry["error"] == {"type": "InjectedFault", "message": f"consumer down ({function_id})"}
    record = entry["message"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1 + config.maximum_retry_attempts
    assert record["requestPayload"]["id"] == event_id
    assert record["responsePayload"]["errorType"] == "InjectedFault"
    # And nothing went to the rule's dead-letter queue (it is for delivery failures only)
    for rule in template.functions[function_id].event_rules:
        assert rule.dead_letter_queue is not None
        assert queue_entries(server, rule.dead_letter_queue) == []
    # (tidy up: the message is deleted by id)
    deleted = server.call("DELETE", f"/_local/dlq/{queue}/{entry['messageId']}")
    assert deleted.status_code == 200, deleted.text


# ------------------------------------------------------------------------------------- replay


def test_a_failed_assignment_replayed_after_the_fault_is_removed_is_assigned_and_charged_exactly_once(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("assign")
    # Given assignment fails on every attempt
    inject(server, "AssignAccountsFunction")
    request_id = request_accounts(server, "assign", 2)
    drain(server)
    assert lease_request(server, "assign", request_id)["status"] == "requested"
    code, listed, stderr = leasing_admin(server, "dlq", "list", "AssignAccountsFailureQueue")
    assert code == 0, stderr
    (message,) = listed
    assert message["kind"] == "invocation-record"
    assert message["reason"] == "function-error"
    assert message["condition"] == "RetriesExhausted"
    assert message["attempts"] == 3
    original = message["event"]
    # When the fault is removed and the queue is replayed
    clear(server, "AssignAccountsFunction")
    code, replayed, stderr = leasing_admin(server, "dlq", "replay", "AssignAccountsFailureQueue")
    assert code == 0, stderr
    drain(server)

    # Then the replay put the event back and deleted the message
    assert replayed["replayed"] == 1
    assert replayed["failed"] == 0
    assert queue_entries(server, "AssignAccountsFailureQueue") == []
    # And the request is assigned, with each account charged once
    assert lease_request(server, "assign", request_id)["status"] == "assigned"
    entries = assert_money_adds_up(server, "assign")
    assert len(charges(entries)) == 2
    # And the same event put once more (a double replay) changes nothing
    events, bus = events_client(server)
    again = events.put_events(
        Entries=[
            {
                "Source": original["source"],
                "DetailType": original["detail-type"],
                "Detail": json.dumps(original["detail"]),
                "EventBusName": bus,
            }
        ]
    )
    assert again["FailedEntryCount"] == 0
    drain(server)
    assert ledger(server, "assign") == entries
    assert server.call("GET", "/_local/dlq").json() == []


def test_a_release_whose_billing_failed_is_completed_by_a_replay_and_nothing_is_done_twice(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("release")
    request_id = request_accounts(server, "release", 1)
    drain(server)
    assert lease_request(server, "release", request_id)["status"] == "assigned"
    # Given billing fails, then the account is released (the other consumers succeed)
    inject(server, "BillingFunction")
    key = server.world.keys["release"]
    released = server.call(
        "DELETE", "/v1/leased-accounts/sa_bake_1", key=key, json={"reason": "campaign over"}
    )
    assert released.status_code == 200, released.text
    drain(server)
    assert [entry["type"] for entry in ledger(server, "release")] == ["charge"]
    (failed,) = queue_entries(server, "BillingFailureQueue")

    # When the fault is removed and only that message is replayed, by id
    clear(server, "BillingFunction")
    code, replayed, stderr = leasing_admin(
        server, "dlq", "replay", "BillingFailureQueue", "--id", failed["messageId"]
    )
    assert code == 0, stderr
    drain(server)

    # Then the end of the lease is in the ledger once, and every other consumer saw a duplicate
    assert replayed == {
        "replayed": 1,
        "failed": 0,
        "messages": [{"messageId": failed["messageId"], "kind": "invocation-record", "replayed": True}],
    }
    assert [entry["type"] for entry in ledger(server, "release")] == ["charge", "lease_ended"]
    assert server.call("GET", "/_local/dlq").json() == []
    # And a replay of an empty queue replays nothing
    code, again, _ = leasing_admin(server, "dlq", "replay", "BillingFailureQueue")
    assert (code, again["replayed"], again["failed"]) == (0, 0, 0)


def test_a_poison_outbox_record_is_bisected_out_of_the_relays_batch_and_a_replay_republishes_it(
    own_server: Callable[..., Server],
) -> None:
    server = own_server("assign", "nomatch")
    # Given the relay fails on any batch holding the "knitting" request's outbox item
    inject(server, "OutboxRelayFunction", match="knitting")
    healthy = request_accounts(server, "assign", 1)
    poison = request_accounts(server, "nomatch", 1)

    # When the stream is processed
    drain(server)

    # Then the healthy request went through, and only the poison record is described in the
    # relay's failure queue, after 1 + MaximumRetryAttempts (10) attempts once isolated
    assert lease_request(server, "assign", healthy)["status"] == "assigned"
    assert lease_request(server, "nomatch", poison)["status"] == "requested"
    (entry,) = queue_entries(server, "OutboxRelayFailureQueue")
    assert entry["reason"] == "stream-batch"
    assert entry["attempts"] == 11
    (record,) = entry["event"]["Records"]
    assert "knitting" in record["dynamodb"]["NewImage"]["detail"]["S"]
    info = entry["message"]["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == record["dynamodb"]["SequenceNumber"]
    assert entry["message"]["requestContext"]["condition"] == "RetryAttemptsExhausted"

    # And once the fault is removed, a replay re-publishes the outbox item the batch names
    clear(server, "OutboxRelayFunction")
    code, replayed, stderr = leasing_admin(server, "dlq", "replay", "OutboxRelayFailureQueue")
    assert code == 0, stderr
    assert (replayed["replayed"], replayed["failed"]) == (1, 0)
    drain(server)
    after = lease_request(server, "nomatch", poison)
    assert after["status"] == "rejected", after
    assert queue_entries(server, "OutboxRelayFailureQueue") == []
    assert len(charges(ledger(server, "assign"))) == 1
