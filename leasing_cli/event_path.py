"""The asynchronous half of the system, run locally: stream → relay → bus → rules → consumers.

- A `StreamPoller` per `DynamoDB` event source reads the table's stream through the DynamoDB
  Streams API of the local DynamoDB (from TRIM_HORIZON), applies the source's filter criteria,
  invokes the function with batches in Lambda's DynamoDB event shape, and handles the outcome as
  Lambda does: partial batch responses (retry from the lowest failed record), bisect on error, a
  retry cap, then the records go to the on-failure list. Records of one shard stay in order.
- The `Dispatcher` runs each (rule target, event) a `LocalEventBridge` matched as AWS does: the
  rule delivers it to Lambda once (its retry policy and dead-letter queue cover delivery only),
  and Lambda invokes the function asynchronously on a pool of daemon threads, retrying a function
  error as the function's `EventInvokeConfig` says, then sending the invocation record to its
  `OnFailure` destination, or dropping the event when there is none (loudly).
- Failure queues (`leasing_cli.failure_queues`) hold what each failure sent, in AWS's formats;
  `GET /_local/dlq` lists them and `DELETE /_local/dlq/{queue}/{messageId}` deletes one (replay).
- `EventPath.drain()` waits until nothing is left anywhere (the chain may go round several times:
  consumers write outbox items, which are new stream records, which are new events...).
- Schedules: `invoke_schedule` runs a scheduled function now with a classic scheduled event;
  with `run_schedules`, `rate(...)` schedules also fire on their own.
"""

from __future__ import annotations

