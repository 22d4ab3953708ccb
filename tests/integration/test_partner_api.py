"""The partner API contract (api.md §1-2), driven through the local API Gateway in-process."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from layers_common.dependencies import reset_dependencies
from layers_common.repository.leasing_repository import IdempotencyClaim, LeasingRepository
from layers_common.services.request_lease import ROUTE
from tests.integration.conftest import Api, items_with_prefix, table_items
from tests.world import World, lease_body, wait_for_fresh_minute

REQUEST_URL = "/v1/projects/prj_a/leased-accounts/request"
REQUEST_ID = re.compile(r"^req_[0-9A-HJKMNP-TV-Z]{26}$")


def error_of(reply: Any) -> dict[str, Any]:
    body = reply.json()
    assert set(body) == {"error"}
    assert body["error"]["requestId"] == reply.header("X-Request-Id")
    return dict(body["error"])


def issue_paths(reply: Any) -> list[str]:
    return [issue["path"] for issue in error_of(reply)["details"]["issues"]]


# ------------------------------------------------------------------------------ authentication


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer lp_test_short",
        "Bearer lp_test_0123456789ABCDEF_" + "A" * 43,  # well-formed, unknown
    ],
)
def test_a_call_without_a_valid_key_is_answered_401_without_rate_limit_headers(
    api: Api, authorization: str | None
) -> None:
    # Given a credential that is missing, of the wrong scheme, malformed or unknown
    headers = {} if authorization is None else {"Authorization": authorization}
    # When the partner lists leased accounts with it
    reply = api.call("GET", "/v1/leased-accounts", headers=headers, key="")
    # Then it is a 401 in the envelope, with a request id and no rate-limit headers
    assert reply.status == 401
    assert error_of(reply)["code"] == "UNAUTHENTICATED"
    assert REQUEST_ID.match(reply.header("X-Request-Id") or "")
    assert reply.header("X-RateLimit-Limit") is None


@pytest.mark.parametrize("key_name", ["a_revoked", "a_live"])
def test_a_revoked_key_or_a_key_with_a_different_env_prefix_is_401(
    api: Api, world: World, key_name: str
) -> None:
    # Given a revoked key, and a live key presented as a test key
    key = world.keys[key_name]
    if key_name == "a_live":
        key = key.replace("lp_live_", "lp_test_")
    # When it is used
    reply = api.get("/v1/leased-accounts", key=key)
    # Then the answer is the same 401 as for any bad key
    assert reply.status == 401
    assert error_of(reply)["code"] == "UNAUTHENTICATED"


def test_a_wrong_secret_for_a_real_key_id_is_401(api: Api, world: World) -> None:
    # Given a real key id with a different secret
    real = world.keys["a"]
    forged = real[:-43] + ("B" if real[-43] != "B" else "C") + real[-42:]
    # When it is used
    reply = api.get("/v1/leased-accounts", key=forged)
    # Then it is refused
    assert reply.status == 401


def test_a_stage_that_refuses_test_keys_answers_a_test_key_with_a_plain_401(
    api: Api, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the authorizer of a stage deployed with AcceptTestKeys=false (as prod is)
    monkeypatch.setenv("ACCEPT_TEST_KEYS", "false")
    reset_dependencies()
    try:
        # When an active test key and an active live key of the same organization are used
        test_key = api.get("/v1/leased-accounts")
        live_key = api.get("/v1/leased-accounts", key=world.keys["a_live"])
        unknown = api.get("/v1/leased-accounts", key=world.keys["a"][:-4] + "AAAA")
    finally:
        monkeypatch.undo()
        reset_dependencies()
    # Then the test key gets the same 401 as an unknown key, and the live key is served
    assert (test_key.status, live_key.status) == (401, 200)
    assert error_of(test_key)["code"] == error_of(unknown)["code"] == "UNAUTHENTICATED"
    assert test_key.header("X-RateLimit-Limit") is None


@pytest.mark.parametrize(
    ("item_key", "change"),
    [
        ("APIKEY#{key_id}", "REMOVE #status"),
        ("APIKEY#{key_id}", "SET #status = :odd"),
        ("ORG#org_a", "REMOVE #status"),
        ("ORG#org_a", "SET #status = :odd"),
    ],
    ids=["key-status-missing", "key-status-other", "org-status-missing", "org-status-other"],
)
def test_a_stored_status_that_is_missing_or_unknown_fails_closed(
    api: Api, world: World, dynamodb: Any, item_key: str, change: str
) -> None:
    # Given the caller's key (or its organization) stored with no status, or one nobody knows
    key_id = world.keys["a"].split("_")[2]
    pk = item_key.format(key_id=key_id)
    sk = "APIKEY" if pk.startswith("APIKEY#") else "ORG"
    dynamodb.update_item(
        TableName="LeasingTable",
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression=change,
        ExpressionAttributeNames={"#status": "status"},
        **({"ExpressionAttributeValues": {":odd": {"S": "paused"}}} if ":odd" in change else {}),
    )
    # When it calls / Then a plain 401
    reply = api.get("/v1/leased-accounts")
    assert reply.status == 401
    assert error_of(reply)["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("key_name", ["a_suspended", "c"])
def test_a_suspended_key_or_organization_gets_503_kill_switch(api: Api, world: World, key_name: str) -> None:
    # Given a suspended key, and a key of a suspended organization
    # When either calls any endpoint
    reply = api.get("/v1/leased-accounts", key=world.keys[key_name])
    # Then the kill switch answers
    assert reply.status == 503
    assert error_of(reply)["code"] == "KILL_SWITCH"


# -------------------------------------------------------------------------------------- scopes


@pytest.mark.parametrize(
    ("key_name", "method", "target", "required"),
    [
        ("a_social", "GET", "/v1/leased-accounts", "leased:write"),
        ("a_none", "GET", "/v1/leased-accounts/requests/lreq_x", "leased:write"),
        ("a_social", "POST", REQUEST_URL, "leased:write"),
        ("a_social", "DELETE", "/v1/leased-accounts/sa_leased_1", "leased:write"),
        ("a_leased", "DELETE", "/v1/social-accounts/sa_byo_a", "social:write"),
    ],
)
def test_a_key_without_the_route_scope_gets_403_naming_the_scope(
    api: Api, world: World, key_name: str, method: str, target: str, required: str
) -> None:
    # Given a key lacking the route's scope
    # When it calls the route (with a valid body where one is needed)
    reply = api.call(
        method, target, key=world.keys[key_name], json_body=lease_body() if method == "POST" else None
    )
    # Then it is a 403 that names the required scope, with rate-limit headers (the call is counted)
    assert reply.status == 403
    error = error_of(reply)
    assert error["code"] == "FORBIDDEN_SCOPE"
    assert error["details"]["requiredScope"] == required
    assert reply.header("X-RateLimit-Endpoint-Class") in {"read", "write"}


def test_a_403_writes_nothing(api: Api, world: World, dynamodb: Any) -> None:
    # Given the table as seeded
    before = table_items(dynamodb)
    # When a key without social:write tries to revoke
    reply = api.delete("/v1/social-accounts/sa_byo_a", key=world.keys["a_leased"])
    # Then nothing changed
    assert reply.status == 403
    assert table_items(dynamodb) == before


# ------------------------------------------------------------------------ lease request (2.1)


def test_a_valid_lease_request_is_accepted_with_202_location_and_an_outbox_event(
    api: Api, repository: LeasingRepository, dynamodb: Any
) -> None:
    # Given a valid body for project prj_a
    # When the partner submits it
    reply = api.post(REQUEST_URL, json_body=lease_body())
    # Then it is a 202 with the request id, status and Location
    assert reply.status == 202
    body = reply.json()
    assert set(body) == {"requestId", "status", "submittedAt"}
    assert body["status"] == "requested"
    assert re.match(r"^lreq_[0-9A-Z]{26}$", body["requestId"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", body["submittedAt"])
    assert reply.header("Location") == f"/v1/projects/prj_a/leased-accounts/requests/{body['requestId']}"
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    # And the request and exactly one LeaseRequested outbox item were written
    stored = repository.get_lease_request("org_a", body["requestId"])
    assert stored is not None
    assert stored.count == 2
    outbox = items_with_prefix(dynamodb, "OUTBOX#")
    assert [item["eventType"]["S"] for item in outbox] == ["LeaseRequested"]
    detail = json.loads(outbox[0]["detail"]["S"])
    assert detail["requestId"] == body["requestId"]
    assert detail["orgId"] == "org_a"
    assert {"eventId", "eventType", "eventVersion", "occurredAt"} <= set(detail)


def test_a_partner_request_id_is_used_as_the_request_id(api: Api) -> None:
    # Given a body carrying the partner's own request id
    # When it is submitted
    reply = api.post(REQUEST_URL, json_body=lease_body(requestId="partner-42_a"))
    # Then the request is known by that id
    assert reply.status == 202
    assert reply.json()["requestId"] == "partner-42_a"
    assert api.get("/v1/leased-accounts/requests/partner-42_a").status == 200


def test_reusing_a_partner_request_id_replays_or_conflicts(api: Api, dynamodb: Any) -> None:
    # Given an accepted request with a partner request id
    first = api.post(REQUEST_URL, json_body=lease_body(requestId="mine-1"))
    # When the same body is sent again, and then a different body with the same id
    again = api.post(REQUEST_URL, json_body=lease_body(requestId="mine-1"))
    other = api.post(REQUEST_URL, json_body=lease_body(requestId="mine-1", count=3))
    # Then the first is a byte-for-byte replay and the second a REQUEST_ID_IN_USE conflict
    assert again.status == 202
    assert again.body == first.body
    assert other.status == 409
    assert error_of(other)["details"]["reason"] == "REQUEST_ID_IN_USE"
    assert len(items_with_prefix(dynamodb, "OUTBOX#")) == 1


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"projectId": "prj_a", "count": 0, "niche": {"vertical": "coffee"}}, ["count"]),
        ({"projectId": "prj_a", "count": 51, "niche": {"vertical": "coffee"}}, ["count"]),
        ({"projectId": "prj_a", "count": 5.0, "niche": {"vertical": "coffee"}}, ["count"]),
        ({"projectId": "prj_a", "count": "5", "niche": {"vertical": "coffee"}}, ["count"]),
        ({"projectId": "prj_a", "count": True, "niche": {"vertical": "coffee"}}, ["count"]),
        ({"projectId": "prj_a", "count": 1, "niche": {}}, ["niche.vertical"]),
        ({"projectId": "prj_a", "count": 1, "niche": {"vertical": "   "}}, ["niche.vertical"]),
        (
            {"projectId": "prj_a", "count": 1, "niche": {"vertical": "c", "geo": ["US", "XX"]}},
            ["niche.geo[1]"],
        ),
        ({"projectId": "prj_a", "count": 1, "niche": {"vertical": "c", "geo": ["US", "US"]}}, ["niche.geo"]),
        (
            {"projectId": "prj_a", "count": 1, "niche": {"vertical": "c", "language": "en_US"}},
            ["niche.language"],
        ),
        ({"projectId": "prj_a", "count": 1, "niche": {"vertical": "c", "colour": "red"}}, ["niche.colour"]),
        ({"projectId": "prj_a", "count": 1, "niche": {"vertical": "c"}, "colour": "red"}, ["colour"]),
        ({"projectId": "prj_a", "count": 1, "niche": {"vertical": "c"}, "note": "x" * 2001}, ["note"]),
        (
            {"projectId": "prj_a", "count": 1, "niche": {"vertical": "c"}, "requestId": "no spaces"},
            ["requestId"],
        ),
        ({"projectId": "prj_other", "count": 1, "niche": {"vertical": "c"}}, ["projectId"]),
        ({"count": 1, "niche": {"vertical": "c"}}, ["projectId"]),
    ],
)
def test_an_invalid_body_is_422_with_one_issue_per_problem_at_its_path(
    api: Api, dynamodb: Any, body: dict[str, Any], paths: list[str]
) -> None:
    # Given an invalid body
    before = table_items(dynamodb)
    # When it is submitted
    reply = api.post(REQUEST_URL, json_body=body)
    # Then it is a 422 whose issues sit at the request's own field paths, and nothing was written
    assert reply.status == 422
    assert error_of(reply)["code"] == "VALIDATION"
    assert issue_paths(reply) == paths
    assert table_items(dynamodb) == before


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"not json", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"\xff\xfe{}", "application/json", 422),
        (b'{"count": NaN}', "application/json", 422),
        (b"{}", "text/plain", 415),
        (b"{}", "application/x-www-form-urlencoded", 415),
        (b'{"a": "' + b"x" * (64 * 1024) + b'"}', "application/json", 413),
    ],
)
def test_a_body_of_the_wrong_shape_is_refused_in_the_envelope(
    api: Api, raw: bytes, content_type: str, status: int
) -> None:
    # Given a body that is not a JSON object, not JSON, not UTF-8, of another media type, or too big
    # When it is posted
    reply = api.post(REQUEST_URL, body=raw, headers={"Content-Type": content_type})
    # Then the contract's status answers, in the envelope
    assert reply.status == status
    error = error_of(reply)
    if status == 422:
        assert issue_paths(reply) == [""]
    assert {"413": "PAYLOAD_TOO_LARGE", "415": "UNSUPPORTED_MEDIA_TYPE", "422": "VALIDATION"}[
        str(status)
    ] == error["code"]


def test_json_media_types_with_parameters_or_suffixes_and_a_missing_content_type_are_accepted(
    api: Api,
) -> None:
    # Given bodies labelled application/json with charset, a +json type, and no Content-Type at all
    payload = json.dumps(lease_body()).encode()
    replies = [
        api.post(REQUEST_URL, body=payload, headers={"Content-Type": "application/json; charset=utf-8"}),
        api.post(REQUEST_URL, body=payload, headers={"Content-Type": "application/vnd.layers+json"}),
        api.post(REQUEST_URL, body=payload),
    ]
    # Then each is read as JSON and accepted
    assert [reply.status for reply in replies] == [202, 202, 202]


@pytest.mark.parametrize("project", ["prj_b", "prj_nope", "bad.id!"])
def test_a_project_outside_the_organization_is_404_and_writes_nothing(
    api: Api, dynamodb: Any, project: str
) -> None:
    # Given another organization's project, a project that does not exist, and a malformed id
    before = table_items(dynamodb)
    # When a request names it
    reply = api.post(f"/v1/projects/{project}/leased-accounts/request", json_body=lease_body(project))
    # Then it is the same 404 and nothing is written
    assert reply.status == 404
    assert error_of(reply)["code"] == "NOT_FOUND"
    assert table_items(dynamodb) == before


def test_a_wallet_that_cannot_cover_one_account_gets_402_and_nothing_is_queued(
    api: Api, world: World, dynamodb: Any, repository: LeasingRepository
) -> None:
    # Given org B's wallet of 100 cents
    before = table_items(dynamodb)
    # When it asks for accounts with an idempotency key
    reply = api.post(
        "/v1/projects/prj_b/leased-accounts/request",
        json_body=lease_body("prj_b"),
        key=world.keys["b"],
        headers={"Idempotency-Key": "topup-retry"},
    )
    # Then it is a 402 and nothing was written (not even the idempotency record)
    assert reply.status == 402
    assert error_of(reply)["code"] == "BILLING_EXHAUSTED"
    assert table_items(dynamodb) == before
    # And after a top-up the same key runs afresh and is accepted
    repository.put_wallet("org_b", 15000)
    retry = api.post(
        "/v1/projects/prj_b/leased-accounts/request",
        json_body=lease_body("prj_b"),
        key=world.keys["b"],
        headers={"Idempotency-Key": "topup-retry"},
    )
    assert retry.status == 202
    assert retry.header("Idempotent-Replayed") is None


# ---------------------------------------------------------------------------------- idempotency


def test_the_same_key_and_body_replays_the_original_response_byte_for_byte(api: Api, dynamodb: Any) -> None:
    # Given an accepted request with an Idempotency-Key
    first = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "k-1"})
    # When the same body is sent again with other whitespace and key order
    body = json.dumps(dict(reversed(list(lease_body().items()))), indent=4).encode()
    again = api.post(
        REQUEST_URL, body=body, headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"}
    )
    # Then the status and body are the original's, marked as replayed, with a new request id
    assert first.status == again.status == 202
    assert again.body == first.body
    assert again.header("Location") == first.header("Location")
    assert again.header("Idempotent-Replayed") == "true"
    assert again.header("X-Request-Id") != first.header("X-Request-Id")
    # And nothing ran twice
    assert len(items_with_prefix(dynamodb, "LREQ#")) == 1
    assert len(items_with_prefix(dynamodb, "OUTBOX#")) == 1


def test_the_same_key_with_a_different_body_is_a_conflict(api: Api) -> None:
    # Given an accepted request with an Idempotency-Key
    api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "k-2"})
    # When another body comes with the same key
    reply = api.post(REQUEST_URL, json_body=lease_body(count=3), headers={"Idempotency-Key": "k-2"})
    # Then it is IDEMPOTENCY_KEY_REUSED
    assert reply.status == 409
    assert error_of(reply)["details"]["reason"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_same_key_while_the_first_call_runs_is_in_progress_with_retry_after(
    api: Api, repository: LeasingRepository
) -> None:
    # Given a first call that holds the key and is still running
    from layers_common.idempotency import body_fingerprint

    claim = IdempotencyClaim("org_a", "POST", ROUTE, "k-3", token="first-call")
    now = 2_000_000_000
    repository.claim_idempotency(
        claim, body_hash=body_fingerprint(lease_body()), now=1, lock_until=now, expires_at=now + 86400
    )
    # When the retry arrives
    reply = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "k-3"})
    # Then it is told to retry in a second
    assert reply.status == 409
    assert error_of(reply)["details"]["reason"] == "IDEMPOTENCY_IN_PROGRESS"
    assert reply.header("Retry-After") == "1"


def test_a_retry_after_the_first_call_crashed_creates_exactly_one_request(
    api: Api, repository: LeasingRepository, dynamodb: Any
) -> None:
    # Given a first call that claimed the key and died before writing anything (its lock has expired)
    from layers_common.idempotency import body_fingerprint

    claim = IdempotencyClaim("org_a", "POST", ROUTE, "k-crash", token="dead-call")
    repository.claim_idempotency(
        claim, body_hash=body_fingerprint(lease_body()), now=1, lock_until=2, expires_at=4_000_000_000
    )
    # When the partner retries twice
    first = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "k-crash"})
    second = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "k-crash"})
    # Then the first retry takes over and is accepted, the second replays it, and one request exists
    assert first.status == 202
    assert second.status == 202
    assert second.body == first.body
    assert len(items_with_prefix(dynamodb, "LREQ#")) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_an_idempotency_key_that_breaks_its_rules_is_422_at_the_header(api: Api, key: str) -> None:
    # Given an empty, too long or non-printable-ASCII key
    # When it is sent
    reply = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": key})
    # Then the issue names the header
    assert reply.status == 422
    assert issue_paths(reply) == ["Idempotency-Key"]


def test_two_organizations_using_the_same_idempotency_key_never_collide(
    api: Api, world: World, repository: LeasingRepository
) -> None:
    # Given org B can afford a request
    repository.put_wallet("org_b", 30000)
    # When both organizations use the same key
    a = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "shared"})
    b = api.post(
        "/v1/projects/prj_b/leased-accounts/request",
        json_body=lease_body("prj_b"),
        key=world.keys["b"],
        headers={"Idempotency-Key": "shared"},
    )
    # Then each gets its own request
    assert a.status == b.status == 202
    assert a.json()["requestId"] != b.json()["requestId"]
    assert b.header("Idempotent-Replayed") is None


def test_a_rotated_api_key_of_the_same_organization_still_gets_the_replay(api: Api, world: World) -> None:
    # Given a request accepted under one key of org A
    first = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "rotate"})
    # When the retry comes with another key of org A
    again = api.post(
        REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "rotate"}, key=world.keys["a_pilot"]
    )
    # Then it is the replay
    assert again.status == 202
    assert again.body == first.body
    assert again.header("Idempotent-Replayed") == "true"


def test_a_replay_of_an_accepted_request_wins_over_a_now_empty_wallet(
    api: Api, repository: LeasingRepository
) -> None:
    # Given an accepted request, after which the wallet was emptied
    first = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "k-wallet"})
    repository.put_wallet("org_a", 0)
    # When it is retried with the same key
    again = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "k-wallet"})
    # Then the original 202 comes back, not a 402
    assert again.status == 202
    assert again.body == first.body


# --------------------------------------------------------------------------------- rate limits


def test_rate_limit_headers_describe_the_minute_window_of_the_endpoint_class(api: Api) -> None:
    # Given a standard key
    # When it reads and writes
    read = api.get("/v1/leased-accounts")
    write = api.post(REQUEST_URL, json_body={"bad": True})
    # Then each response describes its own class's window
    assert (read.header("X-RateLimit-Limit"), read.header("X-RateLimit-Endpoint-Class")) == ("120", "read")
    assert (write.header("X-RateLimit-Limit"), write.header("X-RateLimit-Endpoint-Class")) == ("60", "write")
    assert read.header("X-RateLimit-Remaining") == "119"
    assert write.header("X-RateLimit-Remaining") == "59"  # a 422 counts
    reset = int(read.header("X-RateLimit-Reset") or 0)
    assert reset % 60 == 0


def test_the_61st_write_in_a_minute_is_429_and_changes_nothing(api: Api, world: World, dynamodb: Any) -> None:
    # Given a standard key that used its 60 writes of the minute (on invalid bodies, which count)
    key = world.keys["a_ratelimit"]
    wait_for_fresh_minute()
    replies = [api.post(REQUEST_URL, json_body={"x": 1}, key=key) for _ in range(60)]
    assert replies[-1].header("X-RateLimit-Remaining") == "0"
    before = table_items(dynamodb, include_rate_windows=True)
    # When it writes once more, with a valid body
    reply = api.post(REQUEST_URL, json_body=lease_body(), key=key)
    # Then it is a 429 with Retry-After, and nothing changed (not even the counter)
    assert error_of(reply)["code"] == "RATE_LIMITED"
    assert 1 <= int(reply.header("Retry-After") or 0) <= 60
    assert reply.header("X-RateLimit-Remaining") == "0"
    assert table_items(dynamodb, include_rate_windows=True) == before
    # And reads have their own budget
    assert api.get("/v1/leased-accounts", key=key).status == 200


# ---------------------------------------------------------------------------- get request (2.2)


def test_a_request_can_be_read_through_its_project_and_organization_wide(api: Api) -> None:
    # Given an accepted request
    accepted = api.post(REQUEST_URL, json_body=lease_body(note="hi", target="t")).json()
    request_id = accepted["requestId"]
    # When it is read on both routes
    by_project = api.get(f"/v1/projects/prj_a/leased-accounts/requests/{request_id}")
    by_org = api.get(f"/v1/leased-accounts/requests/{request_id}")
    # Then both show the contract's view with the niche echoed as submitted
    assert by_project.status == by_org.status == 200
    assert by_project.json() == by_org.json()
    assert by_org.json() == {
        "requestId": request_id,
        "projectId": "prj_a",
        "status": "requested",
        "count": 2,
        "niche": {"vertical": "coffee", "language": "en", "geo": ["US", "CA"]},
        "submittedAt": accepted["submittedAt"],
        "assignedAt": None,
        "assignedSocialAccountIds": [],
        "note": None,
    }


def test_a_request_is_404_through_another_project_or_organization(api: Api, world: World) -> None:
    # Given a request of project prj_a
    request_id = api.post(REQUEST_URL, json_body=lease_body()).json()["requestId"]
    # When it is read through prj_a2, by org B, or with a malformed id
    replies = [
        api.get(f"/v1/projects/prj_a2/leased-accounts/requests/{request_id}"),
        api.get(f"/v1/leased-accounts/requests/{request_id}", key=world.keys["b"]),
        api.get("/v1/leased-accounts/requests/not%2Fan%20id"),
    ]
    # Then each is the same 404
    assert [reply.status for reply in replies] == [404, 404, 404]
    assert {error_of(reply)["code"] for reply in replies} == {"NOT_FOUND"}


# ------------------------------------------------------------------------------ list (2.3)


def test_leased_accounts_are_listed_newest_first_with_stable_pages(api: Api) -> None:
    # Given five assigned leases of org A across two projects
    # When they are paged two at a time
    seen: list[dict[str, Any]] = []
    target = "/v1/leased-accounts?limit=2"
    pages = 0
    while target:
        reply = api.get(target)
        assert reply.status == 200
        page = reply.json()
        seen.extend(page["items"])
        pages += 1
        target = f"/v1/leased-accounts?limit=2&cursor={page['nextCursor']}" if page["nextCursor"] else ""
    # Then all five come once, newest assignedAt first, in three pages
    assert pages == 3
    assert [item["socialAccountId"] for item in seen] == [f"sa_leased_{n}" for n in range(5, 0, -1)]
    assert all(item["status"] == "assigned" for item in seen)
    first = seen[0]
    assert set(first) == {
        "socialAccountId",
        "projectId",
        "handle",
        "platform",
        "followers",
        "status",
        "assignedAt",
        "nextRenewalAt",
        "monthlyPriceCents",
        "requestId",
    }
    assert first["nextRenewalAt"] == "2026-06-15T10:00:00Z"
    assert first["monthlyPriceCents"] == 15000


def test_a_project_listing_and_the_project_filter_show_only_that_project(api: Api) -> None:
    # Given leases in prj_a (odd) and prj_a2 (even)
    # When listing by project route and by filter
    by_route = api.get("/v1/projects/prj_a2/leased-accounts").json()["items"]
    by_filter = api.get("/v1/leased-accounts?projectId=prj_a2").json()["items"]
    # Then both show the same two leases
    assert [item["socialAccountId"] for item in by_route] == ["sa_leased_4", "sa_leased_2"]
    assert by_filter == by_route


def test_disconnected_leases_carry_their_reason_and_no_renewal(api: Api) -> None:
    # Given a released lease in the seed
    # When disconnected leases are listed
    items = api.get("/v1/leased-accounts?status=disconnected").json()["items"]
    # Then it shows with disconnectedAt/Reason and nextRenewalAt null
    assert [item["socialAccountId"] for item in items] == ["sa_released"]
    assert items[0]["disconnectedReason"] == "released_by_partner"
    assert items[0]["disconnectedAt"] == "2026-02-01T00:00:00Z"
    assert items[0]["nextRenewalAt"] is None


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("status=gone", "status"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("cursor=%21%21", "cursor"),
        ("limit=1_0", "limit"),
        ("limit=%2B5", "limit"),
        ("limit=5.0", "limit"),
        ("limit=%205", "limit"),
        ("cursor=eyJ2IjoxLCJhZnRlciI6IiIsInN0YXR1cyI6ImFzc2lnbmVkIiwicHJvamVjdElkIjpudWxsfQ", "cursor"),
    ],
)
def test_bad_list_parameters_are_422_at_their_name(api: Api, query: str, path: str) -> None:
    # Given a bad query value
    # When listing
    reply = api.get(f"/v1/leased-accounts?{query}")
    # Then the issue names the parameter
    assert reply.status == 422
    assert issue_paths(reply) == [path]


def test_a_cursor_of_another_organization_is_refused(api: Api, world: World) -> None:
    # Given a cursor from org A's listing
    cursor = api.get("/v1/leased-accounts?limit=1").json()["nextCursor"]
    # When org B uses it
    reply = api.get(f"/v1/leased-accounts?limit=1&cursor={cursor}", key=world.keys["b"])
    # Then it is refused at `cursor`: a cursor is bound to the organization it was issued to
    assert reply.status == 422
    assert issue_paths(reply) == ["cursor"]


def test_listing_another_organizations_project_is_404(api: Api) -> None:
    # Given org B's project
    # When org A lists it by route or filter
    replies = [api.get("/v1/projects/prj_b/leased-accounts"), api.get("/v1/leased-accounts?projectId=prj_b")]
    # Then both are 404
    assert [reply.status for reply in replies] == [404, 404]


# ----------------------------------------------------------------------------- release (2.4)


def test_releasing_a_leased_account_ends_the_lease_at_once_with_audit_and_outbox(
    api: Api, repository: LeasingRepository, dynamodb: Any
) -> None:
    # Given an assigned lease
    # When the partner releases it with a reason
    reply = api.delete("/v1/leased-accounts/sa_leased_3", json_body={"reason": "Customer churned"})
    # Then the answer is the contract's body
    assert reply.status == 200
    body = reply.json()
    assert body["socialAccountId"] == "sa_leased_3"
    assert body["status"] == "disconnected"
    assert body["disconnectedReason"] == "released_by_partner"
    # And the lease left the assigned list for the disconnected one
    assigned = [item["socialAccountId"] for item in api.get("/v1/leased-accounts").json()["items"]]
    disconnected = api.get("/v1/leased-accounts?status=disconnected").json()["items"]
    assert "sa_leased_3" not in assigned
    released = next(item for item in disconnected if item["socialAccountId"] == "sa_leased_3")
    assert released["nextRenewalAt"] is None
    assert released["disconnectedAt"] == body["disconnectedAt"]
    # And the audit log has who and why, and one LeasedAccountReleased event is in the outbox
    audit = repository.list_audit("sa_leased_3")
    assert [(entry.action, entry.reason, entry.org_id) for entry in audit] == [
        ("lease.released", "Customer churned", "org_a")
    ]
    assert audit[0].actor_key_id
    assert [item["eventType"]["S"] for item in items_with_prefix(dynamodb, "OUTBOX#")] == [
        "LeasedAccountReleased"
    ]


def test_releasing_twice_is_404_the_second_time(api: Api) -> None:
    # Given a released lease
    assert api.delete("/v1/leased-accounts/sa_leased_1").status == 200
    # When it is released again
    reply = api.delete("/v1/leased-accounts/sa_leased_1")
    # Then it is 404
    assert reply.status == 404


@pytest.mark.parametrize("account", ["sa_leased_b", "sa_free_1", "sa_nope", "sa_released", "sa_byo_b"])
def test_releasing_what_is_not_the_partners_lease_is_404(api: Api, account: str, dynamodb: Any) -> None:
    # Given another org's lease, a pool account, an unknown id, an ended lease, another org's BYO
    before = table_items(dynamodb)
    # When org A releases it
    reply = api.delete(f"/v1/leased-accounts/{account}")
    # Then it is 404 and nothing changed
    assert reply.status == 404
    assert table_items(dynamodb) == before


def test_releasing_a_connected_account_is_409_not_leased_with_a_hint(api: Api) -> None:
    # Given org A's BYO account
    # When it is released through the leased route
    reply = api.delete("/v1/leased-accounts/sa_byo_a")
    # Then the conflict points to the social-accounts route
    assert reply.status == 409
    details = error_of(reply)["details"]
    assert details["reason"] == "NOT_LEASED"
    assert details["hint"] == "DELETE /v1/social-accounts/sa_byo_a"


def test_a_release_reason_over_1000_characters_is_422(api: Api) -> None:
    # Given a long reason
    # When releasing
    reply = api.delete("/v1/leased-accounts/sa_leased_1", json_body={"reason": "x" * 1001})
    # Then it is refused at reason
    assert reply.status == 422
    assert issue_paths(reply) == ["reason"]


# ------------------------------------------------------------------------------ revoke (2.5)


def test_revoking_a_connected_account_cancels_its_queued_posts(
    api: Api, repository: LeasingRepository
) -> None:
    # Given org A's BYO account with two queued posts and one published
    # When it is revoked
    reply = api.delete("/v1/social-accounts/sa_byo_a")
    # Then two posts were canceled and the published one kept
    assert reply.status == 200
    body = reply.json()
    assert body["canceledScheduledPosts"] == 2
    assert body["disconnectedReason"] == "revoked_by_partner"
    statuses = {post.scheduled_post_id: post.status for post in repository.list_scheduled_posts("sa_byo_a")}
    assert statuses == {"sp_q1": "canceled", "sp_q2": "canceled", "sp_pub": "published"}
    # And a second revoke is 404
    assert api.delete("/v1/social-accounts/sa_byo_a").status == 404


def test_revoking_a_leased_account_is_409_and_touches_nothing(api: Api, dynamodb: Any) -> None:
    # Given an assigned lease
    before = table_items(dynamodb)
    # When it is revoked through the social route
    reply = api.delete("/v1/social-accounts/sa_leased_2")
    # Then the conflict points to the release route and nothing changed
    assert reply.status == 409
    details = error_of(reply)["details"]
    assert details == {"reason": "LEASED_ACCOUNT", "hint": "DELETE /v1/leased-accounts/sa_leased_2"}
    assert table_items(dynamodb) == before


@pytest.mark.parametrize("account", ["sa_byo_b", "sa_nope", "sa_free_2"])
def test_revoking_an_account_outside_the_organization_is_404(api: Api, account: str) -> None:
    # Given another org's BYO account, an unknown id and an unleased pool account
    # When org A revokes it
    reply = api.delete(f"/v1/social-accounts/{account}")
    # Then it is 404
    assert reply.status == 404


# ------------------------------------------------------------------------------- cross-cutting


def test_every_response_carries_a_fresh_request_id_and_ignores_the_clients(api: Api) -> None:
    # Given a client that sends its own X-Request-Id
    headers = {"X-Request-Id": "req_client"}
    # When it calls a few routes
    replies = [
        api.get("/v1/leased-accounts", headers=headers),
        api.get("/v1/leased-accounts/requests/nope", headers=headers),
        api.get("/v1/unknown/route", headers=headers),
        api.call("PUT", "/v1/leased-accounts", headers=headers),
    ]
    # Then each response has its own req_<ULID>, never the client's
    ids = [reply.header("X-Request-Id") for reply in replies]
    assert all(REQUEST_ID.match(value or "") for value in ids)
    assert len(set(ids)) == len(ids)


def test_unknown_routes_and_methods_are_404_in_the_envelope(api: Api) -> None:
    # Given routes the API does not have
    # When they are called
    replies = [api.get("/v1/nothing"), api.call("PATCH", "/v1/leased-accounts")]
    # Then they are 404 NOT_FOUND in the envelope
    assert [reply.status for reply in replies] == [404, 404]
    assert {error_of(reply)["code"] for reply in replies} == {"NOT_FOUND"}


def test_a_base64_encoded_body_is_decoded_before_it_is_read(api: Api, gateway: Any) -> None:
    # Given the local gateway passes non-UTF-8 bodies base64-encoded
    # When such a body arrives
    reply = api.post(REQUEST_URL, body=base64.b64decode("/w=="), headers={"Content-Type": "application/json"})
    # Then it is a 422 at the body, not a 5xx
    assert reply.status == 422


def test_json_nested_deeper_than_the_parser_allows_is_422_not_a_5xx(api: Api) -> None:
    # Given a small body of 20,000 nested arrays
    body = b'{"projectId": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    # When it is posted
    reply = api.post(REQUEST_URL, body=body, headers={"Content-Type": "application/json"})
    # Then it is a plain validation error at the body
    assert reply.status == 422
    assert issue_paths(reply) == [""]


def test_a_suspended_key_is_counted_and_its_503_carries_the_rate_limit_headers(
    api: Api, world: World
) -> None:
    # Given a suspended key (it passed authentication)
    # When it reads twice
    first = api.get("/v1/leased-accounts", key=world.keys["a_suspended"])
    second = api.get("/v1/leased-accounts", key=world.keys["a_suspended"])
    # Then both are 503 with the headers of its read window, and both were counted
    assert (first.status, second.status) == (503, 503)
    assert first.header("X-RateLimit-Endpoint-Class") == "read"
    remaining = [int(reply.header("X-RateLimit-Remaining") or 0) for reply in (first, second)]
    if first.header("X-RateLimit-Reset") == second.header("X-RateLimit-Reset"):
        assert remaining[0] - remaining[1] == 1
    else:  # the calls straddled a calendar minute: the second is the new window's first count
        assert remaining[1] == int(second.header("X-RateLimit-Limit") or 0) - 1


def test_an_empty_body_labelled_with_another_media_type_is_judged_as_an_empty_body(api: Api) -> None:
    # Given an empty body sent with a non-JSON Content-Type (nothing to mis-read)
    # When it is posted to the request route, and sent with a release
    posted = api.post(REQUEST_URL, body=b"", headers={"Content-Type": "text/plain"})
    released = api.delete("/v1/leased-accounts/sa_leased_5", body=b"", headers={"Content-Type": "text/plain"})
    # Then the request is a 422 in the envelope (the body is required) and the release goes through
    assert posted.status == 422
    assert issue_paths(posted) == [""]
    assert released.status == 200


def test_a_key_whose_record_env_differs_from_its_prefix_is_401(
    gateway: Any, repository: LeasingRepository
) -> None:
    # Given a live-prefixed key whose stored record says test
    from layers_common.api_keys import generate_api_key
    from leasing_cli.seed import apply_seed, validate_seed

    _, key = generate_api_key("live")
    seed = {
        "orgs": [
            {"id": "org_env", "name": "Env", "apiKeys": [{"key": key, "scopes": ["*"], "env": "test"}]},
        ]
    }
    apply_seed(repository, validate_seed(seed))
    # When it is used / Then it is the plain 401
    reply = Api(gateway).get("/v1/leased-accounts", key=key)
    assert reply.status == 401
    assert error_of(reply)["code"] == "UNAUTHENTICATED"
