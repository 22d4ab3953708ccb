"""Read one lease request (api.md 2.2), organization-wide or through its project."""

from __future__ import annotations

from typing import Protocol

from layers_common.clock import looks_like_id
from layers_common.errors import NotFound
from layers_common.models.lease_request import LeaseRequestView
from layers_common.repository.records import LeaseRequestRecord


class LeaseRequestReader(Protocol):
    def get_lease_request(self, org_id: str, request_id: str) -> LeaseRequestRecord | None: ...


def get_lease_request(
    store: LeaseRequestReader, *, org_id: str, request_id: str, project_id: str | None = None
) -> LeaseRequestView:
    """The project route answers 404 for a request of another project, even of the same org."""
    if not looks_like_id(request_id) or (project_id is not None and not looks_like_id(project_id)):
        raise NotFound("Lease request")
    record = store.get_lease_request(org_id, request_id)
    if record is None or (project_id is not None and record.project_id != project_id):
        raise NotFound("Lease request")
    return LeaseRequestView(
        request_id=record.request_id,
        project_id=record.project_id,
        status=record.status,
        count=record.count,
        niche=record.niche,
        submitted_at=record.submitted_at,
        assigned_at=record.assigned_at,
        assigned_social_account_ids=list(record.assigned_social_account_ids),
        note=record.note,
    )
