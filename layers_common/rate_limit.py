"""Per-key rate limits: fixed calendar-minute windows per endpoint class plus a daily write cap.

Counters live in DynamoDB so limits hold across all Lambda instances: one item per key and read
minute; one item per key and UTC day for writes, holding the day's count and the current minute's,
so a write is counted in both or in neither by one conditional update. A call over budget is not
counted and writes nothing (no count is ever given back).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple, Protocol

from layers_common.clock import epoch_seconds
from layers_common.errors import RateLimited
from layers_common.repository.records import RateWindow, WriteCount

EndpointClass = Literal["read", "write"]


class TierLimits(NamedTuple):
    read_per_minute: int
    write_per_minute: int
    writes_per_day: int


TIER_LIMITS: dict[str, TierLimits] = {
    "standard": TierLimits(read_per_minute=120, write_per_minute=60, writes_per_day=10_000),
    "pilot": TierLimits(read_per_minute=1_200, write_per_minute=600, writes_per_day=100_000),
    "partner": TierLimits(read_per_minute=6_000, write_per_minute=3_000, writes_per_day=500_000),
}

# Counters outlive their window a little so a late read still finds them; TTL removes them after.
_COUNTER_GRACE_SECONDS = 3600


class RateLimitStore(Protocol):
    def increment_window(self, key_id: str, window: RateWindow) -> int | None: ...

    def count_write(
        self, key_id: str, day: RateWindow, minute_start: int, minute_limit: int
    ) -> WriteCount: ...


class RateLimitStatus(NamedTuple):
    """The per-minute window of one endpoint class, as the `X-RateLimit-*` headers describe it."""

    endpoint_class: EndpointClass
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Endpoint-Class": self.endpoint_class,
        }


class RateLimitExceeded(RateLimited):
    def __init__(self, retry_after: int, window: str, status: RateLimitStatus) -> None:
        super().__init__(retry_after, window)
        self.status = status


def endpoint_class(http_method: str) -> EndpointClass:
    return "read" if http_method.upper() in {"GET", "HEAD", "OPTIONS"} else "write"


class RateLimiter:
    def __init__(self, store: RateLimitStore) -> None:
        self._store = store

    def consume(self, key_id: str, tier: str, klass: EndpointClass, now: datetime) -> RateLimitStatus:
        """Count one call, or raise `RateLimitExceeded` (carrying the headers) without counting it."""
        limits = TIER_LIMITS.get(tier, TIER_LIMITS["standard"])
        epoch = epoch_seconds(now)
        minute_start = epoch - epoch % 60
        minute_end = minute_start + 60
        per_minute = limits.read_per_minute if klass == "read" else limits.write_per_minute
        minute = RateWindow(f"{klass}#m{minute_start}", per_minute, minute_end + _COUNTER_GRACE_SECONDS)

        if klass == "read":
            count = self._store.increment_window(key_id, minute)
            if count is None:
                status = RateLimitStatus(klass, per_minute, 0, minute_end)
                raise RateLimitExceeded(max(1, minute_end - epoch), "minute", status)
            return RateLimitStatus(klass, per_minute, max(0, per_minute - count), minute_end)
        day_start = epoch - epoch % 86400
        day_end = day_start + 86400
        day = RateWindow(f"write#d{day_start}", limits.writes_per_day, day_end + _COUNTER_GRACE_SECONDS)
        outcome = self._store.count_write(key_id, day, minute_start, per_minute)
        status = RateLimitStatus(klass, per_minute, max(0, per_minute - outcome.minute_count), minute_end)
        if not outcome.counted:
            if outcome.minute_count >= per_minute:
                raise RateLimitExceeded(max(1, minute_end - epoch), "minute", status)
            raise RateLimitExceeded(max(1, day_end - epoch), "day", status)
        return status