import heapq
import itertools
import json
import queue
import re
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from leasing_cli.event_patterns import EventMatcher, matches_any
from leasing_cli.failure_queues import (
    EVENT_AGE_EXCEEDED,
    REASON_DELIVERY,
    REASON_EVENT_AGE,
    REASON_FUNCTION_ERROR,
    REASON_STREAM_BATCH,
    RECORD_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    RETRY_ATTEMPTS_EXHAUSTED,
    STAGES,
    FailureQueues,
    Fault,
    Faults,
    FunctionError,
    UnknownQueue,
    eventbridge_dlq_attributes,
    function_arn,
    invocation_record,
    lambda_dlq_attributes,
    stream_batch_record,
)
from leasing_cli.gateway import GatewayReply, LocalApiGateway, LocalRequest, json_reply
from leasing_cli.lambda_runtime import LOCAL_AWS_ENVIRONMENT, LambdaRuntime, UnknownFunction
from leasing_cli.local_eventbridge import LocalEventBridge, iso_time, log
from leasing_cli.template import (
    ACCOUNT_ID,
    REGION,
    AsyncInvokeConfig,
    EventRule,
    ScheduleSource,
    StreamSource,
    Template,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 1.0
IDLE_POLL_SECONDS = 0.05
DRAIN_TIMEOUT_SECONDS = 120.0
READ_LIMIT = 1000  # records per GetRecords call


def backoff(retry: int) -> float:
    """The wait before retry number `retry` (1-based): 0.05 s doubling, at most 1 s."""
    return float(min(FIRST_BACKOFF_SECONDS * 2 ** max(retry - 1, 0), MAX_BACKOFF_SECONDS))


def first_line(text: str) -> str:
    """A message's first line, for one-line logs (pydantic's errors span many)."""
    lines = text.strip().splitlines()
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class DrainTimeout(TimeoutError):
    """Something was still pending when the drain's time ran out."""


class Activity:
    """Counts outstanding work and moves an epoch on every change, for `drain`."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._outstanding = 0
        self.epoch = 0
        self.processed = 0
        self.failed = 0
        self._reported = (0, 0)

    def begin(self) -> None:
        with self._condition:
            self._outstanding += 1
            self.epoch += 1

    def end(self) -> None:
        with self._condition:
            self._outstanding -= 1
            self.epoch += 1
            self._condition.notify_all()

    def bump(self) -> None:
        with self._condition:
            self.epoch += 1

    def succeeded(self, count: int = 1) -> None:
        with self._condition:
            self.processed += count
            self.epoch += 1

    def failed_to_process(self, count: int = 1) -> None:
        """`count` events or records ended in a failure queue, or were dropped."""
        with self._condition:
            self.failed += count
            self.epoch += 1

    def wait_idle(self, deadline: float) -> bool:
        with self._condition:
            while self._outstanding > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(min(remaining, 0.5))
            return True

    def report(self) -> dict[str, int]:
        """Processed and failed since the previous report."""
        with self._condition:
            processed, failed = self.processed - self._reported[0], self.failed - self._reported[1]
            self._reported = (self.processed, self.failed)
            return {"processed": processed, "failed": failed}


# ------------------------------------------------------------------ rule delivery and async invoke

#: Lambda's waits before the 2nd and 3rd attempt of a failed asynchronous invocation (about 1 and
#: 2 minutes in AWS). Locally they are shortened by `LOCAL_TIME_SCALE`, but counted in full in the
#: event's age, so `MaximumEventAgeInSeconds` cuts retries exactly where AWS would.
ASYNC_RETRY_DELAYS_SECONDS = (60.0, 120.0)
LOCAL_TIME_SCALE = 0.001


@dataclass
class AsyncInvocation:
    """One event Lambda accepted for an asynchronous invocation, and how its attempts went."""

    function_id: str
    source: str  # the rule or schedule that sent it (for logs)
    event: dict[str, Any]
    config: AsyncInvokeConfig
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: float = field(default_factory=time.monotonic)
    shortened_seconds: float = 0.0  # AWS retry waits that were shortened locally
    attempts: int = 0
    error: FunctionError | None = None

    def age_seconds(self) -> float:
        """The event's age as AWS would count it: local time plus the full AWS retry waits."""
        return time.monotonic() - self.received + self.shortened_seconds


@dataclass(frozen=True)
class RuleTarget:
    """What EventBridge needs to deliver to a function: the rule, its target and dead-letter queue."""

    function_id: str
    rule_name: str
    rule_arn: str
    dead_letter_queue: str | None


def _rule_arn(bus_name: str, rule_name: str) -> str:
    path = rule_name if bus_name == "default" else f"{bus_name}/{rule_name}"
    return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{path}"


class Dispatcher:
    """Rule → function as AWS runs it: EventBridge delivers once, Lambda invokes asynchronously.

    - Delivery (EventBridge): the rule's `RetryPolicy` and `DeadLetterConfig` cover only handing the
      event to Lambda. Locally a delivery fails only when fault injection says so (stage
      `delivery`, answered like a missing permission: `NO_PERMISSIONS`, which EventBridge does not
      retry); the event goes to the rule's dead-letter queue with EventBridge's attributes, or is
      dropped without one.
    - Invocation (Lambda): a function error is retried `MaximumRetryAttempts` times (the function's
      `EventInvokeConfig`, 2 by default) after Lambda's waits, within `MaximumEventAgeInSeconds`;
      then the invocation record goes to the `OnFailure` destination, else the event to the
      function's `DeadLetterQueue`, else the event is dropped (an ERROR line and an entry with
      queue null).
    """

    def __init__(
        self,
        runtime: LambdaRuntime,
        activity: Activity,
        queues: FailureQueues,
        faults: Faults,
        workers: int = 8,
    ) -> None:
        self.runtime = runtime
        self.activity = activity
        self.queues = queues
        self.faults = faults
        self._queue: queue.Queue[AsyncInvocation | None] = queue.Queue()
        self._retries: list[tuple[float, int, AsyncInvocation]] = []
        self._retry_condition = threading.Condition()
        self._sequence = itertools.count()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"event-delivery-{index}", daemon=True)
            for index in range(workers)
        ]
        self._threads.append(threading.Thread(target=self._release_retries, name="event-retry", daemon=True))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopped.set()
        for _ in range(len(self._threads)):
            self._queue.put(None)
        with self._retry_condition:
            self._retry_condition.notify_all()

    # -- EventBridge: delivery to the target ---------------------------------------------------

    def submit_rule(self, rule: EventRule, event: dict[str, Any]) -> None:
        self.deliver(
            RuleTarget(
                rule.function_id,
                rule.rule_name,
                _rule_arn(rule.bus_name, rule.rule_name),
                rule.dead_letter_queue,
            ),
            event,
        )

    def submit_schedule(self, schedule: ScheduleSource, event: dict[str, Any]) -> None:
        self.deliver(
            RuleTarget(
                schedule.function_id, schedule.rule_name, schedule.rule_arn, schedule.dead_letter_queue
            ),
            event,
        )

    def deliver(self, target: RuleTarget, event: dict[str, Any]) -> None:
        """EventBridge hands `event` to Lambda (an asynchronous invoke), or dead-letters it."""
        try:
            function = self.runtime.function(target.function_id)
        except UnknownFunction as error:
            self._undeliverable(target, event, "RESOURCE_NOT_FOUND", str(error))
            return
        fault = self.faults.find(target.function_id, event, "delivery")
        if fault is not None:
            self._undeliverable(
                target,
                event,
                "NO_PERMISSIONS",
                f"{fault.message}: EventBridge is not allowed to invoke {function.arn}",
            )
            return
        self.submit(
            AsyncInvocation(
                function_id=target.function_id,
                source=target.rule_name,
                event=event,
                config=function.async_config,
            )
        )

    def _undeliverable(self, target: RuleTarget, event: dict[str, Any], code: str, message: str) -> None:
        entry: dict[str, Any] = {
            "queue": target.dead_letter_queue,
            "function": target.function_id,
            "source": target.rule_name,
            "reason": REASON_DELIVERY,
            "attempts": 1,
            "event": event,
            "error": {"type": code, "message": message},
            "message": event,
            "messageAttributes": eventbridge_dlq_attributes(
                rule_arn=target.rule_arn,
                target_arn=function_arn(target.function_id),
                code=code,
                message=message,
                retry_attempts=0,
            ),
        }
        self._send(entry, f"{target.rule_name}: event {event.get('id')} could not be delivered ({code})")

    # -- Lambda: asynchronous invocation -------------------------------------------------------

    def submit(self, invocation: AsyncInvocation) -> None:
        self.activity.begin()
        self._queue.put(invocation)

    def _work(self) -> None:
        while not self._stopped.is_set():
            invocation = self._queue.get()
            if invocation is None:
                return
            try:
                self._attempt(invocation)
            except BaseException:  # pragma: no cover - never leave the activity counter behind
                self.activity.end()
                raise

    def _attempt(self, invocation: AsyncInvocation) -> None:
        invocation.attempts += 1
        try:
            self.faults.check(invocation.function_id, invocation.event)
            self.runtime.invoke(invocation.function_id, invocation.event)
        except Exception as error:
            invocation.error = FunctionError.of(error)
            log(
                f"{invocation.function_id}: attempt {invocation.attempts} of event "
                f"{invocation.event.get('id')} (from {invocation.source}) failed: "
                f"{invocation.error.type}: {first_line(invocation.error.message)}"
            )
        else:
            self.activity.succeeded()
            self.activity.end()
            return
        config = invocation.config
        if invocation.attempts > config.maximum_retry_attempts:
            self._give_up(invocation, RETRIES_EXHAUSTED)
            return
        delay = ASYNC_RETRY_DELAYS_SECONDS[min(invocation.attempts, len(ASYNC_RETRY_DELAYS_SECONDS)) - 1]
        if invocation.age_seconds() + delay > config.maximum_event_age_seconds:
            self._give_up(invocation, EVENT_AGE_EXCEEDED)
            return
        invocation.shortened_seconds += delay
        with self._retry_condition:
            due = time.monotonic() + delay * LOCAL_TIME_SCALE
            heapq.heappush(self._retries, (due, next(self._sequence), invocation))
            self._retry_condition.notify_all()

    def _give_up(self, invocation: AsyncInvocation, condition: str) -> None:
        config = invocation.config
        error = invocation.error or FunctionError("EventAgeExceeded", "the event expired before an attempt")
        entry: dict[str, Any] = {
            "queue": None,
            "function": invocation.function_id,
            "source": invocation.source,
            "reason": REASON_FUNCTION_ERROR if condition == RETRIES_EXHAUSTED else REASON_EVENT_AGE,
            "attempts": invocation.attempts,
            "event": invocation.event,
            "error": error.summary(),
            "message": None,
        }
        if config.on_failure_destination is not None:
            entry["queue"] = config.on_failure_destination
            entry["message"] = invocation_record(
                invocation.function_id,
                invocation.event,
                condition=condition,
                attempts=invocation.attempts,
                request_id=invocation.request_id,
                error=invocation.error,
            )
        elif config.dead_letter_queue is not None:
            entry["queue"] = config.dead_letter_queue
            entry["message"] = invocation.event
            entry["messageAttributes"] = lambda_dlq_attributes(invocation.request_id, error)
        self._send(
            entry,
            f"{invocation.function_id}: event {invocation.event.get('id')} failed "
            f"{invocation.attempts} attempt(s) ({condition})",
        )
        self.activity.end()

    def _send(self, entry: dict[str, Any], what: str) -> None:
        sent = self.queues.send(entry)
        self.activity.failed_to_process()
        if sent["queue"] is None:
            log(
                f"ERROR {what}; it has no failure destination, so AWS would DROP it: the event is "
                f"lost (GET /_local/dlq lists it with queue null, message {sent['messageId']})"
            )
        else:
            log(f"{what}; sent to {sent['queue']} as message {sent['messageId']}")

    def _release_retries(self) -> None:
        with self._retry_condition:
            while not self._stopped.is_set():
                if not self._retries:
                    self._retry_condition.wait()
                    continue
                due = self._retries[0][0] - time.monotonic()
                if due > 0:
                    self._retry_condition.wait(due)
                    continue
                _, _, invocation = heapq.heappop(self._retries)
                self._queue.put(invocation)


