"""The authorizer result cache (`leasing serve --authorizer-cache on`), as API Gateway caches it.

The real template (its `Identity.Headers` and `ReauthorizeEvery`) with stand-in functions: an
authorizer that counts its invocations and answers per token (and "revokes" a token when a marker
file exists), and an endpoint that echoes its authorizer context. A fake clock moves time.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from leasing_cli.gateway import AuthorizerCache, CachedAuthorization, GatewayRequest, LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.template import Template, load_template

ROOT = Path(__file__).resolve().parents[2]

AUTHORIZER = """
import os

HERE = os.path.dirname(__file__)

def lambda_handler(event, context):
    with open(os.path.join(HERE, "calls"), "a") as calls:
        calls.write("x")
    token = event["headers"].get("Authorization")
    if token == "Bearer boom":
        raise RuntimeError("authorizer bug")
    revoked = os.path.exists(os.path.join(HERE, "revoked"))
    if token not in ("Bearer good", "Bearer narrow", "Bearer deny") or revoked:
        raise Exception("Unauthorized")
    stage = event["methodArn"].rsplit("/", 3)[0] if token == "Bearer good" else None
    resource = stage + "/*" if stage else event["methodArn"]
    effect = "Deny" if token == "Bearer deny" else "Allow"
    return {
        "principalId": "KEY" + token.split()[1],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"orgId": "org_demo", "suspended": False},
    }
"""

ECHO = """
import json

def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
"""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def project(tmp_path: Path) -> Template:
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    template = load_template(tmp_path / "template.yaml")
    for function in template.functions.values():
        function.code_uri.mkdir(parents=True, exist_ok=True)
        source = AUTHORIZER if function.logical_id == "AuthorizerFunction" else ECHO
        (function.code_uri / "app.py").write_text(source)
    return template


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def gateway_for(template: Template, cache: AuthorizerCache | None) -> LocalApiGateway:
    return LocalApiGateway(template, LambdaRuntime(template), authorizer_cache=cache)


def call(gateway: LocalApiGateway, token: str, path: str = "/v1/leased-accounts") -> Any:
    headers = [("Host", "localhost"), ("Authorization", token)]
    return gateway.handle(GatewayRequest(method="GET", target=path, headers=headers))


def authorizer_calls(template: Template) -> int:
    path = template.functions["AuthorizerFunction"].code_uri / "calls"
    return len(path.read_text()) if path.exists() else 0


def revoke(template: Template) -> None:
    (template.functions["AuthorizerFunction"].code_uri / "revoked").write_text("")


def test_the_template_gives_the_cache_its_ttl_from_the_authorizer_cache_seconds_parameter(project):
    # Given / When the template's API is read / Then ReauthorizeEvery resolves to the parameter's default
    assert project.api is not None
    assert project.api.authorizer_ttl_seconds == 300
    assert project.api.identity_headers == ("Authorization",)


def test_with_the_cache_a_revoked_key_keeps_working_until_the_ttl_passes(project, clock):
    # Given a cache with the template's TTL and a key that was just authorized
    assert project.api is not None
    gateway = gateway_for(project, AuthorizerCache(project.api.authorizer_ttl_seconds, clock=clock))
    assert call(gateway, "Bearer good").status == 200
    # When the key is revoked
    revoke(project)
    # Then it keeps working, on any route of the API, without the authorizer being called again
    clock.now += 299
    assert call(gateway, "Bearer good").status == 200
    assert call(gateway, "Bearer good", "/v1/projects/prj_demo/leased-accounts").status == 200
    assert authorizer_calls(project) == 1
    # And once the TTL has passed, the authorizer is asked again and refuses it
    clock.now += 1
    assert call(gateway, "Bearer good").status == 401
    assert authorizer_calls(project) == 2


def test_without_the_cache_a_revoked_key_fails_at_once(project):
    # Given the default (no cache) and a key that works
    gateway = gateway_for(project, None)
    assert call(gateway, "Bearer good").status == 200
    # When it is revoked / Then the very next call is refused
    revoke(project)
    assert call(gateway, "Bearer good").status == 401
    assert authorizer_calls(project) == 2


def test_a_cached_policy_is_evaluated_again_for_each_method(project, clock):
    # Given a key whose policy covers only the method it was first authorized for
    gateway = gateway_for(project, AuthorizerCache(300, clock=clock))
    assert call(gateway, "Bearer narrow").status == 200
    # When another route is called within the TTL
    other = call(gateway, "Bearer narrow", "/v1/projects/prj_demo/leased-accounts")
    # Then the cached policy denies it (API Gateway's behaviour with method-specific policies)
    assert other.status == 401  # the template maps ACCESS_DENIED to 401
    assert authorizer_calls(project) == 1


def test_a_deny_and_an_unauthorized_are_cached_but_an_authorizer_failure_is_not(project, clock):
    # Given a cache
    gateway = gateway_for(project, AuthorizerCache(300, clock=clock))
    # When a denied, an unknown and a failing token are each used twice
    statuses = [call(gateway, token).status for token in ("Bearer deny", "Bearer nope", "Bearer boom") * 2]
    # Then the answers repeat, and the authorizer ran once each for the first two, twice for the failure
    assert statuses == [401, 401, 500] * 2
    assert authorizer_calls(project) == 4


def test_a_cached_result_carries_the_principal_and_context_to_the_function(project, clock):
    # Given a cached authorization
    gateway = gateway_for(project, AuthorizerCache(300, clock=clock))
    first = call(gateway, "Bearer good").json()
    # When the key is used again / Then the function gets the same principal and context
    assert call(gateway, "Bearer good").json() == first
    assert first == {"principalId": "KEYgood", "orgId": "org_demo", "suspended": "false"}


def test_the_cache_is_bounded_and_forgets_the_oldest_entry(clock):
    # Given a cache of two entries
    cache = AuthorizerCache(300, clock=clock, max_entries=2)
    for token in ("a", "b", "c"):
        cache.put((token,), CachedAuthorization(unauthorized=True))
    # When / Then the first one is gone, the others are there
    assert cache.get(("a",)) is None
    assert cache.get(("b",)) is not None
    assert cache.get(("c",)) is not None
