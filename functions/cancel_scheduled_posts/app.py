"""A released, disconnected or revoked account → its queued scheduled posts are canceled."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.consumers import domain_event
from layers_common.dependencies import dependencies
from layers_common.models.events import LeasedAccountReleased, SocialAccountRevoked
from layers_common.observability import log_keys, observed
from layers_common.services.release_fanout import cancel_scheduled_posts


def _account_left(event: dict[str, Any]) -> LeasedAccountReleased | SocialAccountRevoked:
    if event.get("detail-type") == "SocialAccountRevoked":
        return domain_event(event, SocialAccountRevoked)
    return domain_event(event, LeasedAccountReleased)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    account_left = _account_left(event)
    log_keys(event_id=account_left.event_id, social_account_id=account_left.social_account_id)
    deps = dependencies()
    canceled = cancel_scheduled_posts(account_left, store=deps.repository, clock=deps.clock)
    return {"socialAccountId": account_left.social_account_id, "canceledScheduledPosts": canceled}


gc.freeze()  # what the init built stays out of every later collection
gc.enable()
