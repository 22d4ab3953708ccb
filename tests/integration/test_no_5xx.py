"""Property: no input a client can send produces a 5xx, and every error keeps the envelope."""

from __future__ import annotations

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
