"""The local API Gateway's HTTP server against careless clients, over real sockets.

The real template's gateway responses with stand-in functions (an authorizer keyed on a fixed
token; an endpoint that echoes, or sleeps when asked), so every answer can be checked for the
contract's envelope and `X-Request-Id`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leasing_cli.gateway import GatewayHTTPServer, LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.template import load_template

ROOT = Path(__file__).resolve().parents[2]

AUTHORIZER = """
def lambda_handler(event, context):
    if event["headers"].get("Authorization") != "Bearer good":
        raise Exception("Unauthorized")
    arn = event["methodArn"].rsplit("/", 3)[0] + "/*"
    return {
        "principalId": "KEYID0123456789A",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}],
        },
        "context": {"orgId": "org_demo"},
    }
"""

ENDPOINT = """
import json, time

def lambda_handler(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", 0)))
    return {"statusCode": 200, "headers": {"Content-Type": "application/json",
            "X-Request-Id": event["requestContext"]["requestId"]},
            "body": json.dumps({"method": event["httpMethod"], "body": event["body"]})}
"""

AUTH = b"Authorization: Bearer good\r\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hardening")
    shutil.copy(ROOT / "template.yaml", folder / "template.yaml")
    template = load_template(folder / "template.yaml")
    for function in template.functions.values():
        function.code_uri.mkdir(parents=True, exist_ok=True)
        source = AUTHORIZER if function.logical_id == "AuthorizerFunction" else ENDPOINT
        (function.code_uri / "app.py").write_text(source)
    return folder


@pytest.fixture(scope="module")
def gateway(project: Path) -> LocalApiGateway:
    template = load_template(project / "template.yaml")
    return LocalApiGateway(template, LambdaRuntime(template))


@pytest.fixture
def server(gateway: LocalApiGateway) -> Iterator[GatewayHTTPServer]:
    running = GatewayHTTPServer(("127.0.0.1", 0), gateway, read_timeout=0.5, request_timeout=2.0)
    running.serve_in_background()
    yield running
    running.stop(grace=0.5)


def exchange(server: GatewayHTTPServer, raw: bytes, *, wait: float = 5.0) -> bytes:
    """Send raw bytes, then read until the server closes the connection (or `wait` runs out)."""
    with socket.create_connection(server.server_address, timeout=wait) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received


def parse(response: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body) if body else None


def assert_envelope(response: bytes, status: int) -> dict[str, Any]:
    code, headers, body = parse(response)
    assert code == status, response
    assert re.fullmatch(r"req_[0-9A-Z]{26}", headers["x-request-id"])
    assert set(body["error"]) >= {"code", "message", "requestId"}
    assert body["error"]["requestId"] == headers["x-request-id"]
    return dict(body["error"])


@pytest.mark.parametrize("method", ["TRACE", "FOO", "get", "CONNECT"])
def test_an_unknown_method_is_the_missing_route_gateway_response(
    server: GatewayHTTPServer, method: str
) -> None:
    # Given a route that exists for GET / When it is called with another method token
    target = "localhost:1" if method == "CONNECT" else "/v1/leased-accounts"
    response = exchange(server, f"{method} {target} HTTP/1.1\r\nHost: x\r\n".encode() + AUTH + b"\r\n")
    # Then it is the template's MISSING_AUTHENTICATION_TOKEN response: a 404 envelope
    assert assert_envelope(response, 404)["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
        b"POST /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nab\r\n0\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"GET /v1/leased-accounts HTTP/1.1\r\nBad Header Line\r\n\r\n",
    ],
    ids=["letters", "negative", "conflicting", "bad-chunk-size", "request-line", "header-line"],
)
def test_a_framing_error_is_a_400_envelope(server: GatewayHTTPServer, raw: bytes) -> None:
    # Given a request that is not valid HTTP/1.1 / When it is sent / Then a 400 envelope answers
    assert_envelope(exchange(server, raw), 400)


def test_oversized_headers_are_a_431_envelope(server: GatewayHTTPServer) -> None:
    raw = b"GET /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    assert_envelope(exchange(server, raw), 431)


def test_an_oversized_url_is_a_414_envelope(server: GatewayHTTPServer) -> None:
    raw = b"GET /v1/leased-accounts?q=" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_envelope(exchange(server, raw), 414)


def test_a_declared_oversized_body_is_a_413_envelope_without_reading_it(server: GatewayHTTPServer) -> None:
    raw = b"POST /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 11534336\r\n\r\n"
    assert assert_envelope(exchange(server, raw), 413)["code"] == "PAYLOAD_TOO_LARGE"


def test_a_client_announcing_more_bytes_than_it_sends_gets_a_408_and_is_disconnected(
    server: GatewayHTTPServer,
) -> None:
    # Given a request announcing 100 bytes and sending 5
    started = time.monotonic()
    raw = b"POST /v1/leased-accounts HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 100\r\n\r\nhello"
    # When the server's read timeout (0.5 s here) passes
    response = exchange(server, raw, wait=10)
    # Then it answered 408 and closed the connection long before the client's own wait
    assert_envelope(response, 408)
    assert time.monotonic() - started < 3


def test_a_trickling_client_is_cut_off_by_the_request_deadline(server: GatewayHTTPServer) -> None:
    # Given a client sending its headers one byte every 0.3 s (under the read timeout each time)
    raw = b"GET /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    started = time.monotonic()
    with socket.create_connection(server.server_address, timeout=10) as sock:
        try:
            for byte in raw:
                sock.sendall(bytes([byte]))
                time.sleep(0.3)
                if time.monotonic() - started > 8:
                    break
        except OSError:  # the server closed the connection: that is the point
            pass
        rest = b""
        try:
            while chunk := sock.recv(65536):
                rest += chunk
        except OSError:
            pass
    # Then the server gave up after the request deadline (2 s here), not after the whole trickle
    assert time.monotonic() - started < 6
    if rest:
        assert_envelope(rest, 408)


def test_an_idle_keep_alive_connection_is_closed_after_the_read_timeout(server: GatewayHTTPServer) -> None:
    # Given a connection that made one request and then says nothing
    with socket.create_connection(server.server_address, timeout=5) as sock:
        sock.sendall(b"GET /v1/leased-accounts HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n")
        assert parse(_read_one_response(sock))[0] == 200
        started = time.monotonic()
        # When it waits / Then the server closes it after about the read timeout (0.5 s)
        assert sock.recv(65536) == b""
        assert time.monotonic() - started < 3


def test_keep_alive_serves_several_requests_on_one_connection(server: GatewayHTTPServer) -> None:
    with socket.create_connection(server.server_address, timeout=5) as sock:
        for _ in range(3):
            sock.sendall(b"GET /v1/leased-accounts HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n")
            status, _headers, body = parse(_read_one_response(sock))
            assert status == 200
            assert body["method"] == "GET"


def test_a_chunked_body_reaches_the_function(server: GatewayHTTPServer) -> None:
    raw = (
        b"POST /v1/projects/p/leased-accounts/request HTTP/1.1\r\nHost: x\r\n"
        + AUTH
        + b'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\n{"a\r\n5\r\n": 1}\r\n0\r\n\r\n'
    )
    status, _, body = parse(exchange(server, raw))
    assert status == 200
    assert body["body"] == '{"a": 1}'


def test_a_client_that_hangs_up_mid_request_prints_no_traceback(
    server: GatewayHTTPServer, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given clients that hang up: before the body, and before reading a slow answer
    for raw in (
        b"POST /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nab",
        b"GET /v1/leased-accounts?sleep=0.3 HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n",
    ):
        sock = socket.create_connection(server.server_address, timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.sendall(raw)
        sock.close()  # RST
    time.sleep(1.0)
    # When the server notices / Then nothing was printed, and the server still answers
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert (
        parse(
            exchange(
                server,
                b"GET /v1/leased-accounts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + AUTH + b"\r\n",
            )
        )[0]
        == 200
    )


def test_stop_lets_a_request_in_flight_finish_and_returns_promptly(gateway: LocalApiGateway) -> None:
    # Given a request in flight that takes 0.5 s
    server = GatewayHTTPServer(("127.0.0.1", 0), gateway, read_timeout=5)
    server.serve_in_background()
    answers: list[bytes] = []
    raw = b"GET /v1/leased-accounts?sleep=0.5 HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n"
    client = threading.Thread(target=lambda: answers.append(exchange(server, raw)))
    client.start()
    idle = socket.create_connection(server.server_address, timeout=5)  # an idle keep-alive client
    time.sleep(0.2)
    # When the server is stopped
    started = time.monotonic()
    server.stop(grace=1.5)
    stopped_in = time.monotonic() - started
    client.join(5)
    idle.close()
    # Then the request got its answer, and stop took about as long as that request, not more
    assert parse(answers[0])[0] == 200
    assert stopped_in < 1.5


def _read_one_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: *(\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_leasing_serve_stops_within_two_seconds_of_sigterm_and_a_busy_port_names_the_fix(
    project: Path,
) -> None:
    # Given `leasing serve` running with the demo seed
    command = [
        sys.executable,
        "-m",
        "leasing_cli.main",
        "serve",
        "--port",
        "0",
        "--template",
        str(project / "template.yaml"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*command, "--seed", "seeds/demo.json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("Listening on http://127.0.0.1:")
        port = line.rsplit(":", 1)[1]
        # When a second one is started on the same port
        busy = subprocess.run(
            [*command[:4], "--port", port, "--template", str(project / "template.yaml")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        # Then it says how to choose another port
        assert busy.returncode == 2
        assert "--port" in busy.stderr
        assert "PORT=" in busy.stderr
        # And when the first gets SIGTERM, it exits within 2 s
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 2.0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_connections_over_the_cap_get_a_429_envelope(gateway: LocalApiGateway) -> None:
    # Given a server allowing 2 connections, both taken by idle clients
    server = GatewayHTTPServer(("127.0.0.1", 0), gateway, read_timeout=5, max_connections=2)
    server.serve_in_background()
    held = [socket.create_connection(server.server_address, timeout=5) for _ in range(2)]
    try:
        time.sleep(0.2)
        # When a third connects / Then it is told to come back later, in the envelope
        response = exchange(server, b"GET /v1/leased-accounts HTTP/1.1\r\nHost: x\r\n\r\n")
        assert assert_envelope(response, 429)["code"] == "RATE_LIMITED"
    finally:
        for sock in held:
            sock.close()
        server.stop(grace=0.5)
