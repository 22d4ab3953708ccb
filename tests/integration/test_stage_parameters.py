"""`leasing invoke` / `serve` apply template parameters as `sam local` does: samconfig, or given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOW = ROOT / "events" / "AuthorizerFunction" / "allow.json"


def invoke_authorizer(*extra: str) -> Any:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "leasing_cli.main",
            "invoke",
            "AuthorizerFunction",
            "--event",
            str(ALLOW),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_demo_test_key_is_allowed_locally_because_samconfig_accepts_test_keys_for_dev() -> None:
    # Given the demo seed's lp_test_ key and samconfig's local overrides (AcceptTestKeys=true)
    # When the authorizer is invoked locally / Then it allows the call
    result = invoke_authorizer()
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert result["context"]["env"] == "test"


def test_a_stage_without_test_keys_refuses_the_demo_key_with_a_plain_401() -> None:
    # Given the same event on a stage configured like prod
    # When invoked with AcceptTestKeys=false / Then API Gateway's 401 (Unauthorized) is the answer
    result = invoke_authorizer("--parameter-overrides", "AcceptTestKeys=false")
    assert result == {"errorMessage": "Unauthorized", "errorType": "Exception"}


@pytest.mark.parametrize("override", ["AcceptTestKeys=maybe", "NoSuchParameter=1", "AcceptTestKeys"])
def test_a_bad_override_is_refused_before_anything_runs(override: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "leasing_cli.main",
            "invoke",
            "AuthorizerFunction",
            "--event",
            str(ALLOW),
            "--parameter-overrides",
            override,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "leasing invoke:" in done.stderr
