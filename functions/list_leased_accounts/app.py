"""GET leased accounts: project route and organization-wide alias (api.md 2.3)."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from functools import cache
from typing import Annotated, Literal

from annotated_types import Ge, Le
from pydantic import BeforeValidator

from layers_common.cursor import signing_key
from layers_common.dependencies import dependencies
from layers_common.http.api import api_handler
from layers_common.http.routing import Call, Path, Query, Router
from layers_common.http.validation import decimal_digits
from layers_common.models.leased_account import LeasedAccountPage
from layers_common.principal import LEASED_WRITE
from layers_common.services.list_leased_accounts import list_leased_accounts

app = Router()


@cache
def _cursor_key() -> bytes:
    return signing_key(dependencies().settings.cursor_signing_key)


Status = Annotated[Literal["assigned", "disconnected"], Query()]
# Canonical decimal digits first (`1_0`, `+5`, `5.0`, ` 5` are 422), then the range.
Limit = Annotated[int, Ge(1), Le(200), BeforeValidator(decimal_digits), Query()]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]


@app.get(
    "/v1/projects/{projectId}/leased-accounts",
    summary="List the leased accounts of a project",
    tags=["Leased accounts"],
    operation_id="listProjectLeasedAccounts",
    response_description="Newest assignedAt first; follow nextCursor for more",
)
def list_project_leased_accounts(
    call: Call,
    project_id: Annotated[str, Path(alias="projectId")],
    status: Status = "assigned",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LeasedAccountPage:
    return list_leased_accounts(
        dependencies().repository,
        org_id=call.principal.org_id,
        project_id=project_id,
        status=status,
        limit=limit,
        cursor=cursor,
        cursor_key=_cursor_key(),
    )


@app.get(
    "/v1/leased-accounts",
    summary="List the leased accounts of the organization",
    tags=["Leased accounts"],
    operation_id="listLeasedAccounts",
    response_description="Newest assignedAt first; follow nextCursor for more",
)
def list_org_leased_accounts(
    call: Call,
    status: Status = "assigned",
    limit: Limit = 50,
    cursor: Cursor = None,
    project_id: Annotated[str | None, Query(alias="projectId", min_length=1)] = None,
) -> LeasedAccountPage:
    return list_leased_accounts(
        dependencies().repository,
        org_id=call.principal.org_id,
        project_id=project_id,
        status=status,
        limit=limit,
        cursor=cursor,
        cursor_key=_cursor_key(),
    )


lambda_handler = api_handler(app, scope=LEASED_WRITE)

gc.freeze()  # what the init built stays out of every later collection
gc.enable()
