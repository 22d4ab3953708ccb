"""Turn pydantic / Powertools validation errors into the contract's issues (`niche.geo[1]`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from layers_common.errors import Issue, ValidationFailed

HEADER_NAMES = {"idempotency-key": "Idempotency-Key"}  # wire spelling of lower-cased header names
_LOCATIONS = {"body", "query", "path", "header"}


_DECIMAL = re.compile(r"^(?:0|[1-9][0-9]{0,17})$")


def decimal_digits(value: Any) -> Any:
    """`BeforeValidator` of integer query parameters: canonical decimal digits only (`50`), so
    `1_0`, `+5`, `5.0`, ` 5` and `05` are refused, although `int()` would take them. Anything but
    a string (several values given) is left to the type's own validation."""
    if isinstance(value, str) and not _DECIMAL.match(value):
        raise ValueError("must be written in decimal digits only, without sign, spaces or leading zeros")
    return value


def issue_path(loc: Sequence[int | str]) -> str:
    parts = list(loc)
    location = parts.pop(0) if parts and parts[0] in _LOCATIONS else "body"
    if location == "header" and parts:
        return HEADER_NAMES.get(str(parts[0]).lower(), str(parts[0]))
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def validation_failed(errors: Iterable[Mapping[str, Any]]) -> ValidationFailed:
    issues: list[Issue] = []
    for error in errors:
        if error.get("type") == "json_invalid":
            issues.append(Issue("", "The body is not valid JSON."))
            continue
        issue = Issue(issue_path(error.get("loc", ())), _message(error))
        if issue not in issues:
            issues.append(issue)
    return ValidationFailed(issues)
