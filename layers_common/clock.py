"""Time and identifier primitives: UTC second-precision timestamps and ULID-based ids."""

from __future__ import annotations

import calendar
import os
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Port for "now", so services can be tested at any instant."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, truncated to whole seconds (the contract's precision)."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


def isoformat(moment: datetime) -> str:
    """`2026-04-18T19:24:11Z`: ISO-8601 UTC with second precision and a `Z` suffix."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp (with `Z` or an offset) into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def epoch_seconds(moment: datetime) -> int:
    return calendar.timegm(moment.utctimetuple())


def add_months(start: datetime, months: int) -> datetime:
    """`start` plus n calendar months, clamped to the last day of the target month (no drift)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(milliseconds: int | None = None) -> str:
    """A ULID: 48-bit millisecond time (now, unless given) then 80 random bits, 26 characters of
    Crockford base32.

    Written out (it is the spec's whole algorithm) instead of importing python-ulid, whose import
    reads package metadata and costs every function's cold start.
    """
    moment = time.time_ns() // 1_000_000 if milliseconds is None else milliseconds
    value = moment << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_id(prefix: str) -> str:
    """`<prefix>_<ULID>`, e.g. `lreq_01HXZR7K8M2P4RSTUV56789AB`."""
    return f"{prefix}_{ulid()}"


LEDGER_ID_PREFIX = "led_"


def ledger_entry_id(at: datetime | str) -> str:
    """`led_<ULID>` whose time is the entry's own `at` (plus the clock's milliseconds within that
    second), so every ledger entry, whoever writes it, sorts by time under `LEDGER#`."""
    moment = parse_iso(at) if isinstance(at, str) else at
    within_second = time.time_ns() // 1_000_000 % 1000
    return f"{LEDGER_ID_PREFIX}{ulid(epoch_seconds(moment) * 1000 + within_second)}"


def new_request_id() -> str:
    return new_id("req")


_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def looks_like_id(value: str | None) -> bool:
    """Whether a path id could name anything at all; anything else is answered 404 without a read."""
    return bool(value) and len(value or "") <= 128 and set(value or "") <= _ID_CHARACTERS
