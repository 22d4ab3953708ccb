"""`leasing admin dlq list|replay`: read a failure queue and put the failed events back on the bus.

Targets: a running `leasing serve` (`--server`: its `/_local/dlq` routes and local EventBridge) or a
deployed stack (`--stack`: the stack's SQS queues, its `EventBusName` output, boto3's credentials).

A message is understood in each format AWS writes to this stack's queues:

- a Lambda **invocation record** (a function's `EventInvokeConfig` `OnFailure` queue): the original
  EventBridge event is its `requestPayload`;
- an **EventBridge event** as the body (a rule's dead-letter queue, or a function's
  `DeadLetterQueue`): the body is the event;
- a **stream batch record** (`DDBStreamBatchInfo`, the relay's failure queue): it names a range of
  the table's stream, not events; replay reads that range from the stream (DynamoDB keeps stream
  records 24 hours) and publishes the outbox items in it as the relay would.

Replay puts each event back with `PutEvents` (`Source`, `DetailType`, `Detail`, `Resources` of the
original, on the stack's bus) and deletes the message only once the put succeeded; the consumers are
idempotent on `detail.eventId`, so replaying twice is harmless. A scheduled event (`aws.events`
cannot be put by anyone else) is replayed by invoking its function with it again.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from leasing_cli.admin.render import table
from leasing_cli.admin.targets import (
    HEALTH_TIMEOUT_SECONDS,
    LOCAL_CREDENTIAL,
    LOCAL_REGION,
    TargetError,
    _client_config,
    _http_url,
)

EVENT_SOURCE = "layers.leasing"  # the relay's Source (layers_common.events_bus.EVENT_SOURCE)
MAX_ENTRIES_PER_CALL = 10
RECEIVE_ROUNDS = 10  # receive calls per queue when listing or replaying (10 messages each)
REPLAY_VISIBILITY_SECONDS = 120

Result = tuple[Any, str, int]


class DlqError(Exception):
    """A refused dlq operation (unknown queue, no such target): one line on stderr, exit code 2."""


# ----------------------------------------------------------------------------- message formats


@dataclass
class FailedMessage:
    """One message of a failure queue, understood."""

    queue: str
    message_id: str
    body: Any
    kind: str  # invocation-record | event | stream-batch | unknown
    event: dict[str, Any] | None = None
    function: str | None = None
    condition: str | None = None
    attempts: int | None = None
    error: str | None = None
    batch: dict[str, Any] | None = None
    receipt_handle: str | None = None  # --stack only
    attributes: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # function-error | event-age | delivery | stream-batch
    records: list[dict[str, Any]] | None = None  # a stream batch's records, when known (--server)

    def summary(self) -> dict[str, Any]:
        event = self.event or {}
        return {
            "queue": self.queue,
            "messageId": self.message_id,
            "reason": self.reason,
            "kind": self.kind,
            "function": self.function,
            "condition": self.condition,
            "attempts": self.attempts,
            "error": self.error,
            "eventId": (event.get("detail") or {}).get("eventId")
            if isinstance(event.get("detail"), dict)
            else None,
            "detailType": event.get("detail-type"),
            "event": self.event if self.records is None else {"Records": self.records},
            "batch": self.batch,
            "attributes": self.attributes,
        }


def _function_name(arn: Any) -> str | None:
    if not isinstance(arn, str) or ":function:" not in arn:
        return None
    return arn.split(":function:", 1)[1].split(":", 1)[0]


def _is_event(value: Any) -> bool:
    return isinstance(value, dict) and "detail-type" in value and "source" in value and "detail" in value


def understand(queue: str, message_id: str, body: Any, attributes: dict[str, str]) -> FailedMessage:
    """Classify a message body (parsed JSON, or text) in the formats AWS sends to failure queues."""
    message = FailedMessage(
        queue=queue, message_id=message_id, body=body, kind="unknown", attributes=attributes
    )
    if isinstance(body, dict) and isinstance(body.get("requestContext"), dict):
        context = body["requestContext"]
        message.function = _function_name(context.get("functionArn"))
        message.condition = context.get("condition")
        message.attempts = context.get("approximateInvokeCount")
        payload = body.get("responsePayload")
        if isinstance(payload, dict) and payload.get("errorType"):
            message.error = f"{payload.get('errorType')}: {payload.get('errorMessage')}"
        if isinstance(body.get("DDBStreamBatchInfo"), dict):
            message.kind = "stream-batch"
            message.batch = body["DDBStreamBatchInfo"]
        elif _is_event(body.get("requestPayload")):
            message.kind = "invocation-record"
            message.event = body["requestPayload"]
        if message.kind == "stream-batch":
            message.reason = "stream-batch"
        else:
            message.reason = "event-age" if message.condition == "EventAgeExceeded" else "function-error"
    elif _is_event(body):
        message.kind = "event"
        # EventBridge's dead-letter attributes (a delivery failure), or Lambda's (a function's DLQ)
        message.reason = (
            "delivery" if "RULE_ARN" in attributes or "ERROR_CODE" in attributes else "function-error"
        )
        message.event = body
        message.function = _function_name(attributes.get("TARGET_ARN"))
        code = attributes.get("ERROR_CODE") or attributes.get("ErrorCode")
        text = attributes.get("ERROR_MESSAGE") or attributes.get("ErrorMessage")
        if code or text:
            message.error = ": ".join(part for part in (code, text) if part)
        if attributes.get("RETRY_ATTEMPTS") is not None:
            message.attempts = int(attributes["RETRY_ATTEMPTS"]) + 1
    return message


def put_entry(event: dict[str, Any], bus_name: str) -> dict[str, Any]:
    """The PutEvents entry that puts an EventBridge event back on the bus as it was."""
    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "EventBusName": bus_name,
    }
    if event.get("resources"):
        entry["Resources"] = list(event["resources"])
    return entry


def is_scheduled(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"


def outbox_entries(records: list[dict[str, Any]], bus_name: str) -> list[dict[str, Any]]:
    """PutEvents entries for the outbox items among DynamoDB stream records (as the relay makes them)."""
    entries: list[dict[str, Any]] = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        event_type = (image.get("eventType") or {}).get("S")
        detail = (image.get("detail") or {}).get("S")
        if record.get("eventName") == "INSERT" and event_type and detail:
            entries.append(
                {"Source": EVENT_SOURCE, "DetailType": event_type, "Detail": detail, "EventBusName": bus_name}
            )
    return entries


# ------------------------------------------------------------------------------------- targets


#: An EventBridge client (boto3's; typed loosely so either target's client fits).
EventsClient = Any


class Queues(Protocol):
    """Where failure messages live (local routes or SQS) and how the events go back."""

    label: str
    bus_name: str

    def queue_names(self) -> list[str]: ...
    def messages(self, queue: str, *, for_replay: bool) -> list[FailedMessage]: ...
    def delete(self, message: FailedMessage) -> None: ...
    def release(self, message: FailedMessage) -> None: ...
    def events(self) -> EventsClient: ...
    def stream_records(self, message: FailedMessage) -> list[dict[str, Any]]: ...
    def run_scheduled(self, function: str, event: dict[str, Any]) -> None: ...


def _read_stream_range(streams: Any, batch: dict[str, Any], stream_arn: str) -> list[dict[str, Any]]:
    """The stream records from `startSequenceNumber` to `endSequenceNumber` of one shard."""
    start, end = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=batch["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=str(batch["startSequenceNumber"]),
    ).get("ShardIterator")
    records: list[dict[str, Any]] = []
    for _ in range(1000):
        if not iterator:
            break
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        iterator = page.get("NextShardIterator")
        chunk = page.get("Records") or []
        for record in chunk:
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > end:
                return records
            if sequence >= start:
                records.append(record)
        if not chunk:
            break
    return records


class LocalQueues:
    """A running `leasing serve`: `/_local/dlq`, its local EventBridge and DynamoDB Streams."""

    def __init__(self, server: str) -> None:
        self.server = _http_url(server, "--server")
        self.label = f"leasing serve at {self.server}"
        health = self._call("GET", "/_local/health")
        if not isinstance(health, dict) or not health.get("eventBridgeEndpoint"):
            raise TargetError(
                f"{self.server} does not report an eventBridgeEndpoint (an older leasing serve?)"
            )
        self.health = health
        self.bus_name = str(health.get("eventBusName") or "default")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.server + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT_SECONDS * 12) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:200]
            if error.code == 404:
                raise DlqError(f"{self.label}: {method} {path}: {detail}") from None
            raise TargetError(f"{self.label} answered {error.code} to {method} {path}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise TargetError(f"cannot reach leasing serve at {self.server}: {reason}") from None

    def queue_names(self) -> list[str]:
        names = {str(entry["queue"]) for entry in self._call("GET", "/_local/dlq") if entry.get("queue")}
        return sorted(names)

    def messages(self, queue: str, *, for_replay: bool) -> list[FailedMessage]:
        entries = self._call("GET", "/_local/dlq?" + urllib.parse.urlencode({"queue": queue}))
        result: list[FailedMessage] = []
        for entry in entries:
            attributes = {
                name: str(value.get("StringValue"))
                for name, value in (entry.get("messageAttributes") or {}).items()
                if isinstance(value, dict)
            }
            message = understand(queue, str(entry["messageId"]), entry.get("message"), attributes)
            message.reason = entry.get("reason") or message.reason
            if message.kind == "stream-batch":
                message.records = list((entry.get("event") or {}).get("Records") or [])
            result.append(message)
        return result

    def delete(self, message: FailedMessage) -> None:
        quoted = "/".join(urllib.parse.quote(part, safe="") for part in (message.queue, message.message_id))
        self._call("DELETE", f"/_local/dlq/{quoted}")

    def release(self, message: FailedMessage) -> None:
        return None  # reading the local list does not hide messages

    def events(self) -> EventsClient:
        import boto3

        client: EventsClient = boto3.client(
            "events",
            endpoint_url=str(self.health["eventBridgeEndpoint"]),
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_CREDENTIAL,
            aws_secret_access_key=LOCAL_CREDENTIAL,
            aws_session_token=None,
            config=_client_config(),
        )
        return client

    def stream_records(self, message: FailedMessage) -> list[dict[str, Any]]:
        """The batch's records from the stream; else the copy the local failure queue keeps.

        AWS keeps stream records 24 hours. The embedded DynamoDB trims a record once every reader
        has passed it (a memory economy of the local runtime), so a failed batch is usually gone
        from the local stream by the time it is replayed: the local queue entry carries the batch's
        records for exactly this case.
        """
        import boto3
        from botocore.exceptions import ClientError

        assert message.batch is not None
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=str(self.health["dynamodbEndpoint"]),
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_CREDENTIAL,
            aws_secret_access_key=LOCAL_CREDENTIAL,
            aws_session_token=None,
            config=_client_config(),
        )
        try:
            records = _read_stream_range(streams, message.batch, str(message.batch["streamArn"]))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TrimmedDataAccessException":
                raise
            records = []
        return records or list(message.records or [])

    def run_scheduled(self, function: str, event: dict[str, Any]) -> None:
        self._call(
            "POST", f"/_local/schedules/{urllib.parse.quote(function, safe='')}", {"time": event["time"]}
        )


class StackQueues:
    """A deployed stack: its SQS queues (from its resources), its bus (`EventBusName` output)."""

    def __init__(self, stack: str) -> None:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

        self.session = boto3.session.Session()
        if not self.session.region_name:
            raise TargetError("--stack needs an AWS region: set AWS_REGION (or a profile's region)")
        self.label = f"stack {stack} ({self.session.region_name})"
        try:
            cloudformation = self.session.client("cloudformation", config=_client_config())
            stacks = cloudformation.describe_stacks(StackName=stack).get("Stacks") or []
            resources: list[dict[str, Any]] = []
            paginator = cloudformation.get_paginator("list_stack_resources")
            for page in paginator.paginate(StackName=stack):
                resources.extend(page.get("StackResourceSummaries") or [])
        except NoCredentialsError:
            raise TargetError("--stack needs AWS credentials (none found in the standard chain)") from None
        except NoRegionError:
            raise TargetError("--stack needs an AWS region: set AWS_REGION (or a profile's region)") from None
        except ClientError as error:
            details = error.response.get("Error", {})
            raise TargetError(
                f"cannot describe stack {stack!r}: {details.get('Code')}: {details.get('Message')}"
            ) from None
        except BotoCoreError as error:
            raise TargetError(f"cannot reach CloudFormation for stack {stack!r}: {error}") from None
        outputs = (
            {o.get("OutputKey"): o.get("OutputValue") for o in (stacks[0].get("Outputs") or [])}
            if stacks
            else {}
        )
        if not outputs.get("EventBusName"):
            raise TargetError(f"stack {stack!r} has no EventBusName output (is it the leasing stack?)")
        self.bus_name = str(outputs["EventBusName"])
        self.queue_urls = {
            str(resource["LogicalResourceId"]): str(resource["PhysicalResourceId"])
            for resource in resources
            if resource.get("ResourceType") == "AWS::SQS::Queue" and resource.get("PhysicalResourceId")
        }
        self.functions = {
            str(resource["LogicalResourceId"]): str(resource["PhysicalResourceId"])
            for resource in resources
            if resource.get("ResourceType") == "AWS::Lambda::Function" and resource.get("PhysicalResourceId")
        }
        self.sqs = self.session.client("sqs", config=_client_config())

    def queue_names(self) -> list[str]:
        return sorted(self.queue_urls)

    def _url(self, queue: str) -> str:
        if queue not in self.queue_urls:
            raise DlqError(
                f"{self.label} has no queue {queue!r}; its queues: {', '.join(self.queue_names())}"
            )
        return self.queue_urls[queue]

    def messages(self, queue: str, *, for_replay: bool) -> list[FailedMessage]:
        """Receive what is visible: for a list the messages stay visible (timeout 0); for a replay
        they are hidden while being replayed, and released again if not selected or not replayed."""
        url = self._url(queue)
        seen: dict[str, FailedMessage] = {}
        for _ in range(RECEIVE_ROUNDS):
            response = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                VisibilityTimeout=REPLAY_VISIBILITY_SECONDS if for_replay else 0,
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages") or []
            fresh = [item for item in batch if item["MessageId"] not in seen]
            for item in fresh:
                try:
                    body: Any = json.loads(item.get("Body") or "")
                except ValueError:
                    body = item.get("Body")
                attributes = {
                    name: str(value.get("StringValue"))
                    for name, value in (item.get("MessageAttributes") or {}).items()
                }
                message = understand(queue, item["MessageId"], body, attributes)
                message.receipt_handle = item["ReceiptHandle"]
                seen[item["MessageId"]] = message
            if not fresh:
                break
        return list(seen.values())

    def delete(self, message: FailedMessage) -> None:
        self.sqs.delete_message(QueueUrl=self._url(message.queue), ReceiptHandle=str(message.receipt_handle))

    def release(self, message: FailedMessage) -> None:
        if message.receipt_handle:
            self.sqs.change_message_visibility(
                QueueUrl=self._url(message.queue), ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
            )

    def events(self) -> EventsClient:
        client: EventsClient = self.session.client("events", config=_client_config())
        return client

    def stream_records(self, message: FailedMessage) -> list[dict[str, Any]]:
        assert message.batch is not None
        streams = self.session.client("dynamodbstreams", config=_client_config())
        return _read_stream_range(streams, message.batch, str(message.batch["streamArn"]))

    def run_scheduled(self, function: str, event: dict[str, Any]) -> None:
        name = self.functions.get(function, function)
        self.session.client("lambda", config=_client_config()).invoke(
            FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode()
        )


def open_queues(args: argparse.Namespace) -> Queues:
    if args.server is not None:
        return LocalQueues(args.server)
    if args.stack is not None:
        return StackQueues(args.stack)
    raise DlqError("dlq works against --server URL (leasing serve) or --stack NAME (SQS), not --endpoint-url")


# ------------------------------------------------------------------------------------ commands


def _first_line(text: str | None, limit: int = 100) -> str | None:
    if not text:
        return text
    line = text.strip().splitlines()[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _list(queues: Queues, args: argparse.Namespace) -> Result:
    names = [args.queue] if args.queue else queues.queue_names()
    messages = [message for name in names for message in queues.messages(name, for_replay=False)]
    rows = [message.summary() for message in messages]
    text = table(
        [
            {
                **row,
                "what": row["detailType"] or ("stream batch" if row["batch"] else None),
                "error": _first_line(row["error"]),
            }
            for row in rows
        ],
        [
            ("queue", "QUEUE"),
            ("messageId", "MESSAGE"),
            ("kind", "KIND"),
            ("function", "FUNCTION"),
            ("condition", "CONDITION"),
            ("attempts", "ATTEMPTS"),
            ("what", "EVENT"),
            ("eventId", "EVENT ID"),
            ("error", "ERROR"),
        ],
        empty=f"no messages in {', '.join(names) or 'any failure queue'} ({queues.label})",
    )
    return rows, text, 0


def _put(client: EventsClient, entries: list[dict[str, Any]]) -> str | None:
    """PutEvents in calls of 10; the first failure's text, or None when every entry was accepted."""
    for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
        response = client.put_events(Entries=entries[start : start + MAX_ENTRIES_PER_CALL])
        if response.get("FailedEntryCount"):
            failed = [item for item in response.get("Entries") or [] if item.get("ErrorCode")]
            first = failed[0] if failed else {}
            return (
                f"PutEvents refused {response['FailedEntryCount']} entry(ies): "
                f"{first.get('ErrorCode')}: {first.get('ErrorMessage')}"
            )
    return None


