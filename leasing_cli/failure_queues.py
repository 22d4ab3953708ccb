"""Where failures go, locally, in the formats AWS writes them: the template's SQS queues in memory.

Three senders put messages on a failure queue in AWS, each in its own format (the `message` of a
local entry is that body, byte for byte what AWS would send, parsed as JSON):

- **Lambda, asynchronous invocation** (rule and schedule targets): after `1 + MaximumRetryAttempts`
  failed attempts (condition `RetriesExhausted`) or once the event is older than
  `MaximumEventAgeInSeconds` (`EventAgeExceeded`), an *invocation record* goes to the function's
  `EventInvokeConfig` `OnFailure` destination: `version`, `timestamp`, `requestContext`
  (`requestId`, `functionArn`, `condition`, `approximateInvokeCount`), `requestPayload` (the event),
  `responseContext` (`statusCode`, `executedVersion`, `functionError`) and `responsePayload` (the
  runtime's error: `errorMessage`, `errorType`, `requestId`, `stackTrace`). Without a destination,
  a function `DeadLetterQueue` gets the event itself; without either, the event is dropped.
- **Lambda, stream event source mapping** (the outbox relay): a batch that exhausted its retries
  (`RetryAttemptsExhausted`) or outlived `MaximumRecordAgeInSeconds` (`RecordAgeExceeded`) is
  described, not copied: `requestContext`, `responseContext`, `version`, `timestamp` and
  `DDBStreamBatchInfo` (shard, first and last sequence numbers, arrival times, size, stream ARN).
- **EventBridge** (a rule target's `DeadLetterConfig`): an event it could not *deliver* to the
  target is the message body as is, with the message attributes `RULE_ARN`, `TARGET_ARN`,
  `ERROR_CODE`, `ERROR_MESSAGE` and `RETRY_ATTEMPTS`.

`FailureQueues` keeps the messages per queue (bounded, oldest first out) and the events that were
dropped (queue `None`); `Faults` is the local runtime's fault injection (never in function code).
"""

from __future__ import annotations

import itertools
import json
import threading
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leasing_cli.template import ACCOUNT_ID, REGION

#: Messages kept per queue (and dropped events kept): the oldest go first beyond this.
MAX_MESSAGES_PER_QUEUE = 10_000

#: `condition` of an invocation record / stream batch record.
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"

#: `reason` of a local entry.
REASON_FUNCTION_ERROR = "function-error"
REASON_EVENT_AGE = "event-age"
REASON_DELIVERY = "delivery"
REASON_STREAM_BATCH = "stream-batch"


def iso_millis(moment: datetime | None = None) -> str:
    """`2026-11-30T10:00:00.123Z`, as Lambda writes `timestamp`."""
    value = (moment or datetime.now(UTC)).astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def function_arn(function_id: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_id}"


def queue_arn(queue_id: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_id}"


@dataclass(frozen=True)
class FunctionError:
    """What the Python runtime reports for an unhandled exception."""

    type: str
    message: str
    stack_trace: tuple[str, ...] = ()

    @classmethod
    def of(cls, error: BaseException) -> FunctionError:
        frames = traceback.format_list(traceback.extract_tb(error.__traceback__))
        return cls(type=type(error).__name__, message=str(error), stack_trace=tuple(frames))

    def summary(self) -> dict[str, str]:
        return {"type": self.type, "message": self.message}

    def payload(self, request_id: str) -> dict[str, Any]:
        """`responsePayload` of a failed invocation (the Python runtime's error document)."""
        return {
            "errorMessage": self.message,
            "errorType": self.type,
            "requestId": request_id,
            "stackTrace": list(self.stack_trace),
        }


def invocation_record(
    function_id: str,
    event: Any,
    *,
    condition: str,
    attempts: int,
    request_id: str,
    error: FunctionError | None,
) -> dict[str, Any]:
    """The record Lambda sends to an asynchronous invocation's `OnFailure` destination."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_millis(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn(function_id)}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
    }
    if error is not None:  # an event that expired before any attempt has no response
        record["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        record["responsePayload"] = error.payload(request_id)
    return record


def _arrival(record: Mapping[str, Any]) -> str:
    created = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    moment = datetime.fromtimestamp(float(created), UTC) if created is not None else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def stream_batch_record(
    function_id: str,
    batch: list[dict[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    condition: str,
    attempts: int,
    request_id: str,
    function_error: bool,
) -> dict[str, Any]:
    """The record a DynamoDB stream event source mapping sends to its `OnFailure` destination."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:  # a partial batch response is not a function error
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn(function_id),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_millis(),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": str(batch[0]["dynamodb"].get("SequenceNumber")),
            "endSequenceNumber": str(batch[-1]["dynamodb"].get("SequenceNumber")),
            "approximateArrivalOfFirstRecord": _arrival(batch[0]),
            "approximateArrivalOfLastRecord": _arrival(batch[-1]),
            "batchSize": len(batch),
            "streamArn": stream_arn,
        },
    }


