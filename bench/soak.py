"""Soak and burst of `leasing serve`: memory, stalls, 5xx and latency under a realistic workload.

Starts `leasing serve --port 0 --seed seeds/demo.json --seed <generated>` where the generated seed
adds an organization with a partner-tier key, a large wallet, `--pool` warmed accounts across a few
verticals and connected (BYO) accounts with queued posts. Then, measuring the server's RSS from
`/proc/<pid>/status` (Linux):

1. **Soak**: `--requests` mixed requests (lists, polls, lease requests that match and that do not,
   releases, revokes, bad requests) from `--clients` clients, with `POST /_local/drain` after
   every 50 and an RSS sample after each drain. Growth = the highest RSS after the warm-up
   (`--warmup` requests) minus the RSS at the end of the warm-up.
2. **GET under assignment**: GET p99 at rest, then GET p99 while 100 lease requests are posted and
   assigned by the event path (measured until their drain returns), in the same run.
3. **Burst**: `--burst-clients` clients for `--burst-seconds`, then a drain and a few idle seconds;
   RSS after minus RSS before.
4. **Floor**: the median of a local `GET` (poll of one request) over the median of one raw
   `GetItem` on the same embedded DynamoDB.

It prints the RSS series, the growth, latency percentiles, and the verdict per target; it exits 1
when a target is missed:

- growth after the warm-up <= 50 MB; burst leaves RSS within 100 MB once idle;
- no 5xx; no request over 5 s; GET p99 while assigning <= 3x GET p99 at rest.

    python bench/soak.py                    # 5,000 requests, 30 s burst of 32 clients
    python bench/soak.py --requests 800 --burst-seconds 5   # a quick run
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import secrets
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"Listening on (http://[\d.]+:\d+)")
VERTICALS = ("coffee", "fitness", "travel", "gaming", "cooking", "finance")
MB = 1024 * 1024

GROWTH_LIMIT_MB = 50
BURST_LIMIT_MB = 100
SLOWEST_LIMIT_S = 5.0
ASSIGNING_P99_FACTOR = 3.0


# ------------------------------------------------------------------------------------------ seed


def _api_key() -> str:
    key_id = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"lp_test_{key_id}_{secret}"


@dataclass(frozen=True)
class SoakWorld:
    key: str
    org_id: str
    project_id: str
    byo_ids: list[str]
    seed: dict[str, Any]


def soak_world(pool: int, byo: int) -> SoakWorld:
    key = _api_key()
    org, project = "org_soak", "prj_soak"
    byo_ids = [f"sa_soak_byo_{index}" for index in range(byo)]
    seed = {
        "orgs": [
            {
                "id": org,
                "name": "Soak",
                "walletBalanceCents": 10**12,
                "apiKeys": [{"key": key, "scopes": ["*"], "tier": "partner"}],
                "projects": [{"id": project, "name": "Soak project"}],
            }
        ],
        "pool": [
            {
                "socialAccountId": f"sa_soak_pool_{index}",
                "handle": f"soak.{VERTICALS[index % len(VERTICALS)]}.{index}",
                "followers": 1000 + index,
                "vertical": VERTICALS[index % len(VERTICALS)],
                "language": "en-US",
                "geo": ["US"],
                "monthlyPriceCents": 1500,
            }
            for index in range(pool)
        ],
        "socialAccounts": [
            {"socialAccountId": account, "projectId": project, "handle": f"byo.{account}"}
            for account in byo_ids
        ],
        "scheduledPosts": [
            {"scheduledPostId": f"sp_{account}", "socialAccountId": account} for account in byo_ids
        ],
    }
    return SoakWorld(key=key, org_id=org, project_id=project, byo_ids=byo_ids, seed=seed)


# ---------------------------------------------------------------------------------------- server


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def running_server(workdir: Path, seed_path: Path, extra: list[str]) -> Iterator[Server]:
    leasing = Path(sys.executable).with_name("leasing")
    log_path = workdir / "serve.log"
    command = [str(leasing), "serve", "--port", "0", "--seed", str(ROOT / "seeds/demo.json")]
    command += ["--seed", str(seed_path), *extra]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        match = LISTENING.search(line)
        if match:
            url = match.group(1)
            break
    if not url:
        process.kill()
        raise RuntimeError(f"leasing serve did not start:\n{log_path.read_text()[-3000:]}")
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    try:
        yield Server(url, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -------------------------------------------------------------------------------------- workload


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int, what: str) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append(f"{status} {what}")
            if seconds > self.slowest[0]:
                self.slowest = (seconds, what)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


class Client:
    """One partner's calls, with the ids it learned (request ids, assigned accounts)."""

    def __init__(self, url: str, world: SoakWorld, results: Results, shared: Shared) -> None:
        self.url = url
        self.world = world
        self.results = results
        self.shared = shared
        self.session = requests.Session()
        self.auth = {"Authorization": f"Bearer {world.key}"}

    def call(self, kind: str, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.url + path, headers=headers, timeout=60, **kwargs)
        except requests.RequestException as error:
            with self.results.lock:
                self.results.failures.append(f"{method} {path}: {type(error).__name__}")
            return None
        self.results.record(kind, time.perf_counter() - started, response.status_code, f"{method} {path}")
        return response

    def lease_request(self, vertical: str, count: int) -> None:
        project = self.world.project_id
        body = {"projectId": project, "count": count, "niche": {"vertical": vertical, "geo": ["US"]}}
        response = self.call(
            "POST request",
            "POST",
            f"/v1/projects/{project}/leased-accounts/request",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if response is not None and response.status_code == 202:
            self.shared.add_request(response.json()["requestId"])

    def one(self, rng: random.Random) -> None:
        project = self.world.project_id
        roll = rng.random()
        if roll < 0.18:
            response = self.call("GET list", "GET", "/v1/leased-accounts?limit=20")
            if response is not None and response.status_code == 200:
                self.shared.add_leased([item["socialAccountId"] for item in response.json()["items"]])
        elif roll < 0.26:
            path = f"/v1/projects/{project}/leased-accounts?limit=5&status=disconnected"
            self.call("GET list", "GET", path)
        elif roll < 0.44:
            request_id = self.shared.some_request(rng)
            if request_id is None:
                self.lease_request(rng.choice(VERTICALS), 1)
            else:
                self.call("GET poll", "GET", f"/v1/leased-accounts/requests/{request_id}")
        elif roll < 0.56:
            self.lease_request(rng.choice(VERTICALS), rng.randint(1, 3))
        elif roll < 0.60:
            self.lease_request(f"nothing-{rng.randint(1, 9)}", 2)  # matches no pool account
        elif roll < 0.70:
            account = self.shared.take_leased()
            if account is None:
                self.call("GET list", "GET", "/v1/leased-accounts?limit=50")
            else:
                self.call(
                    "DELETE release", "DELETE", f"/v1/leased-accounts/{account}", json={"reason": "soak"}
                )
        elif roll < 0.75:
            account = self.shared.take_byo()
            if account is not None:
                self.call("DELETE revoke", "DELETE", f"/v1/social-accounts/{account}")
            else:
                self.call("bad", "DELETE", "/v1/social-accounts/sa_soak_byo_0")  # 404: already revoked
        else:
            self.bad(rng)

    def bad(self, rng: random.Random) -> None:
        project = self.world.project_id
        choice = rng.randrange(6)
        if choice == 0:
            self.call("bad", "GET", "/v1/leased-accounts", headers={"Authorization": "Bearer nope"})
        elif choice == 1:
            self.call(
                "bad",
                "POST",
                f"/v1/projects/{project}/leased-accounts/request",
                json={"projectId": project, "count": 0, "niche": {"vertical": "", "geo": ["XX"]}},
            )
        elif choice == 2:
            self.call("bad", "GET", f"/v1/leased-accounts/requests/lreq_{uuid.uuid4().hex[:26].upper()}")
        elif choice == 3:
            self.call(
                "bad",
                "POST",
                f"/v1/projects/{project}/leased-accounts/request",
                data="count=1",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        elif choice == 4:
            self.call("bad", "GET", "/v1/projects/prj_other/leased-accounts")
        else:
            self.call("bad", "PATCH", "/v1/leased-accounts")


class Shared:
    """Ids the clients learned, shared between them."""

    def __init__(self, byo_ids: list[str]) -> None:
        self._lock = threading.Lock()
        self._requests: list[str] = []
        self._leased: set[str] = set()
        self._byo = list(byo_ids)

    def add_request(self, request_id: str) -> None:
        with self._lock:
            self._requests.append(request_id)
            del self._requests[:-500]

    def some_request(self, rng: random.Random) -> str | None:
        with self._lock:
            return rng.choice(self._requests) if self._requests else None

    def add_leased(self, accounts: list[str]) -> None:
        with self._lock:
            self._leased.update(accounts)

    def take_leased(self) -> str | None:
        with self._lock:
            return self._leased.pop() if self._leased else None

    def take_byo(self) -> str | None:
        with self._lock:
            return self._byo.pop() if self._byo else None


# -------------------------------------------------------------------------------------- figures


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def drain(url: str) -> float:
    started = time.perf_counter()
    response = requests.post(url + "/_local/drain", timeout=300)
    if response.status_code != 200:
        raise RuntimeError(f"drain answered {response.status_code}: {response.text[:300]}")
    return time.perf_counter() - started


def run_clients(count: int, work: Callable[[int], None]) -> None:
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(work, range(count)))


def raw_get_item_ms(server: Server, world: SoakWorld, runs: int) -> float:
    import boto3

    health = requests.get(server.url + "/_local/health", timeout=10).json()
    table = next(iter(health["tables"].values()))
    client = boto3.client(
        "dynamodb",
        endpoint_url=health["dynamodbEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
    )
    key = {"pk": {"S": f"ORG#{world.org_id}"}, "sk": {"S": "ORG"}}
    client.get_item(TableName=table, Key=key)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get_item(TableName=table, Key=key)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000, help="soak requests (default 5000)")
    parser.add_argument("--warmup", type=int, default=500, help="requests before growth is measured")
    parser.add_argument("--clients", type=int, default=4, help="soak clients (default 4)")
    parser.add_argument("--pool", type=int, default=300, help="warmed accounts seeded (default 300)")
    parser.add_argument("--burst-clients", type=int, default=32)
    parser.add_argument("--burst-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7, help="random seed of the workload")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra `leasing serve` argument")
    args = parser.parse_args(argv)
    warmup = min(args.warmup, args.requests)

    world = soak_world(args.pool, byo=max(50, args.requests // 15))
    misses: list[str] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        seed_path = Path(tmp) / "soak-seed.json"
        seed_path.write_text(json.dumps(world.seed))
        with running_server(Path(tmp), seed_path, args.serve_arg) as server:
            print(f"leasing serve pid {server.process.pid} at {server.url}; pool {args.pool}", flush=True)
            results = Results()
            shared = Shared(world.byo_ids)
            start_rss = server.rss_mb()
            series: list[tuple[int, float]] = [(0, start_rss)]
            drains: list[float] = []

            # 1. soak, in rounds of 50 followed by a drain
            rng_master = random.Random(args.seed)
            done = 0
            soak_started = time.perf_counter()
            while done < args.requests:
                round_size = min(50, args.requests - done)
                per_client = [round_size // args.clients] * args.clients
                for index in range(round_size % args.clients):
                    per_client[index] += 1
                seeds = [rng_master.random() for _ in range(args.clients)]

                def work(index: int, per_client: list[int] = per_client, seeds: list[float] = seeds) -> None:
                    client = Client(server.url, world, results, shared)
                    rng = random.Random(seeds[index])
                    for _ in range(per_client[index]):
                        client.one(rng)

                run_clients(args.clients, work)
                done += round_size
                drains.append(drain(server.url))
                series.append((done, server.rss_mb()))
                if done % 500 == 0 or done == args.requests:
                    elapsed = time.perf_counter() - soak_started
                    print(f"  {done} requests in {elapsed:.0f} s: RSS {series[-1][1]:.0f} MB", flush=True)
            soak_seconds = time.perf_counter() - soak_started
            at_warmup = next(rss for count, rss in series if count >= warmup)
            after = [rss for count, rss in series if count > warmup] or [at_warmup]
            growth = max(after) - at_warmup

            # 2. GET p99 at rest, then while 100 lease requests are being assigned
            rest = Results()
            poll_ids = [shared.some_request(random.Random(index)) for index in range(8)]

            def gets(
                results_for: Results, until: threading.Event | None, count: int
            ) -> Callable[[int], None]:
                def work(index: int) -> None:
                    client = Client(server.url, world, results_for, shared)
                    done_here = 0
                    while (until is None and done_here < count) or (until is not None and not until.is_set()):
                        request_id = poll_ids[(index + done_here) % len(poll_ids)]
                        if done_here % 2 or request_id is None:
                            client.call("GET", "GET", "/v1/leased-accounts?limit=20")
                        else:
                            client.call("GET", "GET", f"/v1/leased-accounts/requests/{request_id}")
                        done_here += 1

                return work

            run_clients(4, gets(rest, None, 50))
            busy = Results()
            finished = threading.Event()

            def assign_hundred() -> None:
                client = Client(server.url, world, busy, shared)

                def post(index: int) -> None:
                    client.lease_request(VERTICALS[index % len(VERTICALS)], 1)

                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(post, range(100)))
                drain(server.url)
                finished.set()

            assigner = threading.Thread(target=assign_hundred)
            assigner.start()
            run_clients(4, gets(busy, finished, 0))
            assigner.join()
            rest_p99 = percentile(rest.latencies["GET"], 0.99)
            busy_p99 = percentile(busy.latencies["GET"], 0.99)

            # 4. floor: a local GET against one raw GetItem (at rest)
            floor_ms = raw_get_item_ms(server, world, 200)
            local = Results()
            run_clients(1, gets(local, None, 200))
            local_ms = statistics.median(local.latencies["GET"]) * 1000

            # 3. burst
            drain(server.url)
            before_burst = server.rss_mb()
            burst = Results()
            stop_at = time.monotonic() + args.burst_seconds

            def burst_work(index: int) -> None:
                client = Client(server.url, world, burst, shared)
                rng = random.Random(index)
                while time.monotonic() < stop_at:
                    client.one(rng)

            run_clients(args.burst_clients, burst_work)
            burst_drain = drain(server.url)
            time.sleep(3)
            after_burst = server.rss_mb()
            burst_delta = after_burst - before_burst
            alive = server.process.poll() is None
            log_text = server.log_path.read_text(errors="replace")

    # ------------------------------------------------------------------------------- the report
    everything = [results, rest, busy, local, burst]
    total = sum(r.total for r in everything)
    server_errors = [error for r in everything for error in r.server_errors]
    failures = [failure for r in everything for failure in r.failures]
    slowest = max((r.slowest for r in everything), key=lambda pair: pair[0])
    print(
        f"\nSoak: {results.total} requests from {args.clients} clients in {soak_seconds:.1f} s "
        f"({results.total / soak_seconds:.1f} req/s), a drain every 50 (drain median "
        f"{statistics.median(drains) * 1000:.0f} ms, max {max(drains) * 1000:.0f} ms)"
    )
    print("RSS series (requests: MB): " + ", ".join(f"{count}: {rss:.0f}" for count, rss in series))
    print(
        f"RSS at start {start_rss:.0f} MB, after the warm-up ({warmup}) {at_warmup:.0f} MB, "
        f"highest after it {max(after):.0f} MB, end {series[-1][1]:.0f} MB: growth {growth:+.1f} MB"
    )
    print("\nlatency ms        count     p50     p90     p99     max")
    for kind, values in sorted(results.latencies.items()):
        print(
            f"{kind:<16} {len(values):>6} {percentile(values, 0.5) * 1000:>7.1f} "
            f"{percentile(values, 0.9) * 1000:>7.1f} {percentile(values, 0.99) * 1000:>7.1f} "
            f"{max(values) * 1000:>7.1f}"
        )
    print(
        f"\nGET p99 at rest {rest_p99 * 1000:.1f} ms ({len(rest.latencies['GET'])} GETs); while 100 "
        f"requests are assigned {busy_p99 * 1000:.1f} ms ({len(busy.latencies['GET'])} GETs): "
        f"{busy_p99 / rest_p99 if rest_p99 else 0:.2f}x"
    )
    print(
        f"Local GET median {local_ms:.1f} ms; raw GetItem median {floor_ms:.2f} ms: "
        f"{local_ms / floor_ms:.1f}x the floor"
    )
    print(
        f"Burst: {burst.total} requests from {args.burst_clients} clients in {args.burst_seconds:.0f} s "
        f"(drain after {burst_drain:.1f} s); RSS {before_burst:.0f} -> {after_burst:.0f} MB once idle "
        f"({burst_delta:+.1f} MB)"
    )
    print(
        f"Statuses: {dict(sorted((s, n) for r in everything for s, n in r.statuses.items()))} "
        f"(all phases, {total} requests); slowest {slowest[0] * 1000:.0f} ms ({slowest[1]})"
    )
    tracebacks = log_text.count("Traceback (most recent call last)")
    print(f"Server log: {len(log_text.splitlines())} lines, {tracebacks} tracebacks")

    if growth > GROWTH_LIMIT_MB:
        misses.append(f"RSS grew {growth:.1f} MB after the warm-up (limit {GROWTH_LIMIT_MB})")
    if burst_delta > BURST_LIMIT_MB:
        misses.append(f"the burst left RSS {burst_delta:.1f} MB higher (limit {BURST_LIMIT_MB})")
    if server_errors:
        misses.append(f"{len(server_errors)} 5xx, e.g. {server_errors[:3]}")
    if failures:
        misses.append(f"{len(failures)} requests failed at the HTTP level, e.g. {failures[:3]}")
    if slowest[0] > SLOWEST_LIMIT_S:
        misses.append(f"a request took {slowest[0]:.1f} s ({slowest[1]}; limit {SLOWEST_LIMIT_S:.0f} s)")
    if rest_p99 and busy_p99 > ASSIGNING_P99_FACTOR * rest_p99:
        misses.append(f"GET p99 while assigning is {busy_p99 / rest_p99:.1f}x at rest (limit 3x)")
    if not alive:
        misses.append("the server died")
    print()
    for miss in misses:
        print(f"MISSED: {miss}")
    print("all targets met" if not misses else f"{len(misses)} target(s) missed")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
