"""Lambda authorizer (REQUEST): API key → organization, key id, scopes and tier in the context."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.authorizer import authorizer_response
from layers_common.observability import observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorizer_response(event)


gc.freeze()  # what the init built stays out of every later collection
gc.enable()
