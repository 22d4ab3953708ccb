"""Revoke a connected (BYO) account (api.md 2.5); never touches billing or leased accounts."""

from __future__ import annotations

from typing import Literal, Protocol

from layers_common.clock import Clock, epoch_seconds, isoformat, looks_like_id, new_id
from layers_common.errors import Conflict, NotFound
from layers_common.models.events import SocialAccountRevoked
from layers_common.models.leased_account import RevokeResult
from layers_common.principal import Principal
from layers_common.repository.leasing_repository import TRANSACTION_LIMIT
from layers_common.repository.records import (
    AccountRecord,
    AuditEntry,
    LeaseRecord,
    OutboxMessage,
    ScheduledPostRecord,
)
from layers_common.services.release_leased_account import current_lease

LEASED_ACCOUNT = "LEASED_ACCOUNT"
# account update + audit entry + outbox item leave this many transaction slots for posts
_POSTS_PER_TRANSACTION = TRANSACTION_LIMIT - 3
_ATTEMPTS = 3


class RevokeStore(Protocol):
    def get_account(self, social_account_id: str) -> AccountRecord | None: ...

    def get_lease(self, org_id: str, lease_id: str) -> LeaseRecord | None: ...

    def list_scheduled_posts(self, social_account_id: str) -> list[ScheduledPostRecord]: ...

    def cancel_scheduled_post(
        self, social_account_id: str, post_id: str, at: str, *, lease_id: str | None = None
    ) -> bool: ...

    def revoke_connected_account(
        self,
        account: AccountRecord,
        *,
        disconnected_at: str,
        post_ids: list[str],
        audit: AuditEntry,
        audit_id: str,
        event: OutboxMessage,
        now_epoch: int,
    ) -> Literal["revoked", "gone", "posts_changed"]: ...


def revoke_social_account(
    store: RevokeStore, clock: Clock, *, caller: Principal, social_account_id: str, reason: str | None
) -> RevokeResult:
    if not looks_like_id(social_account_id):
        raise NotFound("Social account")
    account = store.get_account(social_account_id)
    if account is None:
        raise NotFound("Social account")
    if account.kind == "pool":
        if current_lease(store, account, caller.org_id) is not None:
            raise Conflict(
                LEASED_ACCOUNT,
                "This is a leased account; release it instead (this route never touches billing).",
                hint=f"DELETE /v1/leased-accounts/{social_account_id}",
            )
        raise NotFound("Social account")
    if account.org_id != caller.org_id or account.status != "connected":
        raise NotFound("Social account")

    now = clock.now()
    at = isoformat(now)
    event = SocialAccountRevoked(
        event_id=new_id("evt"),
        occurred_at=at,
        org_id=caller.org_id,
        social_account_id=social_account_id,
        project_id=account.project_id,
        disconnected_at=at,
    )
    audit = AuditEntry(
        social_account_id=social_account_id,
        action="social_account.revoked",
        at=at,
        org_id=caller.org_id,
        actor_key_id=caller.key_id,
        reason=reason,
    )
    message = OutboxMessage(
        event_id=event.event_id, event_type=event.event_type, detail_json=event.detail_json()
    )
    for attempt in range(_ATTEMPTS):
        queued = [
            post.scheduled_post_id
            for post in store.list_scheduled_posts(social_account_id)
            if post.status == "queued" and post.lease_id is None  # the account's own posts
        ]
        # Posts keep changing under us: disconnect first, then cancel each post on its own.
        in_transaction = queued[:_POSTS_PER_TRANSACTION] if attempt < _ATTEMPTS - 1 else []
        outcome = store.revoke_connected_account(
            account,
            disconnected_at=at,
            post_ids=in_transaction,
            audit=audit,
            audit_id=new_id("aud"),
            event=message,
            now_epoch=epoch_seconds(now),
        )
        if outcome == "gone":
            raise NotFound("Social account")
        if outcome == "revoked":
            # Posts beyond one transaction are canceled one by one; the outbox event lets a
            # consumer finish the job if this function dies before the loop ends.
            rest = queued[len(in_transaction) :]
            canceled = len(in_transaction) + sum(
                store.cancel_scheduled_post(social_account_id, post, at) for post in rest
            )
            return RevokeResult(
                social_account_id=social_account_id, canceled_scheduled_posts=canceled, disconnected_at=at
            )
    raise NotFound("Social account")  # unreachable: the last attempt has no post conditions
