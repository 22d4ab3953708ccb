"""The Python SDK's own decisions (retries, backoff, errors, models, pagination, logging) over
`httpx.MockTransport`: no server, no sockets."""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import layers
import pytest
from layers import (
    APIConnectionError,
    APIStatusError,
    AsyncLayers,
    AuthenticationError,
    BillingExhaustedError,
    ConflictError,
    InternalServerError,
    Layers,
    LayersError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
    WaitTimeoutError,
)
from layers._retries import retry_delay

KEY = "lp_test_ABCDEFGHIJKLMNOP_" + "s" * 43
BASE = "https://api.test"
ACCEPTED = {"requestId": "lreq_1", "status": "requested", "submittedAt": "2026-04-18T19:24:11Z"}
RELEASED = {
    "socialAccountId": "sa_1",
    "status": "disconnected",
    "disconnectedReason": "released_by_partner",
    "disconnectedAt": "2026-04-18T19:27:03Z",
}


def lease_request(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "requestId": "lreq_1",
        "projectId": "prj_1",
        "status": status,
        "count": 2,
        "niche": {"vertical": "coffee"},
        "submittedAt": "2026-04-18T19:24:11Z",
        "assignedAt": None,
        "assignedSocialAccountIds": [],
        "note": None,
        **extra,
    }


def envelope(status: int, code: str, headers: dict[str, str] | None = None, **details: Any) -> httpx.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": code.lower(), "requestId": "req_ERR"}}
    if details:
        body["error"]["details"] = details
    return httpx.Response(status, json=body, headers={"X-Request-Id": "req_ERR", **(headers or {})})


def ok(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload, headers={"X-Request-Id": "req_OK", **(headers or {})})


