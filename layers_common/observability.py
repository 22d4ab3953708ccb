"""Logging, metrics and tracing of the service.

- Logger: JSON lines; carries the request id as correlation id and the API key *id* (never the key).
  Every line carries the invocation's Lambda context (`function_name`, `function_request_id`, ...)
  as *thread-local* keys: every function shares one Powertools logger (one service, one
  formatter), and Powertools' `inject_lambda_context` writes the context into that shared
  formatter, so concurrent invocations of different functions in one process (the local runtime)
  would log each other's name and request id. Keys are cleared when an invocation starts and ends.
- Metrics: CloudWatch EMF through Powertools' EMF provider, one metric set per invocation (held in a
  context variable, so concurrent invocations in one process, as in the local runtime, never mix),
  namespace from the function's settings, read when the invocation starts; each document carries
  the function's name and the invocation's request id as metadata.
- Tracing: X-Ray through Powertools' Tracer only when TRACING_ENABLED=true; when it is off the
  X-Ray SDK is never imported (it costs 200-400 ms of cold start).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

logger = Logger(service="leasing")
COUNT = MetricUnit.Count

_current_metrics: ContextVar[AmazonCloudWatchEMFProvider | None] = ContextVar("leasing_metrics", default=None)

Handler = Callable[[Any, Any], Any]


def log_keys(**keys: object) -> None:
    """Keys for every log line of the running invocation (thread-local: the local runtime runs
    concurrent invocations on threads of one process; in Lambda it is one at a time)."""
    logger.thread_safe_append_keys(**keys)


def add_metric(name: str, value: float = 1, unit: MetricUnit = COUNT) -> None:
    """Record a business metric for the running invocation (ignored outside one)."""
    provider = _current_metrics.get()
    if provider is not None and value:
        provider.add_metric(name=name, unit=unit, value=value)


def _with_metrics(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        from layers_common.settings import get_settings

        settings = get_settings()
        provider = AmazonCloudWatchEMFProvider(
            namespace=settings.metrics_namespace,
            service="leasing",
            metric_set={},
            dimension_set={},
            metadata_set={},
            default_dimensions={"stage": settings.stage},
        )
        provider.add_metadata(key="function_name", value=str(getattr(context, "function_name", "")))
        provider.add_metadata(key="function_request_id", value=str(getattr(context, "aws_request_id", "")))
        token = _current_metrics.set(provider)
        try:
            return handler(event, context)
        finally:
            _current_metrics.reset(token)
            if provider.metric_set:
                provider.flush_metrics()

    return wrapper


def traced(handler: Handler) -> Handler:
    """Trace the handler with X-Ray when the function's settings say so, decided on first call."""
    chosen: list[Handler] = []

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        if not chosen:
            from layers_common.settings import get_settings

            if get_settings().tracing_enabled:
                from aws_lambda_powertools import Tracer

                chosen.append(Tracer(service="leasing").capture_lambda_handler(handler))
            else:
                chosen.append(handler)
        return chosen[0](event, context)

    return wrapper


def _context_keys(context: Any, cold_start: bool) -> dict[str, object]:
    """The keys Powertools' `inject_lambda_context` adds, read from this invocation's context."""
    return {
        "cold_start": cold_start,
        "function_name": getattr(context, "function_name", None),
        "function_memory_size": getattr(context, "memory_limit_in_mb", None),
        "function_arn": getattr(context, "invoked_function_arn", None),
        "function_request_id": getattr(context, "aws_request_id", None),
    }


def observed(handler: Handler) -> Handler:
    """Every function's handler: Lambda context in the logs, metrics flushed, optional tracing.

    Decorating happens once per load of the handler module, that is once per execution
    environment: its first invocation is the cold start.
    """
    inner = _with_metrics(traced(handler))
    environment = {"cold": True}

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        cold_start, environment["cold"] = environment["cold"], False
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(**_context_keys(context, cold_start))
        try:
            return inner(event, context)
        finally:
            logger.thread_safe_clear_keys()

    return wrapper
