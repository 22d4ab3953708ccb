"""Every log line and EMF document names the function and the invocation that wrote it.

Two organizations call different endpoints at once through the local gateway (authorizer plus
endpoint functions, in one process, on many threads); the runtime records which function each
invocation's request id belongs to and which organization it served, and every JSON line written
to stdout is checked against that record.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from leasing_cli.gateway import GatewayRequest, LocalApiGateway
from leasing_cli.lambda_runtime import LambdaContext, LambdaRuntime
from leasing_cli.template import Template
from tests.world import World


class RecordingRuntime(LambdaRuntime):
    """The local runtime, remembering (function, organization) for each invocation's request id."""

    def __init__(self, template: Template) -> None:
        super().__init__(template)
        self.invocations: dict[str, tuple[str, str | None]] = {}
        self._lock = threading.Lock()
        self._event = threading.local()

    def invoke(self, logical_id: str, event: Any) -> Any:
        self._event.value = event
        return super().invoke(logical_id, event)

    def context_for(self, logical_id: str) -> LambdaContext:
        context = super().context_for(logical_id)
        event = self._event.value
        authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
        with self._lock:
            self.invocations[context.aws_request_id] = (logical_id, authorizer.get("orgId"))
        return context


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Every line the functions' logger writes during the test, formatted as in production.

    Read from a handler of its own: the logger's stream handler holds whatever `sys.stdout` was
    when the logger was created (possibly another test's capture).
    """
    from layers_common.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    yield stream
    logger._logger.removeHandler(handler)


def test_concurrent_invocations_of_different_functions_log_only_their_own_name_request_and_keys(
    template: Template, world: World, capsys: pytest.CaptureFixture[str], log_stream: io.StringIO
) -> None:
    # Given a gateway on a recording runtime and two organizations' keys
    runtime = RecordingRuntime(template)
    gateway = LocalApiGateway(template, runtime)
    calls = [
        ("a", "GET", "/v1/leased-accounts"),
        ("b", "GET", "/v1/projects/prj_b/leased-accounts"),
        ("a", "DELETE", "/v1/leased-accounts/sa_does_not_exist"),
        ("b", "GET", "/v1/leased-accounts/requests/lreq_01HXZR7K8M2P4RSTUV56789AB"),
        ("a", "GET", "/v1/projects/prj_a/leased-accounts?status=disconnected"),
        ("b", "DELETE", "/v1/social-accounts/sa_nope"),
    ]
    capsys.readouterr()

    def call(index: int) -> int:
        name, method, target = calls[index % len(calls)]
        headers = [("Authorization", f"Bearer {world.keys[name]}")]
        return gateway.handle(GatewayRequest(method=method, target=target, headers=headers)).status

    # When 60 calls run on 12 threads at once
    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(call, range(60)))
    assert all(status < 500 for status in statuses)
    logs = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.startswith("{")]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    # Then every line names a function and a request id of an invocation of that very function
    assert len(logs) >= 60
    function_ids = set(template.functions)
    for line in logs:
        function, org = runtime.invocations[line["function_request_id"]]
        assert line["function_name"] == function, line
        assert line["function_name"] in function_ids
        # And an organization or key id on the line is the one that invocation served
        if org is not None and "org_id" in line:
            assert line["org_id"] == org, line
        if "api_key_id" in line and org is not None:
            expected_key_ids = {
                key.split("_")[2] for name, key in world.keys.items() if name.startswith(org[-1])
            }
            assert line["api_key_id"] in expected_key_ids, line
    # And every metric document names its function and request id the same way
    for document in (line for line in lines if "_aws" in line):
        function, _ = runtime.invocations[document["function_request_id"]]
        assert document["function_name"] == function
