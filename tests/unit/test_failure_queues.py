"""The local failure queues and fault injection of the event path (pure, in memory)."""

from __future__ import annotations

import pytest

from leasing_cli.failure_queues import (
    FailureQueues,
    Fault,
    Faults,
    FunctionError,
    InjectedFault,
    UnknownQueue,
    invocation_record,
)


def test_messages_are_kept_per_queue_oldest_first_and_dropped_events_listed_with_all():
    # Given two queues, two messages and a dropped event
    queues = FailureQueues(["A", "B"])
    first = queues.send({"queue": "A", "n": 1})
    queues.send({"queue": None, "n": 2})
    queues.send({"queue": "B", "n": 3})
    # When they are listed / Then per queue, and all together in the order they were sent
    assert [entry["n"] for entry in queues.entries("A")] == [1]
    assert [entry["n"] for entry in queues.entries()] == [1, 2, 3]
    assert first["messageId"]
    assert first["sentAt"].endswith("Z")


def test_a_message_is_deleted_once_and_an_unknown_queue_is_refused():
    # Given a message
    queues = FailureQueues(["A"])
    message = queues.send({"queue": "A"})
    # When it is deleted twice / Then the second finds nothing; an unknown queue raises
    assert queues.delete("A", message["messageId"])
    assert not queues.delete("A", message["messageId"])
    with pytest.raises(UnknownQueue):
        queues.entries("Nope")


def test_a_full_queue_forgets_its_oldest_message():
    # Given a queue bounded to two messages
    queues = FailureQueues(["A"], limit=2)
    for n in range(3):
        queues.send({"queue": "A", "n": n})
    # When / Then only the newest two are kept
    assert [entry["n"] for entry in queues.entries("A")] == [1, 2]
    assert queues.depths() == {"A": 2}


def test_faults_from_the_environment_name_functions_and_optional_matches():
    # Given the LEASING_LOCAL_FAULTS syntax
    faults = Faults.parse("BillingFunction, AssignAccountsFunction:evt_9,")
    # When / Then every Billing invocation fails, Assign only for events containing evt_9
    assert [(fault.function_id, fault.match) for fault in faults.list()] == [
        ("AssignAccountsFunction", "evt_9"),
        ("BillingFunction", None),
    ]
    with pytest.raises(InjectedFault):
        faults.check("BillingFunction", {"id": "x"})
    faults.check("AssignAccountsFunction", {"detail": {"eventId": "evt_1"}})
    with pytest.raises(InjectedFault):
        faults.check("AssignAccountsFunction", {"detail": {"eventId": "evt_9"}})


def test_a_delivery_fault_does_not_fail_invocations():
    # Given a delivery-stage fault / When the function is invoked / Then it is not failed by it
    faults = Faults([Fault("BillingFunction", stage="delivery")])
    faults.check("BillingFunction", {})
    assert faults.find("BillingFunction", {}, "delivery") is not None


def test_an_invocation_record_without_an_attempt_has_no_response():
    # Given an event that expired before any attempt / When its record is made / Then no response parts
    record = invocation_record(
        "F", {"id": "e"}, condition="EventAgeExceeded", attempts=0, request_id="r", error=None
    )
    assert "responseContext" not in record
    assert record["requestContext"]["approximateInvokeCount"] == 0
    with_error = invocation_record(
        "F", {}, condition="RetriesExhausted", attempts=3, request_id="r", error=FunctionError("E", "m")
    )
    assert with_error["responsePayload"] == {
        "errorMessage": "m",
        "errorType": "E",
        "requestId": "r",
        "stackTrace": [],
    }
