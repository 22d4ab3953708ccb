"""Schemathesis runs the checked-in OpenAPI document against a `leasing serve` it starts.

Budget (chosen so `make test` stays practical on 2 shared cores, about a minute): every phase
(examples, coverage, fuzzing, stateful), positive and negative data, every check but
`unsupported_method` (see schemathesis.toml), `--max-examples` 10 per operation and phase (env
`SCHEMATHESIS_MAX_EXAMPLES` raises it: `make contract` runs 100), a fixed seed so a failure
reproduces (env `SCHEMATHESIS_SEED` changes it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layers_common.api_keys import generate_api_key
from tests.e2e_local.conftest import start_server
from tests.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("contract")]

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "docs" / "openapi.json"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261130")


def contract_world() -> World:
    """The demo seed (the document's examples name its ids), with a partner-tier key and a deep
    wallet so generated requests meet neither the rate limit nor a 402 by accident."""
    seed = json.loads((ROOT / "seeds" / "demo.json").read_text())
    org = next(org for org in seed["orgs"] if org["id"] == "org_demo")
    _, key = generate_api_key("test")
    org["apiKeys"].append({"key": key, "scopes": ["*"], "tier": "partner"})
    org["walletBalanceCents"] = 10**12
    return World(seed=seed, keys={"contract": key})


def test_schemathesis_finds_no_failure_in_the_checked_in_document(tmp_path: Path) -> None:
    world = contract_world()
    server = start_server(tmp_path, world)
    try:
        # Given the checked-in document and a server seeded with the data its examples name
        # When Schemathesis runs every phase against it
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(CONFIG),
                "run",
                str(OPENAPI),
                "--url",
                server.url,
                "--header",
                f"Authorization: Bearer {world.keys['contract']}",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--generation-database",
                "none",  # the same cases on every machine: no examples remembered from earlier runs
                "--no-color",
            ],
            cwd=ROOT,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.hooks"},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        server.stop()
    # Then it reports no failure
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or " passed " in result.stdout, result.stdout[-3000:]
