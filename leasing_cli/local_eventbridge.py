"""A local EventBridge: the `PutEvents` API (AWS JSON 1.1) on a loopback port, with the template's rules.

Functions reach it through `AWS_ENDPOINT_URL_EVENTS` (`boto3.client("events")` honours it). Each
accepted entry becomes an EventBridge event envelope and is matched against every `EventBridgeRule`
of the template on its bus; matches go to the `sink` (the event path's delivery pool). Without a
sink (`leasing invoke`), accepted events are only recorded.

One deliberate difference: AWS accepts entries for a bus that does not exist (and drops them, see
aws/aws-cli#9186); here such an entry fails with `ResourceNotFoundException`, so a typo shows.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from leasing_cli.event_patterns import EventMatcher
from leasing_cli.template import ACCOUNT_ID, REGION, EventRule, Template

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
ACCEPTED_KEPT = 100  # accepted events kept for inspection (`leasing invoke`, tests)

#: Receives each (rule, event) pair a PutEvents matched.
EventSink = Callable[[EventRule, dict[str, Any]], None]


def iso_time(moment: datetime) -> str:
    """EventBridge's `time`: UTC, `Z`, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_time(value: Any) -> str:
    if value is None:
        return iso_time(datetime.now(UTC))
    if isinstance(value, int | float):  # boto3 sends timestamps as epoch seconds in JSON 1.1
        return iso_time(datetime.fromtimestamp(value, UTC))
    moment = datetime.fromisoformat(str(value))
    return iso_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def bus_name_of(value: Any) -> str:
    """`EventBusName` may be a name or an ARN; absent means the default bus."""
    if not value:
        return "default"
    return str(value).rsplit("event-bus/", 1)[-1]


class EventBridgeError(Exception):
    """A request-level error (the whole call fails), e.g. more than 10 entries."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _failure(code: str, message: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": message}


class LocalEventBridge:
    """The buses and rules of a template, and what PutEvents did with each entry."""

    def __init__(self, template: Template, sink: EventSink | None = None) -> None:
        self.template = template
        self.buses = template.event_bus_names()
        self.rules = [rule for rule in template.event_rules if rule.enabled]
        self._matchers = {id(rule): EventMatcher(rule.pattern) for rule in self.rules}
        self.sink = sink
        # The most recent accepted events (bus name included) and how many were accepted in all:
        # a long `leasing serve` must not keep every event it ever routed.
        self.accepted: deque[dict[str, Any]] = deque(maxlen=ACCEPTED_KEPT)
        self.accepted_count = 0
        self._lock = threading.Lock()

    def matching_rules(self, bus_name: str, event: Mapping[str, Any]) -> list[EventRule]:
        return [
            rule
            for rule in self.rules
            if rule.bus_name == bus_name and self._matchers[id(rule)].matches(event)
        ]

    def put_events(self, request: Any) -> dict[str, Any]:
        """The PutEvents operation: a response body, or `EventBridgeError` for the whole call."""
        if not isinstance(request, Mapping) or not isinstance(request.get("Entries"), list):
            raise EventBridgeError("ValidationException", "Entries is a required list")
        entries = request["Entries"]
        if not entries or len(entries) > MAX_ENTRIES:
            raise EventBridgeError(
                "ValidationException",
                "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_ENTRIES} and greater than or equal to 1",
            )
        results: list[dict[str, str]] = []
        deliveries: list[tuple[EventRule, dict[str, Any]]] = []
        for entry in entries:
            outcome = self._accept(entry)
            if isinstance(outcome, tuple):
                event_id, bus_name, event = outcome
                results.append({"EventId": event_id})
                with self._lock:
                    self.accepted.append({"bus": bus_name, "event": event})
                    self.accepted_count += 1
                deliveries.extend((rule, event) for rule in self.matching_rules(bus_name, event))
            else:
                results.append(outcome)
        if self.sink is not None:
            for rule, event in deliveries:
                self.sink(rule, event)
        failed = sum(1 for result in results if "ErrorCode" in result)
        return {"FailedEntryCount": failed, "Entries": results}

    def _accept(self, entry: Any) -> tuple[str, str, dict[str, Any]] | dict[str, str]:
        if not isinstance(entry, Mapping):
            return _failure("InvalidArgument", "Entry is not an object.")
        for name in ("Source", "DetailType", "Detail"):
            if not entry.get(name) or not isinstance(entry.get(name), str):
                return _failure(
                    "InvalidArgument",
                    f"Parameter {name} is not valid. Reason: {name} is a required argument.",
                )
        try:
            detail = json.loads(entry["Detail"])
        except ValueError:
            return _failure("MalformedDetail", "Detail is malformed.")
        if not isinstance(detail, dict):
            return _failure("MalformedDetail", "Detail is malformed.")
        bus_name = bus_name_of(entry.get("EventBusName"))
        if bus_name not in self.buses:
            return _failure("ResourceNotFoundException", f"Event bus {bus_name} does not exist.")
        try:
            time = _entry_time(entry.get("Time"))
        except (ValueError, OverflowError, OSError):
            return _failure("InvalidArgument", "Parameter Time is not valid.")
        resources = entry.get("Resources") or []
        if not isinstance(resources, list):
            return _failure("InvalidArgument", "Parameter Resources is not valid.")
        event_id = str(uuid.uuid4())
        event = {
            "version": "0",
            "id": event_id,
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": ACCOUNT_ID,
            "time": time,
            "region": REGION,
            "resources": [str(resource) for resource in resources],
            "detail": detail,
        }
        return event_id, bus_name, event


# ------------------------------------------------------------------------------------ HTTP front


class _EventsRequestHandler(BaseHTTPRequestHandler):
    server: EventBridgeHTTPServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._reply(413, {"__type": "RequestEntityTooLargeException", "message": "Request too large"})
            return
        body = self.rfile.read(length) if length > 0 else b""
        target = self.headers.get("X-Amz-Target") or ""
        if target != "AWSEvents.PutEvents":
            self._reply(400, {"__type": "UnknownOperationException", "message": f"unsupported {target!r}"})
            return
        try:
            request = json.loads(body or b"{}")
            self._reply(200, self.server.eventbridge.put_events(request))
        except json.JSONDecodeError:
            self._reply(400, {"__type": "SerializationException", "message": "body is not JSON"})
        except EventBridgeError as error:
            self._reply(error.status, {"__type": error.code, "message": error.message})

    def _reply(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class EventBridgeHTTPServer(ThreadingHTTPServer):
    """The PutEvents endpoint of a `LocalEventBridge`, served from a daemon thread."""

    daemon_threads = True

    def __init__(self, eventbridge: LocalEventBridge, host: str = "127.0.0.1", port: int = 0) -> None:
        self.eventbridge = eventbridge
        super().__init__((host, port), _EventsRequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EventBridgeHTTPServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="local-eventbridge", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EventBridgeHTTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def log(message: str) -> None:
    print(f"[event-path] {message}", file=sys.stderr, flush=True)
