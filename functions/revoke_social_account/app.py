"""DELETE /v1/social-accounts/{socialAccountId} → 200 for connected accounts (api.md 2.5)."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Annotated

from layers_common.dependencies import dependencies
from layers_common.http.api import api_handler
from layers_common.http.routing import Body, Call, Path, Router
from layers_common.models.leased_account import ReleaseBody, RevokeResult
from layers_common.principal import SOCIAL_WRITE
from layers_common.services.revoke_social_account import revoke_social_account

app = Router()


@app.delete(
    "/v1/social-accounts/{socialAccountId}",
    summary="Revoke a connected (BYO) account",
    description="Refuses leased accounts (409 LEASED_ACCOUNT): release those instead. Never touches billing.",
    tags=["Social accounts"],
    operation_id="revokeSocialAccount",
    response_description="Revoked; queued posts canceled",
)
def delete_social_account(
    call: Call,
    social_account_id: Annotated[str, Path(alias="socialAccountId")],
    body: Annotated[ReleaseBody | None, Body()] = None,
) -> RevokeResult:
    deps = dependencies()
    return revoke_social_account(
        deps.repository,
        deps.clock,
        caller=call.principal,
        social_account_id=social_account_id,
        reason=body.reason if body else None,
    )


lambda_handler = api_handler(app, scope=SOCIAL_WRITE)

gc.freeze()  # what the init built stays out of every later collection
gc.enable()