# --------------------------------------------------------------------------------- stream relay


def lambda_stream_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams API record in the shape Lambda passes it to a function."""
    data = dict(record.get("dynamodb") or {})
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        data["ApproximateCreationDateTime"] = int(created.timestamp())
    elif created is None:
        data["ApproximateCreationDateTime"] = int(time.time())
    ordered = {
        key: data[key]
        for key in (
            "ApproximateCreationDateTime",
            "Keys",
            "NewImage",
            "OldImage",
            "SequenceNumber",
            "SizeBytes",
            "StreamViewType",
        )
        if key in data
    }
    return {
        "eventID": record.get("eventID", uuid.uuid4().hex),
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", REGION),
        "dynamodb": ordered,
        "eventSourceARN": stream_arn,
    }


class InvalidBatchResponse(ValueError):
    """`batchItemFailures` names a record that is not in the batch (Lambda fails the whole batch)."""


def failed_index(result: Any, batch: list[dict[str, Any]]) -> int | None:
    """Index of the first failed record of a partial batch response, None when all succeeded."""
    if not isinstance(result, Mapping):
        return None
    failures = result.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        raise InvalidBatchResponse("batchItemFailures is not a list")
    positions = {record["dynamodb"].get("SequenceNumber"): index for index, record in enumerate(batch)}
    indexes: list[int] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in positions:
            raise InvalidBatchResponse(f"batchItemFailures names {identifier!r}, not a record of the batch")
        indexes.append(positions[identifier])
    return min(indexes)


class StreamPoller:
    """Reads one table's stream for one function, in order, until stopped."""

    def __init__(
        self,
        source: StreamSource,
        runtime: LambdaRuntime,
        activity: Activity,
        dynamodb: DynamoDBClient,
        streams: Any,
        table_name: str,
        queues: FailureQueues,
        faults: Faults,
    ) -> None:
        self.queues = queues
        self.faults = faults
        self.source = source
        self.runtime = runtime
        self.activity = activity
        self.dynamodb = dynamodb
        self.streams = streams
        self.table_name = table_name
        self.matchers = [EventMatcher(pattern) for pattern in source.filter_patterns]
        self.stream_arn: str | None = None
        self._iterators: dict[str, str | None] = {}
        self._condition = threading.Condition()
        self._requested = 0
        self._idle_cycle = -1
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"stream-{source.function_id}-{source.event_name}", daemon=True
        )
        self._last_error = ""

    @property
    def label(self) -> str:
        return f"{self.source.function_id}-{self.source.event_name}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def wait_caught_up(self, deadline: float) -> bool:
        """True once a read that started after this call found nothing left to process."""
        with self._condition:
            self._requested += 1
            target = self._requested
        self._wake.set()
        with self._condition:
            while self._idle_cycle < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._condition.wait(min(remaining, 0.5))
            return True

    # -- the loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped.is_set():
            with self._condition:
                cycle = self._requested
            try:
                had_records = self._poll_once()
            except Exception as error:
                text = _error_text(error)
                if text != self._last_error:
                    log(f"{self.label}: reading the stream failed: {text}")
                    self._last_error = text
                self.stream_arn = None  # locate the stream again (the table may have been recreated)
                had_records = False
                if not self._table_missing(error):
                    self._stopped.wait(0.5)
                    continue
            if had_records:
                continue
            with self._condition:
                self._idle_cycle = max(self._idle_cycle, cycle)
                self._condition.notify_all()
            self._wake.wait(IDLE_POLL_SECONDS)
            self._wake.clear()

    @staticmethod
    def _table_missing(error: Exception) -> bool:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
        return bool(code == "ResourceNotFoundException")

    def _locate(self) -> None:
        table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        arn = table.get("LatestStreamArn")
        if not arn:
            raise RuntimeError(f"table {self.table_name} has no stream")
        if arn != self.stream_arn:
            self.stream_arn = arn
            self._iterators = {}
        description = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                position = "LATEST" if self.source.starting_position == "LATEST" else "TRIM_HORIZON"
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard_id, ShardIteratorType=position
                )["ShardIterator"]

    def _poll_once(self) -> bool:
        if self.stream_arn is None:
            self._locate()
        assert self.stream_arn is not None
        by_shard: list[tuple[str, list[dict[str, Any]]]] = []
        for shard_id, iterator in list(self._iterators.items()):
            records: list[dict[str, Any]] = []
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
                iterator = page.get("NextShardIterator")
                self._iterators[shard_id] = iterator
                records.extend(page.get("Records", []))
                if not page.get("Records"):
                    break
            if records:
                by_shard.append((shard_id, records))
        self._last_error = ""
        if not by_shard:
            return False
        self.activity.bump()
        for shard_id, records in by_shard:  # Lambda's batches never mix shards
            matched = [
                record
                for record in (lambda_stream_record(raw, self.stream_arn) for raw in records)
                if matches_any(self.matchers, record)
            ]
            size = max(self.source.batch_size, 1)
            for start in range(0, len(matched), size):
                if self._stopped.is_set():
                    break
                self._process(shard_id, matched[start : start + size])
        return True

    # -- one batch, as Lambda's event source mapping handles it --------------------------------

    def _process(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        """Invoke with the batch; on an error bisect (free of the retry quota) or retry the batch;
        with a partial batch response retry from the lowest failed record; then give up."""
        pending: deque[tuple[list[dict[str, Any]], int]] = deque([(records, 0)])
        while pending and not self._stopped.is_set():
            batch, retries = pending.popleft()
            event = {"Records": batch}
            try:
                self.faults.check(self.source.function_id, event)
                result = self.runtime.invoke(self.source.function_id, event)
                index = failed_index(result, batch) if self.source.report_batch_item_failures else None
            except Exception as error:
                failure = FunctionError.of(error)
                log(
                    f"{self.label}: batch of {len(batch)} failed: "
                    f"{failure.type}: {first_line(failure.message)}"
                )
                if self.source.bisect_on_error and len(batch) > 1:
                    half = len(batch) // 2
                    pending.appendleft((batch[half:], retries))
                    pending.appendleft((batch[:half], retries))
                    continue
                self._retry_or_give_up(pending, shard_id, batch, retries, failure, function_error=True)
                continue
            if index is None:
                self.activity.succeeded(len(batch))
                continue
            if index:
                self.activity.succeeded(index)
            sequence = batch[index]["dynamodb"].get("SequenceNumber")
            failure = FunctionError("BatchItemFailure", f"batchItemFailures: record {sequence} failed")
            log(f"{self.label}: {failure.message}; retrying from it")
            self._retry_or_give_up(pending, shard_id, batch[index:], retries, failure, function_error=False)

    def _retry_or_give_up(
        self,
        pending: deque[tuple[list[dict[str, Any]], int]],
        shard_id: str,
        batch: list[dict[str, Any]],
        retries: int,
        failure: FunctionError,
        *,
        function_error: bool,
    ) -> None:
        limit = self.source.maximum_retry_attempts
        oldest = min(record["dynamodb"]["ApproximateCreationDateTime"] for record in batch)
        max_age = self.source.maximum_record_age_seconds
        too_old = max_age != -1 and time.time() - oldest > max_age
        if (limit != -1 and retries >= limit) or too_old:
            self._give_up(
                shard_id,
                batch,
                retries + 1,
                failure,
                RECORD_AGE_EXCEEDED if too_old else RETRY_ATTEMPTS_EXHAUSTED,
                function_error=function_error,
            )
            return
        self._stopped.wait(backoff(retries + 1))
        pending.appendleft((batch, retries + 1))

    def _give_up(
        self,
        shard_id: str,
        batch: list[dict[str, Any]],
        attempts: int,
        failure: FunctionError,
        condition: str,
        *,
        function_error: bool,
    ) -> None:
        """The batch is skipped; its description goes to the mapping's `OnFailure` destination."""
        destination = self.source.on_failure_destination
        entry = self.queues.send(
            {
                "queue": destination,
                "function": self.source.function_id,
                "source": self.label,
                "reason": REASON_STREAM_BATCH,
                "attempts": attempts,
                "event": {"Records": batch},
                "error": failure.summary(),
                "message": stream_batch_record(
                    self.source.function_id,
                    batch,
                    shard_id=shard_id,
                    stream_arn=self.stream_arn or "",
                    condition=condition,
                    attempts=attempts,
                    request_id=str(uuid.uuid4()),
                    function_error=function_error,
                ),
            }
        )
        self.activity.failed_to_process(len(batch))
        what = f"{self.label}: {len(batch)} record(s) skipped after {attempts} attempt(s) ({condition})"
        if destination is None:
            log(f"ERROR {what}; the mapping has no OnFailure destination, so AWS would DROP them")
        else:
            log(f"{what}; described in {destination} as message {entry['messageId']}")


# ------------------------------------------------------------------------------------ schedules


class UnknownSchedule(KeyError):
    """The function has no Schedule event."""


def scheduled_event(schedule: ScheduleSource, moment: str) -> dict[str, Any]:
    """A classic EventBridge scheduled event (`time` is what the function takes as "now")."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment,
        "region": REGION,
        "resources": [schedule.rule_arn],
        "detail": {},
    }


def parse_event_time(value: str) -> str:
    """An ISO-8601 time as EventBridge writes it (UTC, `Z`); `ValueError` if it is not one."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_time(moment)


_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of a `rate(...)` expression; None for `cron(...)`."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


# ---------------------------------------------------------------------------------- the whole


def failure_queue_ids(template: Template) -> list[str]:
    """Every SQS queue of the template, and every queue a failure destination names."""
    names = set(template.queue_ids)
    for function in template.functions.values():
        config = function.async_config
        names.update(name for name in (config.on_failure_destination, config.dead_letter_queue) if name)
        names.update(rule.dead_letter_queue for rule in function.event_rules if rule.dead_letter_queue)
        names.update(item.dead_letter_queue for item in function.schedules if item.dead_letter_queue)
        names.update(
            source.on_failure_destination
            for source in function.stream_sources
            if source.on_failure_destination
        )
    return sorted(names)


def _streams_client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "dynamodbstreams",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=LOCAL_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
    )


