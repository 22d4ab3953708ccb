"""The functions' routes: declared once, validated by `Router` at run time, described by Powertools.

The `Router` must give every request the verdict Powertools' resolver (built from the same
declarations, `enable_validation=True`) gives it: the same validated arguments, or the same issues.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from layers_common.errors import NotFound, ValidationFailed
from layers_common.http.body import parse_json_object
from layers_common.http.resolver import powertools_resolver
from layers_common.http.routing import Body, Call, Path, Query, Router
from layers_common.http.validation import validation_failed
from layers_common.models.leased_account import ReleaseBody, ReleaseResult
from layers_common.principal import Principal
from leasing_cli.lambda_runtime import load_handler_module
from leasing_cli.template import default_template_path, load_template

TEMPLATE = load_template(default_template_path())
API_FUNCTIONS = [function for function in TEMPLATE.functions.values() if function.routes]
CALLER = Principal(
    org_id="org_demo",
    key_id="KEY1",
    scopes=frozenset({"leased:write", "social:write"}),
    tier="standard",
    env="test",
)


def routers() -> dict[str, Router]:
    loaded: dict[str, Router] = {}
    for function in API_FUNCTIONS:
        app = load_handler_module(function).app
        assert isinstance(app, Router), f"{function.logical_id}: `app` is not a Router"
        loaded[function.logical_id] = app
    return loaded


ROUTERS = routers()


def event(
    method: str,
    path: str,
    *,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "httpMethod": method,
        "path": path,
        "resource": path,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} if query else None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        "isBase64Encoded": False,
        "requestContext": {"requestId": "r", "stage": "v1", "httpMethod": method, "path": path},
    }


@dataclass(frozen=True)
class Verdict:
    arguments: dict[str, Any] | None = None
    issues: list[tuple[str, str]] | None = None


class _Called(Exception):
    def __init__(self, arguments: dict[str, Any]) -> None:
        super().__init__("called")
        self.arguments = arguments


def _issues(error: ValidationFailed) -> list[tuple[str, str]]:
    return [(issue.path, issue.message) for issue in error.issues]


def router_verdict(router: Router, request: dict[str, Any]) -> Verdict:
    route, path_values = router.find(request)
    call = Call(principal=CALLER, request_id="req_1", json_body=parse_json_object(request))
    try:
        arguments = router.arguments(route, request, path_values, call)
    except ValidationFailed as invalid:
        return Verdict(issues=_issues(invalid))
    if route.call_argument:
        assert arguments.pop(route.call_argument) is call
    return Verdict(arguments=arguments)


def powertools_verdict(router: Router, request: dict[str, Any]) -> Verdict:
    def called(**arguments: Any) -> Any:
        raise _Called(arguments)

    resolver = powertools_resolver(router, called)

    @resolver.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid(error: RequestValidationError) -> Any:
        raise validation_failed(error.errors())

    try:
        response = resolver.resolve(request, None)  # type: ignore[arg-type]
    except _Called as call:
        return Verdict(arguments=call.arguments)
    except ValidationFailed as failed:
        return Verdict(issues=_issues(failed))
    raise AssertionError(f"Powertools answered {response}")


def both(router: Router, request: dict[str, Any]) -> Verdict:
    ours = router_verdict(router, request)
    theirs = powertools_verdict(router, request)
    assert ours == theirs, f"Router {ours} != Powertools {theirs} for {request}"
    return ours


PROJECT = "prj_254a4ce1-f4ca-42b1-9e36-17ca45ef3d39"
NICHE: dict[str, Any] = {"vertical": "coffee", "audience": "home baristas", "language": "en", "geo": ["US"]}
LEASE_BODY: dict[str, Any] = {"projectId": PROJECT, "count": 2, "niche": NICHE}


def cases() -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(function, request, valid?) for every route: good requests and each kind of bad one."""
    lease = f"/v1/projects/{PROJECT}/leased-accounts/request"
    yield "RequestLeaseFunction", event("POST", lease, body=LEASE_BODY), True
    for name, key, valid in (
        ("Idempotency-Key", "k-1", True),
        ("idempotency-key", "k", True),
        ("Idempotency-Key", "é", False),
        ("Idempotency-Key", "", False),
        ("Idempotency-Key", "k" * 256, False),
    ):
        yield "RequestLeaseFunction", event("POST", lease, body=LEASE_BODY, headers={name: key}), valid
    yield "RequestLeaseFunction", event("POST", lease, body={**LEASE_BODY, "count": 0}), False
    yield "RequestLeaseFunction", event("POST", lease, body={**LEASE_BODY, "count": "2"}), False
    yield "RequestLeaseFunction", event("POST", lease, body={**LEASE_BODY, "extra": 1}), False
    yield "RequestLeaseFunction", event("POST", lease, body={}), False
    yield "RequestLeaseFunction", event("POST", lease), False
    bad_niche = {**LEASE_BODY, "niche": {**NICHE, "geo": ["US", "XX"], "language": "zz-@@"}}
    yield "RequestLeaseFunction", event("POST", lease, body=bad_niche), False
    for status in (None, "assigned", "disconnected", "gone"):
        for limit in (
            None,
            "1",
            "200",
            "0",
            "201",
            "ten",
            "1.5",
            "1_0",
            "+5",
            "5.0",
            " 5",
            "05",
            "5 ",
            "\u0663",
        ):
            query = {"status": [status]} if status else {}
            if limit:
                query["limit"] = [limit]
            valid = status != "gone" and limit in {None, "1", "200"}
            yield "ListLeasedAccountsFunction", event("GET", "/v1/leased-accounts", query=query), valid
            path = f"/v1/projects/{PROJECT}/leased-accounts"
            yield "ListLeasedAccountsFunction", event("GET", path, query=query), valid
    yield (
        "ListLeasedAccountsFunction",
        event("GET", "/v1/leased-accounts", query={"limit": ["1", "2"]}),
        False,
    )
    yield "ListLeasedAccountsFunction", event("GET", "/v1/leased-accounts", query={"cursor": [""]}), False
    yield "ListLeasedAccountsFunction", event("GET", "/v1/leased-accounts", query={"projectId": [""]}), False
    yield (
        "ListLeasedAccountsFunction",
        event("GET", "/v1/leased-accounts", query={"projectId": [PROJECT]}),
        True,
    )
    yield "ListLeasedAccountsFunction", event("GET", "/v1/leased-accounts", query={"unknown": ["x"]}), True
    yield "GetLeaseRequestFunction", event("GET", "/v1/leased-accounts/requests/lreq_1"), True
    yield (
        "GetLeaseRequestFunction",
        event("GET", f"/v1/projects/{PROJECT}/leased-accounts/requests/lreq_1"),
        True,
    )
    for function, prefix in (
        ("ReleaseLeasedAccountFunction", "/v1/leased-accounts/"),
        ("RevokeSocialAccountFunction", "/v1/social-accounts/"),
    ):
        yield function, event("DELETE", prefix + "sa_1"), True
        yield function, event("DELETE", prefix + "sa_1", body={"reason": "done"}), True
        yield function, event("DELETE", prefix + "sa_1", body={}), True
        yield function, event("DELETE", prefix + "sa_1", body={"reason": 5}), False
        yield function, event("DELETE", prefix + "sa_1", body={"reason": "x" * 1001}), False
        yield function, event("DELETE", prefix + "sa_1", body={"why": "x"}), False


