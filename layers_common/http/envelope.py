"""The error envelope and the one mapping from domain errors to HTTP status and code."""

from __future__ import annotations

import json
from typing import Any

from layers_common import errors

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

_STATUS: list[tuple[type[errors.DomainError], int, str]] = [
    (errors.Unauthenticated, 401, "UNAUTHENTICATED"),
    (errors.BillingExhausted, 402, "BILLING_EXHAUSTED"),
    (errors.ForbiddenScope, 403, "FORBIDDEN_SCOPE"),
    (errors.NotFound, 404, "NOT_FOUND"),
    (errors.Conflict, 409, "CONFLICT"),
    (errors.PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"),
    (errors.UnsupportedMediaType, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (errors.ValidationFailed, 422, "VALIDATION"),
    (errors.RateLimited, 429, "RATE_LIMITED"),
    (errors.KillSwitch, 503, "KILL_SWITCH"),
]


def status_and_code(error: errors.DomainError) -> tuple[int, str]:
    for kind, status, code in _STATUS:
        if isinstance(error, kind):
            return status, code
    return 500, "INTERNAL"


def error_body(code: str, message: str, request_id: str, details: dict[str, Any] | None = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message, "requestId": request_id}
    if details:
        error["details"] = details
    return json.dumps({"error": error}, separators=(",", ":"), ensure_ascii=False)


def error_response(error: errors.DomainError, request_id: str) -> dict[str, Any]:
    status, code = status_and_code(error)
    if status >= 500 and code == "INTERNAL":  # an unmapped error is a bug: say nothing more
        return internal_error_response(request_id)
    headers = {"Content-Type": JSON_CONTENT_TYPE}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return proxy_response(status, error_body(code, error.message, request_id, error.details), headers)


def internal_error_response(request_id: str) -> dict[str, Any]:
    body = error_body("INTERNAL", "Internal error.", request_id)
    return proxy_response(500, body, {"Content-Type": JSON_CONTENT_TYPE})


def proxy_response(status: int, body: str, headers: dict[str, str]) -> dict[str, Any]:
    """A REST (v1) proxy integration response."""
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
    }
