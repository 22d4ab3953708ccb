"""Fulfil a lease request (api.md §3): match, rank, then claim + charge + lease each account atomically.

Exactly once in effect under redelivery, concurrency and crashes: each account is one transaction
that also advances the request's progress (conditioned on how many it already has), so a duplicate
delivery can neither fill a slot twice nor double-charge, and a retry after a crash resumes where
the last committed transaction left off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from layers_common.clock import Clock, add_months, epoch_seconds, isoformat, ledger_entry_id, new_id
from layers_common.models.events import LeasedAccountAssigned, LeaseRequestCompleted, LeaseRequested
from layers_common.observability import logger
from layers_common.repository.leasing_repository import ClaimOutcome
from layers_common.repository.records import (
    AccountRecord,
    LeaseRecord,
    LeaseRequestRecord,
    LedgerEntry,
    OutboxMessage,
)

NO_MATCH = "no more warmed accounts match this niche."
WALLET_SHORT = "the wallet could not cover more accounts."
_MAX_RELOADS = 5


class AssignmentStore(Protocol):
    def get_lease_request(
        self, org_id: str, request_id: str, *, consistent: bool = False
    ) -> LeaseRequestRecord | None: ...

    def list_available_pool(self, vertical_key: str) -> list[AccountRecord]: ...

    def get_wallet_balance(self, org_id: str) -> int | None: ...

    def claim_account(
        self,
        *,
        request: LeaseRequestRecord,
        slot: int,
        lease: LeaseRecord,
        ledger: LedgerEntry,
        event: OutboxMessage,
        now_epoch: int,
    ) -> ClaimOutcome: ...

    def complete_lease_request(
        self,
        request: LeaseRequestRecord,
        *,
        status: str,
        assigned_at: str | None,
        note: str | None,
        assigned_count: int,
        event: OutboxMessage,
        now_epoch: int,
    ) -> bool: ...


@dataclass(frozen=True)
class AssignmentResult:
    request_id: str
    status: str
    assigned: tuple[str, ...]
    note: str | None
    claimed_now: int = 0  # by this delivery (a duplicate delivery claims nothing)
    charged_cents: int = 0
    completed_now: bool = False


def primary_subtag(tag: str | None) -> str | None:
    return tag.split("-", 1)[0].lower() if tag else None


def matches_language(account: AccountRecord, language: str | None) -> bool:
    """`en` matches `en-US`, `en-US` matches `en-GB`; an account with no language matches no constraint."""
    wanted = primary_subtag(language)
    return wanted is None or primary_subtag(account.language) == wanted


def rank(candidates: list[AccountRecord], geo: list[str]) -> list[AccountRecord]:
    """Most audience countries in common first, then more followers, then ascending id."""
    wanted = set(geo)
    return sorted(
        candidates,
        key=lambda account: (-len(wanted & set(account.geo)), -account.followers, account.social_account_id),
    )


def lease_id_for(request_id: str, slot: int) -> str:
    """Deterministic: the same slot of the same request is always the same lease."""
    return f"lse_{request_id}_{slot}"


def outcome_of(count: int, assigned: int, wallet_short: bool) -> tuple[str, str | None]:
    reason = WALLET_SHORT if wallet_short else NO_MATCH
    if assigned >= count:
        return "assigned", None
    if assigned == 0:
        return "rejected", (
            "The wallet could not cover one account."
            if wallet_short
            else "No warmed account matches this niche."
        )
    return "partial", f"Assigned {assigned} of {count}: {reason}"


def _outbox(event: LeasedAccountAssigned | LeaseRequestCompleted) -> OutboxMessage:
    return OutboxMessage(
        event_id=event.event_id, event_type=event.event_type, detail_json=event.detail_json()
    )


def assign_accounts(event: LeaseRequested, *, store: AssignmentStore, clock: Clock) -> AssignmentResult:
    request = store.get_lease_request(event.org_id, event.request_id, consistent=True)
    if request is None:
        logger.error("lease request not found", extra={"request_id": event.request_id})
        raise LookupError(f"lease request {event.request_id} does not exist")
    wallet_short = False
    tried: set[str] = set()
    reloads = 0
    claimed_now = 0
    charged_cents = 0
    while request.status == "requested" and len(request.assigned_social_account_ids) < request.count:
        slot = len(request.assigned_social_account_ids)
        candidates = [
            account
            for account in store.list_available_pool(event.niche.vertical.strip().lower())
            if account.social_account_id not in tried and matches_language(account, event.niche.language)
        ]
        if wallet_short:
            balance = store.get_wallet_balance(request.org_id) or 0
            candidates = [account for account in candidates if (account.monthly_price_cents or 0) <= balance]
        if not candidates:
            break
        account = rank(candidates, event.niche.geo)[0]
        tried.add(account.social_account_id)
        outcome = _claim(store, clock, request, slot, account)
        if outcome == "wallet_short":
            wallet_short = True
        elif outcome in ("claimed", "request_moved"):
            if outcome == "claimed":
                claimed_now += 1
                charged_cents += account.monthly_price_cents or 0
            if outcome == "request_moved":
                reloads += 1
                if reloads > _MAX_RELOADS:
                    raise RuntimeError(f"lease request {request.request_id} keeps changing; retry later")
            reloaded = store.get_lease_request(request.org_id, request.request_id, consistent=True)
            if reloaded is None:
                raise LookupError(f"lease request {request.request_id} disappeared")
            request = reloaded
    result = _complete(store, clock, request, wallet_short)
    return replace(result, claimed_now=claimed_now, charged_cents=charged_cents)


def _claim(
    store: AssignmentStore, clock: Clock, request: LeaseRequestRecord, slot: int, account: AccountRecord
) -> ClaimOutcome:
    now = clock.now()
    at = isoformat(now)
    price = account.monthly_price_cents or 0
    lease = LeaseRecord(
        org_id=request.org_id,
        lease_id=lease_id_for(request.request_id, slot),
        social_account_id=account.social_account_id,
        project_id=request.project_id,
        request_id=request.request_id,
        handle=account.handle,
        platform=account.platform,
        followers=account.followers,
        status="assigned",
        assigned_at=at,
        next_renewal_at=isoformat(add_months(now, 1)),
        monthly_price_cents=price,
        periods_charged=1,
    )
    assigned = LeasedAccountAssigned(
        event_id=new_id("evt"),
        occurred_at=at,
        org_id=request.org_id,
        lease_id=lease.lease_id,
        social_account_id=account.social_account_id,
        project_id=request.project_id,
        request_id=request.request_id,
        assigned_at=at,
        monthly_price_cents=price,
        next_renewal_at=lease.next_renewal_at or at,
    )
    ledger = LedgerEntry(
        org_id=request.org_id,
        entry_id=ledger_entry_id(at),
        type="charge",
        amount_cents=price,
        at=at,
        social_account_id=account.social_account_id,
        lease_id=lease.lease_id,
        request_id=request.request_id,
        period=0,
        reason="assignment",
    )
    return store.claim_account(
        request=request,
        slot=slot,
        lease=lease,
        ledger=ledger,
        event=_outbox(assigned),
        now_epoch=epoch_seconds(now),
    )


def _complete(
    store: AssignmentStore, clock: Clock, request: LeaseRequestRecord, wallet_short: bool
) -> AssignmentResult:
    assigned = request.assigned_social_account_ids
    if request.status != "requested":  # another delivery finished it: nothing more to do
        return AssignmentResult(request.request_id, request.status, assigned, request.note)
    status, note = outcome_of(request.count, len(assigned), wallet_short)
    now = clock.now()
    at = isoformat(now)
    completed = LeaseRequestCompleted(
        event_id=new_id("evt"),
        occurred_at=at,
        org_id=request.org_id,
        request_id=request.request_id,
        project_id=request.project_id,
        status=status,
        count=request.count,
        assigned_social_account_ids=list(assigned),
        note=note,
    )
    completed_now = store.complete_lease_request(
        request,
        status=status,
        assigned_at=at if assigned else None,
        note=note,
        assigned_count=len(assigned),
        event=_outbox(completed),
        now_epoch=epoch_seconds(now),
    )
    logger.info("lease request completed", extra={"request_id": request.request_id, "status": status})
    return AssignmentResult(request.request_id, status, assigned, note, completed_now=completed_now)