@pytest.mark.parametrize(("function", "request_event", "valid"), list(cases()))
def test_router_and_powertools_resolver_give_every_request_the_same_verdict(
    function: str, request_event: dict[str, Any], valid: bool
) -> None:
    # Given a function's routes and a request / When validated by the Router and by Powertools
    verdict = both(ROUTERS[function], request_event)
    # Then both agree (asserted in `both`), and the verdict is the expected one
    assert (verdict.issues is None) is valid, verdict


@settings(max_examples=150, deadline=None)
@given(
    status=st.one_of(st.none(), st.text(max_size=12)),
    limit=st.one_of(st.none(), st.text(max_size=6), st.integers(-5, 300).map(str)),
    cursor=st.one_of(st.none(), st.text(max_size=20)),
)
def test_any_query_gets_the_same_verdict_from_both(
    status: str | None, limit: str | None, cursor: str | None
) -> None:
    # Given any values for the list endpoint's query parameters
    query = {
        name: [value]
        for name, value in (("status", status), ("limit", limit), ("cursor", cursor))
        if value is not None
    }
    # Then the Router and Powertools agree on them
    both(ROUTERS["ListLeasedAccountsFunction"], event("GET", "/v1/leased-accounts", query=query))


@settings(max_examples=100, deadline=None)
@given(reason=st.one_of(st.none(), st.text(max_size=600), st.integers(), st.booleans()))
def test_any_release_body_gets_the_same_verdict_from_both(reason: Any) -> None:
    # Given any `reason` / Then both validators agree on the release body
    both(
        ROUTERS["ReleaseLeasedAccountFunction"],
        event("DELETE", "/v1/leased-accounts/sa_1", body={"reason": reason}),
    )


