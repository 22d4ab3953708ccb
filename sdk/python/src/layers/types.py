"""Response models: snake_case attributes over the API's camelCase JSON.

Every model keeps fields the SDK does not know yet (`model_extra`, also reachable as attributes) and
takes any string as a status, so a newer server never breaks an older SDK. Each carries the
`X-Request-Id` of the HTTP response it came from as `_request_id` (the lease request's own id is
`request_id`: the two are never confused).
"""

from datetime import datetime
from typing import Any, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic.alias_generators import to_camel

__all__ = [
    "LeaseRequest",
    "LeaseRequestAccepted",
    "LeasedAccount",
    "LeasedAccountPage",
    "Niche",
    "ReleasedAccount",
    "RevokedSocialAccount",
]

#: Lease request statuses known to this SDK version; the server may add more.
REQUEST_STATUSES = ("requested", "assigned", "partial", "rejected")

M = TypeVar("M", bound="LayersModel")


class LayersModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True, protected_namespaces=()
    )

    _request_id: Optional[str] = PrivateAttr(default=None)

    @classmethod
    def from_wire(cls: type[M], data: Any, request_id: Optional[str]) -> M:
        model = cls.model_validate(data)
        model._request_id = request_id
        return model

    def to_dict(self) -> dict[str, Any]:
        """The model as the API's JSON shape (camelCase, unknown fields kept)."""
        return self.model_dump(mode="json", by_alias=True)


class Niche(LayersModel):
    vertical: str
    audience: Optional[str] = None
    language: Optional[str] = None
    geo: Optional[list[str]] = None


class LeaseRequestAccepted(LayersModel):
    """The 202 of `leased_accounts.request`."""

    request_id: str
    status: str
    submitted_at: datetime


class LeaseRequest(LayersModel):
    """A polled lease request: `requested` → `assigned` | `partial` | `rejected` (or a newer status)."""

    request_id: str
    project_id: str
    status: str
    count: int
    niche: Niche
    submitted_at: datetime
    assigned_at: Optional[datetime] = None
    assigned_social_account_ids: list[str] = []
    note: Optional[str] = None

    @property
    def is_pending(self) -> bool:
        return self.status == "requested"


class LeasedAccount(LayersModel):
    social_account_id: str
    project_id: str
    handle: str
    platform: str
    followers: int
    status: str
    assigned_at: datetime
    next_renewal_at: Optional[datetime] = None
    monthly_price_cents: int
    request_id: Optional[str] = None
    disconnected_at: Optional[datetime] = None
    disconnected_reason: Optional[str] = None


class LeasedAccountPage(LayersModel):
    items: list[LeasedAccount]
    next_cursor: Optional[str] = None


class ReleasedAccount(LayersModel):
    social_account_id: str
    status: str
    disconnected_reason: str
    disconnected_at: datetime


class RevokedSocialAccount(LayersModel):
    social_account_id: str
    status: str
    disconnected_reason: str
    canceled_scheduled_posts: int
    disconnected_at: datetime
