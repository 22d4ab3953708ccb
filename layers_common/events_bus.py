"""Publishing to the `leasing` EventBridge bus: a port, and the EventBridge implementation."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, NamedTuple, Protocol, cast

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

MAX_ENTRIES_PER_CALL = 10
# Not imported from the event models: building them costs cold start in every function that
# only publishes (a unit test checks the two stay equal).
EVENT_SOURCE = "layers.leasing"


class BusEntry(NamedTuple):
    detail_type: str
    detail_json: str


class EventPublisher(Protocol):
    def publish(self, entries: list[BusEntry]) -> list[int]:
        """Publish; the indexes of the entries that were not accepted."""
        ...


@cache
def events_client() -> EventBridgeClient:
    from botocore.config import Config
    from botocore.session import get_session

    config = Config(retries={"mode": "standard", "max_attempts": 4})
    return cast("EventBridgeClient", get_session().create_client("events", config=config))


class EventBridgePublisher:
    """PutEvents in calls of at most 10 entries; a failed call fails all of its entries."""

    def __init__(self, bus_name: str, client: EventBridgeClient | None = None) -> None:
        self.bus_name = bus_name
        self._client = client

    @property
    def client(self) -> EventBridgeClient:
        if self._client is None:
            self._client = events_client()
        return self._client

    def publish(self, entries: list[BusEntry]) -> list[int]:
        failed: list[int] = []
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            chunk = entries[start : start + MAX_ENTRIES_PER_CALL]
            try:
                response = self.client.put_events(
                    Entries=[
                        {
                            "Source": EVENT_SOURCE,  # same value as layers_common.models.events
                            "DetailType": entry.detail_type,
                            "Detail": entry.detail_json,
                            "EventBusName": self.bus_name,
                        }
                        for entry in chunk
                    ]
                )
            except Exception:  # throttled or unreachable: the whole call is retried by the caller
                failed.extend(range(start, start + len(chunk)))
                continue
            if response.get("FailedEntryCount", 0):
                failed.extend(
                    start + index
                    for index, result in enumerate(response.get("Entries", []))
                    if result.get("ErrorCode")
                )
        return failed
