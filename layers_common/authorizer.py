"""The authorizer's edge: REQUEST event in, IAM policy plus caller context out.

The policy allows the whole API stage because API Gateway caches it per Authorization header
for every route; scopes are checked by each endpoint, not here.
"""

from __future__ import annotations

from typing import Any

from layers_common.dependencies import dependencies
from layers_common.errors import Unauthenticated
from layers_common.http.body import header
from layers_common.observability import logger
from layers_common.services.authorize import authorize


def _stage_wildcard(method_arn: str) -> str:
    arn_prefix, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0] if path else "*"
    return f"{arn_prefix}/{stage}/*/*"


def authorizer_response(event: dict[str, Any]) -> dict[str, Any]:
    """Allow policy with context, or raise `Exception("Unauthorized")` (API Gateway's 401)."""
    try:
        deps = dependencies()
        caller = authorize(
            deps.repository,
            header(event, "Authorization"),
            accept_test_keys=deps.settings.accept_test_keys,
        )
    except Unauthenticated:
        logger.info("authorization refused")
        raise Exception("Unauthorized") from None
    logger.info("authorized", extra={"api_key_id": caller.key_id, "org_id": caller.org_id})
    return {
        "principalId": caller.key_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": _stage_wildcard(str(event.get("methodArn", ""))),
                }
            ],
        },
        "context": caller.to_context(),
    }
