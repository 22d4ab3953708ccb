"""A released or disconnected lease → its account is available in the warmed pool again."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.consumers import domain_event
from layers_common.dependencies import dependencies
from layers_common.models.events import LeasedAccountReleased
from layers_common.observability import log_keys, observed
from layers_common.services.release_fanout import return_to_pool


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    released = domain_event(event, LeasedAccountReleased)
    log_keys(event_id=released.event_id, social_account_id=released.social_account_id)
    deps = dependencies()
    outcome = return_to_pool(released, store=deps.repository, clock=deps.clock)
    return {"socialAccountId": released.social_account_id, "outcome": outcome}


gc.freeze()  # what the init built stays out of every later collection
gc.enable()