def test_unknown_paths_and_methods_are_not_found() -> None:
    # Given the release function's routes
    router = ROUTERS["ReleaseLeasedAccountFunction"]
    # When asked for another method, a trailing slash, an empty or a nested id / Then NotFound
    for method, path in (
        ("GET", "/v1/leased-accounts/sa_1"),
        ("DELETE", "/v1/leased-accounts/sa_1/"),
        ("DELETE", "/v1/leased-accounts/"),
        ("DELETE", "/v1/leased-accounts/a/b"),
    ):
        with pytest.raises(NotFound):
            router.find(event(method, path))


def test_api_gateways_resource_and_path_parameters_choose_the_route_whatever_the_base_path() -> None:
    # Given an event as API Gateway sends it through a custom domain mapped under a base path
    request = event("DELETE", "/leasing/v1/leased-accounts/sa%201")
    request["resource"] = "/v1/leased-accounts/{socialAccountId}"
    request["pathParameters"] = {"socialAccountId": "sa 1"}
    # When routed / Then the resource picks the route and the decoded parameter is used
    route, path_values = ROUTERS["ReleaseLeasedAccountFunction"].find(request)
    assert route.path == "/v1/leased-accounts/{socialAccountId}"
    assert path_values == {"socialAccountId": "sa 1"}
    # And the same event without its resource is matched on its path: not a route of ours
    with pytest.raises(NotFound):
        ROUTERS["ReleaseLeasedAccountFunction"].find({**request, "resource": None})


def test_a_route_answers_its_model_as_camel_case_json_with_its_status() -> None:
    # Given a route that returns a model
    router = Router()

    @router.delete("/v1/things/{thingId}", status_code=200)
    def release(call: Call, thing_id: Annotated[str, Path(alias="thingId")]) -> ReleaseResult:
        return ReleaseResult(
            social_account_id=thing_id,
            disconnected_reason="released_by_partner",
            disconnected_at="2026-01-01T00:00:00Z",
        )

    # When resolved
    answer = router.resolve(event("DELETE", "/v1/things/t1"), Call(principal=CALLER, request_id="req_1"))
    # Then the body is the model by alias
    assert answer.status_code == 200
    assert json.loads(answer.body)["socialAccountId"] == "t1"


def test_declarations_are_checked_when_the_module_loads() -> None:
    router = Router()
    # Given a parameter without a source / Then the declaration is refused
    with pytest.raises(TypeError, match="annotate"):

        @router.get("/v1/a")
        def unmarked(limit: int) -> ReleaseResult:
            raise AssertionError

    # Given a path parameter the path does not have / Then refused
    with pytest.raises(TypeError, match="path parameters"):

        @router.get("/v1/a")
        def wrong_path(thing: Annotated[str, Path(alias="thingId")]) -> ReleaseResult:
            raise AssertionError

    # Given two bodies / Then refused
    with pytest.raises(TypeError, match="one Body"):

        @router.post("/v1/a")
        def two_bodies(
            a: Annotated[ReleaseBody, Body()],
            b: Annotated[ReleaseBody, Body()],
            c: Annotated[int, Query()] = 1,
        ) -> ReleaseResult:
            raise AssertionError


def test_every_route_of_the_template_is_declared_by_its_function() -> None:
    # Given the template's routes / Then each function's Router declares exactly its own
    for function in API_FUNCTIONS:
        declared = {(route.method, route.path) for route in ROUTERS[function.logical_id].routes}
        assert declared == {(route.method.upper(), route.path) for route in function.routes}