class Script:
    """Answers each request with the next scripted outcome (a response or an exception to raise)."""

    def __init__(
        self, *outcomes: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if callable(outcome) and not isinstance(outcome, httpx.Response):
            return outcome(request)
        return outcome


def sdk(script: Script, **options: Any) -> tuple[Layers, list[float]]:
    sleeps: list[float] = []
    client = Layers(
        api_key=KEY, base_url=BASE, http_client=httpx.Client(transport=httpx.MockTransport(script)), **options
    )
    client._sleep = sleeps.append
    return client, sleeps


def request_lease(client: Layers, **options: Any) -> Any:
    return client.leased_accounts.request(
        project_id="prj_1", count=2, niche={"vertical": "coffee"}, **options
    )


# ------------------------------------------------------------------------------------ retries


def test_a_get_answered_503_is_retried_and_succeeds() -> None:
    script = Script(envelope(503, "INTERNAL"), ok(lease_request("assigned")))
    client, sleeps = sdk(script)
    # Given a transient 503 on a read
    # When the request is polled
    result = client.leased_accounts.get_request("lreq_1")
    # Then the SDK retried once after a backoff and returned the answer
    assert result.status == "assigned"
    assert len(script.requests) == 2
    assert len(sleeps) == 1
    assert 0.25 <= sleeps[0] <= 0.5


def test_a_post_generates_one_idempotency_key_and_reuses_it_on_every_retry() -> None:
    script = Script(httpx.ReadError("dropped"), envelope(502, "INTERNAL"), ok(ACCEPTED, 202))
    client, _ = sdk(script)
    # Given a lease request whose first answer is lost and second is a 502
    # When the partner gives no idempotency key
    request_lease(client)
    # Then three attempts carried one generated UUID key
    keys = {request.headers["Idempotency-Key"] for request in script.requests}
    assert len(script.requests) == 3
    assert len(keys) == 1
    assert len(next(iter(keys))) == 36


def test_a_callers_idempotency_key_is_sent_as_given() -> None:
    script = Script(ok(ACCEPTED, 202))
    client, _ = sdk(script)
    # Given a partner-chosen key
    # When it requests
    request_lease(client, idempotency_key="my-key-1")
    # Then that key is sent
    assert script.requests[0].headers["Idempotency-Key"] == "my-key-1"


def test_a_delete_whose_response_was_lost_is_not_retried() -> None:
    script = Script(httpx.ReadError("dropped"), ok(RELEASED))
    client, sleeps = sdk(script)
    # Given a release whose connection dropped after it was sent
    # When the SDK releases
    with pytest.raises(APIConnectionError):
        client.leased_accounts.release("sa_1")
    # Then it did not send it again
    assert len(script.requests) == 1
    assert sleeps == []


def test_a_delete_answered_500_is_not_retried() -> None:
    script = Script(envelope(500, "INTERNAL"), ok(RELEASED))
    client, _ = sdk(script)
    # Given a release answered 500 (it may have been committed)
    # When the SDK releases
    with pytest.raises(InternalServerError):
        client.leased_accounts.release("sa_1")
    # Then it was sent once
    assert len(script.requests) == 1


def test_a_delete_refused_before_it_was_sent_is_retried() -> None:
    script = Script(httpx.ConnectError("refused"), ok(RELEASED))
    client, _ = sdk(script)
    # Given a connection refused (nothing reached the server)
    # When the SDK releases
    result = client.leased_accounts.release("sa_1")
    # Then it tried again and the release happened once
    assert result.social_account_id == "sa_1"
    assert len(script.requests) == 2


def test_a_429_is_retried_after_the_retry_after_seconds_whatever_the_method() -> None:
    script = Script(envelope(429, "RATE_LIMITED", {"Retry-After": "3"}), ok(RELEASED))
    client, sleeps = sdk(script)
    # Given a release answered 429 with Retry-After: 3
    # When the SDK releases
    client.leased_accounts.release("sa_1")
    # Then it waited at least 3 seconds (plus a little jitter) and sent it again
    assert len(script.requests) == 2
    assert 3 <= sleeps[0] <= 3.25


def test_a_429_asking_for_a_long_wait_is_raised_at_once() -> None:
    script = Script(envelope(429, "RATE_LIMITED", {"Retry-After": "3600"}, window="day"))
    client, sleeps = sdk(script)
    # Given the daily write cap (Retry-After of an hour)
    # When the SDK requests
    with pytest.raises(RateLimitError) as raised:
        request_lease(client)
    # Then it does not sleep for an hour: the caller decides
    assert raised.value.retry_after == 3600
    assert sleeps == []


def test_idempotency_in_progress_is_retried_after_retry_after() -> None:
    in_progress = envelope(409, "CONFLICT", {"Retry-After": "1"}, reason="IDEMPOTENCY_IN_PROGRESS")
    script = Script(in_progress, ok(ACCEPTED, 202))
    client, sleeps = sdk(script)
    # Given the first call with this key still running
    # When the SDK requests
    result = request_lease(client)
    # Then it waited Retry-After and got the outcome
    assert result.request_id == "lreq_1"
    assert sleeps[0] >= 1


def test_other_conflicts_are_not_retried() -> None:
    script = Script(envelope(409, "CONFLICT", reason="IDEMPOTENCY_KEY_REUSED"))
    client, _ = sdk(script)
    # Given a key reused with another body
    # When the SDK requests
    with pytest.raises(ConflictError) as raised:
        request_lease(client, idempotency_key="k")
    # Then the conflict is raised with its reason, after one attempt
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert len(script.requests) == 1


def test_a_kill_switch_is_not_retried() -> None:
    script = Script(envelope(503, "KILL_SWITCH"))
    client, _ = sdk(script)
    # Given a suspended organization
    # When the SDK reads
    with pytest.raises(ServiceUnavailableError):
        client.leased_accounts.get_request("lreq_1")
    # Then it gave up at once
    assert len(script.requests) == 1


def test_retries_stop_at_max_retries() -> None:
    script = Script(*[envelope(503, "INTERNAL") for _ in range(4)])
    client, sleeps = sdk(script, max_retries=3)
    # Given a server that stays unavailable
    # When the SDK reads with max_retries=3
    with pytest.raises(ServiceUnavailableError):
        client.leased_accounts.get_request("lreq_1")
    # Then it made four attempts with exponentially growing waits
    assert len(script.requests) == 4
    assert sleeps[0] < sleeps[2]


def test_max_retries_zero_sends_once() -> None:
    script = Script(envelope(503, "INTERNAL"))
    client, _ = sdk(script, max_retries=0)
    # Given retries switched off
    # When a read fails
    with pytest.raises(ServiceUnavailableError):
        client.leased_accounts.get_request("lreq_1")
    # Then there was one attempt
    assert len(script.requests) == 1


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    # Given many draws of each retry's delay
    delays = {attempt: [retry_delay(attempt, rng=rng) for _ in range(200)] for attempt in range(1, 8)}
    # Then retry n waits between half and all of 0.5 * 2^(n-1) seconds, never more than 8 s, and varies
    for attempt, draws in delays.items():
        ceiling = min(0.5 * 2 ** (attempt - 1), 8.0)
        assert all(ceiling / 2 <= delay <= ceiling for delay in draws)
        assert len(set(draws)) > 100


def test_a_timeout_is_an_api_timeout_error() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"))
    client, _ = sdk(script)
    # Given a server that never answers in time
    # When the SDK reads
    with pytest.raises(layers.APITimeoutError):
        client.leased_accounts.get_request("lreq_1")
    # Then it retried the read twice first
    assert len(script.requests) == 3


# ------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "UNAUTHENTICATED", AuthenticationError),
        (402, "BILLING_EXHAUSTED", BillingExhaustedError),
        (403, "FORBIDDEN_SCOPE", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "CONFLICT", ConflictError),
        (413, "PAYLOAD_TOO_LARGE", APIStatusError),
        (415, "UNSUPPORTED_MEDIA_TYPE", APIStatusError),
        (422, "VALIDATION", ValidationError),
        (429, "RATE_LIMITED", RateLimitError),
        (500, "INTERNAL", InternalServerError),
        (503, "KILL_SWITCH", ServiceUnavailableError),
    ],
)
def test_each_status_maps_to_its_exception_with_the_envelope_fields(
    status: int, code: str, expected: type[LayersError]
) -> None:
    script = Script(envelope(status, code, {"Retry-After": "999"}, reason="NOT_LEASED"))
    client, _ = sdk(script, max_retries=0)
    # Given an error answer in the contract's envelope
    # When the SDK receives it
    with pytest.raises(expected) as raised:
        client.leased_accounts.release("sa_1")
    # Then the exception carries status, code, message, request id and details
    error = raised.value
    assert type(error) is expected
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        code,
        code.lower(),
        "req_ERR",
    )
    assert error.details == {"reason": "NOT_LEASED"}