def string_attributes(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """SQS `MessageAttributes` of type String."""
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def eventbridge_dlq_attributes(
    *, rule_arn: str, target_arn: str, code: str, message: str, retry_attempts: int
) -> dict[str, dict[str, str]]:
    """The message attributes EventBridge puts on an event it dead-letters."""
    return string_attributes(
        {
            "RULE_ARN": rule_arn,
            "TARGET_ARN": target_arn,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message,
            "RETRY_ATTEMPTS": str(retry_attempts),
        }
    )


def lambda_dlq_attributes(request_id: str, error: FunctionError) -> dict[str, dict[str, str]]:
    """The message attributes Lambda puts on an event it sends to a function's dead-letter queue."""
    return string_attributes(
        {"RequestID": request_id, "ErrorCode": "200", "ErrorMessage": f"{error.type}: {error.message}"}
    )


class UnknownQueue(KeyError):
    """No such failure queue."""


class FailureQueues:
    """The failure queues of a template, in memory, and the list of dropped events.

    `send` takes a local entry (see `GET /_local/dlq`) whose `queue` is a queue's logical id, or
    None for an event that AWS would drop; it gets a `messageId` and a `sentAt`.
    """

    def __init__(self, queue_ids: Iterable[str], limit: int = MAX_MESSAGES_PER_QUEUE) -> None:
        self.limit = limit
        self._queues: dict[str, OrderedDict[str, tuple[int, dict[str, Any]]]] = {
            queue_id: OrderedDict() for queue_id in queue_ids
        }
        self._dropped: deque[tuple[int, dict[str, Any]]] = deque(maxlen=limit)
        self._sequence = itertools.count()
        self._lock = threading.Lock()

    @property
    def queue_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._queues)

    def send(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry = {**entry, "messageId": str(uuid.uuid4()), "sentAt": iso_millis()}
        with self._lock:
            number = next(self._sequence)
            queue_id = entry.get("queue")
            if queue_id is None:
                self._dropped.append((number, entry))
                return entry
            messages = self._queues.setdefault(str(queue_id), OrderedDict())
            messages[entry["messageId"]] = (number, entry)
            while len(messages) > self.limit:
                messages.popitem(last=False)
        return entry

    def entries(self, queue_id: str | None = None) -> list[dict[str, Any]]:
        """Every message (of one queue, or of all plus the dropped events), oldest first."""
        with self._lock:
            if queue_id is not None:
                if queue_id not in self._queues:
                    raise UnknownQueue(queue_id)
                numbered = list(self._queues[queue_id].values())
            else:
                numbered = [item for queue in self._queues.values() for item in queue.values()]
                numbered.extend(self._dropped)
        return [entry for _, entry in sorted(numbered, key=lambda item: item[0])]

    def delete(self, queue_id: str, message_id: str) -> bool:
        with self._lock:
            if queue_id not in self._queues:
                raise UnknownQueue(queue_id)
            return self._queues[queue_id].pop(message_id, None) is not None

    def depths(self) -> dict[str, int]:
        with self._lock:
            return {queue_id: len(messages) for queue_id, messages in sorted(self._queues.items())}


# ----------------------------------------------------------------------------------- faults


class InjectedFault(RuntimeError):
    """Raised in place of a function's invocation by the local runtime's fault injection."""


@dataclass(frozen=True)
class Fault:
    """Make `function_id` fail: every invocation, or only those whose event's JSON contains `match`.

    `stage` `invoke` raises in place of the handler (a function error); `delivery` makes the
    EventBridge rule unable to deliver to the function (as a missing permission would).
    """

    function_id: str
    match: str | None = None
    stage: str = "invoke"
    message: str = "injected fault"

    def applies(self, event: Any) -> bool:
        return self.match is None or self.match in json.dumps(event, default=str)

    def as_json(self) -> dict[str, Any]:
        return {
            "function": self.function_id,
            "match": self.match,
            "stage": self.stage,
            "message": self.message,
        }


STAGES = ("invoke", "delivery")


class Faults:
    """Fault injection of the local event path, set by `LEASING_LOCAL_FAULTS` or `/_local/faults`."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._faults: dict[str, Fault] = {fault.function_id: fault for fault in faults}
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, text: str) -> Faults:
        """`FunctionId[:match],...` (every invocation of the function, or those containing match)."""
        faults: list[Fault] = []
        for item in text.split(","):
            name, _, match = item.strip().partition(":")
            if name:
                faults.append(Fault(function_id=name, match=match or None))
        return cls(faults)

    def set(self, fault: Fault) -> None:
        with self._lock:
            self._faults[fault.function_id] = fault

    def clear(self, function_id: str) -> bool:
        with self._lock:
            return self._faults.pop(function_id, None) is not None

    def list(self) -> list[Fault]:
        with self._lock:
            return sorted(self._faults.values(), key=lambda fault: fault.function_id)

    def find(self, function_id: str, event: Any, stage: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(function_id)
        if fault is not None and fault.stage == stage and fault.applies(event):
            return fault
        return None

    def check(self, function_id: str, event: Any) -> None:
        """Raise `InjectedFault` when an invocation of `function_id` with `event` is to fail."""
        fault = self.find(function_id, event, "invoke")
        if fault is not None:
            raise InjectedFault(f"{fault.message} ({function_id})")
