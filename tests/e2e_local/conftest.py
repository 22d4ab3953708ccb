"""`leasing serve` started as a subprocess with the shared test seed, driven over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from tests.world import World, make_world

LISTENING = re.compile(r"Listening on (http://127\.0\.0\.1:\d+)")
STARTUP_SECONDS = 60


@dataclass
class Server:
    url: str
    world: World
    process: subprocess.Popen[str]
    log: Path

    def call(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        """SIGTERM, as a user's Ctrl-C would; killed if it has not gone within 10 s."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _wait_for_listening(stdout: IO[str], deadline: float) -> str:
    for line in stdout:
        match = LISTENING.search(line)
        if match:
            return match.group(1)
        if time.monotonic() > deadline:
            break
    raise RuntimeError("leasing serve did not start")


def start_server(tmp: Path, world: World, *extra_args: str, seeded: bool = True) -> Server:
    seed = tmp / "seed.json"
    seed.write_text(json.dumps(world.seed))
    log = tmp / "serve.log"
    leasing = Path(sys.executable).with_name("leasing")
    seed_args = ["--seed", str(seed)] if seeded else []
    process = subprocess.Popen(
        [str(leasing), "serve", "--host", "127.0.0.1", "--port", "0", *seed_args, *extra_args],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        url = _wait_for_listening(process.stdout, time.monotonic() + STARTUP_SECONDS)
    except Exception:
        process.kill()
        raise RuntimeError(f"leasing serve did not start:\n{log.read_text()}") from None
    # Keep draining stdout so the server never blocks on a full pipe.
    import threading

    drained = tmp / "serve.out"

    def drain() -> None:
        with drained.open("w") as sink:
            for line in process.stdout or ():
                sink.write(line)

    threading.Thread(target=drain, daemon=True).start()
    return Server(url=url, world=world, process=process, log=log)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve"), make_world())
    yield running
    running.stop()
