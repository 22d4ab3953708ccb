"""A local API Gateway (REST API, Lambda proxy integration v1) for the template's routes.

It behaves the way the deployed API does where the contract depends on it: routes and gateway
responses come from the template, the REQUEST authorizer runs in front of every route, and the
endpoint function receives a REST proxy v1 event. By default the authorizer runs on every request
(a revoked key stops working at once); with an `AuthorizerCache` its result is cached per identity
source value for the template's `ReauthorizeEvery`, as API Gateway does (see `AuthorizerCache`).
`/_local/*` control routes are answered without authorization.

Nothing here logs request headers: the Authorization header carries an API key.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from layers_common.clock import new_request_id
from leasing_cli.embedded_dynamodb import api_request
from leasing_cli.http_server import (
    MAX_CONNECTIONS,
    READ_TIMEOUT_SECONDS,
    REQUEST_TIMEOUT_SECONDS,
    HttpReply,
    HttpRequest,
    ThreadedHTTPServer,
)
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.template import ACCOUNT_ID, REGION, ApiRoute, GatewayResponse, Template

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
API_ID = "local"

#: Status and message of each gateway response type when the template does not set them.
_GATEWAY_DEFAULTS: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "THROTTLED": (429, "Too Many Requests"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal server error"),
    "DEFAULT_5XX": (500, "Internal server error"),
    "DEFAULT_4XX": (400, "Bad Request"),
}


# ------------------------------------------------------------------------------ request/response


@dataclass(frozen=True)
class GatewayRequest:
    """An HTTP request as received: headers in order and case as sent, body as bytes."""

    method: str
    target: str  # path and query string, as on the request line
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    @property
    def path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass(frozen=True)
class GatewayReply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


def json_reply(status: int, payload: Any) -> GatewayReply:
    return GatewayReply(
        status=status,
        headers=[("Content-Type", "application/json; charset=utf-8")],
        body=json.dumps(payload).encode(),
    )


# -------------------------------------------------------------------------------------- routing


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


@dataclass(frozen=True)
class RouteMatch:
    resource: str
    path_parameters: dict[str, str]
    methods: dict[str, Any]


class RouteTable:
    """Resource paths with `{param}` placeholders, matched the way API Gateway walks its tree.

    Intermediate resources exist too (as in API Gateway), so a literal segment wins over a
    placeholder even when the literal resource has no method for the request.
    """

    def __init__(self) -> None:
        self._resources: dict[str, dict[str, Any]] = {}

    def add(self, method: str, path: str, target: Any) -> None:
        segments = _segments(path)
        for depth in range(len(segments) + 1):
            self._resources.setdefault("/" + "/".join(segments[:depth]), {})
        self._resources["/" + "/".join(segments)][method.upper()] = target

    def match(self, path: str) -> RouteMatch | None:
        requested = _segments(path)
        best: tuple[tuple[int, ...], RouteMatch] | None = None
        for resource, methods in self._resources.items():
            parameters = self._bind(_segments(resource), requested)
            if parameters is None:
                continue
            rank = tuple(0 if _is_parameter(segment) else 1 for segment in _segments(resource))
            if best is None or rank > best[0]:
                best = (rank, RouteMatch(resource, parameters, methods))
        return best[1] if best else None

    @staticmethod
    def _bind(template: list[str], requested: list[str]) -> dict[str, str] | None:
        parameters: dict[str, str] = {}
        for index, segment in enumerate(template):
            if segment.startswith("{") and segment.endswith("+}"):  # greedy `{proxy+}`
                rest = requested[index:]
                if not rest or not all(rest):
                    return None
                parameters[segment[1:-2]] = unquote("/".join(rest))
                return parameters
            if index >= len(requested) or not requested[index]:
                return None
            if _is_parameter(segment):
                parameters[segment[1:-1]] = unquote(requested[index])
            elif segment != requested[index]:
                return None
        return parameters if len(template) == len(requested) else None


# --------------------------------------------------------------------------- authorizer policy


def _arn_matches(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, arn) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_allows(policy: Mapping[str, Any], method_arn: str) -> bool:
    """IAM evaluation for one action: an explicit Deny wins, otherwise an Allow is needed."""
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        actions = [str(action) for action in _as_list(statement.get("Action", []))]
        if not any(_arn_matches(action, "execute-api:Invoke") for action in actions):
            continue
        if not any(
            _arn_matches(str(resource), method_arn) for resource in _as_list(statement.get("Resource", []))
        ):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


class AuthorizerConfigurationError(Exception):
    """The authorizer returned something API Gateway cannot use (answered as a 500)."""


def _authorizer_context(result: Any) -> tuple[str, Mapping[str, Any], dict[str, str]]:
    if not isinstance(result, Mapping) or not isinstance(result.get("policyDocument"), Mapping):
        raise AuthorizerConfigurationError("the authorizer result has no policyDocument")
    principal = result.get("principalId")
    if principal is None:
        raise AuthorizerConfigurationError("the authorizer result has no principalId")
    context: dict[str, str] = {}
    for key, value in (result.get("context") or {}).items():
        if isinstance(value, bool):
            context[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            context[key] = str(value)
        elif value is not None:
            raise AuthorizerConfigurationError(f"authorizer context value {key!r} is not flat")
    return str(principal), result["policyDocument"], context


# ----------------------------------------------------------------------------- authorizer cache


@dataclass(frozen=True)
class CachedAuthorization:
    """An authorizer result as API Gateway caches it: the policy, principal and context, or a 401."""

    unauthorized: bool
    principal: str = ""
    policy: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, str] = field(default_factory=dict)


class AuthorizerCache:
    """API Gateway's authorizer result cache (REST API, REQUEST authorizer with identity sources).

    The key is the identity source values (here the `Authorization` header); the value is what the
    authorizer returned — the policy document, principal and context — or its `Unauthorized` (401),
    kept for `ttl_seconds` (`ReauthorizeEvery`). A hit is not a stored verdict: the cached policy is
    evaluated again against the request's method ARN, so a policy covering the whole API serves every
    route and a method-specific one denies the others. Authorizer failures (errors other than
    `Unauthorized`, malformed results) are not cached. Bounded: the oldest entries go first.
    """

    def __init__(
        self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[tuple[str, ...], tuple[float, CachedAuthorization]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> CachedAuthorization | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            expires, value = found
            if self.clock() >= expires:
                del self._entries[key]
                return None
            return value

    def put(self, key: tuple[str, ...], value: CachedAuthorization) -> None:
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self.clock() + self.ttl_seconds, value)
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]


# ------------------------------------------------------------------------------------- gateway

LocalHandler = Callable[["LocalRequest"], GatewayReply]


@dataclass(frozen=True)
class LocalRequest:
    """A request to a `/_local/*` control route."""

    request: GatewayRequest
    path_parameters: dict[str, str]

    def json_body(self) -> Any:
        return json.loads(self.request.body) if self.request.body.strip() else None


class LocalApiGateway:
    """Turns HTTP requests into authorizer and function invocations, like API Gateway does."""

    def __init__(
        self, template: Template, runtime: LambdaRuntime, *, authorizer_cache: AuthorizerCache | None = None
    ) -> None:
        if template.api is None:
            raise ValueError(f"{template.path.name} has no AWS::Serverless::Api to serve")
        self.template = template
        self.api = template.api
        self.runtime = runtime
        self.authorizer_cache = authorizer_cache
        self.routes = RouteTable()
        for route in template.routes:
            self.routes.add(route.method, route.path, route)
        self.local_routes = RouteTable()

    def add_local_route(self, method: str, path: str, handler: LocalHandler) -> None:
        """Register a `/_local/...` control route (no authorization; answered before the API)."""
        if not path.startswith("/_local/"):
            raise ValueError("local control routes live under /_local/")
        self.local_routes.add(method, path, handler)

    # -- the request pipeline ------------------------------------------------------------------

    def handle(self, request: GatewayRequest) -> GatewayReply:
        request_id = new_request_id()
        if len(request.body) > MAX_BODY_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", request_id)
        if request.path.startswith("/_local/"):
            return self._handle_local(request, request_id)
        match = self.routes.match(request.path)
        route: ApiRoute | None = None
        if match is not None:
            route = match.methods.get(request.method) or match.methods.get("ANY")
        if match is None or route is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id)
        with api_request():  # its DynamoDB calls go before the event path's (embedded DynamoDB)
            return self._handle_api(request, route, match, request_id)

    def _handle_api(
        self, request: GatewayRequest, route: ApiRoute, match: RouteMatch, request_id: str
    ) -> GatewayReply:
        authorizer_context: dict[str, str] = {}
        if route.uses_authorizer and self.api.authorizer_function_id:
            outcome = self._authorize(request, route, match.path_parameters, request_id)
            if isinstance(outcome, GatewayReply):
                return outcome
            authorizer_context = outcome
        event = self.proxy_event(request, route, match.path_parameters, request_id, authorizer_context)
        try:
            result = self.runtime.invoke(route.function_id, event)
            return self._function_reply(result)
        except Exception:
            self._log_failure(route.function_id, request_id)
            return self.gateway_response("DEFAULT_5XX", request_id)

    def _handle_local(self, request: GatewayRequest, request_id: str) -> GatewayReply:
        match = self.local_routes.match(request.path)
        handler = match.methods.get(request.method) if match else None
        if match is None or handler is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id)
        try:
            reply: GatewayReply = handler(LocalRequest(request, match.path_parameters))
            return reply
        except Exception:
            self._log_failure(request.path, request_id)
            return self.gateway_response("DEFAULT_5XX", request_id)

    def _authorize(
        self, request: GatewayRequest, route: ApiRoute, path_parameters: dict[str, str], request_id: str
    ) -> GatewayReply | dict[str, str]:
        for name in self.api.identity_headers:
            if not (request.header(name) or "").strip():  # API Gateway answers without the authorizer
                return self.gateway_response("UNAUTHORIZED", request_id)
        assert self.api.authorizer_function_id is not None
        event = self.authorizer_event(request, route, path_parameters, request_id)
        cache = self.authorizer_cache
        key = tuple((request.header(name) or "") for name in self.api.identity_headers)
        cached = cache.get(key) if cache is not None and key else None
        if cached is None:
            try:
                result = self.runtime.invoke(self.api.authorizer_function_id, event)
                principal, policy, context = _authorizer_context(result)
            except Exception as error:
                if str(error) == "Unauthorized":
                    if cache is not None and key:
                        cache.put(key, CachedAuthorization(unauthorized=True))
                    return self.gateway_response("UNAUTHORIZED", request_id)
                self._log_failure(self.api.authorizer_function_id, request_id)
                return self.gateway_response("DEFAULT_5XX", request_id)
            cached = CachedAuthorization(False, principal, policy, context)
            if cache is not None and key:
                cache.put(key, cached)
        if cached.unauthorized:
            return self.gateway_response("UNAUTHORIZED", request_id)
        if not policy_allows(cached.policy, event["methodArn"]):
            return self.gateway_response("ACCESS_DENIED", request_id)
        return {"principalId": cached.principal, **cached.context}

    # -- events --------------------------------------------------------------------------------

    def method_arn(self, method: str, path: str) -> str:
        return (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{self.api.stage_name}/{method.upper()}{path}"
        )

    def request_context(self, request: GatewayRequest, route: ApiRoute, request_id: str) -> dict[str, Any]:
        now = time.time()
        return {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": "local",
            "resourcePath": route.path,
            "httpMethod": request.method.upper(),
            "path": f"/{self.api.stage_name}{request.path}",
            "stage": self.api.stage_name,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "domainName": request.header("Host") or "localhost",
            "domainPrefix": "localhost",
            "identity": {"sourceIp": request.source_ip, "userAgent": request.header("User-Agent")},
        }

    def _request_parts(self, request: GatewayRequest, path_parameters: dict[str, str]) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in request.query:
            query[name] = value
            multi_query.setdefault(name, []).append(value)
        return {
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
        }

    def authorizer_event(
        self, request: GatewayRequest, route: ApiRoute, path_parameters: dict[str, str], request_id: str
    ) -> dict[str, Any]:
        """A REQUEST-type authorizer event."""
        return {
            "type": "REQUEST",
            "methodArn": self.method_arn(request.method, request.path),
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method.upper(),
            **self._request_parts(request, path_parameters),
            "requestContext": self.request_context(request, route, request_id),
        }

    def proxy_event(
        self,
        request: GatewayRequest,
        route: ApiRoute,
        path_parameters: dict[str, str],
        request_id: str,
        authorizer_context: dict[str, str],
    ) -> dict[str, Any]:
        """A REST API Lambda proxy integration event (payload version 1.0)."""
        context = self.request_context(request, route, request_id)
        if authorizer_context:
            context["authorizer"] = authorizer_context
        body: str | None = None
        is_base64 = False
        if request.body:
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method.upper(),
            **self._request_parts(request, path_parameters),
            "requestContext": context,
            "body": body,
            "isBase64Encoded": is_base64,
        }

    # -- responses -----------------------------------------------------------------------------

    def _function_reply(self, result: Any) -> GatewayReply:
        if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
            raise TypeError("the function did not return a proxy response with an integer statusCode")
        headers: list[tuple[str, str]] = []
        multi = result.get("multiValueHeaders") or {}
        for name, values in multi.items():
            headers.extend((name, str(value)) for value in _as_list(values))
        for name, value in (result.get("headers") or {}).items():
            if name not in multi:  # a pair given both ways appears once, from multiValueHeaders
                headers.append((name, str(value)))
        raw_body = result.get("body")
        if raw_body is None:
            body = b""
        elif result.get("isBase64Encoded"):
            body = base64.b64decode(str(raw_body))
        else:
            body = str(raw_body).encode("utf-8")
        return GatewayReply(status=result["statusCode"], headers=headers, body=body)

    def gateway_response(
        self, response_type: str, request_id: str, message: str | None = None
    ) -> GatewayReply:
        """Render a gateway response from the template (falling back on DEFAULT_4XX / DEFAULT_5XX)."""
        status, default_message = _GATEWAY_DEFAULTS.get(response_type, (500, "Internal server error"))
        family = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        spec = self.api.gateway_responses.get(response_type) or self.api.gateway_responses.get(family)
        if spec is None:
            spec = GatewayResponse(status_code=None, headers={}, templates={})
        if spec.status_code is not None and response_type in self.api.gateway_responses:
            status = spec.status_code
        text = message or default_message
        headers: list[tuple[str, str]] = []
        for name, expression in spec.headers.items():
            value = _header_value(expression, request_id)
            if value is not None:
                headers.append((name, value))
        template = spec.templates.get("application/json") or next(iter(spec.templates.values()), None)
        if template is None:
            body = json.dumps({"message": text})
            if not any(name.lower() == "content-type" for name, _ in headers):
                headers.append(("Content-Type", "application/json"))
        else:
            body = (
                template.replace("$context.requestId", request_id)
                .replace("$context.error.messageString", json.dumps(text))
                .replace("$context.error.message", text)
                .replace("$context.error.responseType", response_type)
            )
            if not any(name.lower() == "content-type" for name, _ in headers):
                headers.append(("Content-Type", "application/json"))
        return GatewayReply(status=status, headers=headers, body=body.encode("utf-8"))

    @staticmethod
    def _log_failure(where: str, request_id: str) -> None:
        # The traceback only: never the event, whose headers carry the API key.
        print(f"[{request_id}] {where} failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)


def _header_value(expression: str, request_id: str) -> str | None:
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    if expression in {"context.requestId", "context.extendedRequestId"}:
        return request_id
    return None


# ------------------------------------------------------------------------------------ HTTP server


#: The status of each error the HTTP server answers itself → the gateway response it renders.
_SERVER_ERRORS = {413: "REQUEST_TOO_LARGE", 429: "THROTTLED", 500: "DEFAULT_5XX"}


class GatewayHTTPServer(ThreadedHTTPServer):
    """The HTTP front of a `LocalApiGateway` (`leasing_cli.http_server`: h11, limits, timeouts).

    Errors found before a request reaches the gateway (framing, sizes, timeouts) are rendered as
    the template's gateway responses, so they carry the contract's envelope and `X-Request-Id`.
    """

    def __init__(
        self,
        address: tuple[str, int],
        gateway: LocalApiGateway,
        *,
        access_log: bool = False,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.gateway = gateway
        super().__init__(
            address,
            self._handle,
            self._error_reply,
            max_body_bytes=MAX_BODY_BYTES,
            read_timeout=read_timeout,
            request_timeout=request_timeout,
            max_connections=max_connections,
            access_log=access_log,
        )

    def _handle(self, request: HttpRequest) -> HttpReply:
        reply = self.gateway.handle(
            GatewayRequest(
                method=request.method,
                target=request.target,
                headers=request.headers,
                body=request.body,
                source_ip=request.client,
            )
        )
        return HttpReply(reply.status, reply.headers, reply.body)

    def _error_reply(self, status: int, message: str) -> HttpReply:
        response_type = _SERVER_ERRORS.get(status, "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX")
        reply = self.gateway.gateway_response(response_type, new_request_id(), message)
        return HttpReply(status, reply.headers, reply.body)


def add_health_route(
    gateway: LocalApiGateway,
    dynamodb_endpoint: str,
    tables: Mapping[str, str],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """`GET /_local/health` → status, the DynamoDB endpoint and the table names (and `extra`)."""
    payload = {"status": "ok", "dynamodbEndpoint": dynamodb_endpoint, "tables": dict(tables), **(extra or {})}
    gateway.add_local_route("GET", "/_local/health", lambda _request: json_reply(200, payload))
