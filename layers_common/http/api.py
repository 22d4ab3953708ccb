"""Entry point shared by every endpoint function: the contract's check order around the routes.

Order (api.md 2.1): authentication (the authorizer) → kill switch → scope → rate limit → body
shape (413/415/422) → the route (parameter and body validation, then the service).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from layers_common.clock import new_request_id
from layers_common.dependencies import dependencies
from layers_common.errors import DomainError, ForbiddenScope, KillSwitch, Unauthenticated
from layers_common.http.body import parse_json_object
from layers_common.http.envelope import (
    JSON_CONTENT_TYPE,
    error_response,
    internal_error_response,
    proxy_response,
)
from layers_common.http.routing import Call, Response, Router
from layers_common.observability import log_keys, logger, observed
from layers_common.principal import Principal
from layers_common.rate_limit import RateLimitExceeded, RateLimitStatus, endpoint_class
from layers_common.repository.records import StoredResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def stored_response(stored: StoredResponse, *, replayed: bool = False) -> Response:
    headers = dict(stored.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(stored.status_code, stored.body, headers)


def _set_header(response: dict[str, Any], name: str, value: str) -> None:
    multi = response.setdefault("multiValueHeaders", {}) or {}
    response["multiValueHeaders"] = multi
    single = response.get("headers") or {}
    for existing in [key for key in list(multi) + list(single) if key.lower() == name.lower()]:
        multi.pop(existing, None)
        single.pop(existing, None)
    multi[name] = [value]
    if single:
        response["headers"] = single


def api_handler(app: Router, *, scope: str) -> LambdaHandler:
    """Wrap the routes into a Lambda handler that enforces the cross-cutting rules first."""

    @observed
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request_id = new_request_id()
        log_keys(correlation_id=request_id)
        rate: RateLimitStatus | None = None
        try:
            caller = Principal.from_context((event.get("requestContext") or {}).get("authorizer"))
            if caller is None:
                raise Unauthenticated()
            log_keys(org_id=caller.org_id, api_key_id=caller.key_id)
            deps = dependencies()
            exceeded: RateLimitExceeded | None = None
            try:
                rate = deps.rate_limiter.consume(
                    caller.key_id,
                    caller.tier,
                    endpoint_class(str(event.get("httpMethod", "GET"))),
                    deps.clock.now(),
                )
            except RateLimitExceeded as over_budget:
                rate, exceeded = over_budget.status, over_budget
            # Every authenticated call is counted (unless answered 429) and carries the headers;
            # a suspension or a missing scope is the answer even when the budget is spent.
            if caller.suspended:
                raise KillSwitch()
            allowed = caller.has_scope(scope)
            if allowed and exceeded is not None:
                raise exceeded
            if not allowed:
                raise ForbiddenScope(scope)
            json_body = None
            if str(event.get("httpMethod", "")).upper() not in {"GET", "HEAD"}:
                json_body = parse_json_object(event)  # 413 / 415 / 422, in the contract's order
            answer = app.resolve(event, Call(principal=caller, request_id=request_id, json_body=json_body))
            response = proxy_response(answer.status_code, answer.body, dict(answer.headers))
        except DomainError as error:
            response = error_response(error, request_id)
            logger.info(
                "call refused", extra={"status": response["statusCode"], "error": type(error).__name__}
            )
        except Exception:
            logger.exception("unhandled error")
            response = internal_error_response(request_id)
        _set_header(response, "Content-Type", JSON_CONTENT_TYPE)
        _set_header(response, "X-Request-Id", request_id)
        if rate is not None:
            for name, value in rate.headers().items():
                _set_header(response, name, value)
        return response

    return lambda_handler
