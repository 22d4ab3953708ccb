"""Typed routes for the endpoint functions, validated with pydantic, dispatched without a framework.

Each endpoint function declares its routes the way Powertools' resolver does (a decorator with the
OpenAPI metadata, parameters annotated `Path`/`Query`/`Header`/`Body`, the response model as return
type), and this module validates and dispatches them at run time. The Powertools resolver is built
from the same declarations at build time only (`layers_common.http.resolver`), for the OpenAPI
document: importing `aws_lambda_powertools.event_handler` alone adds ~100 ms to a cold start, about
as much as pydantic and all our modules together (docs/decisions.md: "API handlers dispatch without the
Powertools resolver").

    app = Router()

    @app.get("/v1/things/{thingId}", summary="Get a thing", operation_id="getThing")
    def get_thing(call: Call, thing_id: Annotated[str, Path(alias="thingId")]) -> ThingView: ...

Validation errors carry the locations Powertools gives them (`("query", "limit")`, `("body",
"niche", "geo", 1)`), so `layers_common.http.validation` turns either into the contract's issues.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from layers_common.errors import NotFound
from layers_common.http.validation import validation_failed
from layers_common.principal import Principal
from layers_common.repository.records import NO_HEADERS

Location = Literal["path", "query", "header", "body"]
Endpoint = Callable[..., Any]
_REQUIRED: Any = ...
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Param:
    """Where a parameter comes from, its wire name, and pydantic `Field` constraints."""

    location: Location = "query"

    def __init__(self, alias: str | None = None, **constraints: Any) -> None:
        self.alias = alias
        self.constraints = constraints


class Path(Param):
    location = "path"


class Query(Param):
    location = "query"


class Header(Param):
    location = "header"


class Body(Param):
    """The JSON body as one model (not embedded under a key)."""

    location = "body"


class Call(NamedTuple):
    """What an endpoint may ask for besides its parameters: the caller and this call's body."""

    principal: Principal
    request_id: str
    json_body: dict[str, Any] | None = None


class Response(NamedTuple):
    """An answer the endpoint has already serialized (e.g. a stored idempotent response)."""

    status_code: int
    body: str
    headers: Mapping[str, str] = NO_HEADERS


class Parameter(NamedTuple):
    name: str  # the endpoint's argument
    alias: str  # the wire name
    location: Location
    annotation: Any  # the declared type, without `Annotated` metadata
    marker: Param
    default: Any  # `_REQUIRED` when the parameter must be given
    adapter: TypeAdapter[Any]

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


class Route(NamedTuple):
    method: str
    path: str  # API Gateway's spelling: /v1/projects/{projectId}/leased-accounts
    endpoint: Endpoint
    parameters: tuple[Parameter, ...]
    call_argument: str | None  # the argument that receives the `Call`, if any
    returns: Any  # the return annotation (a model, or `Response`)
    status_code: int
    openapi: dict[str, Any]
    pattern: re.Pattern[str]

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def _pattern(path: str) -> re.Pattern[str]:
    parts = _PARAM.split(path)  # literal, name, literal, name, ..., literal
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts)
    )
    return re.compile(regex)


def _parameters(endpoint: Endpoint) -> tuple[tuple[Parameter, ...], str | None, Any]:
    hints = typing.get_type_hints(endpoint, include_extras=True)
    parameters: list[Parameter] = []
    call_argument: str | None = None
    for name, declared in inspect.signature(endpoint).parameters.items():
        hint = hints[name]
        if hint is Call:
            call_argument = name
            continue
        if typing.get_origin(hint) is not typing.Annotated:
            raise TypeError(f"{endpoint.__qualname__}: annotate {name!r} with Path, Query, Header or Body")
        annotation, *extras = typing.get_args(hint)
        markers = [extra for extra in extras if isinstance(extra, Param)]
        others = [extra for extra in extras if not isinstance(extra, Param)]
        if others:  # validators such as `BeforeValidator` stay with the type (Powertools keeps them too)
            annotation = typing.Annotated[(annotation, *others)]
        if len(markers) != 1:
            raise TypeError(f"{endpoint.__qualname__}: {name!r} needs exactly one Path/Query/Header/Body")
        marker = markers[0]
        constrained = (
            typing.Annotated[annotation, Field(**marker.constraints)] if marker.constraints else annotation
        )
        parameters.append(
            Parameter(
                name=name,
                alias=marker.alias or name,
                location=marker.location,
                annotation=annotation,
                marker=marker,
                default=_REQUIRED if declared.default is inspect.Parameter.empty else declared.default,
                adapter=TypeAdapter(constrained),
            )
        )
    if sum(parameter.location == "body" for parameter in parameters) > 1:
        raise TypeError(f"{endpoint.__qualname__}: one Body parameter at most")
    return tuple(parameters), call_argument, hints.get("return")


