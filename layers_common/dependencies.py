"""The objects a function needs at run time, built once per execution environment on first use."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from layers_common.clock import Clock, SystemClock
from layers_common.events_bus import EventBridgePublisher
from layers_common.rate_limit import RateLimiter
from layers_common.repository.leasing_repository import LeasingRepository
from layers_common.settings import Settings, get_settings


class Dependencies(NamedTuple):
    settings: Settings
    repository: LeasingRepository
    clock: Clock
    rate_limiter: RateLimiter
    publisher: EventBridgePublisher


@cache
def dependencies() -> Dependencies:
    settings = get_settings()
    repository = LeasingRepository(settings.table_name)
    return Dependencies(
        settings=settings,
        repository=repository,
        clock=SystemClock(),
        rate_limiter=RateLimiter(repository),
        publisher=EventBridgePublisher(settings.event_bus_name),
    )


def reset_dependencies() -> None:
    """Forget cached settings and clients (tests and the local runtime change the environment)."""
    from layers_common.events_bus import events_client
    from layers_common.repository.dynamodb import dynamodb_client

    dependencies.cache_clear()
    get_settings.cache_clear()
    dynamodb_client.cache_clear()
    events_client.cache_clear()
