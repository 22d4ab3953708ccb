"""The SDK's exceptions: one class per HTTP status the contract answers, plus connection failures."""

from collections.abc import Mapping
from typing import Any, Optional

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BillingExhaustedError",
    "ConflictError",
    "InternalServerError",
    "LayersError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "ValidationError",
    "WaitTimeoutError",
]


class LayersError(Exception):
    """Base of every error the SDK raises.

    `status` is the HTTP status (None when no response arrived), `code` the contract's machine value
    (`NOT_FOUND`, `CONFLICT`, ...), `request_id` the `X-Request-Id` of the response, and `details`
    the envelope's `details` object (empty when absent).
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        details: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        parts = [str(self.status)] if self.status is not None else []
        if self.code:
            parts.append(self.code)
        prefix = " ".join(parts)
        suffix = f" (request {self.request_id})" if self.request_id else ""
        return f"{prefix}: {self.message}{suffix}" if prefix else f"{self.message}{suffix}"


class APIConnectionError(LayersError):
    """No response was received: the connection failed or was dropped."""


class APITimeoutError(APIConnectionError):
    """The HTTP call timed out."""


class APIStatusError(LayersError):
    """The API answered with a non-2xx status; `response` is the raw `httpx.Response`."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        details: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(
            message, status=response.status_code, code=code, request_id=request_id, details=details
        )
        self.response = response


class AuthenticationError(APIStatusError):
    """401 UNAUTHENTICATED: missing, malformed, unknown or revoked API key."""


class BillingExhaustedError(APIStatusError):
    """402 BILLING_EXHAUSTED: the wallet cannot cover even one account; nothing was queued."""


class PermissionDeniedError(APIStatusError):
    """403 FORBIDDEN_SCOPE: the key lacks the route's scope (`details['requiredScope']`)."""

    @property
    def required_scope(self) -> Optional[str]:
        value = self.details.get("requiredScope")
        return value if isinstance(value, str) else None


class NotFoundError(APIStatusError):
    """404 NOT_FOUND: absent, of another organization, already released, or a malformed id."""


class ConflictError(APIStatusError):
    """409 CONFLICT; `reason` says which (`NOT_LEASED`, `LEASED_ACCOUNT`, `IDEMPOTENCY_KEY_REUSED`,
    `IDEMPOTENCY_IN_PROGRESS`, `REQUEST_ID_IN_USE`, or one this SDK does not know yet)."""

    @property
    def reason(self) -> Optional[str]:
        value = self.details.get("reason")
        return value if isinstance(value, str) else None

    @property
    def hint(self) -> Optional[str]:
        value = self.details.get("hint")
        return value if isinstance(value, str) else None


class ValidationError(APIStatusError):
    """422 VALIDATION; `issues` lists `{"path", "message"}` in the request's own field names."""

    @property
    def issues(self) -> list[dict[str, Any]]:
        issues = self.details.get("issues")
        if not isinstance(issues, list):
            return []
        return [issue for issue in issues if isinstance(issue, dict)]


class RateLimitError(APIStatusError):
    """429 RATE_LIMITED; `retry_after` is the `Retry-After` header in seconds (None when absent)."""

    @property
    def retry_after(self) -> Optional[float]:
        return parse_retry_after(self.response.headers.get("Retry-After"))


class InternalServerError(APIStatusError):
    """A 5xx other than 503."""


class ServiceUnavailableError(APIStatusError):
    """503: `KILL_SWITCH` (the key or organization is suspended) or the service is unavailable."""


class WaitTimeoutError(APITimeoutError):
    """`wait_for_request` ran out of time; `last` is the last state polled (None if none was)."""

    def __init__(self, message: str, *, last: Any = None) -> None:
        super().__init__(message, request_id=getattr(last, "_request_id", None))
        self.last = last


_BY_STATUS: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    402: BillingExhaustedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """`Retry-After` in seconds (the contract sends delta-seconds); None when absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def error_from_response(response: httpx.Response) -> APIStatusError:
    """The exception for a non-2xx response, read from the contract's error envelope when present."""
    code: Optional[str] = None
    details: Optional[Mapping[str, Any]] = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    request_id = response.headers.get("X-Request-Id")
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        if isinstance(error.get("code"), str):
            code = error["code"]
        if isinstance(error.get("message"), str):
            message = error["message"]
        if isinstance(error.get("details"), dict):
            details = error["details"]
        if request_id is None and isinstance(error.get("requestId"), str):
            request_id = error["requestId"]
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    return cls(message, response=response, code=code, request_id=request_id, details=details)
