"""DELETE /v1/leased-accounts/{socialAccountId} → 200 (api.md 2.4)."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Annotated

from layers_common.dependencies import dependencies
from layers_common.http.api import api_handler
from layers_common.http.routing import Body, Call, Path, Router
from layers_common.models.leased_account import ReleaseBody, ReleaseResult
from layers_common.observability import add_metric
from layers_common.principal import LEASED_WRITE
from layers_common.services.release_leased_account import release_leased_account

app = Router()


@app.delete(
    "/v1/leased-accounts/{socialAccountId}",
    summary="Release a leased account",
    description="Immediate: no further renewal is charged; queued posts are canceled and the account "
    "returns to the pool asynchronously. No proration.",
    tags=["Leased accounts"],
    operation_id="releaseLeasedAccount",
    response_description="Released",
)
def delete_leased_account(
    call: Call,
    social_account_id: Annotated[str, Path(alias="socialAccountId")],
    body: Annotated[ReleaseBody | None, Body()] = None,
) -> ReleaseResult:
    deps = dependencies()
    released = release_leased_account(
        deps.repository,
        deps.clock,
        caller=call.principal,
        social_account_id=social_account_id,
        reason=body.reason if body else None,
    )
    add_metric("Releases")
    return released


lambda_handler = api_handler(app, scope=LEASED_WRITE)

gc.freeze()  # what the init built stays out of every later collection
gc.enable()
