"""Names and builders shared by the unit tests: two organizations, their projects, accounts and leases."""

from __future__ import annotations

from layers_common.repository.records import AccountRecord, LeaseRecord, ScheduledPostRecord
from tests.fakes import FakeLeasingStore

ORG = "org_a"
OTHER_ORG = "org_b"
PROJECT = "prj_a"
OTHER_PROJECT = "prj_a2"
OTHER_ORG_PROJECT = "prj_b"
STANDARD_PRICE = 15_000


def leased_account(
    store: FakeLeasingStore,
    social_account_id: str,
    *,
    org_id: str = ORG,
    project_id: str = PROJECT,
    assigned_at: str = "2026-04-01T10:00:00Z",
    status: str = "assigned",
    request_id: str | None = "lreq_seeded",
) -> LeaseRecord:
    """A pool account leased to `org_id` (or released, with `status="disconnected"`)."""
    store.put_account(
        AccountRecord(
            social_account_id=social_account_id,
            kind="pool",
            handle=f"{social_account_id}.handle",
            platform="tiktok",
            followers=1000,
            pool_status="available",
            vertical="coffee",
            language="en",
            monthly_price_cents=STANDARD_PRICE,
        )
    )
    lease = LeaseRecord(
        org_id=org_id,
        lease_id=f"lease_{social_account_id}",
        social_account_id=social_account_id,
        project_id=project_id,
        request_id=request_id,
        handle=f"{social_account_id}.handle",
        platform="tiktok",
        followers=1000,
        status=status,
        assigned_at=assigned_at,
        next_renewal_at="2026-05-01T10:00:00Z" if status == "assigned" else None,
        monthly_price_cents=STANDARD_PRICE,
        disconnected_at=None if status == "assigned" else "2026-04-10T00:00:00Z",
        disconnected_reason=None if status == "assigned" else "released_by_partner",
    )
    store.put_lease(lease)
    return lease


def pool_account(store: FakeLeasingStore, social_account_id: str) -> AccountRecord:
    """A warmed pool account nobody leases."""
    account = AccountRecord(
        social_account_id=social_account_id,
        kind="pool",
        handle=f"{social_account_id}.handle",
        platform="tiktok",
        pool_status="available",
        vertical="coffee",
        monthly_price_cents=STANDARD_PRICE,
    )
    store.put_account(account)
    return account


def connected_account(
    store: FakeLeasingStore,
    social_account_id: str,
    *,
    org_id: str = ORG,
    project_id: str = PROJECT,
    status: str = "connected",
) -> AccountRecord:
    """A BYO account an organization connected itself."""
    account = AccountRecord(
        social_account_id=social_account_id,
        kind="connected",
        handle=f"{social_account_id}.handle",
        platform="tiktok",
        org_id=org_id,
        project_id=project_id,
        status=status,
    )
    store.put_account(account)
    return account


def scheduled_posts(store: FakeLeasingStore, social_account_id: str, **statuses: int) -> None:
    """`queued=3, published=1` → that many posts of each status on the account."""
    for status, count in statuses.items():
        for n in range(count):
            store.put_scheduled_post(
                ScheduledPostRecord(
                    scheduled_post_id=f"post_{status}_{n:03d}",
                    social_account_id=social_account_id,
                    status=status,
                    scheduled_for="2026-05-01T00:00:00Z",
                )
            )
