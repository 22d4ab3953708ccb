"""A seed shared by the integration and end-to-end suites: two organizations and keys of every kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from layers_common.api_keys import generate_api_key


@dataclass
class World:
    seed: dict[str, Any]
    keys: dict[str, str] = field(default_factory=dict)


def _key(keys: dict[str, str], name: str, env: str = "test", **attributes: Any) -> dict[str, Any]:
    _, text = generate_api_key(env)  # type: ignore[arg-type]
    keys[name] = text
    return {"key": text, **attributes}


def make_world() -> World:
    """Org A (wallet $3,000) with every kind of key, org B, a suspended org C, pool, BYO, posts, leases."""
    keys: dict[str, str] = {}
    leases = [
        {
            "socialAccountId": f"sa_leased_{n}",
            "orgId": "org_a",
            "projectId": "prj_a" if n % 2 else "prj_a2",
            "assignedAt": f"2026-0{n}-1{n}T10:00:00Z",
            "requestId": "lreq_seeded",
            "periodsCharged": 1,
        }
        for n in range(1, 6)
    ]
    leases.append(
        {
            "socialAccountId": "sa_leased_b",
            "orgId": "org_b",
            "projectId": "prj_b",
            "assignedAt": "2026-03-01T00:00:00Z",
        }
    )
    leases.append(
        {
            "socialAccountId": "sa_released",
            "orgId": "org_a",
            "projectId": "prj_a",
            "assignedAt": "2026-01-05T00:00:00Z",
            "status": "disconnected",
            "disconnectedAt": "2026-02-01T00:00:00Z",
            "disconnectedReason": "released_by_partner",
        }
    )
    pool_ids = [lease["socialAccountId"] for lease in leases] + ["sa_free_1", "sa_free_2"]
    seed = {
        "orgs": [
            {
                "id": "org_a",
                "name": "Org A",
                "walletBalanceCents": 300000,
                "apiKeys": [
                    _key(keys, "a", scopes=["*"]),
                    _key(keys, "a_leased", scopes=["leased:write"]),
                    _key(keys, "a_social", scopes=["social:write"]),
                    _key(keys, "a_none", scopes=[]),
                    _key(keys, "a_revoked", scopes=["*"], status="revoked"),
                    _key(keys, "a_suspended", scopes=["*"], status="suspended"),
                    _key(keys, "a_live", env="live", scopes=["*"]),
                    _key(keys, "a_ratelimit", scopes=["*"]),
                    _key(keys, "a_pilot", scopes=["*"], tier="pilot"),
                ],
                "projects": [{"id": "prj_a", "name": "A"}, {"id": "prj_a2", "name": "A2"}],
            },
            {
                "id": "org_b",
                "name": "Org B",
                "walletBalanceCents": 100,
                "apiKeys": [_key(keys, "b", scopes=["*"])],
                "projects": [{"id": "prj_b", "name": "B"}],
            },
            {
                "id": "org_c",
                "name": "Suspended org",
                "status": "suspended",
                "walletBalanceCents": 300000,
                "apiKeys": [_key(keys, "c", scopes=["*"])],
                "projects": [{"id": "prj_c", "name": "C"}],
            },
        ],
        "pool": [
            {
                "socialAccountId": account_id,
                "handle": f"handle.{account_id}",
                "followers": 1000 + n,
                "vertical": "coffee",
                "language": "en-US",
                "geo": ["US"],
            }
            for n, account_id in enumerate(pool_ids)
        ],
        "socialAccounts": [
            {"socialAccountId": "sa_byo_a", "projectId": "prj_a", "handle": "a.byo"},
            {"socialAccountId": "sa_byo_b", "projectId": "prj_b", "handle": "b.byo"},
        ],
        "scheduledPosts": [
            {"scheduledPostId": "sp_q1", "socialAccountId": "sa_byo_a", "status": "queued"},
            {"scheduledPostId": "sp_q2", "socialAccountId": "sa_byo_a", "status": "queued"},
            {"scheduledPostId": "sp_pub", "socialAccountId": "sa_byo_a", "status": "published"},
        ],
        "leases": leases,
    }
    return World(seed=seed, keys=keys)


def lease_body(project_id: str = "prj_a", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "projectId": project_id,
        "count": 2,
        "niche": {"vertical": "coffee", "language": "en", "geo": ["US", "CA"]},
    }
    body.update(overrides)
    return body


def wait_for_fresh_minute(needed_seconds: int = 20) -> None:
    """Sleep into the next calendar minute when fewer than `needed_seconds` are left in this one,
    so a test that spends a per-minute budget does it inside one rate-limit window."""
    import time

    left = 60 - time.time() % 60
    if left < needed_seconds:
        time.sleep(left + 0.05)