class EventPath:
    """Every stream source, rule and (optionally) schedule of a template, running in the background."""

    def __init__(
        self,
        template: Template,
        runtime: LambdaRuntime,
        eventbridge: LocalEventBridge,
        dynamodb: DynamoDBClient,
        dynamodb_endpoint: str,
        *,
        run_schedules: bool = False,
        workers: int = 4,  # delivery threads: more only slice the one interpreter thinner for the API
        faults: Faults | None = None,
    ) -> None:
        self.template = template
        self.runtime = runtime
        self.eventbridge = eventbridge
        self.activity = Activity()
        self.queues = FailureQueues(failure_queue_ids(template))
        self.faults = faults if faults is not None else Faults()
        self.dispatcher = Dispatcher(runtime, self.activity, self.queues, self.faults, workers)
        streams = _streams_client(dynamodb_endpoint)
        self.pollers = [
            StreamPoller(
                source, runtime, self.activity, dynamodb, streams, source.table_id, self.queues, self.faults
            )
            for source in template.stream_sources
            if source.enabled
        ]
        self.run_schedules = run_schedules
        self._stopped = threading.Event()
        self._schedule_threads: list[threading.Thread] = []
        self._drain_lock = threading.Lock()

    def start(self) -> EventPath:
        self.eventbridge.sink = self.dispatcher.submit_rule
        self.dispatcher.start()
        for poller in self.pollers:
            poller.start()
        if self.run_schedules:
            for schedule in self.template.schedules:
                self._start_schedule(schedule)
        return self

    def stop(self) -> None:
        self._stopped.set()
        self.eventbridge.sink = None
        for poller in self.pollers:
            poller.stop()
        self.dispatcher.stop()
        for poller in self.pollers:
            poller.join(timeout=2)

    def __enter__(self) -> EventPath:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- drain and dead letters ----------------------------------------------------------------

    def drain(self, timeout: float = DRAIN_TIMEOUT_SECONDS) -> dict[str, int]:
        """Wait until no stream record, queued, in-flight or retrying event is left.

        Returns what was processed and dead-lettered since the previous drain.
        """
        deadline = time.monotonic() + timeout
        with self._drain_lock:
            while True:
                epoch = self.activity.epoch
                for poller in self.pollers:
                    if not poller.wait_caught_up(deadline):
                        raise DrainTimeout(f"the stream of {poller.label} is still being processed")
                if not self.activity.wait_idle(deadline):
                    raise DrainTimeout("events are still queued, in flight or waiting for a retry")
                if self.activity.epoch == epoch:
                    return self.activity.report()

    def dead_letters(self, queue_id: str | None = None) -> list[dict[str, Any]]:
        """Messages in the failure queues (and dropped events), oldest first."""
        return self.queues.entries(queue_id)

    # -- schedules -----------------------------------------------------------------------------

    def schedule_of(self, function_id: str) -> ScheduleSource:
        for schedule in self.template.schedules:
            if schedule.function_id == function_id:
                return schedule
        raise UnknownSchedule(function_id)

    def invoke_schedule(self, function_id: str, moment: str | None = None) -> Any:
        """Run the scheduled function now, synchronously, with a scheduled event at `moment`."""
        schedule = self.schedule_of(function_id)
        event = scheduled_event(schedule, moment or iso_time(datetime.now(UTC)))
        return self.runtime.invoke(function_id, event)

    def _start_schedule(self, schedule: ScheduleSource) -> None:
        interval = rate_seconds(schedule.expression)
        if not schedule.enabled:
            return
        if interval is None:
            log(f"{schedule.rule_name}: {schedule.expression} is not run locally (rate() only)")
            return

        def tick() -> None:
            while not self._stopped.wait(interval):
                self.dispatcher.submit_schedule(
                    schedule, scheduled_event(schedule, iso_time(datetime.now(UTC)))
                )

        thread = threading.Thread(target=tick, name=f"schedule-{schedule.rule_name}", daemon=True)
        thread.start()
        self._schedule_threads.append(thread)


