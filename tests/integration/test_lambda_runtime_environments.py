"""Execution environments of the local Lambda runtime: capped per function, reused, reclaimed.

A one-function SAM project in a temporary folder; its handler sleeps a little and answers with the
id of its module (one module load = one environment), so a test can count environments.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from leasing_cli.lambda_runtime import LambdaRuntime, TooManyRequests
from leasing_cli.template import Template, load_template

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  SleepyFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: sleepy/
      Handler: app.lambda_handler
      Runtime: python3.12
      Timeout: 2
"""

HANDLER = """
import threading
import time

LOADED = object()  # module state: one per environment
_busy = threading.Lock()


def lambda_handler(event, context):
    if not _busy.acquire(blocking=False):
        raise RuntimeError("two invocations at once in one environment")
    try:
        time.sleep(event.get("sleep", 0))
        return {"environment": id(LOADED), "module": __name__}
    finally:
        _busy.release()
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def template(tmp_path: Path) -> Template:
    (tmp_path / "sleepy").mkdir()
    (tmp_path / "sleepy" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return load_template(tmp_path / "template.yaml")


def _invoke_concurrently(runtime: LambdaRuntime, count: int, sleep: float) -> list[dict[str, str]]:
    results: list[dict[str, str]] = []
    lock = threading.Lock()

    def call() -> None:
        result = runtime.invoke("SleepyFunction", {"sleep": sleep})
        with lock:
            results.append(result)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_invocations_never_create_more_environments_than_the_cap(template: Template) -> None:
    # Given a runtime capped at 3 environments per function
    runtime = LambdaRuntime(template, max_environments=3)
    # When 12 invocations run at once
    results = _invoke_concurrently(runtime, 12, sleep=0.05)
    # Then all of them ran, one at a time per environment, in at most 3 environments
    assert len(results) == 12
    assert 1 <= len({result["environment"] for result in results}) <= 3
    assert runtime.environments("SleepyFunction") <= 3


def test_sequential_invocations_reuse_one_environment(template: Template) -> None:
    # Given a runtime
    runtime = LambdaRuntime(template)
    # When a function is invoked 20 times, one after the other
    results = [runtime.invoke("SleepyFunction", {}) for _ in range(20)]
    # Then one environment served them all
    assert len({result["environment"] for result in results}) == 1
    assert runtime.environments("SleepyFunction") == 1


def test_idle_environments_are_reclaimed_after_the_idle_time_but_one_stays_warm(template: Template) -> None:
    # Given a runtime whose function had 3 environments in a burst
    clock = Clock()
    runtime = LambdaRuntime(template, max_environments=3, idle_seconds=60, clock=clock)
    burst = _invoke_concurrently(runtime, 6, sleep=0.1)
    modules = {result["module"] for result in burst}
    assert runtime.environments("SleepyFunction") == len(modules) > 1
    # When more than the idle time passes and the function is invoked again
    clock.now += 61
    later = runtime.invoke("SleepyFunction", {})
    # Then only the environment that served it is left, and the others' modules are unloaded
    assert runtime.environments("SleepyFunction") == 1
    assert [name for name in modules if name in sys.modules] == [later["module"]]


def test_an_invocation_waits_for_a_busy_environment_and_fails_after_the_function_timeout(
    template: Template,
) -> None:
    # Given a runtime with one environment, busy for longer than the function's timeout (2 s)
    runtime = LambdaRuntime(template, max_environments=1, wait_seconds=0)
    busy = threading.Thread(target=runtime.invoke, args=("SleepyFunction", {"sleep": 2.5}))
    busy.start()
    try:
        threading.Event().wait(0.2)
        # When another invocation comes, it waits, then is throttled as Lambda does
        with pytest.raises(TooManyRequests):
            runtime.invoke("SleepyFunction", {})
    finally:
        busy.join()
    # And once the environment is free, invocations run again
    assert runtime.invoke("SleepyFunction", {})["environment"]


def test_invocations_waiting_for_an_environment_get_one_in_order_of_arrival(template: Template) -> None:
    # Given one environment, busy for 0.3 s, and five invocations arriving one after the other
    runtime = LambdaRuntime(template, max_environments=1)
    started: list[int] = []
    lock = threading.Lock()

    def call(index: int) -> None:
        runtime.invoke("SleepyFunction", {"sleep": 0.3 if index < 0 else 0.02})
        with lock:
            started.append(index)

    busy = threading.Thread(target=call, args=(-1,))
    busy.start()
    time.sleep(0.05)
    waiting = []
    for index in range(5):
        thread = threading.Thread(target=call, args=(index,))
        thread.start()
        waiting.append(thread)
        time.sleep(0.03)  # each is waiting before the next arrives
    # When the environment frees up, again and again
    for thread in [busy, *waiting]:
        thread.join(10)
    # Then each waiter got it in its turn (woken all at once, any one of them could win)
    assert started == [-1, 0, 1, 2, 3, 4]
