"""Domain events carried by the outbox to the `leasing` bus; each is versioned.

The EventBridge `detail` is the model's JSON: `eventId`, `eventType`, `eventVersion`, `occurredAt`,
`orgId`, then the event's own data. Source `layers.leasing`; detail-type = `eventType`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

EVENT_SOURCE = "layers.leasing"


class DomainEvent(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, frozen=True
    )

    event_id: str
    event_type: str
    event_version: int
    occurred_at: str
    org_id: str

    def detail_json(self) -> str:
        return self.model_dump_json(by_alias=True)


class NicheSpec(BaseModel):
    """The niche as assignment uses it: vertical trimmed, optional constraints."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    vertical: str
    audience: str | None = None
    language: str | None = None
    geo: list[str] = []


class LeaseRequested(DomainEvent):
    event_type: Literal["LeaseRequested"] = "LeaseRequested"
    event_version: Literal[1] = 1
    request_id: str
    project_id: str
    count: int
    niche: NicheSpec
    submitted_at: str


class LeasedAccountReleased(DomainEvent):
    """A lease ended: by the partner (`released_by_partner`) or by billing (`insufficient_funds`)."""

    event_type: Literal["LeasedAccountReleased"] = "LeasedAccountReleased"
    event_version: Literal[1] = 1
    lease_id: str
    social_account_id: str
    project_id: str
    request_id: str | None
    disconnected_reason: str
    disconnected_at: str
    released_by_key_id: str | None


class SocialAccountRevoked(DomainEvent):
    event_type: Literal["SocialAccountRevoked"] = "SocialAccountRevoked"
    event_version: Literal[1] = 1
    social_account_id: str
    project_id: str | None
    disconnected_at: str


class LeasedAccountAssigned(DomainEvent):
    """An account was claimed, charged and leased for a request (one event per account)."""

    event_type: Literal["LeasedAccountAssigned"] = "LeasedAccountAssigned"
    event_version: Literal[1] = 1
    lease_id: str
    social_account_id: str
    project_id: str
    request_id: str
    assigned_at: str
    monthly_price_cents: int
    next_renewal_at: str


class LeaseRequestCompleted(DomainEvent):
    """Assignment finished for a request: `assigned`, `partial` or `rejected`, with the note."""

    event_type: Literal["LeaseRequestCompleted"] = "LeaseRequestCompleted"
    event_version: Literal[1] = 1
    request_id: str
    project_id: str
    status: Literal["assigned", "partial", "rejected"]
    count: int
    assigned_social_account_ids: list[str]
    note: str | None


class LeaseRenewed(DomainEvent):
    """A lease was charged for one more period."""

    event_type: Literal["LeaseRenewed"] = "LeaseRenewed"
    event_version: Literal[1] = 1
    lease_id: str
    social_account_id: str
    period: int
    amount_cents: int
    next_renewal_at: str


EVENT_MODELS: tuple[type[DomainEvent], ...] = (
    LeaseRequested,
    LeasedAccountAssigned,
    LeaseRequestCompleted,
    LeaseRenewed,
    LeasedAccountReleased,
    SocialAccountRevoked,
)
