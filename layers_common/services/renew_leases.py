"""Monthly renewals (api.md §3): charge every due period exactly once, in order, from `assignedAt`.

`now` is the scheduled event's `time`, so a replayed or late run renews exactly what was due then.
A period the wallet cannot cover disconnects the lease (`insufficient_funds`), which goes through
the same fan-out as a partner's release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layers_common.clock import add_months, epoch_seconds, isoformat, ledger_entry_id, new_id, parse_iso
from layers_common.models.events import LeasedAccountReleased, LeaseRenewed
from layers_common.observability import logger
from layers_common.repository.leasing_repository import RenewOutcome
from layers_common.repository.records import AuditEntry, LeaseRecord, LedgerEntry, OutboxMessage

INSUFFICIENT_FUNDS = "insufficient_funds"


class RenewalStore(Protocol):
    def leases_due(self, now_text: str) -> list[LeaseRecord]: ...

    def get_lease(self, org_id: str, lease_id: str) -> LeaseRecord | None: ...

    def renew_lease_period(
        self,
        lease: LeaseRecord,
        *,
        next_renewal_at: str,
        ledger: LedgerEntry,
        event: OutboxMessage,
        now_epoch: int,
    ) -> RenewOutcome: ...

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
        expected_periods: int | None = None,
    ) -> bool: ...


@dataclass
class RenewalReport:
    renewed: int = 0
    charged_cents: int = 0
    disconnected: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "renewed": self.renewed,
            "chargedCents": self.charged_cents,
            "disconnectedForInsufficientFunds": self.disconnected,
        }


def renewal_date(lease: LeaseRecord, periods: int) -> datetime:
    """Start of period `periods` (0 = assignment): always computed from `assignedAt`, so no drift."""
    return add_months(parse_iso(lease.assigned_at), periods)


def renew_leases(now: datetime, *, store: RenewalStore) -> RenewalReport:
    report = RenewalReport()
    now_text = isoformat(now)
    for due in store.leases_due(now_text):
        _renew_one(due, now, store=store, report=report)
    logger.info("renewal run", extra={"now": now_text, **report.as_dict()})
    return report


def _renew_one(lease: LeaseRecord, now: datetime, *, store: RenewalStore, report: RenewalReport) -> None:
    current: LeaseRecord | None = lease
    while (
        current is not None
        and current.status == "assigned"
        and renewal_date(current, current.periods_charged) <= now
    ):
        period = current.periods_charged
        at = isoformat(now)
        next_renewal = isoformat(renewal_date(current, period + 1))
        renewed = LeaseRenewed(
            event_id=new_id("evt"),
            occurred_at=at,
            org_id=current.org_id,
            lease_id=current.lease_id,
            social_account_id=current.social_account_id,
            period=period,
            amount_cents=current.monthly_price_cents,
            next_renewal_at=next_renewal,
        )
        ledger = LedgerEntry(
            org_id=current.org_id,
            entry_id=ledger_entry_id(at),
            type="charge",
            amount_cents=current.monthly_price_cents,
            at=at,
            social_account_id=current.social_account_id,
            lease_id=current.lease_id,
            request_id=current.request_id,
            period=period,
            reason="renewal",
        )
        outcome = store.renew_lease_period(
            current,
            next_renewal_at=next_renewal,
            ledger=ledger,
            event=OutboxMessage(renewed.event_id, renewed.event_type, renewed.detail_json()),
            now_epoch=epoch_seconds(now),
        )
        if outcome == "renewed":
            report.renewed += 1
            report.charged_cents += current.monthly_price_cents
        elif outcome == "wallet_short":
            if _disconnect(current, now, store=store):
                report.disconnected.append(current.social_account_id)
            return
        current = store.get_lease(current.org_id, current.lease_id)  # renewed, or changed under us


def _disconnect(lease: LeaseRecord, now: datetime, *, store: RenewalStore) -> bool:
    at = isoformat(now)
    event = LeasedAccountReleased(
        event_id=new_id("evt"),
        occurred_at=at,
        org_id=lease.org_id,
        lease_id=lease.lease_id,
        social_account_id=lease.social_account_id,
        project_id=lease.project_id,
        request_id=lease.request_id,
        disconnected_reason=INSUFFICIENT_FUNDS,
        disconnected_at=at,
        released_by_key_id=None,
    )
    return store.release_lease(
        lease,
        disconnected_at=at,
        disconnected_reason=INSUFFICIENT_FUNDS,
        audit=AuditEntry(
            social_account_id=lease.social_account_id,
            action="lease.disconnected",
            at=at,
            org_id=lease.org_id,
            actor_key_id=None,
            reason=f"renewal of period {lease.periods_charged} not covered by the wallet",
        ),
        audit_id=new_id("aud"),
        event=OutboxMessage(event.event_id, event.event_type, event.detail_json()),
        now_epoch=epoch_seconds(now),
        expected_periods=lease.periods_charged,
    )
