"""EventBridge event patterns, also used for Lambda event filtering (the same syntax).

Matching is moto's `EventPattern` (exact values, `prefix`, `suffix`, `anything-but`, `numeric`,
`exists`, `equals-ignore-case`, `wildcard`, `cidr`, `$or`). If moto cannot be imported, a small
matcher of our own covers exact values, `prefix`, `suffix`, `anything-but`, `exists` and `numeric`.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from typing import Any

_UNDEFINED = object()


class EventPatternError(ValueError):
    """The pattern is not a valid event pattern."""


def _check(node: Any, path: str) -> None:
    if not isinstance(node, dict):
        raise EventPatternError(f"event pattern {path or 'root'} must be an object")
    for key, value in node.items():
        where = f"{path}.{key}" if path else str(key)
        if key == "$or":
            if not isinstance(value, list) or not value:
                raise EventPatternError(f"event pattern {where} must be a non-empty array")
            for item in value:
                _check(item, where)
        elif isinstance(value, dict):
            _check(value, where)
        elif not isinstance(value, list):
            raise EventPatternError(f"event pattern {where} must be an object or an array")


def validate_pattern(raw: Any) -> dict[str, Any]:
    """The pattern as a dict (a JSON string is parsed), or `EventPatternError`."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise EventPatternError(f"event pattern is not JSON: {error.msg}") from None
    if not isinstance(raw, Mapping) or not raw:
        raise EventPatternError("event pattern must be a non-empty JSON object")
    pattern = dict(raw)
    _check(pattern, "")
    return pattern


def _moto_matcher(pattern: dict[str, Any]) -> Callable[[Any], bool] | None:
    try:
        from moto.events.models import EventPattern
    except ImportError:  # pragma: no cover - moto ships with the local runtime
        return None
    try:
        compiled = EventPattern.load(json.dumps(pattern))
    except Exception as error:  # moto's InvalidEventPatternException
        raise EventPatternError(f"event pattern is not valid: {error}") from None
    return lambda event: bool(compiled.matches_event(event))


# ------------------------------------------------------------------------------ fallback matcher

_NUMERIC: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
}


def _named_filter(value: Any, name: str, argument: Any) -> bool:
    if name == "exists":
        return (value is not _UNDEFINED) == bool(argument)
    if value is _UNDEFINED:
        return False
    values = value if isinstance(value, list) else [value]
    for item in values:
        if name == "prefix" and isinstance(item, str) and item.startswith(str(argument)):
            return True
        if name == "suffix" and isinstance(item, str) and item.endswith(str(argument)):
            return True
        if name == "anything-but":
            excluded = argument if isinstance(argument, list) else [argument]
            if isinstance(argument, dict):
                ((inner, inner_argument),) = argument.items()
                if not _named_filter(item, inner, inner_argument):
                    return True
            elif item not in excluded:
                return True
        if name == "numeric" and isinstance(item, int | float) and not isinstance(item, bool):
            pairs = zip(argument[::2], argument[1::2], strict=False)
            if all(_NUMERIC[op](item, bound) for op, bound in pairs):
                return True
    return False


def _value_matches(value: Any, filters: list[Any]) -> bool:
    for rule in filters:
        if isinstance(rule, dict):
            ((name, argument),) = rule.items()
            if _named_filter(value, name, argument):
                return True
        elif value is not _UNDEFINED and ((isinstance(value, list) and rule in value) or value == rule):
            return True
    return False


def _node_matches(event: Any, pattern: dict[str, Any]) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_node_matches(event, branch) for branch in expected):
                return False
            continue
        value = event.get(key, _UNDEFINED) if isinstance(event, dict) else _UNDEFINED
        if isinstance(expected, dict):
            if isinstance(value, list):
                if not any(_node_matches(item, expected) for item in value):
                    return False
            elif not _node_matches(value if isinstance(value, dict) else {}, expected):
                return False
        elif not _value_matches(value, expected):
            return False
    return True


class EventMatcher:
    """A compiled pattern: `matches(event)` for an EventBridge event or a stream record."""

    def __init__(self, pattern: Any, *, use_moto: bool = True) -> None:
        self.pattern = validate_pattern(pattern)
        moto = _moto_matcher(self.pattern) if use_moto else None
        self._match: Callable[[Any], bool] = moto or (lambda event: _node_matches(event, self.pattern))

    def matches(self, event: Mapping[str, Any]) -> bool:
        return self._match(json.loads(json.dumps(event, default=str)))


def matches_any(matchers: list[EventMatcher], event: Mapping[str, Any]) -> bool:
    """Lambda filter criteria: no filters pass everything; otherwise any one filter must match."""
    return not matchers or any(matcher.matches(event) for matcher in matchers)
