"""`leasing serve --dynamodb-endpoint URL`: the runtime on another DynamoDB-compatible endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leasing_cli.embedded_dynamodb import EmbeddedDynamoDB
from tests.e2e_local.conftest import Server, start_server
from tests.world import World, lease_body, make_world

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-external")]


def stop(server: Server) -> None:
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture
def external_endpoint() -> Iterator[str]:
    with EmbeddedDynamoDB() as dynamodb:  # stands in for DynamoDB Local or any compatible endpoint
        yield dynamodb.endpoint_url


def test_serve_uses_the_given_endpoint_and_a_restart_keeps_its_tables(
    external_endpoint: str, tmp_path: Path
) -> None:
    world: World = make_world()
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    # Given a server started against an external DynamoDB endpoint
    first = start_server(tmp_path / "first", world, "--dynamodb-endpoint", external_endpoint)
    try:
        # Then its health names that endpoint, and a request is accepted there
        assert first.call("GET", "/_local/health").json()["dynamodbEndpoint"] == external_endpoint
        accepted = first.call(
            "POST", "/v1/projects/prj_a/leased-accounts/request", key=world.keys["a"], json=lease_body()
        )
        assert accepted.status_code == 202
        location = accepted.headers["Location"]
    finally:
        first.stop()
    # When a second server starts on the same endpoint with the same seed
    (tmp_path / "second" / "seed.json").write_text(json.dumps(world.seed))
    refused = subprocess.run(
        [
            str(Path(sys.executable).with_name("leasing")),
            "serve",
            "--port",
            "0",
            "--seed",
            str(tmp_path / "second" / "seed.json"),
            "--dynamodb-endpoint",
            external_endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it is refused (a seed never overwrites), naming what exists, and never starts
    assert refused.returncode == 2, refused.stderr
    assert "already exists" in refused.stderr
    assert "org org_a" in refused.stderr
    assert "Listening" not in refused.stdout
    # When it starts without a seed (tables exist: kept)
    second = start_server(tmp_path / "second", world, "--dynamodb-endpoint", external_endpoint, seeded=False)
    try:
        # Then the request accepted by the first server is still there
        assert second.call("GET", location, key=world.keys["a"]).status_code == 200
    finally:
        second.stop()
