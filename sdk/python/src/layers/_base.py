"""What the sync and async clients share: configuration, request shapes, the debug log."""

import logging
import os
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from layers._exceptions import LayersError
from layers._version import __version__
from layers.types import Niche

DEFAULT_BASE_URL = "https://api.layers.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2

logger = logging.getLogger("layers")

NicheInput = Union[Mapping[str, Any], Niche]


@dataclass(frozen=True)
class ClientConfig:
    api_key: str
    base_url: str
    timeout: httpx.Timeout
    max_retries: int


def resolve_config(
    api_key: Optional[str],
    base_url: Optional[str],
    timeout: Union[float, httpx.Timeout, None],
    max_retries: int,
    debug: Optional[bool],
) -> ClientConfig:
    key = api_key if api_key is not None else os.environ.get("LAYERS_API_KEY")
    if not key:
        raise LayersError("No API key: pass api_key=... or set the LAYERS_API_KEY environment variable.")
    url = base_url or os.environ.get("LAYERS_BASE_URL") or DEFAULT_BASE_URL
    if max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    if debug is None:
        debug = os.environ.get("LAYERS_LOG", "").lower() == "debug"
    if debug:
        enable_debug_logging()
    return ClientConfig(
        api_key=key,
        base_url=url.rstrip("/"),
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout or DEFAULT_TIMEOUT),
        max_retries=max_retries,
    )


def enable_debug_logging() -> None:
    """Log every HTTP attempt (method, path, status, request id; never a header) to stderr."""
    logger.setLevel(logging.DEBUG)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[layers] %(message)s"))
        logger.addHandler(handler)


def default_headers(config: ClientConfig) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {config.api_key}",
        "Accept": "application/json",
        "User-Agent": f"layers-python/{__version__}",
    }


def log_attempt(
    method: str, url: httpx.URL, attempt: int, response: Optional[httpx.Response], error: Optional[Exception]
) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    if response is not None:
        logger.debug(
            "%s %s -> %s (X-Request-Id %s, attempt %d)",
            method,
            url.path,
            response.status_code,
            response.headers.get("X-Request-Id", "-"),
            attempt,
        )
    else:
        logger.debug("%s %s -> %s (attempt %d)", method, url.path, type(error).__name__, attempt)


def log_retry(delay: float) -> None:
    logger.debug("retrying in %.2fs", delay)


def segment(value: str) -> str:
    """A path segment, percent-encoded (an id never changes the route)."""
    if not isinstance(value, str) or not value:
        raise ValueError("an id must be a non-empty string")
    return quote(value, safe="")


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Call:
    """One API call as the SDK will send it, whatever the number of attempts."""

    method: str
    path: str
    json_body: Optional[dict[str, Any]] = None
    params: Optional[dict[str, str]] = None
    idempotency_key: Optional[str] = None

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.json_body is not None:
            headers["Content-Type"] = "application/json"
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        return headers


def lease_request_call(
    *,
    project_id: str,
    count: int,
    niche: NicheInput,
    target: Optional[str],
    note: Optional[str],
    request_id: Optional[str],
    idempotency_key: Optional[str],
) -> Call:
    if isinstance(niche, BaseModel):
        niche_body = niche.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        niche_body = dict(niche)
    body: dict[str, Any] = {"projectId": project_id, "count": count, "niche": niche_body}
    for name, value in (("target", target), ("note", note), ("requestId", request_id)):
        if value is not None:
            body[name] = value
    return Call(
        "POST",
        f"/v1/projects/{segment(project_id)}/leased-accounts/request",
        json_body=body,
        # Generated once per call and reused by every retry, so a lost 202 is replayed, not doubled.
        idempotency_key=idempotency_key if idempotency_key is not None else new_idempotency_key(),
    )


def get_request_call(request_id: str, project_id: Optional[str]) -> Call:
    if project_id is not None:
        return Call(
            "GET", f"/v1/projects/{segment(project_id)}/leased-accounts/requests/{segment(request_id)}"
        )
    return Call("GET", f"/v1/leased-accounts/requests/{segment(request_id)}")


def list_call(project_id: Optional[str], status: str, limit: Optional[int], cursor: Optional[str]) -> Call:
    params: dict[str, str] = {"status": status}
    if limit is not None:
        params["limit"] = str(limit)
    if cursor is not None:
        params["cursor"] = cursor
    if project_id is not None:
        return Call("GET", f"/v1/projects/{segment(project_id)}/leased-accounts", params=params)
    return Call("GET", "/v1/leased-accounts", params=params)


def delete_call(path: str, reason: Optional[str]) -> Call:
    return Call("DELETE", path, json_body={"reason": reason} if reason is not None else None)


def rate_limit_pause(response: httpx.Response, now: Optional[float] = None) -> float:
    """Seconds until the rate-limit window resets when this response spent its last call, else 0."""
    remaining = response.headers.get("X-RateLimit-Remaining")
    reset = response.headers.get("X-RateLimit-Reset")
    if remaining is None or reset is None:
        return 0.0
    try:
        if int(remaining) > 0:
            return 0.0
        return max(0.0, float(reset) - (time.time() if now is None else now))
    except ValueError:
        return 0.0
