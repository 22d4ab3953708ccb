"""POST /v1/projects/{projectId}/leased-accounts/request → 202 (api.md 2.1)."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Annotated

from layers_common.dependencies import dependencies
from layers_common.http.api import api_handler, stored_response
from layers_common.http.routing import Body, Call, Header, Path, Response, Router
from layers_common.models.lease_request import LeaseRequestAccepted, LeaseRequestBody
from layers_common.observability import add_metric
from layers_common.principal import LEASED_WRITE
from layers_common.services.request_lease import RequestLease, request_lease

app = Router()

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x20-\x7E]+$"),
]


@app.post(
    "/v1/projects/{projectId}/leased-accounts/request",
    status_code=202,
    summary="Request leased accounts",
    description="Ask for warmed TikTok accounts in a niche; they are assigned asynchronously "
    "(poll the request).",
    tags=["Leased accounts"],
    operation_id="requestLeasedAccounts",
    responses={
        202: {
            "description": "Request accepted (also the replay of an accepted request)",
            "content": {"application/json": {"model": LeaseRequestAccepted}},
        }
    },
)
def post_lease_request(
    call: Call,
    project_id: Annotated[str, Path(alias="projectId")],
    body: Annotated[LeaseRequestBody, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    deps = dependencies()
    result = request_lease(
        RequestLease(
            org_id=call.principal.org_id,
            path_project_id=project_id,
            body=body,
            raw_body=call.json_body or {},  # present: the body was validated
            idempotency_key=idempotency_key,
        ),
        store=deps.repository,
        clock=deps.clock,
        settings=deps.settings,
    )
    if not result.replayed:
        add_metric("LeaseRequestsAccepted")
    return stored_response(result.response, replayed=result.replayed)


lambda_handler = api_handler(app, scope=LEASED_WRITE)

gc.freeze()  # what the init built stays out of every later collection
gc.enable()
