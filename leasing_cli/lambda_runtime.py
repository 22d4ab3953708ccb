"""Run the template's Lambda handlers in this process, like `sam local invoke` without Docker."""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, cast

from leasing_cli.template import ACCOUNT_ID, REGION, Function, Template

Handler = Callable[[Any, Any], Any]

#: Always set, whatever the caller's environment says: a local run must never reach real AWS.
LOCAL_AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
_UNSET_FOR_LOCAL = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")


class UnknownFunction(KeyError):
    """The template has no function with that logical id."""


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def function_environment(
    template: Template, dynamodb_endpoint: str, events_endpoint: str | None = None
) -> dict[str, str]:
    """Union of every function's environment, pointed at the local DynamoDB (and EventBridge, when
    one is given) with fake credentials."""
    environment: dict[str, str] = {}
    for function in template.functions.values():
        environment.update(function.environment)
    environment.update(LOCAL_AWS_ENVIRONMENT)
    environment["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint
    environment["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = dynamodb_endpoint
    if events_endpoint is not None:
        # boto3 names the variable after the service id ("EventBridge"), not the endpoint prefix;
        # AWS_ENDPOINT_URL_EVENTS is set too, for code that reads it explicitly.
        environment["AWS_ENDPOINT_URL_EVENTBRIDGE"] = events_endpoint
        environment["AWS_ENDPOINT_URL_EVENTS"] = events_endpoint
    return environment


def configure_process_environment(
    template: Template, dynamodb_endpoint: str, events_endpoint: str | None = None
) -> None:
    """Set the process environment once, before any handler module is imported."""
    for name in _UNSET_FOR_LOCAL:
        os.environ.pop(name, None)
    os.environ.update(function_environment(template, dynamodb_endpoint, events_endpoint))
    # A client cached for an earlier endpoint must not be reused.
    try:
        from layers_common.dependencies import reset_dependencies
    except ImportError:  # pragma: no cover - an older layers_common without the events client
        from layers_common.repository.dynamodb import dynamodb_client

        dynamodb_client.cache_clear()
    else:
        reset_dependencies()


def load_handler_module(function: Function, instance: int = 0) -> ModuleType:
    """Import a function's handler module by file path, as Lambda does (one load per environment)."""
    module_path, _, _ = function.handler.rpartition(".")
    source = function.code_uri / (module_path.replace(".", "/") + ".py")
    if not source.is_file():
        raise FileNotFoundError(f"{function.logical_id}: handler module {source} does not exist")
    # Every function's file is `app.py`: the module name carries the logical id and a digest of the
    # file's path, so two functions (or two templates in one test session) never share a module.
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:8]
    name = f"leasing_function_{function.logical_id}_{module_path.replace('.', '_')}_{digest}"
    if instance:
        name += f"_env{instance}"
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-.py paths
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and dataclasses look the module up while it executes
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        # A handler module turns collections off while it loads and freezes what it built (Lambda's
        # process holds that one module). This process loads many: collect and unfreeze as usual.
        gc.unfreeze()
        gc.enable()
    return module


#: Execution environments per function at most (Lambda's reserved concurrency, locally), and how
#: long an idle one is kept before it is reclaimed (Lambda keeps idle environments minutes, not hours).
MAX_ENVIRONMENTS = 8
IDLE_SECONDS = 300.0
#: How long an invocation waits for a free environment at least (its function's timeout if longer):
#: a burst queues rather than fails; Lambda would throttle, but a local 5xx helps nobody.
WAIT_SECONDS = 60.0


class TooManyRequests(RuntimeError):
    """Every environment of the function stayed busy for the function's whole timeout (Lambda's
    throttling error, `TooManyRequestsException`)."""


@dataclass
class _Environment:
    """One load of a function's handler module; `module_name` is its entry in `sys.modules`."""

    handler: Handler
    module_name: str
    idle_since: float = 0.0


@dataclass
class _Pool:
    """A function's environments: the idle ones (most recently used last) and how many exist."""

    idle: list[_Environment] = field(default_factory=list)
    size: int = 0  # idle + busy + being created
    waiting: deque[object] = field(default_factory=deque)  # invocations waiting, oldest first
    created: int = 0  # ever, for module names


class LambdaRuntime:
    """Runs handlers the way Lambda does: one invocation at a time per execution environment.

    An execution environment is one load of the handler module (its module-level state, such as
    cached clients and settings, belongs to that environment alone). Concurrent invocations of one
    function get separate environments, created on demand up to `max_environments` per function
    (then an invocation waits for one to be free, `wait_seconds` or the function's timeout), reused most
    recently used first, and reclaimed once idle for `idle_seconds` (one stays warm per function).
    """

    def __init__(
        self,
        template: Template,
        *,
        max_environments: int = MAX_ENVIRONMENTS,
        idle_seconds: float = IDLE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_environments < 1:
            raise ValueError("max_environments must be at least 1")
        self.template = template
        self.max_environments = max_environments
        self.idle_seconds = idle_seconds
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._pools: dict[str, _Pool] = {}
        self._condition = threading.Condition()

    def function(self, logical_id: str) -> Function:
        function = self.template.functions.get(logical_id)
        if function is None:
            known = ", ".join(sorted(self.template.functions)) or "none"
            raise UnknownFunction(f"no function {logical_id!r} in {self.template.path.name} (known: {known})")
        return function

    def environments(self, logical_id: str) -> int:
        """How many environments the function has now (idle, busy or being created)."""
        with self._condition:
            pool = self._pools.get(logical_id)
            return pool.size if pool else 0

    def _new_environment(self, function: Function, instance: int) -> _Environment:
        module = load_handler_module(function, instance)
        attribute = function.handler.rpartition(".")[2]
        handler = getattr(module, attribute, None)
        if not callable(handler):
            sys.modules.pop(module.__name__, None)
            raise AttributeError(f"{function.logical_id}: {function.handler} is not a function")
        return _Environment(cast(Handler, handler), module.__name__)

    def _acquire(self, logical_id: str) -> _Environment:
        function = self.function(logical_id)
        deadline = self._clock() + max(function.timeout_seconds, self.wait_seconds)
        with self._condition:
            pool = self._pools.setdefault(logical_id, _Pool())
            if pool.waiting or (not pool.idle and pool.size >= self.max_environments):
                # Wait in line: the oldest waiter gets the next free environment (woken all at
                # once, 24 waiters for 8 authorizer environments left some waiting over 5 s).
                ticket = object()
                pool.waiting.append(ticket)
                try:
                    while pool.waiting[0] is not ticket or (
                        not pool.idle and pool.size >= self.max_environments
                    ):
                        remaining = deadline - self._clock()
                        if remaining <= 0:
                            raise TooManyRequests(f"{logical_id}: all {pool.size} environments stayed busy")
                        self._condition.wait(min(remaining, 1.0))
                finally:
                    pool.waiting.remove(ticket)
                    self._condition.notify_all()  # the next in line may go
            if pool.idle:
                return pool.idle.pop()
            pool.size += 1
            instance = pool.created
            pool.created += 1
        try:
            return self._new_environment(function, instance)
        except BaseException:
            with self._condition:
                pool.size -= 1
                self._condition.notify_all()
            raise

    def _release(self, logical_id: str, environment: _Environment) -> None:
        now = self._clock()
        environment.idle_since = now
        reclaimed: list[_Environment] = []
        with self._condition:
            self._pools[logical_id].idle.append(environment)
            for pool in self._pools.values():
                # The most recently used stays last; the oldest idle ones (first) are reclaimed.
                while len(pool.idle) > 1 and now - pool.idle[0].idle_since > self.idle_seconds:
                    reclaimed.append(pool.idle.pop(0))
                    pool.size -= 1
            self._condition.notify_all()
        for old in reclaimed:
            sys.modules.pop(old.module_name, None)  # the module (and its state) can be collected

    def handler(self, logical_id: str) -> Handler:
        """The handler of one (idle) execution environment; it stays available for later calls."""
        environment = self._acquire(logical_id)
        self._release(logical_id, environment)
        return environment.handler

    def load_all(self, logical_ids: list[str] | None = None) -> None:
        for logical_id in logical_ids if logical_ids is not None else list(self.template.functions):
            self.handler(logical_id)

    def context_for(self, logical_id: str) -> LambdaContext:
        function = self.function(logical_id)
        return LambdaContext(
            function_name=function.logical_id,
            memory_limit_in_mb=function.memory_mb,
            timeout_seconds=function.timeout_seconds,
        )

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run the handler once in a free environment; its exceptions propagate to the caller."""
        environment = self._acquire(logical_id)
        try:
            return environment.handler(event, self.context_for(logical_id))
        finally:
            self._release(logical_id, environment)