def test_a_non_envelope_error_body_still_raises_with_the_status() -> None:
    script = Script(httpx.Response(502, text="<html>bad gateway</html>"))
    client, _ = sdk(script, max_retries=0)
    # Given a proxy's HTML error page
    # When the SDK reads
    with pytest.raises(InternalServerError) as raised:
        client.leased_accounts.get_request("lreq_1")
    # Then the error has the status and no code
    assert raised.value.status == 502
    assert raised.value.code is None


def test_a_missing_api_key_is_refused_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAYERS_API_KEY", raising=False)
    # Given no key anywhere
    # When a client is built
    # Then it says how to give one
    with pytest.raises(LayersError, match="LAYERS_API_KEY"):
        Layers()


def test_the_key_and_base_url_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERS_API_KEY", KEY)
    monkeypatch.setenv("LAYERS_BASE_URL", "http://127.0.0.1:3000/")
    monkeypatch.delenv("LAYERS_LOG", raising=False)
    # Given the environment variables
    # When a client is built without arguments
    client = Layers()
    # Then they are used (and without them the base URL is production)
    assert client.base_url == "http://127.0.0.1:3000"
    monkeypatch.delenv("LAYERS_BASE_URL")
    assert Layers().base_url == "https://api.layers.com"


# ------------------------------------------------------------------------------------- models


def test_models_tolerate_unknown_fields_and_statuses_and_carry_the_response_request_id() -> None:
    payload = lease_request("escalated", reviewer="ops", assignedSocialAccountIds=["sa_1"])
    script = Script(ok(payload))
    client, _ = sdk(script)
    # Given a newer server answering a status and a field this SDK does not know
    # When the request is read
    result = client.leased_accounts.get_request("lreq_1")
    # Then both are kept, fields are snake_case, and the HTTP request id is apart from the lease request id
    assert result.status == "escalated"
    assert result.model_extra == {"reviewer": "ops"}
    assert result.assigned_social_account_ids == ["sa_1"]
    assert result.request_id == "lreq_1"
    assert result._request_id == "req_OK"
    assert result.to_dict()["assignedSocialAccountIds"] == ["sa_1"]


