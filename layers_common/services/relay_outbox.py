"""Outbox relay: stream records of new outbox items → events on the bus, partial failures reported."""

from __future__ import annotations

from typing import Any

from layers_common.events_bus import BusEntry, EventPublisher
from layers_common.observability import logger


def _entry(record: dict[str, Any]) -> BusEntry | None:
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    event_type = (image.get("eventType") or {}).get("S")
    detail = (image.get("detail") or {}).get("S")
    if record.get("eventName") != "INSERT" or not event_type or not detail:
        return None
    return BusEntry(detail_type=event_type, detail_json=detail)


def relay_outbox(records: list[dict[str, Any]], publisher: EventPublisher) -> list[str]:
    """Publish the outbox items among `records`; the sequence numbers of those not published."""
    pending: list[tuple[str, BusEntry]] = []
    for record in records:
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        entry = _entry(record)
        if entry is None:
            logger.warning("stream record is not an outbox item; skipped", extra={"sequence": sequence})
            continue
        pending.append((sequence, entry))
    failed = publisher.publish([entry for _, entry in pending])
    if failed:
        logger.warning("events not accepted by the bus", extra={"failed": len(failed), "batch": len(pending)})
    return [pending[index][0] for index in failed]
