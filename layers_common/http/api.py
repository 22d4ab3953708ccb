"""Entry point shared by every endpoint function: the contract's check order around the resolver.

Order (api.md 2.1): authentication (the authorizer) → kill switch → scope → rate limit → body
shape (413/415/422) → the route (Powertools validation, then the service). Powertools runs request
validation before any middleware, so the steps that must come first wrap `app.resolve` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from layers_common.clock import new_request_id
from layers_common.dependencies import dependencies
from layers_common.errors import DomainError, ForbiddenScope, KillSwitch, NotFound, Unauthenticated
from layers_common.http.body import parse_json_object
from layers_common.http.envelope import JSON_CONTENT_TYPE, error_response, internal_error_response
from layers_common.http.validation import validation_failed
from layers_common.observability import log_keys, logger, observed
from layers_common.principal import Principal
from layers_common.rate_limit import RateLimitExceeded, RateLimitStatus, endpoint_class
from layers_common.repository.records import StoredResponse

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def new_resolver() -> APIGatewayRestResolver:
    """A REST resolver with request validation whose errors use the contract's envelope."""
    app = APIGatewayRestResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(error: RequestValidationError) -> Response[Any]:
        raise validation_failed(error.errors())

    @app.exception_handler(ResponseValidationError)  # type: ignore[untyped-decorator]
    def _bad_response(error: ResponseValidationError) -> Response[Any]:
        raise RuntimeError("a response failed its own model's validation") from error  # a bug: 500

    @app.not_found
    def _no_route(_: Exception) -> Response[Any]:
        raise NotFound("Route")

    return app


def principal(app: APIGatewayRestResolver) -> Principal:
    caller = app.context.get("principal")
    if not isinstance(caller, Principal):
        raise Unauthenticated()
    return caller


def json_response(status_code: int, body: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status_code=status_code, content_type=JSON_CONTENT_TYPE, body=body, headers=headers or {})


def stored_response(stored: StoredResponse, *, replayed: bool = False) -> Response[str]:
    headers = dict(stored.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(stored.status_code, stored.body, headers)


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


def _as_plain_json(event: dict[str, Any]) -> dict[str, Any]:
    """The body is known to be JSON or empty (media types were checked above, `+json` and parameters
    included): say so plainly, since the resolver only recognises a literal `application/json`."""
    headers = {
        name: value for name, value in (event.get("headers") or {}).items() if name.lower() != "content-type"
    }
    multi = {
        name: value
        for name, value in (event.get("multiValueHeaders") or {}).items()
        if name.lower() != "content-type"
    }
    headers["Content-Type"] = "application/json"
    multi["Content-Type"] = ["application/json"]
    return {**event, "headers": headers, "multiValueHeaders": multi}


def api_handler(app: APIGatewayRestResolver, *, scope: str) -> LambdaHandler:
    """Wrap a resolver into a Lambda handler that enforces the cross-cutting rules first."""

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
            if str(event.get("httpMethod", "")).upper() not in {"GET", "HEAD"}:
                parse_json_object(event)  # 413 / 415 / 422 on the raw body, in the contract's order
                event = _as_plain_json(event)
            app.append_context(principal=caller, request_id=request_id)  # type: ignore[no-untyped-call]
            response = app.resolve(event, context)
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