def _replay_one(queues: Queues, client: EventsClient, message: FailedMessage) -> str | None:
    """Put the message's event(s) back; an error text, or None when it is done (and deletable)."""
    if message.kind == "stream-batch":
        records = queues.stream_records(message)
        entries = outbox_entries(records, queues.bus_name)
        if not records:
            return (
                "the stream no longer holds this batch (DynamoDB keeps 24 hours); re-publish its outbox "
                "items from the table (pk OUTBOX#<eventId>, attributes eventType and detail)"
            )
        return _put(client, entries)
    if message.event is None:
        return f"not a message this tool understands (kind {message.kind})"
    if is_scheduled(message.event):
        if not message.function:
            return "a scheduled event without the function it was for"
        queues.run_scheduled(message.function, message.event)
        return None
    return _put(client, [put_entry(message.event, queues.bus_name)])


def _replay(queues: Queues, args: argparse.Namespace) -> Result:
    from botocore.exceptions import BotoCoreError, ClientError

    wanted = set(args.ids or [])
    messages = queues.messages(args.queue, for_replay=True)
    if wanted and not wanted <= {message.message_id for message in messages}:
        missing = sorted(wanted - {message.message_id for message in messages})
        for message in messages:
            queues.release(message)
        raise DlqError(f"no message {', '.join(missing)} in {args.queue} ({queues.label})")
    client = queues.events()
    outcomes: list[dict[str, Any]] = []
    for message in messages:
        if wanted and message.message_id not in wanted:
            queues.release(message)
            continue
        try:
            problem = _replay_one(queues, client, message)
        except (BotoCoreError, ClientError, TargetError, DlqError) as error:
            problem = f"{type(error).__name__}: {error}"
        if problem is None:
            try:
                queues.delete(message)  # only after the event is back on the bus
            except (BotoCoreError, ClientError, TargetError, DlqError) as error:
                problem = f"put back, but not deleted ({error}); a second replay is harmless"
        if problem is None:
            outcomes.append({"messageId": message.message_id, "kind": message.kind, "replayed": True})
        else:
            queues.release(message)
            outcomes.append(
                {"messageId": message.message_id, "kind": message.kind, "replayed": False, "error": problem}
            )
    replayed = sum(1 for outcome in outcomes if outcome["replayed"])
    failed = len(outcomes) - replayed
    lines = [
        f"{outcome['messageId']}: "
        + ("replayed and deleted" if outcome["replayed"] else f"kept: {outcome['error']}")
        for outcome in outcomes
    ]
    lines.append(
        f"{replayed} replayed, {failed} failed ({args.queue}, {queues.label}, bus {queues.bus_name})"
    )
    result = {"replayed": replayed, "failed": failed, "messages": outcomes}
    return result, "\n".join(lines), 1 if failed else 0


def run(args: argparse.Namespace) -> Result:
    """`dlq list` / `dlq replay`: (what `--json` prints, the text, the exit code)."""
    queues = open_queues(args)
    command: Callable[[Queues, argparse.Namespace], Result] = _list if args.action == "dlq_list" else _replay
    return command(queues, args)


def register(commands: Any, command: Callable[..., Any]) -> None:
    """Add `dlq list [QUEUE]` and `dlq replay QUEUE [--id ID ...]` to `leasing admin`'s parser."""
    dlq = commands.add_parser(
        "dlq", help="failure queues: list messages, replay their events"
    ).add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    listing = command(dlq, "list", "dlq_list", "list the messages of one failure queue, or of all")
    listing.add_argument(
        "queue", metavar="QUEUE", nargs="?", help="a queue's logical id, e.g. BillingFailureQueue"
    )
    replay = command(
        dlq,
        "replay",
        "dlq_replay",
        "put a queue's failed events back on the bus, deleting each message after",
    )
    replay.add_argument("queue", metavar="QUEUE", help="a queue's logical id, e.g. BillingFailureQueue")
    replay.add_argument(
        "--id", dest="ids", action="append", metavar="MESSAGE_ID", help="only this message (repeatable)"
    )
