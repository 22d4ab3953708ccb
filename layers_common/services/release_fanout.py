"""Consumers of the release fan-out: cancel queued posts, return the account, close the billing.

Each is idempotent on the event's own `eventId` (delivery is at-least-once): the "consumed" marker
is written in the same transaction as the effect, or after effects that are idempotent themselves.
"""

from __future__ import annotations

from typing import Literal, Protocol

from layers_common.clock import Clock, epoch_seconds, isoformat, ledger_entry_id
from layers_common.models.events import LeasedAccountReleased, SocialAccountRevoked
from layers_common.repository.records import AccountRecord, LedgerEntry, ScheduledPostRecord

CANCEL_POSTS = "cancel-scheduled-posts"
RETURN_TO_POOL = "return-to-pool"
BILLING = "billing"


class PostStore(Protocol):
    def was_consumed(self, consumer: str, event_id: str) -> bool: ...

    def mark_consumed(self, consumer: str, event_id: str, now_epoch: int) -> bool: ...

    def get_account(self, social_account_id: str) -> AccountRecord | None: ...

    def list_scheduled_posts(self, social_account_id: str) -> list[ScheduledPostRecord]: ...

    def cancel_scheduled_post(
        self, social_account_id: str, post_id: str, at: str, *, lease_id: str | None = None
    ) -> bool: ...


class PoolStore(Protocol):
    def get_account(self, social_account_id: str) -> AccountRecord | None: ...

    def return_to_pool(
        self, account: AccountRecord, *, lease_id: str, consumer: str, event_id: str, now_epoch: int
    ) -> Literal["returned", "duplicate", "not_leased"]: ...


LeaseEndOutcome = Literal["recorded", "duplicate", "already_recorded", "no_such_lease"]


class BillingStore(Protocol):
    def record_lease_end(
        self, entry: LedgerEntry, *, consumer: str, event_id: str, now_epoch: int
    ) -> LeaseEndOutcome: ...


def _posts_of_the_event(
    event: LeasedAccountReleased | SocialAccountRevoked, store: PostStore
) -> list[tuple[ScheduledPostRecord, str | None]]:
    """The queued posts this event may cancel, each with the owner its cancellation requires.

    A release cancels the posts of the lease it names, never another lease's: the account may have
    been leased again (to anyone) before a late or retried event arrives. A post stored before
    posts carried their lease (no `leaseId`) goes with the release only while the account is not
    held by another lease. A revocation cancels the connected account's own posts.
    """
    posts = [post for post in store.list_scheduled_posts(event.social_account_id) if post.status == "queued"]
    if isinstance(event, SocialAccountRevoked):
        account = store.get_account(event.social_account_id)
        if account is None or account.kind != "connected" or account.org_id != event.org_id:
            return []
        return [(post, None) for post in posts if post.lease_id is None]
    chosen: list[tuple[ScheduledPostRecord, str | None]] = [
        (post, post.lease_id) for post in posts if post.lease_id == event.lease_id
    ]
    unowned = [post for post in posts if post.lease_id is None]
    if unowned:
        account = store.get_account(event.social_account_id)
        if account is not None and account.kind == "pool" and account.lease_id in (None, event.lease_id):
            chosen += [(post, None) for post in unowned]
    return chosen


def cancel_scheduled_posts(
    event: LeasedAccountReleased | SocialAccountRevoked, *, store: PostStore, clock: Clock
) -> int:
    """Cancel the queued posts the event's lease (or revoked account) owns; how many this did."""
    if store.was_consumed(CANCEL_POSTS, event.event_id):
        return 0
    now = clock.now()
    at = isoformat(now)
    canceled = sum(
        store.cancel_scheduled_post(event.social_account_id, post.scheduled_post_id, at, lease_id=owner)
        for post, owner in _posts_of_the_event(event, store)
    )
    store.mark_consumed(CANCEL_POSTS, event.event_id, epoch_seconds(now))
    return canceled


def return_to_pool(event: LeasedAccountReleased, *, store: PoolStore, clock: Clock) -> str:
    """Make the account available again only if it still holds the event's lease (the
    repository's condition: a late event about an older lease finds another one, or none)."""
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
    """Record the end of the lease in the ledger, once per lease (no refund, no proration: 0).

    Only a lease of the event's organization and account is recorded; a second event about the
    same lease (another event id, a late or repeated release) records nothing."""
    now = clock.now()
    entry = LedgerEntry(
        org_id=event.org_id,
        entry_id=ledger_entry_id(now),
        type="lease_ended",
        amount_cents=0,
        at=isoformat(now),
        social_account_id=event.social_account_id,
        lease_id=event.lease_id,
        request_id=event.request_id,
        reason=event.disconnected_reason,
    )
    outcome = store.record_lease_end(
        entry, consumer=BILLING, event_id=event.event_id, now_epoch=epoch_seconds(now)
    )
    return outcome == "recorded"
