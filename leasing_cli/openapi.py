"""`leasing openapi`: one OpenAPI 3 document for every route, merged from the functions' resolvers.

Built here, at build/dev time, with Powertools' OpenAPIMerge over the handler files the template
names: each file's `app` (a `Router`) describes itself through the Powertools resolver built from
its declarations (`layers_common.http.resolver`); production functions never generate Swagger.
The contract's cross-cutting parts (bearer auth, the error envelope, rate-limit and request-id
headers, examples) are added on top.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from layers_common.http.validation import HEADER_NAMES
from leasing_cli.template import Template

TITLE = "Layers partner API - leased accounts"
VERSION = "1.0.0"

_ERRORS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "401": ("UNAUTHENTICATED", "Missing or invalid API key.", None),
    "402": (
        "BILLING_EXHAUSTED",
        "The wallet cannot cover even one account; the request was not queued.",
        None,
    ),
    "403": (
        "FORBIDDEN_SCOPE",
        "This API key lacks the leased:write scope.",
        {"requiredScope": "leased:write"},
    ),
    "404": ("NOT_FOUND", "Leased account not found.", None),
    "409": (
        "CONFLICT",
        "This Idempotency-Key was already used with a different body.",
        {"reason": "IDEMPOTENCY_KEY_REUSED"},
    ),
    "413": ("PAYLOAD_TOO_LARGE", "The request body is larger than 65536 bytes.", {"limitBytes": 65536}),
    "415": (
        "UNSUPPORTED_MEDIA_TYPE",
        "Content-Type 'text/plain' is not supported; send application/json.",
        None,
    ),
    "422": (
        "VALIDATION",
        "The request is not valid.",
        {"issues": [{"path": "niche.geo[1]", "message": "'XX' is not an ISO 3166-1 alpha-2 country code"}]},
    ),
    "429": ("RATE_LIMITED", "Rate limit exceeded for this minute; retry later.", {"window": "minute"}),
    "500": ("INTERNAL", "Internal error.", None),
    "503": ("KILL_SWITCH", "This API key or its organization is suspended.", None),
}
_WRITE_ONLY = {"402", "409", "413", "415"}
_REQUEST_EXAMPLES: dict[str, Any] = {
    "requestLeasedAccounts": {
        "projectId": "prj_254a4ce1-f4ca-42b1-9e36-17ca45ef3d39",
        "count": 5,
        "niche": {
            "vertical": "coffee",
            "audience": "home baristas 25-40",
            "language": "en",
            "geo": ["US", "CA", "GB"],
        },
        "target": "Short-form brew tutorials; paid UGC-style creative for ads.",
    },
    "releaseLeasedAccount": {"reason": "Customer churned - shutting down their project."},
}


def _components() -> dict[str, Any]:
    header = {"schema": {"type": "string"}}
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "lp_<env>_<keyId>_<secret>",
                "description": "API key: `Authorization: Bearer lp_live_...`.",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message", "requestId"],
                        "properties": {
                            "code": {
                                "type": "string",
                                "enum": sorted({code for code, _, _ in _ERRORS.values()}),
                            },
                            "message": {"type": "string"},
                            "requestId": {"type": "string", "pattern": "^req_[0-9A-Z]{26}$"},
                            "details": {"type": "object", "additionalProperties": True},
                        },
                    }
                },
            }
        },
        "headers": {
            "X-Request-Id": {**header, "description": "Service-generated id of this call (`req_<ULID>`)."},
            "X-RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Calls allowed this minute."},
            "X-RateLimit-Remaining": {
                "schema": {"type": "integer"},
                "description": "Calls left this minute.",
            },
            "X-RateLimit-Reset": {"schema": {"type": "integer"}, "description": "Unix time the window ends."},
            "X-RateLimit-Endpoint-Class": {"schema": {"type": "string", "enum": ["read", "write"]}},
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."},
            "Idempotent-Replayed": {**header, "description": "`true` when this is a replayed response."},
            "Location": {**header, "description": "Where to poll the request."},
        },
    }


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


_RATE = (
    "X-Request-Id",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Endpoint-Class",
)


def _error_response(status: str) -> dict[str, Any]:
    code, message, details = _ERRORS[status]
    example: dict[str, Any] = {
        "code": code,
        "message": message,
        "requestId": "req_01JD3Q8Z7X1V9M2K4T6R8P0N5B",
    }
    if details:
        example["details"] = details
    names = ("X-Request-Id",) if status == "401" else _RATE
    if status in {"429"} or (status == "409"):
        names = (*names, "Retry-After")
    return {
        "description": message,
        "headers": _headers(*names),
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {"error": example},
            }
        },
    }


def decorate(document: dict[str, Any]) -> dict[str, Any]:
    """Add the contract's cross-cutting parts to a merged document."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    extra = _components()
    components.setdefault("schemas", {}).update(extra["schemas"])
    components["securitySchemes"] = extra["securitySchemes"]
    components["headers"] = extra["headers"]
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        components["schemas"].pop(name, None)
    document["security"] = [{"bearerAuth": []}]
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header":
                    parameter["name"] = HEADER_NAMES.get(parameter["name"].lower(), parameter["name"])
                    if parameter["name"] == "Idempotency-Key":
                        parameter["description"] = (
                            "Recommended (a UUID). Same key + same body replays the response."
                        )
                parameter.get("schema", {}).pop("title", None)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and operation.get("operationId") in _REQUEST_EXAMPLES:
                body["example"] = _REQUEST_EXAMPLES[operation["operationId"]]
            responses = {
                str(status): response for status, response in (operation.get("responses") or {}).items()
            }
            operation["responses"] = responses
            responses.pop("422", None)  # Powertools' own validation shape: ours is the envelope
            for status, response in responses.items():
                if status.startswith("2"):
                    names = _RATE + (("Location", "Idempotent-Replayed") if status == "202" else ())
                    response["headers"] = _headers(*names)
            for status in _ERRORS:
                if status in _WRITE_ONLY and method not in {"post", "delete"}:
                    continue
                if status == "402" and method != "post":
                    continue
                responses.setdefault(status, _error_response(status))
            operation["security"] = [{"bearerAuth": []}]
    return document


def api_handler_files(template: Template) -> list[Path]:
    """Handler files of the functions that serve API routes (the authorizer and consumers excluded)."""
    files: list[Path] = []
    for function in template.functions.values():
        if function.routes:
            module = function.handler.rpartition(".")[0].replace(".", "/") + ".py"
            files.append(function.code_uri / module)
    return sorted(files)


def build_openapi(template: Template) -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description="Lease warmed TikTok accounts: request, poll, list and release. "
        "Every error uses one envelope; every response carries X-Request-Id.",
        servers=[{"url": "https://api.layers.com", "description": "Production"}],  # type: ignore[list-item]
        on_conflict="error",
    )
    for path in api_handler_files(template):
        merge.add_file(path, resolver_name="app")
    return decorate(json.loads(merge.get_openapi_json_schema()))


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
