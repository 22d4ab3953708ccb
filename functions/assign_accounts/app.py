"""LeaseRequested → assign warmed accounts to the request (claim, charge, lease, ledger)."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.consumers import domain_event
from layers_common.dependencies import dependencies
from layers_common.models.events import LeaseRequested
from layers_common.observability import add_metric, log_keys, observed
from layers_common.services.assign_accounts import assign_accounts

OUTCOME_METRICS = {
    "assigned": "RequestsAssigned",
    "partial": "RequestsPartial",
    "rejected": "RequestsRejected",
}


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    requested = domain_event(event, LeaseRequested)
    log_keys(event_id=requested.event_id, request_id=requested.request_id, org_id=requested.org_id)
    deps = dependencies()
    result = assign_accounts(requested, store=deps.repository, clock=deps.clock)
    add_metric("AccountsAssigned", result.claimed_now)
    add_metric("CentsCharged", result.charged_cents)
    if result.completed_now:
        add_metric(
            {"assigned": "RequestsAssigned", "partial": "RequestsPartial"}.get(
                result.status, "RequestsRejected"
            )
        )
    return asdict(result)


gc.freeze()  # what the init built stays out of every later collection
gc.enable()
