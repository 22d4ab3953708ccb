"""The local API Gateway and CLI, run against the real template with tiny stand-in functions.

The repository's template is copied next to small functions (an authorizer keyed on fixed tokens,
an endpoint that echoes its event, one that fails), so routing, authorization and the gateway
responses of the real template are exercised whatever the real functions do.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from leasing_cli.gateway import (
    GatewayHTTPServer,
    GatewayRequest,
    LocalApiGateway,
    add_health_route,
    policy_allows,
)
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.template import load_template

ROOT = Path(__file__).resolve().parents[2]

AUTHORIZER = """
def lambda_handler(event, context):
    token = event["headers"].get("Authorization") or event["headers"].get("authorization")
    if token == "Bearer boom":
        raise RuntimeError("authorizer bug")
    if token not in ("Bearer good", "Bearer deny"):
        raise Exception("Unauthorized")
    effect = "Allow" if token == "Bearer good" else "Deny"
    arn = event["methodArn"].rsplit("/", 3)[0] + "/*"
    return {
        "principalId": "KEYID0123456789A",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}],
        },
        "context": {"orgId": "org_demo", "scopes": "*", "suspended": False},
    }
"""

ECHO = """
import base64, json, os

def lambda_handler(event, context):
    if event["httpMethod"] == "DELETE" and event["resource"].startswith("/v1/social-accounts"):
        raise ValueError("endpoint bug")
    if event["resource"] == "/v1/leased-accounts/{socialAccountId}":
        return {"statusCode": 200, "isBase64Encoded": True,
                "headers": {"Content-Type": "application/octet-stream"},
                "body": base64.b64encode(b"\\x00\\xff").decode()}
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "X-Request-Id": event["requestContext"].get("requestId", ""),
        },
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"event": event, "function": context.function_name,
                            "table": os.environ.get("TABLE_NAME")}),
    }
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the template with stand-in functions at every CodeUri."""
    folder = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "template.yaml", folder / "template.yaml")
    template = load_template(folder / "template.yaml")
    for function in template.functions.values():
        function.code_uri.mkdir(parents=True, exist_ok=True)
        source = AUTHORIZER if function.logical_id == "AuthorizerFunction" else ECHO
        (function.code_uri / "app.py").write_text(source)
    return folder


@pytest.fixture(scope="module")
def gateway(project):
    template = load_template(project / "template.yaml")
    gateway = LocalApiGateway(template, LambdaRuntime(template))
    add_health_route(gateway, "http://127.0.0.1:1", {"LeasingTable": "LeasingTable"})
    return gateway


def request(method, target, *, token=None, body=b"", headers=()):
    all_headers = [("Host", "localhost:3000"), *headers]
    if token is not None:
        all_headers.append(("Authorization", token))
    return GatewayRequest(method=method, target=target, headers=all_headers, body=body)


def test_an_authorized_request_reaches_the_function_with_a_proxy_event(gateway):
    # Given a key the authorizer allows
    # When a route with a path parameter and a repeated query parameter is called
    reply = gateway.handle(
        request(
            "GET", "/v1/projects/prj%20demo/leased-accounts?limit=5&status=a&status=b", token="Bearer good"
        )
    )

    # Then the function gets a REST proxy v1 event with the authorizer's context
    assert reply.status == 200
    event = reply.json()["event"]
    assert event["resource"] == "/v1/projects/{projectId}/leased-accounts"
    assert event["pathParameters"] == {"projectId": "prj demo"}
    assert event["queryStringParameters"] == {"limit": "5", "status": "b"}
    assert event["multiValueQueryStringParameters"]["status"] == ["a", "b"]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["authorizer"] == {
        "principalId": "KEYID0123456789A",
        "orgId": "org_demo",
        "scopes": "*",
        "suspended": "false",
    }
    assert context["stage"] == "dev"
    assert context["path"] == "/dev/v1/projects/prj%20demo/leased-accounts"
    assert context["requestId"].startswith("req_")
    assert reply.header("X-Request-Id") == context["requestId"]


def test_headers_and_multi_value_headers_of_the_result_are_merged(gateway):
    # Given a function returning both header maps
    # When it is called
    reply = gateway.handle(request("GET", "/v1/leased-accounts", token="Bearer good"))

    # Then both appear in the response
    assert [value for name, value in reply.headers if name == "Set-Cookie"] == ["a=1", "b=2"]
    assert reply.header("Content-Type") == "application/json"


def test_the_functions_environment_comes_from_the_template(gateway, monkeypatch):
    # Given the process environment set the way `leasing serve` sets it
    from leasing_cli.lambda_runtime import function_environment

    for name, value in function_environment(gateway.template, "http://127.0.0.1:1").items():
        monkeypatch.setenv(name, value)

    # When a function runs
    reply = gateway.handle(request("GET", "/v1/leased-accounts", token="Bearer good"))

    # Then it sees the template's variables and its own name in the context
    assert reply.json()["table"] == "LeasingTable"
    assert reply.json()["function"] == "ListLeasedAccountsFunction"


def test_a_missing_authorization_header_is_answered_by_the_gateway(gateway):
    # Given no Authorization header
    # When a route is called
    reply = gateway.handle(request("GET", "/v1/leased-accounts"))

    # Then the template's UNAUTHORIZED response carries the envelope and request id
    assert reply.status == 401
    body = reply.json()
    assert body["error"]["code"] == "UNAUTHENTICATED"
    assert body["error"]["requestId"] == reply.header("X-Request-Id")
    assert reply.header("Content-Type") == "application/json; charset=utf-8"


def test_an_authorizer_saying_unauthorized_gives_401(gateway):
    # Given a key the authorizer refuses
    # When a route is called
    reply = gateway.handle(request("GET", "/v1/leased-accounts", token="Bearer wrong"))

    # Then the gateway answers 401
    assert reply.status == 401
    assert reply.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_deny_policy_gives_the_access_denied_response(gateway):
    # Given a key whose policy denies the method
    # When a route is called
    reply = gateway.handle(request("GET", "/v1/leased-accounts", token="Bearer deny"))

    # Then the template's ACCESS_DENIED response is used
    assert reply.status == 401
    assert reply.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_failing_authorizer_gives_a_500_envelope(gateway):
    # Given an authorizer that raises something other than Unauthorized
    # When a route is called
    reply = gateway.handle(request("GET", "/v1/leased-accounts", token="Bearer boom"))

    # Then the DEFAULT_5XX response is used
    assert reply.status == 500
    assert reply.json()["error"]["code"] == "INTERNAL"


def test_a_failing_function_gives_a_500_envelope_without_details(gateway):
    # Given an endpoint that raises
    # When it is called
    reply = gateway.handle(request("DELETE", "/v1/social-accounts/sa_1", token="Bearer good"))

    # Then the body is the INTERNAL envelope and nothing more
    assert reply.status == 500
    assert reply.json()["error"] == {
        "code": "INTERNAL",
        "message": "Internal error.",
        "requestId": reply.header("X-Request-Id"),
    }
    assert b"endpoint bug" not in reply.body


def test_an_unknown_route_or_method_is_not_found_before_authorization(gateway):
    # Given no Authorization header at all
    # When an unknown path and a known path with the wrong method are called
    unknown_path = gateway.handle(request("GET", "/v1/nothing-here"))
    wrong_method = gateway.handle(request("PUT", "/v1/leased-accounts"))

    # Then both are the template's MISSING_AUTHENTICATION_TOKEN response
    assert (unknown_path.status, wrong_method.status) == (404, 404)
    assert unknown_path.json()["error"]["code"] == "NOT_FOUND"


def test_a_literal_segment_wins_over_a_placeholder(gateway):
    # Given `/v1/leased-accounts/requests/{requestId}` (GET) and `/v1/leased-accounts/{id}` (DELETE)
    # When GET is called on the literal path
    reply = gateway.handle(request("GET", "/v1/leased-accounts/requests/lreq_1", token="Bearer good"))

    # Then the literal route answers
    assert reply.json()["event"]["resource"] == "/v1/leased-accounts/requests/{requestId}"


def test_a_body_that_is_not_utf8_arrives_base64_encoded(gateway):
    # Given a binary body
    # When it is posted
    reply = gateway.handle(
        request(
            "POST", "/v1/projects/prj_demo/leased-accounts/request", token="Bearer good", body=b"\xff\x00"
        )
    )

    # Then the function receives it base64-encoded
    event = reply.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_a_base64_result_is_decoded_for_the_client(gateway):
    # Given a function returning a base64 body
    # When it is called
    reply = gateway.handle(request("DELETE", "/v1/leased-accounts/sa_pool_1", token="Bearer good"))

    # Then the client gets the bytes
    assert reply.body == b"\x00\xff"


def test_a_body_over_ten_mebibytes_is_refused(gateway):
    # Given an 11 MiB body
    # When it is posted
    reply = gateway.handle(
        request("POST", "/v1/projects/p/leased-accounts/request", token="Bearer good", body=b"x" * (11 << 20))
    )

    # Then the REQUEST_TOO_LARGE response is used
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_the_health_route_needs_no_authorization(gateway):
    # Given no key
    # When the health route is called
    reply = gateway.handle(request("GET", "/_local/health"))

    # Then it reports the endpoint and tables
    assert reply.status == 200
    assert reply.json() == {
        "status": "ok",
        "dynamodbEndpoint": "http://127.0.0.1:1",
        "tables": {"LeasingTable": "LeasingTable"},
    }


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        ("arn:aws:execute-api:us-east-1:123456789012:local/dev/*", True),
        ("arn:aws:execute-api:us-east-1:123456789012:local/dev/GET/v1/leased-accounts", True),
        ("arn:aws:execute-api:us-east-1:123456789012:local/dev/POST/*", False),
        ("*", True),
    ],
)
def test_policy_resources_match_with_wildcards(resource, allowed):
    # Given an Allow statement on a resource pattern
    policy = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource}]}

    # When the GET method ARN is checked
    verdict = policy_allows(
        policy, "arn:aws:execute-api:us-east-1:123456789012:local/dev/GET/v1/leased-accounts"
    )

    # Then wildcards match the way IAM does
    assert verdict is allowed


def test_an_explicit_deny_wins_over_an_allow():
    # Given an Allow on everything and a Deny on one method
    arn = "arn:aws:execute-api:us-east-1:123456789012:local/dev/GET/v1/leased-accounts"
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:*", "Resource": [arn]},
        ]
    }

    # When the method is checked
    # Then it is denied
    assert policy_allows(policy, arn) is False


# ------------------------------------------------------------------------------ over real sockets


@pytest.fixture
def http_server(gateway):
    server = GatewayHTTPServer(("127.0.0.1", 0), gateway)
    server.serve_in_background()
    yield server
    server.shutdown()
    server.server_close()


def call(server, method, path, *, body=None, headers=None):
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_http_server_serves_the_gateway(http_server):
    # Given the gateway behind its HTTP server
    # When an authorized JSON body is posted
    status, headers, body = call(
        http_server,
        "POST",
        "/v1/projects/prj_demo/leased-accounts/request",
        body=b'{"count": 1}',
        headers={"Authorization": "Bearer good", "Content-Type": "application/json"},
    )

    # Then the function's answer comes back with its headers
    assert status == 200
    assert headers["X-Request-Id"].startswith("req_")
    assert json.loads(body)["event"]["body"] == '{"count": 1}'


def test_the_http_server_refuses_a_declared_oversize_body_without_reading_it(http_server):
    # Given a request declaring an 11 MiB body
    host, port = http_server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.putrequest("POST", "/v1/projects/p/leased-accounts/request")
    connection.putheader("Content-Length", str(11 << 20))
    connection.endheaders()

    # When the server answers
    response = connection.getresponse()

    # Then it is a 413 envelope
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "PAYLOAD_TOO_LARGE"
    connection.close()


# ------------------------------------------------------------------------------------- the CLI


def cli_env():
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def leasing(*args):
    return [sys.executable, "-m", "leasing_cli.main", *args]


def test_serve_prints_the_ready_line_serves_health_and_stops_on_sigterm(project):
    # Given `leasing serve` on a free port with the demo seed
    process = subprocess.Popen(
        leasing(
            "serve", "--port", "0", "--template", str(project / "template.yaml"), "--seed", "seeds/demo.json"
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        # When it is ready
        line = process.stdout.readline().strip()
        assert line.startswith("Listening on http://127.0.0.1:"), process.stderr.read()
        host, port = line.removeprefix("Listening on http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/_local/health")
        health = json.loads(connection.getresponse().read())
        connection.close()

        # Then health names the embedded DynamoDB and the template's table
        assert health["status"] == "ok"
        assert health["dynamodbEndpoint"].startswith("http://127.0.0.1:")
        assert health["tables"] == {"LeasingTable": "LeasingTable"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)

    # And SIGTERM ends it cleanly, without printing the seeded key
    assert process.returncode == 0
    assert "lp_test_" not in stderr


def test_invoke_prints_the_functions_return_value(project, tmp_path):
    # Given an event file for an endpoint
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"httpMethod": "GET", "resource": "/v1/leased-accounts", "requestContext": {}})
    )

    # When the function is invoked
    result = subprocess.run(
        leasing(
            "invoke",
            "ListLeasedAccountsFunction",
            "--event",
            str(event),
            "--template",
            str(project / "template.yaml"),
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )

    # Then stdout is its return value as JSON, environment included
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["statusCode"] == 200
    assert json.loads(output["body"])["table"] == "LeasingTable"


def test_invoke_reports_an_exception_like_sam(project, tmp_path):
    # Given an event that makes the endpoint raise
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"httpMethod": "DELETE", "resource": "/v1/social-accounts/{socialAccountId}"})
    )

    # When the function is invoked
    result = subprocess.run(
        leasing(
            "invoke",
            "RevokeSocialAccountFunction",
            "--event",
            str(event),
            "--template",
            str(project / "template.yaml"),
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )

    # Then the error is the printed result and the exit code is 0
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"errorMessage": "endpoint bug", "errorType": "ValueError"}


def test_invoke_of_an_unknown_function_exits_2(project, tmp_path):
    # Given an event file
    event = tmp_path / "event.json"
    event.write_text("{}")

    # When a function that is not in the template is invoked
    result = subprocess.run(
        leasing(
            "invoke", "NoSuchFunction", "--event", str(event), "--template", str(project / "template.yaml")
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )

    # Then it says so and exits 2
    assert result.returncode == 2
    assert "NoSuchFunction" in result.stderr


def test_the_demo_banner_prints_the_demo_key_and_a_curl():
    # Given the demo seed
    # When the banner is printed
    result = subprocess.run(
        [sys.executable, "-m", "leasing_cli.demo_banner", "seeds/demo.json", "--port", "3123"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    # Then it shows the first key of the first org in a ready curl
    key = json.loads((ROOT / "seeds" / "demo.json").read_text())["orgs"][0]["apiKeys"][0]["key"]
    assert f"-H 'Authorization: Bearer {key}' http://127.0.0.1:3123/v1/leased-accounts" in result.stdout
