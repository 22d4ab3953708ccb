"""In-memory fakes of the repository ports, with the conditional semantics of `LeasingRepository`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from layers_common.repository import keys
from layers_common.repository.leasing_repository import AcceptOutcome, IdempotencyClaim
from layers_common.repository.records import (
    AccountRecord,
    ApiKeyRecord,
    AuditEntry,
    IdempotencyRecord,
    LeasePage,
    LeaseRecord,
    LeaseRequestRecord,
    OrgRecord,
    OutboxMessage,
    RateWindow,
    RequestContext,
    ScheduledPostRecord,
    StoredResponse,
    WriteCount,
)


class ConditionFailed(Exception):
    """A write the real table would refuse with `ConditionalCheckFailedException` and the repository
    would not translate (a duplicate outbox event id, a decrement below zero)."""


class SimulatedCrash(Exception):
    """Raised by a store method armed with `crash_next`: the function died before the write."""


class FixedClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> None:
        self._now += timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)


class FakeLeasingStore:
    """Every port the services use, kept in dictionaries.

    Conditions mirror the DynamoDB expressions of `LeasingRepository`: an idempotency key is claimed
    only when absent or past its window, taken over only with the stale token, completed only by its
    owner; a lease request is accepted only if its id is free and the caller still owns its claim; a
    lease is released only while assigned; a connected account is revoked only while connected.
    """

    def __init__(self) -> None:
        self.api_keys: dict[str, ApiKeyRecord] = {}
        self.orgs: dict[str, OrgRecord] = {}
        self.wallets: dict[str, int] = {}
        self.projects: set[tuple[str, str]] = set()
        self.lease_requests: dict[tuple[str, str], LeaseRequestRecord] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.leases: dict[tuple[str, str], LeaseRecord] = {}
        self.accounts: dict[str, AccountRecord] = {}
        self.posts: dict[str, dict[str, ScheduledPostRecord]] = {}
        self.audit: dict[str, list[AuditEntry]] = {}
        self.outbox: dict[str, OutboxMessage] = {}
        self.rate_counts: dict[tuple[str, str], int] = {}
        self._before: dict[str, list[Callable[[], None]]] = {}

    # -- test controls -----------------------------------------------------------------------

    def before_next(self, method: str, action: Callable[[], None]) -> None:
        """Run `action` once, just before the next call of `method` (a concurrent call's write)."""
        self._before.setdefault(method, []).append(action)

    def crash_next(self, method: str) -> None:
        """Make the next call of `method` fail before it writes anything."""

        def crash() -> None:
            raise SimulatedCrash(method)

        self.before_next(method, crash)

    def _enter(self, method: str) -> None:
        pending = self._before.get(method)
        if pending:
            pending.pop(0)()

    # -- seeding -----------------------------------------------------------------------------

    def put_org(self, org: OrgRecord) -> None:
        self.orgs[org.org_id] = org

    def put_wallet(self, org_id: str, balance_cents: int) -> None:
        self.wallets[org_id] = balance_cents

    def put_project(self, org_id: str, project_id: str, name: str = "") -> None:
        self.projects.add((org_id, project_id))

    def put_api_key(self, record: ApiKeyRecord) -> None:
        self.api_keys[record.key_id] = record

    def put_account(self, account: AccountRecord) -> None:
        self.accounts[account.social_account_id] = account

    def put_lease(self, lease: LeaseRecord) -> None:
        """Write a lease and point its pool account at it, as the repository does."""
        account = self.accounts.get(lease.social_account_id)
        if account is None or account.kind != "pool":
            raise ConditionFailed(f"no pool account {lease.social_account_id}")
        assigned = lease.status == "assigned"
        self.leases[(lease.org_id, lease.lease_id)] = lease
        self.accounts[lease.social_account_id] = account._replace(
            pool_status="leased" if assigned else "available",
            lease_id=lease.lease_id if assigned else None,
            leased_org_id=lease.org_id if assigned else None,
        )

    def put_scheduled_post(self, post: ScheduledPostRecord) -> None:
        self.posts.setdefault(post.social_account_id, {})[post.scheduled_post_id] = post

    def put_lease_request(self, request: LeaseRequestRecord) -> None:
        self.lease_requests[(request.org_id, request.request_id)] = request

    # -- inspection --------------------------------------------------------------------------

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Outbox event details, in the order they were written."""
        return [
            json.loads(message.detail_json)
            for message in self.outbox.values()
            if event_type is None or message.event_type == event_type
        ]

    def requests_of(self, org_id: str) -> list[LeaseRequestRecord]:
        return [request for (org, _), request in self.lease_requests.items() if org == org_id]

    def list_audit(self, social_account_id: str) -> list[AuditEntry]:
        return list(self.audit.get(social_account_id, []))

    def get_idempotency(self, claim: IdempotencyClaim) -> IdempotencyRecord | None:
        return self.idempotency.get(claim.item_key)

    def window_count(self, key_id: str, window_name: str) -> int:
        return self.rate_counts.get((key_id, window_name), 0)

    # -- authentication ----------------------------------------------------------------------

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        return self.api_keys.get(key_id)

    def get_org(self, org_id: str) -> OrgRecord | None:
        return self.orgs.get(org_id)

    # -- rate limiting -----------------------------------------------------------------------

    def increment_window(self, key_id: str, window: RateWindow) -> int | None:
        self._enter("increment_window")
        count = self.rate_counts.get((key_id, window.name), 0)
        if count >= window.limit:
            return None
        self.rate_counts[(key_id, window.name)] = count + 1
        return count + 1

    def count_write(self, key_id: str, day: RateWindow, minute_start: int, minute_limit: int) -> WriteCount:
        self._enter("count_write")
        minute_name = f"write#m{minute_start}"
        day_count = self.rate_counts.get((key_id, day.name), 0)
        minute_count = self.rate_counts.get((key_id, minute_name), 0)
        if day_count >= day.limit or minute_count >= minute_limit:
            return WriteCount(False, minute_count, day_count)
        self.rate_counts[(key_id, day.name)] = day_count + 1
        self.rate_counts[(key_id, minute_name)] = minute_count + 1
        return WriteCount(True, minute_count + 1, day_count + 1)

    # -- organizations, projects, wallets ----------------------------------------------------

    def project_exists(self, org_id: str, project_id: str) -> bool:
        return (org_id, project_id) in self.projects

    def get_wallet_balance(self, org_id: str) -> int | None:
        return self.wallets.get(org_id)

    def load_request_context(self, org_id: str, project_id: str, request_id: str | None) -> RequestContext:
        self._enter("load_request_context")
        return RequestContext(
            project_exists=self.project_exists(org_id, project_id),
            wallet_balance_cents=self.wallets.get(org_id, 0),
            existing_request=(
                self.lease_requests.get((org_id, request_id)) if request_id is not None else None
            ),
        )

    # -- idempotency -------------------------------------------------------------------------

    def claim_idempotency(
        self, claim: IdempotencyClaim, *, body_hash: str, now: int, lock_until: int, expires_at: int
    ) -> IdempotencyRecord | None:
        self._enter("claim_idempotency")
        existing = self.idempotency.get(claim.item_key)
        if existing is not None and existing.expires_at > now:
            return existing
        self.idempotency[claim.item_key] = IdempotencyRecord(
            body_hash=body_hash,
            status="in_progress",
            token=claim.token,
            locked_until=lock_until,
            expires_at=expires_at,
            response=None,
        )
        return None

    def take_over_idempotency(self, claim: IdempotencyClaim, *, stale_token: str, lock_until: int) -> bool:
        self._enter("take_over_idempotency")
        existing = self.idempotency.get(claim.item_key)
        if existing is None or existing.token != stale_token or existing.status != "in_progress":
            return False
        self.idempotency[claim.item_key] = existing._replace(token=claim.token, locked_until=lock_until)
        return True

    def complete_idempotency(self, claim: IdempotencyClaim, response: StoredResponse) -> bool:
        existing = self.idempotency.get(claim.item_key)
        if existing is None or existing.token != claim.token:
            return False
        self.idempotency[claim.item_key] = existing._replace(status="completed", response=response)
        return True

    def forget_idempotency(self, claim: IdempotencyClaim) -> None:
        existing = self.idempotency.get(claim.item_key)
        if existing is not None and existing.token == claim.token and existing.status == "in_progress":
            del self.idempotency[claim.item_key]

    # -- lease requests ----------------------------------------------------------------------

    def accept_lease_request(
        self,
        request: LeaseRequestRecord,
        event: OutboxMessage,
        response: StoredResponse,
        claim: IdempotencyClaim | None,
        *,
        now_epoch: int,
    ) -> AcceptOutcome:
        """Request + outbox item (+ idempotency completion), all or nothing."""
        self._enter("accept_lease_request")
        if (request.org_id, request.request_id) in self.lease_requests:
            return "request_id_taken"
        if event.event_id in self.outbox:
            raise ConditionFailed(f"outbox event {event.event_id} exists")
        if claim is not None:
            existing = self.idempotency.get(claim.item_key)
            if existing is None or existing.token != claim.token:
                return "claim_lost"
            self.idempotency[claim.item_key] = existing._replace(status="completed", response=response)
        self.lease_requests[(request.org_id, request.request_id)] = request
        self.outbox[event.event_id] = event
        return "accepted"

    def get_lease_request(self, org_id: str, request_id: str) -> LeaseRequestRecord | None:
        return self.lease_requests.get((org_id, request_id))

    # -- leases ------------------------------------------------------------------------------

    def list_leases(
        self, org_id: str, project_id: str | None, status: str, limit: int, after: str | None
    ) -> LeasePage:
        """Newest `assignedAt` first (ties by lease id, descending), strictly after `after`."""
        ordered = sorted(
            (
                (keys.lease_order(lease.assigned_at, lease.lease_id), lease)
                for (org, _), lease in self.leases.items()
                if org == org_id
                and lease.status == status
                and (project_id is None or lease.project_id == project_id)
            ),
            key=lambda pair: pair[0],
            reverse=True,
        )
        if after is not None:
            ordered = [(order, lease) for order, lease in ordered if order < after]
        page = ordered[: limit + 1]
        leases = [lease for _, lease in page[:limit]]
        more = len(page) > limit
        return LeasePage(leases=leases, last_order_key=page[limit - 1][0] if more else None)

    def get_lease(self, org_id: str, lease_id: str) -> LeaseRecord | None:
        return self.leases.get((org_id, lease_id))

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
    ) -> bool:
        self._enter("release_lease")
        current = self.leases.get((lease.org_id, lease.lease_id))
        if current is None or current.status != "assigned":
            return False
        if event.event_id in self.outbox:
            raise ConditionFailed(f"outbox event {event.event_id} exists")
        self.leases[(lease.org_id, lease.lease_id)] = current._replace(
            status="disconnected",
            disconnected_at=disconnected_at,
            disconnected_reason=disconnected_reason,
            next_renewal_at=None,
        )
        self.audit.setdefault(audit.social_account_id, []).append(audit)
        self.outbox[event.event_id] = event
        return True

    # -- social accounts, scheduled posts ----------------------------------------------------

    def get_account(self, social_account_id: str) -> AccountRecord | None:
        return self.accounts.get(social_account_id)

    def list_scheduled_posts(self, social_account_id: str) -> list[ScheduledPostRecord]:
        self._enter("list_scheduled_posts")
        posts = self.posts.get(social_account_id, {})
        return [posts[post_id] for post_id in sorted(posts)]

    def cancel_scheduled_post(
        self, social_account_id: str, post_id: str, at: str, *, lease_id: str | None = None
    ) -> bool:
        post = self.posts.get(social_account_id, {}).get(post_id)
        if post is None or post.status != "queued" or post.lease_id != lease_id:
            return False
        self.posts[social_account_id][post_id] = post._replace(status="canceled")
        return True

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
    ) -> Literal["revoked", "gone", "posts_changed"]:
        self._enter("revoke_connected_account")
        current = self.accounts.get(account.social_account_id)
        if current is None or current.status != "connected" or current.org_id != (account.org_id or ""):
            return "gone"
        posts = self.posts.get(account.social_account_id, {})
        if any(post_id not in posts or posts[post_id].status != "queued" for post_id in post_ids):
            return "posts_changed"
        if event.event_id in self.outbox:
            raise ConditionFailed(f"outbox event {event.event_id} exists")
        self.accounts[account.social_account_id] = current._replace(status="disconnected")
        for post_id in post_ids:
            posts[post_id] = posts[post_id]._replace(status="canceled")
        self.audit.setdefault(account.social_account_id, []).append(audit)
        self.outbox[event.event_id] = event
        return "revoked"


if TYPE_CHECKING:
    # mypy proves the fake satisfies every port the services declare.
    from layers_common.idempotency import IdempotencyStore
    from layers_common.rate_limit import RateLimitStore
    from layers_common.services.authorize import AuthStore
    from layers_common.services.get_lease_request import LeaseRequestReader
    from layers_common.services.list_leased_accounts import LeaseLister
    from layers_common.services.release_leased_account import ReleaseStore
    from layers_common.services.request_lease import LeaseRequestStore
    from layers_common.services.revoke_social_account import RevokeStore

    def _implements_every_port(store: FakeLeasingStore) -> None:
        ports: tuple[
            LeaseRequestStore,
            IdempotencyStore,
            LeaseRequestReader,
            LeaseLister,
            ReleaseStore,
            RevokeStore,
            AuthStore,
            RateLimitStore,
        ] = (store, store, store, store, store, store, store, store)
        del ports
