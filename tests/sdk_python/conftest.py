"""The Python SDK (`sdk/python`, import name `layers`) against a `leasing serve` of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from layers_common.api_keys import generate_api_key
from tests.e2e_local.conftest import Server, start_server
from tests.world import World, make_world

#: Keys added to org A for the SDK suite; each rate-limit test spends its own key's budget.
EXTRA_KEYS = ("sdk", "sdk_ratelimit_once", "sdk_ratelimit_retry", "sdk_async")


def sdk_world() -> World:
    """The shared test world, plus a deeper coffee pool and keys of the SDK suite's own."""
    world = make_world()
    org_a = next(org for org in world.seed["orgs"] if org["id"] == "org_a")
    for name in EXTRA_KEYS:
        _, text = generate_api_key("test")
        world.keys[name] = text
        org_a["apiKeys"].append({"key": text, "scopes": ["*"], "tier": "standard"})
    world.seed["pool"].extend(
        {
            "socialAccountId": f"sa_sdk_{n:02d}",
            "handle": f"sdk.coffee.{n}",
            "followers": 5000 + n,
            "vertical": "coffee",
            "language": "en-US",
            "geo": ["US"],
        }
        for n in range(30)
    )
    return world


@pytest.fixture(scope="session")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("sdk-serve"), sdk_world())
    yield running
    running.stop()