def test_the_request_body_has_the_contracts_field_names_and_no_nulls() -> None:
    script = Script(ok(ACCEPTED, 202))
    client, _ = sdk(script)
    # Given optional fields left out and one given
    # When the SDK requests
    client.leased_accounts.request(
        project_id="prj_1", count=5, niche={"vertical": "coffee"}, request_id="mine-1"
    )
    # Then the body is the contract's, with only the fields given
    body = json.loads(script.requests[0].content)
    assert body == {"projectId": "prj_1", "count": 5, "niche": {"vertical": "coffee"}, "requestId": "mine-1"}
    assert script.requests[0].url.path == "/v1/projects/prj_1/leased-accounts/request"


def test_ids_are_percent_encoded_in_paths() -> None:
    script = Script(envelope(404, "NOT_FOUND"))
    client, _ = sdk(script, max_retries=0)
    # Given an id with a slash in it
    # When it is released
    with pytest.raises(NotFoundError):
        client.leased_accounts.release("sa_1/../../x")
    # Then it stays one path segment
    assert script.requests[0].url.raw_path == b"/v1/leased-accounts/sa_1%2F..%2F..%2Fx"


# --------------------------------------------------------------------------------- pagination


def page(ids: list[str], cursor: str | None) -> httpx.Response:
    items = [
        {
            "socialAccountId": sa,
            "projectId": "prj_1",
            "handle": sa,
            "platform": "tiktok",
            "followers": 1,
            "status": "assigned",
            "assignedAt": "2026-04-20T16:12:02Z",
            "nextRenewalAt": "2026-05-20T16:12:02Z",
            "monthlyPriceCents": 15000,
            "requestId": "lreq_1",
        }
        for sa in ids
    ]
    return ok({"items": items, "nextCursor": cursor})


def test_list_fetches_pages_only_as_the_iteration_needs_them() -> None:
    script = Script(page(["sa_1", "sa_2"], "c2"), page(["sa_3"], None))
    client, _ = sdk(script)
    # Given two pages
    # When the list is created, then read item by item
    pager = client.leased_accounts.list(project_id="prj_1", limit=2)
    assert script.requests == []
    iterator = iter(pager)
    first = [next(iterator).social_account_id, next(iterator).social_account_id]
    assert len(script.requests) == 1
    rest = [account.social_account_id for account in iterator]
    # Then the second page was asked for with the first page's cursor, only once the first was used up
    assert first + rest == ["sa_1", "sa_2", "sa_3"]
    assert script.requests[1].url.params["cursor"] == "c2"
    assert script.requests[1].url.params["limit"] == "2"
    assert script.requests[0].url.path == "/v1/projects/prj_1/leased-accounts"


def test_the_async_list_pages_with_async_for() -> None:
    script = Script(page(["sa_1"], "c2"), page(["sa_2"], None))

    async def collect() -> list[str]:
        client = AsyncLayers(
            api_key=KEY, base_url=BASE, http_client=httpx.AsyncClient(transport=httpx.MockTransport(script))
        )
        return [account.social_account_id async for account in client.leased_accounts.list(status="assigned")]

    # Given two pages
    # When they are read with async for
    # Then every item comes, in order
    assert asyncio.run(collect()) == ["sa_1", "sa_2"]


def test_the_async_client_reuses_its_generated_key_on_retries() -> None:
    script = Script(httpx.RemoteProtocolError("dropped"), ok(ACCEPTED, 202))

    async def run() -> Any:
        client = AsyncLayers(
            api_key=KEY, base_url=BASE, http_client=httpx.AsyncClient(transport=httpx.MockTransport(script))
        )

        async def no_sleep(_seconds: float) -> None:
            return None

        client._sleep = no_sleep
        return await client.leased_accounts.request(project_id="prj_1", count=1, niche={"vertical": "coffee"})

    # Given an async lease request whose first answer is lost
    # When it completes
    result = asyncio.run(run())
    # Then both attempts carried one key
    assert result.request_id == "lreq_1"
    assert len({request.headers["Idempotency-Key"] for request in script.requests}) == 1


# ---------------------------------------------------------------------------- wait_for_request


