"""Leased accounts as the partner sees them (2.3), and the release/revoke bodies and results (2.4, 2.5)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from layers_common.models.base import WireBody, WireModel

LeaseStatus = Literal["assigned", "disconnected"]
DisconnectedReason = Literal["released_by_partner", "insufficient_funds", "revoked_by_partner"]


class LeasedAccountView(WireModel):
    social_account_id: str
    project_id: str
    handle: str
    platform: str
    followers: int
    status: LeaseStatus
    assigned_at: str
    next_renewal_at: str | None
    monthly_price_cents: int
    request_id: str | None
    disconnected_at: str | None = Field(default=None, exclude_if=lambda value: value is None)
    disconnected_reason: DisconnectedReason | None = Field(
        default=None, exclude_if=lambda value: value is None
    )


class LeasedAccountPage(WireModel):
    items: list[LeasedAccountView]
    next_cursor: str | None


class ReleaseBody(WireBody):
    """Optional body of `DELETE /v1/leased-accounts/:id`."""

    reason: Annotated[str, Field(max_length=1000)] | None = None


class ReleaseResult(WireModel):
    social_account_id: str
    status: Literal["disconnected"] = "disconnected"
    disconnected_reason: DisconnectedReason
    disconnected_at: str


class RevokeResult(WireModel):
    social_account_id: str
    status: Literal["disconnected"] = "disconnected"
    disconnected_reason: DisconnectedReason = "revoked_by_partner"
    canceled_scheduled_posts: int
    disconnected_at: str
