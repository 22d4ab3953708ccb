"""Property: no input a client can send produces a 5xx, and every error keeps the envelope."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import Api
from tests.world import lease_body

REQUEST_URL = "/v1/projects/prj_a/leased-accounts/request"
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Bodies that look like lease requests, with any field replaced by any JSON value.
lease_like = st.builds(
    lambda overrides: {**lease_body(), **overrides},
    st.dictionaries(
        st.sampled_from(["projectId", "count", "niche", "target", "note", "requestId", "extra"]),
        json_values,
        max_size=3,
    ),
)
segments = st.text(min_size=1, max_size=40).map(lambda text: quote(text, safe=""))
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


def assert_no_5xx(reply: Any) -> None:
    """Below 500, and every error in the contract's envelope (never a framework's own body)."""
    assert reply.status < 500, reply.body
    if reply.status >= 400:
        error = json.loads(reply.body)["error"]
        assert error["code"]
        assert error["requestId"] == reply.header("X-Request-Id")


@SETTINGS
@given(body=st.one_of(lease_like, json_values), idempotency_key=st.none() | header_values)
def test_any_json_body_and_idempotency_key_never_gives_a_5xx(
    api: Api, body: Any, idempotency_key: str | None
) -> None:
    # Given any JSON body and any printable Idempotency-Key / When posted / Then never a 5xx
    headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
    assert_no_5xx(api.post(REQUEST_URL, json_body=body, headers=headers))


@SETTINGS
@given(raw=st.binary(max_size=200), content_type=st.none() | header_values)
def test_any_bytes_with_any_content_type_never_give_a_5xx(
    api: Api, raw: bytes, content_type: str | None
) -> None:
    # Given arbitrary bytes and any Content-Type / When posted / Then never a 5xx
    headers = {} if content_type is None else {"Content-Type": content_type}
    assert_no_5xx(api.post(REQUEST_URL, body=raw, headers=headers))


@SETTINGS
@given(
    segment=segments,
    query=st.dictionaries(
        st.sampled_from(["status", "limit", "cursor", "projectId", "x"]), header_values, max_size=3
    ),
)
def test_any_path_segment_and_query_never_give_a_5xx(api: Api, segment: str, query: dict[str, str]) -> None:
    # Given any path id and any query values
    query_string = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    targets = [
        ("GET", f"/v1/leased-accounts?{query_string}"),
        ("GET", f"/v1/projects/{segment}/leased-accounts?{query_string}"),
        ("GET", f"/v1/leased-accounts/requests/{segment}"),
        ("GET", f"/v1/projects/{segment}/leased-accounts/requests/{segment}"),
        ("DELETE", f"/v1/leased-accounts/{segment}"),
        ("DELETE", f"/v1/social-accounts/{segment}"),
    ]
    # When each route is called / Then never a 5xx
    for method, target in targets:
        assert_no_5xx(api.call(method, target))


@SETTINGS
@given(authorization=header_values)
def test_any_authorization_header_never_gives_a_5xx(api: Api, authorization: str) -> None:
    # Given any Authorization header value / When used / Then never a 5xx
    assert_no_5xx(api.call("GET", "/v1/leased-accounts", headers={"Authorization": authorization}, key=""))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


# What a client could put in `cursor`: any bytes, any JSON (plain or base64url), cursor-shaped
# text with random parts, and real-looking cursor payloads (the old unsigned format included).
cursor_payloads = st.fixed_dictionaries(
    {},
    optional={
        "v": json_values,
        "after": json_values | st.just(""),
        "status": st.sampled_from(["assigned", "disconnected"]) | json_values,
        "projectId": st.none() | st.text(max_size=12),
    },
)
cursors = st.one_of(
    st.binary(max_size=120).map(lambda raw: raw.decode("latin-1")),
    json_values.map(json.dumps),
    json_values.map(lambda value: _b64(json.dumps(value).encode())),
    cursor_payloads.map(lambda payload: _b64(json.dumps(payload).encode())),
    st.tuples(cursor_payloads, st.binary(min_size=16, max_size=16)).map(
        lambda parts: f"v1.{_b64(json.dumps(parts[0]).encode())}.{_b64(parts[1])}"
    ),
    st.binary(max_size=200).map(_b64),
)
limits = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.text(max_size=8),
    st.sampled_from(["1_0", "+5", "5.0", " 5", "05", "0x10", "1e2", "\u0663", "9" * 5000]),
)


@SETTINGS
@given(cursor=cursors, limit=st.none() | limits, status=st.sampled_from(["assigned", "disconnected"]))
def test_any_cursor_and_limit_never_give_a_5xx_and_a_forged_cursor_is_422_at_cursor(
    api: Api, cursor: str, limit: str | None, status: str
) -> None:
    # Given any cursor a client can make (never one the listing issued) and any limit
    query = f"status={status}&cursor={quote(cursor, safe='')}"
    if limit is not None:
        query += f"&limit={quote(limit, safe='')}"
    # When the organization-wide and the project listings are called
    for target in (f"/v1/leased-accounts?{query}", f"/v1/projects/prj_a/leased-accounts?{query}"):
        reply = api.call("GET", target)
        # Then never a 5xx, and a forged cursor is refused at `cursor`
        assert_no_5xx(reply)
        assert reply.status == 422
        paths = {issue["path"] for issue in json.loads(reply.body)["error"]["details"]["issues"]}
        assert "cursor" in paths or "limit" in paths
        if limit is None or limit in {str(n) for n in range(1, 201)}:
            assert "cursor" in paths  # with a good limit, the cursor alone is the issue
