"""GET a lease request: project route and organization-wide alias (api.md 2.2)."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Annotated

from layers_common.dependencies import dependencies
from layers_common.http.api import api_handler
from layers_common.http.routing import Call, Path, Router
from layers_common.models.lease_request import LeaseRequestView
from layers_common.principal import LEASED_WRITE
from layers_common.services.get_lease_request import get_lease_request

app = Router()


@app.get(
    "/v1/projects/{projectId}/leased-accounts/requests/{requestId}",
    summary="Get a lease request of a project",
    tags=["Leased accounts"],
    operation_id="getProjectLeaseRequest",
    response_description="The request and its assignment progress",
)
def get_project_lease_request(
    call: Call,
    project_id: Annotated[str, Path(alias="projectId")],
    request_id: Annotated[str, Path(alias="requestId")],
) -> LeaseRequestView:
    return get_lease_request(
        dependencies().repository, org_id=call.principal.org_id, request_id=request_id, project_id=project_id
    )


@app.get(
    "/v1/leased-accounts/requests/{requestId}",
    summary="Get a lease request (organization-wide)",
    tags=["Leased accounts"],
    operation_id="getLeaseRequest",
    response_description="The request and its assignment progress",
)
def get_org_lease_request(
    call: Call, request_id: Annotated[str, Path(alias="requestId")]
) -> LeaseRequestView:
    return get_lease_request(dependencies().repository, org_id=call.principal.org_id, request_id=request_id)


lambda_handler = api_handler(app, scope=LEASED_WRITE)

gc.freeze()  # what the init built stays out of every later collection
gc.enable()
