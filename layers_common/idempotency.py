"""`Idempotency-Key` handling of the contract: replay, 409 reasons, crash safety.

Our own records rather than Powertools' utility, because completing the key must be atomic with
writing the request and its outbox item: the completion is one more item of that transaction, so
at most one request exists per key whatever fails in between. A crashed call leaves an
in-progress record whose lock expires; the next retry takes it over.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, NamedTuple, Protocol

from layers_common.errors import Conflict
from layers_common.repository.leasing_repository import IdempotencyClaim
from layers_common.repository.records import IdempotencyRecord, StoredResponse

KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"


class IdempotencyStore(Protocol):
    def claim_idempotency(
        self, claim: IdempotencyClaim, *, body_hash: str, now: int, lock_until: int, expires_at: int
    ) -> IdempotencyRecord | None: ...

    def take_over_idempotency(
        self, claim: IdempotencyClaim, *, stale_token: str, lock_until: int
    ) -> bool: ...

    def forget_idempotency(self, claim: IdempotencyClaim) -> None: ...


def body_fingerprint(body: Any) -> str:
    """Hash of the parsed JSON body: whitespace and key order do not change it."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class IdempotencyStart(NamedTuple):
    """Either a claim this call now owns, or the response to replay."""

    claim: IdempotencyClaim | None
    replay: StoredResponse | None


def in_progress() -> Conflict:
    return Conflict(
        IN_PROGRESS, "A request with this Idempotency-Key is still being processed.", retry_after=1
    )


def begin(
    store: IdempotencyStore,
    *,
    org_id: str,
    method: str,
    route: str,
    key: str,
    body_hash: str,
    now: int,
    window_seconds: int,
    lock_seconds: int,
) -> IdempotencyStart:
    claim = IdempotencyClaim(org_id=org_id, method=method, route=route, key=key, token=uuid.uuid4().hex)
    for _ in range(3):
        existing = store.claim_idempotency(
            claim,
            body_hash=body_hash,
            now=now,
            lock_until=now + lock_seconds,
            expires_at=now + window_seconds,
        )
        if existing is None:
            return IdempotencyStart(claim=claim, replay=None)
        if existing.body_hash != body_hash:
            raise Conflict(KEY_REUSED, "This Idempotency-Key was already used with a different body.")
        if existing.status == "completed" and existing.response is not None:
            return IdempotencyStart(claim=None, replay=existing.response)
        if existing.locked_until > now:
            raise in_progress()
        # The first call died holding the key: take over, unless someone else just did.
        if store.take_over_idempotency(claim, stale_token=existing.token, lock_until=now + lock_seconds):
            return IdempotencyStart(claim=claim, replay=None)
    raise in_progress()
