"""Consumers of the release fan-out: cancel queued posts, return the account, close the billing.

Each is idempotent on the event's own `eventId` (delivery is at-least-once): the "consumed" marker
is written in the same transaction as the effect, or after effects that are idempotent themselves.
"""

from __future__ import annotations

from typing import Literal, Protocol

from layers_common.clock import Clock, epoch_seconds, isoformat, new_id
from layers_common.models.events import LeasedAccountReleased, SocialAccountRevoked
from layers_common.repository.records import AccountRecord, LedgerEntry, ScheduledPostRecord

CANCEL_POSTS = "cancel-scheduled-posts"
RETURN_TO_POOL = "return-to-pool"
BILLING = "billing"


class PostStore(Protocol):
    def was_consumed(self, consumer: str, event_id: str) -> bool: ...

    def mark_consumed(self, consumer: str, event_id: str, now_epoch: int) -> bool: ...

    def list_scheduled_posts(self, social_account_id: str) -> list[ScheduledPostRecord]: ...

    def cancel_scheduled_post(self, social_account_id: str, post_id: str, at: str) -> bool: ...


class PoolStore(Protocol):
    def get_account(self, social_account_id: str) -> AccountRecord | None: ...

    def return_to_pool(
        self, account: AccountRecord, *, lease_id: str, consumer: str, event_id: str, now_epoch: int
    ) -> Literal["returned", "duplicate", "not_leased"]: ...


class BillingStore(Protocol):
    def record_ledger_once(
        self, entry: LedgerEntry, *, consumer: str, event_id: str, now_epoch: int
    ) -> bool: ...


def cancel_scheduled_posts(
    event: LeasedAccountReleased | SocialAccountRevoked, *, store: PostStore, clock: Clock
) -> int:
    """Cancel every queued post of the account; the number canceled by this delivery."""
    if store.was_consumed(CANCEL_POSTS, event.event_id):
        return 0
    now = clock.now()
    at = isoformat(now)
    canceled = sum(
        store.cancel_scheduled_post(event.social_account_id, post.scheduled_post_id, at)
        for post in store.list_scheduled_posts(event.social_account_id)
        if post.status == "queued"
    )
    store.mark_consumed(CANCEL_POSTS, event.event_id, epoch_seconds(now))
    return canceled


def return_to_pool(event: LeasedAccountReleased, *, store: PoolStore, clock: Clock) -> str:
    account = store.get_account(event.social_account_id)
    if account is None or account.kind != "pool":
        return "not_leased"
    return store.return_to_pool(
        account,
        lease_id=event.lease_id,
        consumer=RETURN_TO_POOL,
        event_id=event.event_id,
        now_epoch=epoch_seconds(clock.now()),
    )


def close_lease_billing(event: LeasedAccountReleased, *, store: BillingStore, clock: Clock) -> bool:
    """Record the end of the lease in the ledger (no refund, no proration: amount 0)."""
    now = clock.now()
    entry = LedgerEntry(
        org_id=event.org_id,
        entry_id=new_id("led"),
        type="lease_ended",
        amount_cents=0,
        at=isoformat(now),
        social_account_id=event.social_account_id,
        lease_id=event.lease_id,
        request_id=event.request_id,
        reason=event.disconnected_reason,
    )
    return store.record_ledger_once(
        entry, consumer=BILLING, event_id=event.event_id, now_epoch=epoch_seconds(now)
    )
