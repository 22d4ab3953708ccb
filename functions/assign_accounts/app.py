"""LeaseRequested → assign warmed accounts to the request (claim, charge, lease, ledger)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.consumers import domain_event
from layers_common.dependencies import dependencies
from layers_common.models.events import LeaseRequested
from layers_common.observability import logger
from layers_common.services.assign_accounts import assign_accounts


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    requested = domain_event(event, LeaseRequested)
    logger.append_keys(event_id=requested.event_id, request_id=requested.request_id, org_id=requested.org_id)
    deps = dependencies()
    return asdict(assign_accounts(requested, store=deps.repository, clock=deps.clock))
