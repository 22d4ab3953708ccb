"""Scheduled renewal run: charges every lease due at the scheduled event's `time`."""

from __future__ import annotations

import gc

gc.disable()  # cold start: no collections while the init builds long-lived objects (docs/decisions.md)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.clock import parse_iso
from layers_common.dependencies import dependencies
from layers_common.observability import add_metric, observed
from layers_common.services.renew_leases import renew_leases


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = parse_iso(str(event["time"])).replace(microsecond=0)
    report = renew_leases(now, store=dependencies().repository)
    add_metric("Renewals", report.renewed)
    add_metric("CentsCharged", report.charged_cents)
    add_metric("InsufficientFunds", len(report.disconnected))
    return report.as_dict()


gc.freeze()  # what the init built stays out of every later collection
gc.enable()
