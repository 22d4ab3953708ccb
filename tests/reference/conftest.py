"""A `leasing serve` with the demo seed (the document's examples name its ids), for the reference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e_local.conftest import Server, start_server
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]


def demo_world() -> World:
    seed = json.loads((ROOT / "seeds" / "demo.json").read_text())
    demo_key = next(org for org in seed["orgs"] if org["id"] == "org_demo")["apiKeys"][0]["key"]
    return World(seed=seed, keys={"demo": demo_key})


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("reference-serve"), demo_world())
    yield running
    running.stop()
