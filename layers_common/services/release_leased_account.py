"""Release a leased account (api.md 2.4): immediate end of the lease, fan-out through the outbox."""

from __future__ import annotations

from typing import Protocol

from layers_common.clock import Clock, epoch_seconds, isoformat, looks_like_id, new_id
from layers_common.errors import Conflict, NotFound
from layers_common.models.events import LeasedAccountReleased
from layers_common.models.leased_account import ReleaseResult
from layers_common.principal import Principal
from layers_common.repository.records import AccountRecord, AuditEntry, LeaseRecord, OutboxMessage

RELEASED_BY_PARTNER = "released_by_partner"
NOT_LEASED = "NOT_LEASED"


class LeaseReader(Protocol):
    def get_lease(self, org_id: str, lease_id: str) -> LeaseRecord | None: ...


class ReleaseStore(LeaseReader, Protocol):
    def get_account(self, social_account_id: str) -> AccountRecord | None: ...

    def release_lease(
        self,
        lease: LeaseRecord,
        *,
        disconnected_at: str,
        disconnected_reason: str,
        audit: AuditEntry,
        audit_id: str,
        event: OutboxMessage,
        now_epoch: int,
    ) -> bool: ...


def current_lease(store: LeaseReader, account: AccountRecord, org_id: str) -> LeaseRecord | None:
    """The assigned lease of a pool account held by `org_id`, if there is one."""
    if account.kind != "pool" or account.leased_org_id != org_id or account.lease_id is None:
        return None
    lease = store.get_lease(org_id, account.lease_id)
    return lease if lease is not None and lease.status == "assigned" else None


def release_leased_account(
    store: ReleaseStore, clock: Clock, *, caller: Principal, social_account_id: str, reason: str | None
) -> ReleaseResult:
    if not looks_like_id(social_account_id):
        raise NotFound("Leased account")
    account = store.get_account(social_account_id)
    if account is None:
        raise NotFound("Leased account")
    if account.kind == "connected" and account.org_id == caller.org_id:
        raise Conflict(
            NOT_LEASED,
            "This is a connected (BYO) account, not a leased one.",
            hint=f"DELETE /v1/social-accounts/{social_account_id}",
        )
    lease = current_lease(store, account, caller.org_id)
    if lease is None:
        raise NotFound("Leased account")

    now = clock.now()
    at = isoformat(now)
    event = LeasedAccountReleased(
        event_id=new_id("evt"),
        occurred_at=at,
        org_id=caller.org_id,
        lease_id=lease.lease_id,
        social_account_id=social_account_id,
        project_id=lease.project_id,
        request_id=lease.request_id,
        disconnected_reason=RELEASED_BY_PARTNER,
        disconnected_at=at,
        released_by_key_id=caller.key_id,
    )
    released = store.release_lease(
        lease,
        disconnected_at=at,
        disconnected_reason=RELEASED_BY_PARTNER,
        audit=AuditEntry(
            social_account_id=social_account_id,
            action="lease.released",
            at=at,
            org_id=caller.org_id,
            actor_key_id=caller.key_id,
            reason=reason,
        ),
        audit_id=new_id("aud"),
        event=OutboxMessage(
            event_id=event.event_id, event_type=event.event_type, detail_json=event.detail_json()
        ),
        now_epoch=epoch_seconds(now),
    )
    if not released:  # a concurrent release won: to this caller the account is already released
        raise NotFound("Leased account")
    return ReleaseResult(
        social_account_id=social_account_id, disconnected_reason=RELEASED_BY_PARTNER, disconnected_at=at
    )
