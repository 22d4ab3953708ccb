"""Turn pydantic / Powertools validation errors into the contract's issues (`niche.geo[1]`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from layers_common.errors import Issue, ValidationFailed

HEADER_NAMES = {"idempotency-key": "Idempotency-Key"}  # wire spelling of lower-cased header names
_LOCATIONS = {"body", "query", "path", "header"}


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
