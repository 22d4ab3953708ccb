"""List leased accounts newest first, with opaque cursors (api.md 2.3)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Protocol

from layers_common.clock import looks_like_id
from layers_common.errors import NotFound, ValidationFailed
from layers_common.models.leased_account import LeasedAccountPage, LeasedAccountView
from layers_common.repository.records import LeasePage, LeaseRecord


class LeaseLister(Protocol):
    def project_exists(self, org_id: str, project_id: str) -> bool: ...

    def list_leases(
        self, org_id: str, project_id: str | None, status: str, limit: int, after: str | None
    ) -> LeasePage: ...


def _encode_cursor(position: str, status: str, project_id: str | None) -> str:
    payload = json.dumps({"v": 1, "after": position, "status": status, "projectId": project_id})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, status: str, project_id: str | None) -> str:
    """The position a cursor stands for; a cursor of another listing or a forged one is a 422.

    The position only ever selects within the caller's own partition, so a forged cursor cannot
    reach another organization's data.
    """
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = payload["after"]
        valid = (
            payload.get("v") == 1
            and isinstance(position, str)
            and payload.get("status") == status
            and payload.get("projectId") == project_id
        )
    except (ValueError, TypeError, KeyError, binascii.Error):
        valid = False
    if not valid:
        raise ValidationFailed.at("cursor", "is not a cursor returned by this listing")
    return str(position)


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
) -> LeasedAccountPage:
    after = _decode_cursor(cursor, status, project_id) if cursor is not None else None
    if project_id is not None and (
        not looks_like_id(project_id) or not store.project_exists(org_id, project_id)
    ):
        raise NotFound("Project")
    page = store.list_leases(org_id, project_id, status, limit, after)
    next_cursor = _encode_cursor(page.last_order_key, status, project_id) if page.last_order_key else None
    return LeasedAccountPage(items=[view(lease) for lease in page.leases], next_cursor=next_cursor)
