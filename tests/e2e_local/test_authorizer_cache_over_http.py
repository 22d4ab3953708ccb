"""`leasing serve --authorizer-cache on|off` with the real authorizer and `leasing admin key revoke`.

With the cache on (a short TTL given by `--authorizer-cache-ttl`, as the deployed stack's
`AuthorizerCacheSeconds` would be), a revoked key keeps working until its cached result expires;
with it off (the default) the revocation takes effect on the next call.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e_local.conftest import Server, start_server
from tests.e2e_local.test_event_path_over_http import LEASING, make_seed

pytestmark = [pytest.mark.e2e]

TTL_SECONDS = 6.0


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(*args: str) -> Server:
        folder = tmp_path / f"serve-{len(started)}"
        folder.mkdir()
        running = start_server(folder, make_seed("assign"), *args)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def revoke(server: Server, key: str) -> dict[str, str]:
    done = subprocess.run(
        [str(LEASING), "admin", "--server", server.url, "key", "revoke", key, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


def status(server: Server, key: str) -> int:
    return server.call("GET", "/v1/leased-accounts", key=key).status_code


def test_with_the_cache_on_a_revoked_key_works_until_the_ttl_passes(serve: Callable[..., Server]) -> None:
    # Given a server caching authorizer results for TTL_SECONDS, and a key that was just used
    server = serve("--authorizer-cache", "on", "--authorizer-cache-ttl", str(TTL_SECONDS))
    assert server.call("GET", "/_local/health").json()["authorizerCache"] == {"ttlSeconds": TTL_SECONDS}
    key = server.world.keys["assign"]
    first_use = time.monotonic()
    assert status(server, key) == 200
    cached_by = time.monotonic()  # the result was cached before this answer arrived

    # When the key is revoked
    revoked = revoke(server, key)
    assert "takes effect at once locally" in revoked["takesEffect"]

    # Then it still works while its cached result lives
    if time.monotonic() - first_use < TTL_SECONDS * 0.8:
        assert status(server, key) == 200
    # And it is refused once the TTL has passed
    time.sleep(max(0.0, cached_by + TTL_SECONDS + 0.2 - time.monotonic()))
    assert status(server, key) == 401


def test_with_the_cache_off_a_revoked_key_fails_at_once(serve: Callable[..., Server]) -> None:
    # Given the default server (no authorizer cache) and a key that works
    server = serve()
    assert server.call("GET", "/_local/health").json()["authorizerCache"] is None
    key = server.world.keys["assign"]
    assert status(server, key) == 200
    # When it is revoked / Then the next call is refused
    revoke(server, key)
    assert status(server, key) == 401