# --------------------------------------------------------------------------- local control routes


def add_event_routes(gateway: LocalApiGateway, event_path: EventPath) -> None:
    """`POST /_local/drain`, `GET /_local/dlq`, `DELETE /_local/dlq/{queue}/{messageId}`,
    `GET|PUT|DELETE /_local/faults[/{functionId}]` and `POST /_local/schedules/{functionId}`."""

    def drain(_request: LocalRequest) -> GatewayReply:
        try:
            return json_reply(200, event_path.drain())
        except DrainTimeout as error:
            return json_reply(504, {"message": f"drain timed out: {error}"})

    def dlq(request: LocalRequest) -> GatewayReply:
        queue_id = dict(request.request.query).get("queue")
        try:
            return json_reply(200, event_path.dead_letters(queue_id or None))
        except UnknownQueue:
            return json_reply(
                404, {"message": f"no failure queue {queue_id!r}", "queues": event_path.queues.queue_ids}
            )

    def delete_message(request: LocalRequest) -> GatewayReply:
        queue_id, message_id = request.path_parameters["queue"], request.path_parameters["messageId"]
        try:
            deleted = event_path.queues.delete(queue_id, message_id)
        except UnknownQueue:
            return json_reply(404, {"message": f"no failure queue {queue_id!r}"})
        if not deleted:
            return json_reply(404, {"message": f"no message {message_id!r} in {queue_id}"})
        return json_reply(200, {"queue": queue_id, "messageId": message_id, "deleted": True})

    def list_faults(_request: LocalRequest) -> GatewayReply:
        return json_reply(200, [fault.as_json() for fault in event_path.faults.list()])

    def set_fault(request: LocalRequest) -> GatewayReply:
        function_id = request.path_parameters["functionId"]
        if function_id not in event_path.template.functions:
            return json_reply(404, {"message": f"no function {function_id!r} in the template"})
        try:
            body = request.json_body() or {}
        except ValueError:
            body = None
        expected = '{"match": "<text>"|null, "stage": "invoke"|"delivery", "message": "<text>"}'
        if not isinstance(body, dict):
            return json_reply(422, {"message": f"expected {expected}"})
        match, stage, message = (
            body.get("match"),
            body.get("stage", "invoke"),
            body.get("message", "injected fault"),
        )
        if (
            (match is not None and not isinstance(match, str))
            or stage not in STAGES
            or not isinstance(message, str)
        ):
            return json_reply(422, {"message": f"expected {expected}"})
        fault = Fault(function_id=function_id, match=match or None, stage=stage, message=message)
        event_path.faults.set(fault)
        when = f", when the event contains {match!r}" if match else ""
        log(f"fault injection: {function_id} now fails ({stage}{when})")
        return json_reply(200, fault.as_json())

    def clear_fault(request: LocalRequest) -> GatewayReply:
        function_id = request.path_parameters["functionId"]
        if not event_path.faults.clear(function_id):
            return json_reply(404, {"message": f"no fault injected into {function_id!r}"})
        log(f"fault injection: {function_id} no longer fails")
        return json_reply(200, {"function": function_id, "cleared": True})

    def schedule(request: LocalRequest) -> GatewayReply:
        function_id = request.path_parameters["functionId"]
        try:
            event_path.schedule_of(function_id)
        except UnknownSchedule:
            return json_reply(404, {"message": f"{function_id} has no Schedule event in the template"})
        try:
            body = request.json_body()
        except ValueError:
            return json_reply(422, {"message": 'the body must be JSON: {"time": "<ISO-8601>"}'})
        moment: str | None = None
        invocation = "RequestResponse"
        expected = 'expected {"time": "<ISO-8601>", "invocation": "RequestResponse"|"Event"}'
        if body is not None:
            raw_time = body.get("time") if isinstance(body, dict) else None
            if not isinstance(body, dict) or (raw_time is not None and not isinstance(raw_time, str)):
                return json_reply(422, {"message": expected})
            invocation = body.get("invocation", invocation)
            if invocation not in ("RequestResponse", "Event"):
                return json_reply(422, {"message": expected})
            if raw_time is not None:
                try:
                    moment = parse_event_time(raw_time)
                except ValueError:
                    return json_reply(422, {"message": f"time {raw_time!r} is not an ISO-8601 date-time"})
        if invocation == "Event":  # as the schedule's rule does: delivered, then invoked asynchronously
            schedule_source = event_path.schedule_of(function_id)
            event = scheduled_event(schedule_source, moment or iso_time(datetime.now(UTC)))
            event_path.dispatcher.submit_schedule(schedule_source, event)
            return json_reply(202, {"function": function_id, "invocation": "Event", "eventId": event["id"]})
        try:
            result = event_path.invoke_schedule(function_id, moment)
        except Exception as error:
            log(f"{function_id} (scheduled) failed:\n{traceback.format_exc()}")
            return json_reply(
                500,
                {"function": function_id, "errorType": type(error).__name__, "errorMessage": str(error)},
            )
        return GatewayReply(
            status=200,
            headers=[("Content-Type", "application/json; charset=utf-8")],
            body=json.dumps({"function": function_id, "result": result}, default=str).encode(),
        )

    gateway.add_local_route("POST", "/_local/drain", drain)
    gateway.add_local_route("GET", "/_local/dlq", dlq)
    gateway.add_local_route("DELETE", "/_local/dlq/{queue}/{messageId}", delete_message)
    gateway.add_local_route("GET", "/_local/faults", list_faults)
    gateway.add_local_route("PUT", "/_local/faults/{functionId}", set_fault)
    gateway.add_local_route("DELETE", "/_local/faults/{functionId}", clear_fault)
    gateway.add_local_route("POST", "/_local/schedules/{functionId}", schedule)
