"""Table stream → `leasing` bus: publishes new outbox items, reporting the ones not accepted."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.dependencies import dependencies
from layers_common.observability import observed
from layers_common.services.relay_outbox import relay_outbox


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = relay_outbox(list(event.get("Records") or []), dependencies().publisher)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}


gc.freeze()  # what the init built stays out of every later collection
gc.enable()
