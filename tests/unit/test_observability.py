"""Metrics are per invocation and EMF-shaped; tracing costs nothing when it is off."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from layers_common.dependencies import reset_dependencies
from layers_common.observability import add_metric, observed


class Context:
    function_name = "fn"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    aws_request_id = "r-1"


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test/Leasing")
    monkeypatch.setenv("STAGE", "unit")
    monkeypatch.delenv("TRACING_ENABLED", raising=False)
    reset_dependencies()


def emf_lines(output: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [document for document in documents if "_aws" in document]


def test_metrics_added_during_an_invocation_are_flushed_as_one_emf_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a handler that records two business metrics
    @observed
    def handler(event: Any, context: Any) -> str:
        add_metric("AccountsAssigned", 3)
        add_metric("CentsCharged", 45000)
        return "done"

    # When it is invoked
    assert handler({}, Context()) == "done"
    # Then one EMF document carries both, in the configured namespace, with the stage dimension
    [document] = emf_lines(capsys.readouterr().out)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Test/Leasing"
    assert {metric["Name"] for metric in directive["Metrics"]} == {"AccountsAssigned", "CentsCharged"}
    assert document["AccountsAssigned"] in (3.0, [3.0])
    assert document["stage"] == "unit"


def test_a_metric_outside_an_invocation_is_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no invocation running / When a metric is added / Then nothing is emitted and nothing fails
    add_metric("Releases")
    assert emf_lines(capsys.readouterr().out) == []


def test_concurrent_invocations_never_mix_their_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a handler that records its own number, run on eight threads at once
    barrier = threading.Barrier(8)

    @observed
    def handler(event: Any, context: Any) -> None:
        barrier.wait()
        add_metric("Releases", event["n"])

    threads = [threading.Thread(target=handler, args=({"n": n}, Context())) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then eight documents each hold exactly their own value
    values = sorted(_value(document["Releases"]) for document in emf_lines(capsys.readouterr().out))
    assert values == [float(n) for n in range(1, 9)]


@pytest.mark.parametrize(("enabled", "imported"), [("false", False), ("true", True)])
def test_the_xray_sdk_is_imported_only_when_tracing_is_on(enabled: str, imported: bool) -> None:
    # Given a fresh interpreter with TRACING_ENABLED set
    code = (
        "import sys\n"
        "from layers_common.observability import observed\n"
        "class C:\n"
        "    function_name='f'; memory_limit_in_mb=128; aws_request_id='r'\n"
        "    invoked_function_arn='arn:aws:lambda:us-east-1:1:function:f'\n"
        "observed(lambda event, context: None)({}, C())\n"
        "print('aws_xray_sdk' in sys.modules)\n"
    )
    env = {"TABLE_NAME": "t", "TRACING_ENABLED": enabled, "POWERTOOLS_TRACE_DISABLED": "true", "PATH": ""}
    # When a handler is imported and invoked once
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    # Then the X-Ray SDK was imported only when tracing is on
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(imported)


def _value(emf_value: Any) -> float:
    """EMF values are a number or a list of numbers, depending on the Powertools version."""
    return float(emf_value[0] if isinstance(emf_value, list) else emf_value)
