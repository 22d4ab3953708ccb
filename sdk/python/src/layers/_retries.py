"""When the SDK may retry a call, and how long it waits first.

A retry must never make the server act twice. So:
- a call refused before it was sent (connection refused, connect or pool timeout) is retried,
  whatever its method;
- a call answered 429 is retried (the contract: a rejected call changes nothing), and so is a
  keyed POST answered 409 IDEMPOTENCY_IN_PROGRESS (the first call is still running);
- a call that may have reached the server (a dropped connection, a read timeout, a 5xx) is retried
  only when repeating it is harmless: a GET, or a POST carrying an `Idempotency-Key` (the server
  replays the first outcome). A DELETE whose response was lost is not: its effect may have
  happened, and a second release would answer 404.
`Retry-After` is honoured when the server sends it (up to `MAX_RETRY_AFTER` seconds: a longer
wait, such as the daily write cap, is the caller's decision); otherwise exponential backoff with
jitter.
"""

import random
from dataclasses import dataclass
from typing import Optional

import httpx

from layers._exceptions import parse_retry_after

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
_RNG = random.Random()  # noqa: S311 - jitter, not security

#: Transport errors raised before any byte of the request left this machine.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class CallShape:
    method: str
    keyed: bool  # carries an Idempotency-Key

    @property
    def repeatable(self) -> bool:
        """Sending it again cannot make the server act twice."""
        return self.method == "GET" or (self.method == "POST" and self.keyed)


def retry_after_error(call: CallShape, error: Exception) -> bool:
    """Whether a transport error may be retried."""
    if isinstance(error, NOT_SENT):
        return True
    return isinstance(error, httpx.TransportError) and call.repeatable


def retry_after_response(call: CallShape, response: httpx.Response) -> bool:
    """Whether a non-2xx response may be retried."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None and retry_after > MAX_RETRY_AFTER:
        return False
    if status == 429:
        return True
    if status == 409:
        return (
            call.repeatable and call.method == "POST" and _error_reason(response) == "IDEMPOTENCY_IN_PROGRESS"
        )
    if status == 503 and _error_code(response) == "KILL_SWITCH":
        return False  # a suspension is not transient
    return status in (500, 502, 503, 504) and call.repeatable


def retry_delay(
    attempt: int, response: Optional[httpx.Response] = None, *, rng: Optional[random.Random] = None
) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry)."""
    rand = rng or _RNG
    if response is not None:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            # At least what the server asked, plus a little jitter so clients do not stampede.
            return retry_after + rand.uniform(0, 0.25)
    backoff = min(INITIAL_DELAY * 2.0 ** (attempt - 1), MAX_DELAY)
    return backoff * (1 - 0.5 * rand.random())  # jitter: between half and all of the backoff


def _error(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _error_code(response: httpx.Response) -> Optional[str]:
    code = _error(response).get("code")
    return code if isinstance(code, str) else None


def _error_reason(response: httpx.Response) -> Optional[str]:
    details = _error(response).get("details")
    reason = details.get("reason") if isinstance(details, dict) else None
    return reason if isinstance(reason, str) else None