def _missing(loc: tuple[str | int, ...]) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def _lookup(values: Mapping[str, Any] | None, name: str, *, case_insensitive: bool = False) -> Any:
    if not values:
        return None
    if not case_insensitive:
        return values.get(name)
    wanted = name.lower()
    for key, value in values.items():
        if key.lower() == wanted:
            return value
    return None


def _raw_value(parameter: Parameter, event: Mapping[str, Any], path_values: Mapping[str, str]) -> Any:
    """The value as the event carries it; a parameter given several times stays a list (and fails
    validation as a scalar), one given once is a string, as Powertools resolves them."""
    if parameter.location == "path":
        return path_values.get(parameter.alias)
    single_key, multi_key = {
        "query": ("queryStringParameters", "multiValueQueryStringParameters"),
        "header": ("headers", "multiValueHeaders"),
    }[parameter.location]
    case_insensitive = parameter.location == "header"
    values = _lookup(event.get(multi_key), parameter.alias, case_insensitive=case_insensitive)
    if isinstance(values, list) and values:
        return values[0] if len(values) == 1 else values
    return _lookup(event.get(single_key), parameter.alias, case_insensitive=case_insensitive)


def _validate(
    parameter: Parameter, value: Any, loc: tuple[str | int, ...], errors: list[dict[str, Any]]
) -> Any:
    try:
        return parameter.adapter.validate_python(value)
    except ValidationError as invalid:
        for error in invalid.errors(include_url=False):
            errors.append({**error, "loc": (*loc, *error["loc"])})
        return None


class Router:
    """The routes of one function; `resolve` validates a REST proxy event and calls the endpoint."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, method: str, path: str, *, status_code: int = 200, **openapi: Any
    ) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            parameters, call_argument, returns = _parameters(endpoint)
            declared = set(_PARAM.findall(path))
            in_path = {parameter.alias for parameter in parameters if parameter.location == "path"}
            if declared != in_path:
                raise TypeError(f"{endpoint.__qualname__}: path parameters {sorted(in_path)} != {path}")
            self.routes.append(
                Route(
                    method=method.upper(),
                    path=path,
                    endpoint=endpoint,
                    parameters=parameters,
                    call_argument=call_argument,
                    returns=returns,
                    status_code=status_code,
                    openapi=openapi,
                    pattern=_pattern(path),
                )
            )
            return endpoint

        return register

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route("POST", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route("DELETE", path, **options)

    def find(self, event: Mapping[str, Any]) -> tuple[Route, dict[str, str]]:
        """The route of a REST proxy event, and its path values.

        API Gateway names the matched resource (`/v1/leased-accounts/{socialAccountId}`) and gives
        the decoded path parameters: that holds whatever base path a custom domain maps the API
        under. Events without a known resource (hand-written ones) are matched on `path`."""
        method = str(event.get("httpMethod") or "").upper()
        resource = event.get("resource")
        for route in self.routes:
            if route.method == method and route.path == resource:
                return route, {
                    str(name): str(value) for name, value in (event.get("pathParameters") or {}).items()
                }
        path = str(event.get("path") or "")
        for route in self.routes:
            path_values = route.match(method, path)
            if path_values is not None:
                return route, path_values
        raise NotFound("Route")

    def arguments(
        self, route: Route, event: Mapping[str, Any], path_values: Mapping[str, str], call: Call
    ) -> dict[str, Any]:
        """The endpoint's validated arguments; raises `ValidationFailed` with every issue found."""
        arguments: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for parameter in route.parameters:
            if parameter.location == "body":
                loc: tuple[str | int, ...] = ("body",)
                value: Any = call.json_body
            else:
                loc = (parameter.location, parameter.alias)
                value = _raw_value(parameter, event, path_values)
            if value is None:
                if parameter.required:
                    errors.append(_missing(loc))
                else:
                    arguments[parameter.name] = parameter.default
                continue
            arguments[parameter.name] = _validate(parameter, value, loc, errors)
        if errors:
            raise validation_failed(errors)
        if route.call_argument:
            arguments[route.call_argument] = call
        return arguments

    def resolve(self, event: Mapping[str, Any], call: Call) -> Response:
        """Route, validate, call; the result as an already serialized response."""
        route, path_values = self.find(event)
        result = route.endpoint(**self.arguments(route, event, path_values, call))
        if isinstance(result, Response):
            return result
        if not isinstance(result, BaseModel):
            raise TypeError(f"{route.endpoint.__qualname__} returned {type(result).__name__}, not a model")
        return Response(route.status_code, result.model_dump_json(by_alias=True))

    def get_openapi_schema(self, **options: Any) -> Any:
        """The OpenAPI description of these routes, from the Powertools resolver built from them.

        Build time only (`leasing openapi`, Powertools' OpenAPIMerge calls this by name)."""
        from layers_common.http.resolver import powertools_resolver

        return powertools_resolver(self).get_openapi_schema(**options)
