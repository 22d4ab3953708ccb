"""Every function's handler module, imported the way Lambda imports it, in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from leasing_cli.template import Function, default_template_path, load_template

TEMPLATE = load_template(default_template_path())
FUNCTIONS = list(TEMPLATE.functions.values())

PROBE = """\
import gc, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", {source!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
print(json.dumps({{
    "handler": callable(getattr(module, {attribute!r}, None)),
    "gc_enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
    "event_handler": [name for name in sys.modules if name.startswith("aws_lambda_powertools.event_")],
    "xray": [name for name in sys.modules if name.startswith("aws_xray_sdk")],
}}))
"""


def imported(function: Function) -> dict[str, object]:
    module_path, _, attribute = function.handler.rpartition(".")
    source = function.code_uri / (module_path.replace(".", "/") + ".py")
    env = {"TABLE_NAME": "t", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(TEMPLATE.path.parent)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(source=str(source), attribute=attribute)],
        cwd=function.code_uri,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.logical_id)
def test_a_handler_module_loads_lean_and_leaves_the_collector_on(function: Function) -> None:
    # Given a fresh interpreter / When the handler module is imported as Lambda imports it
    loaded = imported(function)
    # Then the handler exists; the init ran without collections and froze what it built, and the
    # collector is on again for the invocations
    assert loaded["handler"] is True
    assert loaded["gc_enabled"] is True
    assert isinstance(loaded["frozen"], int)
    assert loaded["frozen"] > 10_000
    # And neither Powertools' event_handler package (every resolver kind, ~100 ms: the routes are
    # dispatched by layers_common.http.routing) nor the X-Ray SDK (tracing is off) was imported
    assert loaded["event_handler"] == []
    assert loaded["xray"] == []
