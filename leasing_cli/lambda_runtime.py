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


class LambdaRuntime:
    """Runs handlers the way Lambda does: one invocation at a time per execution environment.

    An execution environment is one load of the handler module (its module-level state, such as
    cached clients and settings, belongs to that environment alone). Concurrent invocations
    of one function get separate environments, created on demand and reused when free.
    """

    def __init__(self, template: Template) -> None:
        self.template = template
        self._idle: dict[str, list[Handler]] = {}
        self._created: dict[str, int] = {}
        self._lock = threading.Lock()

    def function(self, logical_id: str) -> Function:
        function = self.template.functions.get(logical_id)
        if function is None:
            known = ", ".join(sorted(self.template.functions)) or "none"
            raise UnknownFunction(f"no function {logical_id!r} in {self.template.path.name} (known: {known})")
        return function

    def _new_environment(self, logical_id: str) -> Handler:
        function = self.function(logical_id)
        with self._lock:
            instance = self._created.get(logical_id, 0)
            self._created[logical_id] = instance + 1
        module = load_handler_module(function, instance)
        attribute = function.handler.rpartition(".")[2]
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise AttributeError(f"{function.logical_id}: {function.handler} is not a function")
        return cast(Handler, handler)

    def _acquire(self, logical_id: str) -> Handler:
        with self._lock:
            idle = self._idle.setdefault(logical_id, [])
            if idle:
                return idle.pop()
        return self._new_environment(logical_id)

    def _release(self, logical_id: str, handler: Handler) -> None:
        with self._lock:
            self._idle.setdefault(logical_id, []).append(handler)

    def handler(self, logical_id: str) -> Handler:
        """The handler of one (idle) execution environment; it stays available for later calls."""
        handler = self._acquire(logical_id)
        self._release(logical_id, handler)
        return handler

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
        handler = self._acquire(logical_id)
        try:
            return handler(event, self.context_for(logical_id))
        finally:
            self._release(logical_id, handler)
