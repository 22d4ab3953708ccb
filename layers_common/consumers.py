"""Shared edge of the EventBridge consumers: the domain event out of the bus envelope."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from layers_common.models.events import EVENT_SOURCE

EventT = TypeVar("EventT", bound=BaseModel)


def domain_event(envelope: dict[str, Any], model: type[EventT]) -> EventT:
    """Validate the `detail` of an EventBridge event from our bus against its model."""
    if envelope.get("source") != EVENT_SOURCE:
        raise ValueError(f"unexpected event source {envelope.get('source')!r}")
    return model.model_validate(envelope.get("detail") or {})
