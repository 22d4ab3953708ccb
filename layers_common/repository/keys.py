"""Single-table key design. See docs/data-model.md for the access patterns these serve.

Table: `pk` / `sk` (strings); GSI1 `gsi1pk` / `gsi1sk` (leases of an organization by status,
newest first); GSI2 `gsi2pk` / `gsi2sk` (leases of a project by status); TTL attribute `expiresAt`.
"""

from __future__ import annotations


def org(org_id: str) -> tuple[str, str]:
    return f"ORG#{org_id}", "ORG"


def wallet(org_id: str) -> tuple[str, str]:
    return f"ORG#{org_id}", "WALLET"


def project(org_id: str, project_id: str) -> tuple[str, str]:
    return f"ORG#{org_id}", f"PROJECT#{project_id}"


def api_key(key_id: str) -> tuple[str, str]:
    return f"APIKEY#{key_id}", "APIKEY"


def lease_request(org_id: str, request_id: str) -> tuple[str, str]:
    return f"ORG#{org_id}", f"LREQ#{request_id}"


def idempotency(org_id: str, method: str, route: str, key: str) -> tuple[str, str]:
    return f"ORG#{org_id}", f"IDEM#{method}#{route}#{key}"


def lease(org_id: str, lease_id: str) -> tuple[str, str]:
    return f"ORG#{org_id}", f"LEASE#{lease_id}"


def ledger_entry(org_id: str, entry_id: str) -> tuple[str, str]:
    return f"ORG#{org_id}", f"LEDGER#{entry_id}"


LEDGER_PREFIX = "LEDGER#"


def lease_end(org_id: str, lease_id: str) -> tuple[str, str]:
    """Marker that a lease's end is in the ledger (once per lease, kept as long as the lease)."""
    return f"ORG#{org_id}", f"LEASEEND#{lease_id}"


def account(social_account_id: str) -> tuple[str, str]:
    return f"ACCT#{social_account_id}", "ACCT"


def scheduled_post(social_account_id: str, post_id: str) -> tuple[str, str]:
    return f"ACCT#{social_account_id}", f"POST#{post_id}"


POST_PREFIX = "POST#"


def audit_entry(social_account_id: str, at: str, entry_id: str) -> tuple[str, str]:
    return f"ACCT#{social_account_id}", f"AUDIT#{at}#{entry_id}"


AUDIT_PREFIX = "AUDIT#"


def outbox(event_id: str) -> tuple[str, str]:
    return f"OUTBOX#{event_id}", "OUTBOX"


def rate_window(key_id: str, window: str) -> tuple[str, str]:
    return f"RATE#{key_id}#{window}", "RATE"


def org_leases(org_id: str, status: str) -> str:
    return f"LEASES#{org_id}#{status}"


def project_leases(org_id: str, project_id: str, status: str) -> str:
    return f"LEASES#{org_id}#{project_id}#{status}"


def lease_order(assigned_at: str, lease_id: str) -> str:
    return f"{assigned_at}#{lease_id}"


RENEWAL_SHARDS = 16


def renewal_shard(lease_id: str) -> str:
    """Spread the renewal index over a few partitions (a stable hash of the lease id)."""
    import zlib

    return f"RENEWALS#{zlib.crc32(lease_id.encode()) % RENEWAL_SHARDS}"


def renewal_order(next_renewal_at: str, lease_id: str) -> str:
    return f"{next_renewal_at}#{lease_id}"


def pool_vertical(vertical_key: str) -> str:
    return f"POOL#{vertical_key}"


def consumed(consumer: str, event_id: str) -> tuple[str, str]:
    return f"CONSUMED#{consumer}#{event_id}", "CONSUMED"
