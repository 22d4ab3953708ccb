"""Build time only: a Powertools REST resolver built from a function's route declarations.

`leasing openapi` merges these resolvers with Powertools' OpenAPIMerge (it calls
`Router.get_openapi_schema`, which lands here), so the OpenAPI document comes from the same
declarations the functions validate with. The tests also run requests through both the resolver
and the `Router` and expect the same verdicts. Production functions never import this module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler import Response as PowertoolsResponse
from aws_lambda_powertools.event_handler.openapi import params

from layers_common.http.routing import Param, Response, Route, Router

_MARKERS: dict[str, type[params.Param] | type[params.Body]] = {
    "path": params.Path,
    "query": params.Query,
    "header": params.Header,
    "body": params.Body,
}


def _powertools_marker(marker: Param) -> Any:
    kind = _MARKERS[marker.location]
    if kind is params.Body:
        return params.Body(**marker.constraints)
    return kind(alias=marker.alias, **marker.constraints)


def _rule(path: str) -> str:
    return path.replace("{", "<").replace("}", ">")


def _stand_in(route: Route, call: Callable[..., Any]) -> Callable[..., Any]:
    """A function with the endpoint's wire parameters in Powertools' spelling, calling `call`."""

    def endpoint(**arguments: Any) -> Any:
        return call(**arguments)

    signature = inspect.Signature(
        [
            inspect.Parameter(
                parameter.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[parameter.annotation, _powertools_marker(parameter.marker)],
                default=inspect.Parameter.empty if parameter.required else parameter.default,
            )
            for parameter in route.parameters
        ],
        # an already serialized answer is described by the route's `responses`, as in Powertools
        return_annotation=PowertoolsResponse[Any] if route.returns is Response else route.returns,
    )
    endpoint.__signature__ = signature  # type: ignore[attr-defined]
    endpoint.__name__ = route.endpoint.__name__
    endpoint.__qualname__ = route.endpoint.__qualname__
    endpoint.__doc__ = route.endpoint.__doc__
    return endpoint


def powertools_resolver(router: Router, call: Callable[..., Any] | None = None) -> APIGatewayRestResolver:
    """An `APIGatewayRestResolver(enable_validation=True)` with the router's routes.

    Each route's handler receives the validated wire arguments and passes them to `call` (by
    default the route answers nothing useful: the resolver is for describing, not serving)."""
    resolver = APIGatewayRestResolver(enable_validation=True)
    for route in router.routes:
        options = dict(route.openapi)
        if route.status_code != 200 and "responses" not in options:
            options["responses"] = {
                route.status_code: {"description": options.get("response_description", "")}
            }
        handler = _stand_in(route, call or (lambda **arguments: {}))
        resolver.route(_rule(route.path), method=route.method, **options)(handler)
    return resolver
