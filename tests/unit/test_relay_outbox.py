"""The outbox relay: batches of at most 10 entries, failed entries reported by sequence number."""

from __future__ import annotations

import json
from typing import Any

from layers_common.events_bus import EventBridgePublisher
from layers_common.services.relay_outbox import relay_outbox


class FakeEventBridge:
    """Records PutEvents calls; fails the entries whose detail says so, or the whole call."""

    def __init__(self, *, fail_calls: int = 0) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail_calls = fail_calls

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.fail_calls:
            self.fail_calls -= 1
            raise ConnectionError("throttled")
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}
            if json.loads(e["Detail"]).get("fail")
            else {"EventId": "e"}
            for e in Entries
        ]
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def record(
    sequence: int, *, fail: bool = False, event_name: str = "INSERT", outbox: bool = True
) -> dict[str, Any]:
    image: dict[str, Any] = {"pk": {"S": f"OUTBOX#evt_{sequence}"}, "sk": {"S": "OUTBOX"}}
    if outbox:
        image |= {
            "eventType": {"S": "LeaseRequested"},
            "detail": {"S": json.dumps({"n": sequence, "fail": fail})},
        }
    return {"eventName": event_name, "dynamodb": {"SequenceNumber": str(sequence), "NewImage": image}}


def test_entries_are_published_in_calls_of_at_most_ten() -> None:
    # Given 23 outbox records
    client = FakeEventBridge()
    # When they are relayed
    failed = relay_outbox([record(n) for n in range(23)], EventBridgePublisher("leasing-dev", client))  # type: ignore[arg-type]
    # Then three calls of 10, 10 and 3 were made with our source and bus, and nothing failed
    assert [len(call) for call in client.calls] == [10, 10, 3]
    assert {entry["Source"] for call in client.calls for entry in call} == {"layers.leasing"}
    assert {entry["EventBusName"] for call in client.calls for entry in call} == {"leasing-dev"}
    assert {entry["DetailType"] for call in client.calls for entry in call} == {"LeaseRequested"}
    assert failed == []


def test_entries_the_bus_refused_are_reported_by_their_sequence_numbers() -> None:
    # Given records of which two will be refused (FailedEntryCount > 0)
    client = FakeEventBridge()
    records = [record(n, fail=n in {3, 12}) for n in range(15)]
    # When they are relayed
    failed = relay_outbox(records, EventBridgePublisher("bus", client))  # type: ignore[arg-type]
    # Then exactly those are reported for retry
    assert failed == ["3", "12"]


def test_a_call_that_fails_outright_fails_all_of_its_entries() -> None:
    # Given a bus that throttles the first call
    client = FakeEventBridge(fail_calls=1)
    # When 12 records are relayed
    failed = relay_outbox([record(n) for n in range(12)], EventBridgePublisher("bus", client))  # type: ignore[arg-type]
    # Then the first ten are reported, the last two went through
    assert failed == [str(n) for n in range(10)]


def test_records_that_are_not_new_outbox_items_are_skipped() -> None:
    # Given a removal (TTL expiry) and an item without a detail
    client = FakeEventBridge()
    records = [record(1, event_name="REMOVE"), record(2, outbox=False), record(3)]
    # When they are relayed
    failed = relay_outbox(records, EventBridgePublisher("bus", client))  # type: ignore[arg-type]
    # Then only the real outbox insert is published
    assert [len(call) for call in client.calls] == [1]
    assert failed == []