def test_wait_for_request_polls_until_the_status_leaves_requested() -> None:
    script = Script(
        ok(lease_request("requested")), ok(lease_request("requested")), ok(lease_request("partial"))
    )
    client, sleeps = sdk(script)
    # Given a request that becomes partial on the third poll
    # When the partner waits for it
    result = client.leased_accounts.wait_for_request("lreq_1", poll_interval=1.0, timeout=60)
    # Then it returns that state, having backed off between polls
    assert result.status == "partial"
    assert sleeps == [1.0, 1.5]


def test_wait_for_request_ends_on_a_status_it_does_not_know() -> None:
    script = Script(ok(lease_request("escalated")))
    client, _ = sdk(script)
    # Given a status newer than this SDK
    # When waited for
    # Then it is returned, not polled forever
    assert client.leased_accounts.wait_for_request("lreq_1").status == "escalated"


def test_wait_for_request_pauses_until_the_window_resets_when_the_read_budget_is_spent() -> None:
    import time

    reset = str(int(time.time()) + 20)
    spent = ok(lease_request("requested"), headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    script = Script(spent, ok(lease_request("assigned")))
    client, sleeps = sdk(script)
    # Given a poll that spent the last read of this minute
    # When the partner waits
    client.leased_accounts.wait_for_request("lreq_1", poll_interval=0.5, timeout=60)
    # Then the next poll came after the window reset, not after the poll interval
    assert 18 <= sleeps[0] <= 20.5


def test_wait_for_request_times_out_with_the_last_state() -> None:
    script = Script(*[ok(lease_request("requested")) for _ in range(10)])
    client, _ = sdk(script)
    # Given a request that stays requested
    # When waited for with a timeout shorter than the poll interval
    with pytest.raises(WaitTimeoutError) as raised:
        client.leased_accounts.wait_for_request("lreq_1", timeout=0.5, poll_interval=1.0)
    # Then the timeout error carries the last state seen
    assert raised.value.last is not None
    assert raised.value.last.status == "requested"
    assert isinstance(raised.value, layers.APITimeoutError)


# ------------------------------------------------------------------------------------ logging


def test_the_debug_log_shows_method_path_status_and_request_id_but_never_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = Script(envelope(503, "INTERNAL"), ok(lease_request("assigned")))
    client, _ = sdk(script, debug=True)
    # Given debug logging switched on
    # When a call is retried
    with caplog.at_level(logging.DEBUG, logger="layers"):
        client.leased_accounts.get_request("lreq_1")
    # Then each attempt is logged with method, path, status and request id, and the key appears nowhere
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /v1/leased-accounts/requests/lreq_1 -> 503 (X-Request-Id req_ERR, attempt 1)" in text
    assert "-> 200 (X-Request-Id req_OK, attempt 2)" in text
    assert KEY not in text
    assert KEY[:20] not in text


# ------------------------------------------------------------------------------------ packaging


def test_the_sdk_source_runs_on_python_3_9() -> None:
    package = Path(layers.__file__).parent
    # Given every module of the SDK
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(), feature_version=(3, 9))
        # Then none uses `X | Y` in an annotation (evaluated at run time by pydantic on 3.9)
        annotations = [
            node.annotation
            for node in ast.walk(tree)
            if isinstance(node, ast.AnnAssign | ast.arg) and node.annotation is not None
        ] + [node.returns for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.returns]
        unions = [
            ast.unparse(a)
            for a in annotations
            if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(a))
        ]
        assert unions == [], f"{path.name}: {unions}"
    assert (package / "py.typed").exists()


def test_a_niche_model_is_sent_without_its_unset_fields() -> None:
    script = Script(ok(ACCEPTED, 202))
    client, _ = sdk(script)
    # Given a niche built as the SDK's model, with only a vertical
    # When it is requested
    client.leased_accounts.request(project_id="prj_1", count=1, niche=layers.Niche(vertical="coffee"))
    # Then the body's niche has no nulls for the fields left out
    assert json.loads(script.requests[0].content)["niche"] == {"vertical": "coffee"}


def test_the_project_route_is_used_when_a_project_is_given_positionally() -> None:
    script = Script(ok(lease_request("assigned")))
    client, _ = sdk(script)
    # Given a project id passed as the second argument, as the signature shows
    # When the request is read
    client.leased_accounts.get_request("lreq_1", "prj_1")
    # Then the project route is called
    assert script.requests[0].url.path == "/v1/projects/prj_1/leased-accounts/requests/lreq_1"
