"""List leased accounts newest first, with opaque cursors (api.md 2.3)."""

from __future__ import annotations

from typing import Protocol

from layers_common.clock import looks_like_id
from layers_common.cursor import decode_cursor, encode_cursor
from layers_common.errors import NotFound
from layers_common.models.leased_account import LeasedAccountPage, LeasedAccountView
from layers_common.repository.records import LeasePage, LeaseRecord


class LeaseLister(Protocol):
    def project_exists(self, org_id: str, project_id: str) -> bool: ...

    def list_leases(
        self, org_id: str, project_id: str | None, status: str, limit: int, after: str | None
    ) -> LeasePage: ...


def view(lease: LeaseRecord) -> LeasedAccountView:
    return LeasedAccountView(
        social_account_id=lease.social_account_id,
        project_id=lease.project_id,
        handle=lease.handle,
        platform=lease.platform,
        followers=lease.followers,
        status=lease.status,
        assigned_at=lease.assigned_at,
        next_renewal_at=lease.next_renewal_at if lease.status == "assigned" else None,
        monthly_price_cents=lease.monthly_price_cents,
        request_id=lease.request_id,
        disconnected_at=lease.disconnected_at,
        disconnected_reason=lease.disconnected_reason,
    )


def list_leased_accounts(
    store: LeaseLister,
    *,
    org_id: str,
    project_id: str | None,
    status: str,
    limit: int,
    cursor: str | None,
    cursor_key: bytes,
) -> LeasedAccountPage:
    """One page; a cursor is checked (signature, organization, status, project) before any read."""
    after = (
        decode_cursor(cursor_key, cursor, org_id=org_id, status=status, project_id=project_id)
        if cursor is not None
        else None
    )
    if project_id is not None and (
        not looks_like_id(project_id) or not store.project_exists(org_id, project_id)
    ):
        raise NotFound("Project")
    page = store.list_leases(org_id, project_id, status, limit, after)
    next_cursor = (
        encode_cursor(
            cursor_key, org_id=org_id, position=page.last_order_key, status=status, project_id=project_id
        )
        if page.last_order_key
        else None
    )
    return LeasedAccountPage(items=[view(lease) for lease in page.leases], next_cursor=next_cursor)
