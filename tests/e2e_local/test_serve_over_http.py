"""A partner's session against `leasing serve` over real HTTP (one server for this module)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from tests.e2e_local.conftest import Server
from tests.world import lease_body, wait_for_fresh_minute

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

REQUEST_URL = "/v1/projects/prj_a/leased-accounts/request"
REQUEST_ID = re.compile(r"^req_[0-9A-HJKMNP-TV-Z]{26}$")


def scan(server: Server, prefix: str, sk_prefix: str = "") -> list[dict[str, Any]]:
    """Items whose pk (and sk) start with the prefixes, read straight from the embedded DynamoDB."""
    endpoint = server.call("GET", "/_local/health").json()["dynamodbEndpoint"]
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    items = client.scan(TableName="LeasingTable", ConsistentRead=True)["Items"]
    return [
        item for item in items if item["pk"]["S"].startswith(prefix) and item["sk"]["S"].startswith(sk_prefix)
    ]


def test_health_names_the_embedded_dynamodb_and_the_template_tables(server: Server) -> None:
    # Given a running server
    # When its health route is read
    reply = server.call("GET", "/_local/health")
    # Then it is ok and names the loopback DynamoDB endpoint and the table
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "ok"
    assert body["dynamodbEndpoint"].startswith("http://127.0.0.1:")
    assert "LeasingTable" in body["tables"]


def test_a_partner_requests_polls_lists_and_releases_over_http(server: Server) -> None:
    key = server.world.keys["a"]
    # Given a partner with a funded wallet
    # When it asks for accounts
    accepted = server.call(
        "POST", REQUEST_URL, key=key, json=lease_body(), headers={"Idempotency-Key": "e2e-flow"}
    )
    # Then it gets a 202 with Location, and the request can be polled there
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["Content-Type"] == "application/json; charset=utf-8"
    poll = server.call("GET", accepted.headers["Location"], key=key)
    assert poll.status_code == 200
    assert poll.json()["status"] == "requested"
    # And a seeded lease can be listed and released, then is gone
    listed = server.call("GET", "/v1/leased-accounts?limit=200", key=key).json()["items"]
    assert "sa_leased_4" in [item["socialAccountId"] for item in listed]
    released = server.call("DELETE", "/v1/leased-accounts/sa_leased_4", key=key, json={"reason": "done"})
    assert released.status_code == 200
    assert released.json()["disconnectedReason"] == "released_by_partner"
    assert server.call("DELETE", "/v1/leased-accounts/sa_leased_4", key=key).status_code == 404


def test_errors_over_http_keep_the_envelope_and_request_id(server: Server) -> None:
    key = server.world.keys["a"]
    # Given bad calls of every kind
    replies = {
        401: server.call("GET", "/v1/leased-accounts", headers={"Authorization": "Bearer nope"}),
        403: server.call("GET", "/v1/leased-accounts", key=server.world.keys["a_social"]),
        404: server.call("GET", "/v1/projects/prj_b/leased-accounts", key=key),
        415: server.call("POST", REQUEST_URL, key=key, data=b"{}", headers={"Content-Type": "text/plain"}),
        422: server.call(
            "POST", REQUEST_URL, key=key, data=b"{nope", headers={"Content-Type": "application/json"}
        ),
        413: server.call("POST", REQUEST_URL, key=key, data=b"{" + b" " * 70000 + b"}"),
        503: server.call("GET", "/v1/leased-accounts", key=server.world.keys["c"]),
    }
    # Then each has its status, the envelope, and the same request id in header and body
    for status, reply in replies.items():
        assert reply.status_code == status, (status, reply.text)
        error = reply.json()["error"]
        assert REQUEST_ID.match(reply.headers["X-Request-Id"])
        assert error["requestId"] == reply.headers["X-Request-Id"]
        assert "Traceback" not in reply.text
        assert "LeasingTable" not in reply.text
    assert "X-RateLimit-Limit" not in replies[401].headers
    assert replies[403].headers["X-RateLimit-Endpoint-Class"] == "read"


def test_a_missing_authorization_header_is_401_from_the_gateway(server: Server) -> None:
    # Given no Authorization header at all
    # When any route is called
    reply = server.call("DELETE", "/v1/leased-accounts/sa_leased_5")
    # Then the gateway's own 401 is in the envelope
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "UNAUTHENTICATED"


def test_concurrent_idempotent_requests_over_http_create_one_request(server: Server) -> None:
    key = server.world.keys["a_pilot"]
    before = len(scan(server, "ORG#org_a", "LREQ#"))

    # Given eight identical calls with one key
    def submit(_: int) -> Any:
        return server.call(
            "POST",
            REQUEST_URL,
            key=key,
            json=lease_body(note="race"),
            headers={"Idempotency-Key": "e2e-race"},
        )

    # When they race over HTTP
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(submit, range(8)))
    # Then only 202s and in-progress 409s come back, all 202 bodies equal, and one request was written
    assert {reply.status_code for reply in replies} <= {202, 409}
    assert len({reply.text for reply in replies if reply.status_code == 202}) == 1
    assert len(scan(server, "ORG#org_a", "LREQ#")) == before + 1


def test_two_concurrent_releases_over_http_give_one_200_and_one_404(server: Server) -> None:
    key = server.world.keys["a"]
    # Given an assigned lease
    # When two releases race
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(
            pool.map(lambda _: server.call("DELETE", "/v1/leased-accounts/sa_leased_2", key=key), range(2))
        )
    # Then one wins
    assert sorted(reply.status_code for reply in replies) == [200, 404]


def test_a_rate_limited_call_writes_nothing(server: Server) -> None:
    key = server.world.keys["a_ratelimit"]
    wait_for_fresh_minute(30)
    # Given a key that spent its write budget for the minute on invalid calls
    for _ in range(60):
        server.call("POST", REQUEST_URL, key=key, json={"invalid": True})
    requests_before = len(scan(server, "ORG#org_a", "LREQ#"))
    # When it sends a valid request
    reply = server.call("POST", REQUEST_URL, key=key, json=lease_body(note="limited"))
    # Then it is 429 with Retry-After and nothing was written
    assert reply.status_code == 429
    assert int(reply.headers["Retry-After"]) >= 1
    assert reply.json()["error"]["code"] == "RATE_LIMITED"
    assert len(scan(server, "ORG#org_a", "LREQ#")) == requests_before


def test_the_server_never_logs_an_api_key(server: Server) -> None:
    # Given the calls above were made with real keys
    # When the server's output is read
    output = server.log.read_text() + (
        server.log.with_name("serve.out").read_text() if server.log.with_name("serve.out").exists() else ""
    )
    # Then no key secret appears in it
    for key in server.world.keys.values():
        assert key[-43:] not in output
