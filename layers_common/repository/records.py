"""Stored shapes of the domain entities, as the services see them (no DynamoDB types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    org_id: str
    secret_hash: str
    env: str
    scopes: tuple[str, ...]
    tier: str
    status: str  # active | revoked | suspended


@dataclass(frozen=True)
class OrgRecord:
    org_id: str
    name: str
    status: str  # active | suspended


@dataclass(frozen=True)
class StoredResponse:
    """A response remembered for replay: status, body text (byte for byte) and headers."""

    status_code: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IdempotencyRecord:
    body_hash: str
    status: str  # in_progress | completed
    token: str
    locked_until: int
    expires_at: int
    response: StoredResponse | None


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class LeaseRecord:
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


@dataclass(frozen=True)
class AccountRecord:
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


@dataclass(frozen=True)
class ScheduledPostRecord:
    scheduled_post_id: str
    social_account_id: str
    status: str  # queued | published | failed | canceled
    scheduled_for: str | None


@dataclass(frozen=True)
class AuditEntry:
    social_account_id: str
    action: str
    at: str
    org_id: str | None
    actor_key_id: str | None
    reason: str | None


@dataclass(frozen=True)
class OutboxMessage:
    """An event to publish, written in the same transaction as the change it announces."""

    event_id: str
    event_type: str
    detail_json: str


@dataclass(frozen=True)
class RateWindow:
    """A counter's name, its limit and when it expires."""

    name: str
    limit: int
    expires_at: int


@dataclass(frozen=True)
class RequestContext:
    """What accepting a lease request needs to know, read in one round trip."""

    project_exists: bool
    wallet_balance_cents: int
    existing_request: LeaseRequestRecord | None


@dataclass(frozen=True)
class LeasePage:
    leases: list[LeaseRecord]
    last_order_key: str | None  # position after the last lease returned, when more follow


@dataclass(frozen=True)
class LedgerEntry:
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
