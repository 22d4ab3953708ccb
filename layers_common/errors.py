"""Domain errors. Each maps to one HTTP status and code of the contract, in `http.envelope` only."""

from __future__ import annotations

from typing import Any, NamedTuple


class DomainError(Exception):
    """Base class; `message` is for people, `details` is machine-readable."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Unauthenticated(DomainError):
    def __init__(self) -> None:
        super().__init__("Missing or invalid API key.")


class KillSwitch(DomainError):
    def __init__(self) -> None:
        super().__init__("This API key or its organization is suspended.")


class ForbiddenScope(DomainError):
    def __init__(self, required_scope: str) -> None:
        super().__init__(f"This API key lacks the {required_scope} scope.", {"requiredScope": required_scope})


class NotFound(DomainError):
    def __init__(self, what: str = "Resource") -> None:
        super().__init__(f"{what} not found.")


class BillingExhausted(DomainError):
    def __init__(self, balance_cents: int, price_cents: int) -> None:
        super().__init__(
            "The wallet cannot cover even one account; the request was not queued.",
            {"balanceCents": balance_cents, "requiredCents": price_cents},
        )


class Conflict(DomainError):
    """A state conflict; `reason` is the contract's `details.reason`."""

    def __init__(
        self, reason: str, message: str, *, hint: str | None = None, retry_after: int | None = None
    ) -> None:
        details: dict[str, Any] = {"reason": reason}
        if hint:
            details["hint"] = hint
        super().__init__(message, details)
        self.reason = reason
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"The request body is larger than {limit_bytes} bytes.", {"limitBytes": limit_bytes})


class UnsupportedMediaType(DomainError):
    def __init__(self, content_type: str) -> None:
        super().__init__(f"Content-Type {content_type!r} is not supported; send application/json.")


class Issue(NamedTuple):
    """One validation problem, at a path in the request's own field names (`niche.geo[1]`)."""

    path: str
    message: str


class ValidationFailed(DomainError):
    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__(
            "The request is not valid.",
            {"issues": [{"path": issue.path, "message": issue.message} for issue in issues]},
        )

    @classmethod
    def at(cls, path: str, message: str) -> ValidationFailed:
        return cls([Issue(path, message)])


class RateLimited(DomainError):
    def __init__(self, retry_after: int, window: str) -> None:
        super().__init__(f"Rate limit exceeded for this {window}; retry later.", {"window": window})
        self.retry_after = retry_after
