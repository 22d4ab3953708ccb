"""Python SDK for the Layers partner API: leased accounts.

from layers import Layers
layers = Layers(api_key=..., base_url=...)
r = layers.leased_accounts.request(project_id="prj_...", count=5, niche={"vertical": "coffee"})
done = layers.leased_accounts.wait_for_request(r.request_id)
"""

from layers._client import AsyncLayers, AsyncPager, Layers, SyncPager
from layers._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingExhaustedError,
    ConflictError,
    InternalServerError,
    LayersError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
    WaitTimeoutError,
)
from layers._version import __version__
from layers.types import (
    LeasedAccount,
    LeasedAccountPage,
    LeaseRequest,
    LeaseRequestAccepted,
    Niche,
    ReleasedAccount,
    RevokedSocialAccount,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncLayers",
    "AsyncPager",
    "AuthenticationError",
    "BillingExhaustedError",
    "ConflictError",
    "InternalServerError",
    "Layers",
    "LayersError",
    "LeaseRequest",
    "LeaseRequestAccepted",
    "LeasedAccount",
    "LeasedAccountPage",
    "Niche",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReleasedAccount",
    "RevokedSocialAccount",
    "ServiceUnavailableError",
    "SyncPager",
    "ValidationError",
    "WaitTimeoutError",
    "__version__",
]
