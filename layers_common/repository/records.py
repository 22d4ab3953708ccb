"""Stored shapes of the domain entities, as the services see them (no DynamoDB types).

Immutable `NamedTuple`s rather than frozen dataclasses: every function imports all of them, and a
frozen dataclass costs ~0.7 ms to create (its methods are generated with `exec`) against ~0.1 ms
(bench/README.md). Change a record with `record._replace(field=value)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class ApiKeyRecord(NamedTuple):
    key_id: str
    org_id: str
    secret_hash: str
    env: str
    scopes: tuple[str, ...]
    tier: str
    status: str  # active | revoked | suspended


class OrgRecord(NamedTuple):
    org_id: str
    name: str
    status: str  # active | suspended


class StoredResponse(NamedTuple):
    """A response remembered for replay: status, body text (byte for byte) and headers."""

    status_code: int
    body: str
    headers: Mapping[str, str] = NO_HEADERS


class IdempotencyRecord(NamedTuple):
    body_hash: str
    status: str  # in_progress | completed
    token: str
    locked_until: int
    expires_at: int
    response: StoredResponse | None


@dataclass(frozen=True)  # not a NamedTuple: its `count` field would shadow `tuple.count`
class LeaseRequestRecord:
    org_id: str
    request_id: str
    project_id: str
    count: int
    niche: dict[str, Any]
    status: str
    submitted_at: str
    body_hash: str
    assigned_at: str | None = None
    assigned_social_account_ids: tuple[str, ...] = ()
    note: str | None = None
    target: str | None = None
    partner_note: str | None = None


class LeaseRecord(NamedTuple):
    org_id: str
    lease_id: str
    social_account_id: str
    project_id: str
    request_id: str | None
    handle: str
    platform: str
    followers: int
    status: str  # assigned | disconnected
    assigned_at: str
    next_renewal_at: str | None
    monthly_price_cents: int
    disconnected_at: str | None = None
    disconnected_reason: str | None = None
    periods_charged: int = 1  # the first month is charged on assignment


class AccountRecord(NamedTuple):
    """A social account: a pool account (leasable) or a connected (BYO) account of one org."""

    social_account_id: str
    kind: str  # pool | connected
    handle: str
    platform: str
    followers: int = 0
    # connected accounts
    org_id: str | None = None
    project_id: str | None = None
    status: str | None = None  # connected | disconnected
    # pool accounts
    pool_status: str | None = None  # available | leased
    lease_id: str | None = None
    leased_org_id: str | None = None
    vertical: str | None = None
    language: str | None = None
    geo: tuple[str, ...] = ()
    monthly_price_cents: int | None = None


class ScheduledPostRecord(NamedTuple):
    scheduled_post_id: str
    social_account_id: str
    status: str  # queued | published | failed | canceled
    scheduled_for: str | None
    # The lease the post belongs to when it was queued on a leased pool account; None for a
    # connected (BYO) account's own posts. A lease's release cancels its own posts only.
    lease_id: str | None = None


class AuditEntry(NamedTuple):
    social_account_id: str
    action: str
    at: str
    org_id: str | None
    actor_key_id: str | None
    reason: str | None


class OutboxMessage(NamedTuple):
    """An event to publish, written in the same transaction as the change it announces."""

    event_id: str
    event_type: str
    detail_json: str


class RateWindow(NamedTuple):
    """A counter's name, its limit and when it expires."""

    name: str
    limit: int
    expires_at: int


class WriteCount(NamedTuple):
    """A write's outcome on its day's counter: counted or not, and the minute's and day's counts."""

    counted: bool
    minute_count: int
    day_count: int


class RequestContext(NamedTuple):
    """What accepting a lease request needs to know, read in one round trip."""

    project_exists: bool
    wallet_balance_cents: int
    existing_request: LeaseRequestRecord | None


class LeasePage(NamedTuple):
    leases: list[LeaseRecord]
    last_order_key: str | None  # position after the last lease returned, when more follow


class LedgerEntry(NamedTuple):
    """A wallet movement or billing fact; `amount_cents` >= 0 and `type` gives the direction."""

    org_id: str
    entry_id: str
    type: str  # charge | credit | lease_ended
    amount_cents: int
    at: str
    social_account_id: str | None = None
    lease_id: str | None = None
    request_id: str | None = None
    period: int | None = None
    reason: str | None = None
