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
DESCRIPTION = (
    "Lease warmed TikTok accounts: request them in a niche (asynchronous: poll the request), list "
    "the accounts assigned to your projects with their billing and renewal dates, and release them. "
    "Every error uses one envelope; every response carries `X-Request-Id`; authenticated responses "
    "carry `X-RateLimit-*`. The partner reference is docs/api.md in the service's repository."
)
VERSION = "1.0.0"
PRODUCTION_SERVER = {"url": "https://api.layers.com", "description": "Production"}
LOCAL_SERVER = {"url": "http://127.0.0.1:3000", "description": "Local: `make dev` (demo key in the README)"}
EXAMPLE_REQUEST_ID = "req_01JD3Q8Z7X1V9M2K4T6R8P0N5B"

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
    "409": ("CONFLICT", "The call conflicts with the current state.", None),
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
_WHEN = {
    "401": "Missing, malformed, unknown, wrong or revoked API key (never says which). No rate-limit headers.",
    "402": "The wallet cannot cover even one account at the standard price; nothing was queued.",
    "403": "The key lacks this route's scope (`details.requiredScope`).",
    "404": "Absent, of another organization, already released, or a malformed id.",
    "409": "State conflict; `details.reason` says which.",
    "413": "Body over 64 KiB.",
    "415": "A body sent with a Content-Type that is not JSON.",
    "422": "Malformed JSON, wrong types, out-of-range values or unknown fields; `details.issues` lists them.",
    "429": "Rate limit exhausted; wait `Retry-After` seconds. A rate-limited call changes nothing.",
    "500": "A bug on our side; the body says nothing more.",
    "503": "KILL_SWITCH: the key or its organization is suspended.",
}
#: `409 CONFLICT` reasons each operation can answer (api.md: the 409 table).
_CONFLICT_REASONS: dict[str, tuple[str, ...]] = {
    "requestLeasedAccounts": ("IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_IN_PROGRESS", "REQUEST_ID_IN_USE"),
    "releaseLeasedAccount": ("NOT_LEASED",),
    "revokeSocialAccount": ("LEASED_ACCOUNT",),
}
CONFLICT_REASONS = (
    "NOT_LEASED",
    "LEASED_ACCOUNT",
    "IDEMPOTENCY_KEY_REUSED",
    "IDEMPOTENCY_IN_PROGRESS",
    "REQUEST_ID_IN_USE",
)
_CONFLICT_EXAMPLES = {
    "IDEMPOTENCY_KEY_REUSED": "This Idempotency-Key was already used with a different body.",
    "NOT_LEASED": "This account is a connected account, not a lease.",
    "LEASED_ACCOUNT": "This account is leased; release it instead.",
}
_REASONS_TEXT = (
    "Why a 409: NOT_LEASED (release of a connected account), LEASED_ACCOUNT (revoke of a leased "
    "account), IDEMPOTENCY_KEY_REUSED (same key, other body), IDEMPOTENCY_IN_PROGRESS (same key, first "
    "call still running), REQUEST_ID_IN_USE (partner requestId reused with another body)."
)
_WRITE_ONLY = {"402", "409", "413", "415"}
#: Statuses whose responses always carry the X-RateLimit-* headers (an authenticated call answered
#: by the function). A 413 over API Gateway's own limit, a throttled 429 and a 500 may lack them.
_RATE_ALWAYS = {"402", "403", "404", "409", "415", "422", "503"}

_REQUEST_EXAMPLES: dict[str, Any] = {
    "requestLeasedAccounts": {
        "projectId": "prj_demo",
        "count": 2,
        "niche": {
            "vertical": "coffee",
            "audience": "home baristas 25-40",
            "language": "en",
            "geo": ["US", "CA"],
        },
        "target": "Short-form brew tutorials; paid UGC-style creative for ads.",
    },
    "releaseLeasedAccount": {"reason": "Customer churned - shutting down their project."},
    "revokeSocialAccount": {"reason": "Moving this account to another tool."},
}
_LEASE_REQUEST_VIEW = {
    "requestId": "lreq_01HXZR7K8M2P4RSTUV56789AB",
    "projectId": "prj_demo",
    "status": "partial",
    "count": 5,
    "niche": {"vertical": "coffee", "language": "en", "geo": ["US", "CA"]},
    "submittedAt": "2026-04-18T19:24:11Z",
    "assignedAt": "2026-04-18T19:24:13Z",
    "assignedSocialAccountIds": ["sa_pool_1", "sa_pool_3", "sa_pool_4"],
    "note": "Assigned 3 of 5: no more warmed accounts match this niche.",
}
_LEASED_PAGE = {
    "items": [
        {
            "socialAccountId": "sa_pool_2",
            "projectId": "prj_demo",
            "handle": "coffee.reviews.daily",
            "platform": "tiktok",
            "followers": 12840,
            "status": "assigned",
            "assignedAt": "2026-04-20T16:12:02Z",
            "nextRenewalAt": "2026-05-20T16:12:02Z",
            "monthlyPriceCents": 15000,
            "requestId": "lreq_01HXZR7K8M2P4RSTUV56789AB",
        }
    ],
    "nextCursor": None,
}
_RESPONSE_EXAMPLES: dict[str, Any] = {
    "requestLeasedAccounts": {
        "requestId": "lreq_01HXZR7K8M2P4RSTUV56789AB",
        "status": "requested",
        "submittedAt": "2026-04-18T19:24:11Z",
    },
    "getLeaseRequest": _LEASE_REQUEST_VIEW,
    "getProjectLeaseRequest": _LEASE_REQUEST_VIEW,
    "listLeasedAccounts": _LEASED_PAGE,
    "listProjectLeasedAccounts": _LEASED_PAGE,
    "releaseLeasedAccount": {
        "socialAccountId": "sa_pool_2",
        "status": "disconnected",
        "disconnectedReason": "released_by_partner",
        "disconnectedAt": "2026-04-18T19:27:03Z",
    },
    "revokeSocialAccount": {
        "socialAccountId": "sa_byo_1",
        "status": "disconnected",
        "disconnectedReason": "revoked_by_partner",
        "canceledScheduledPosts": 2,
        "disconnectedAt": "2026-04-18T19:27:03Z",
    },
}

#: Descriptions of the operations whose handler gives none.
_OPERATIONS: dict[str, str] = {
    "getLeaseRequest": "Poll a lease request anywhere in the caller's organization: `requested` until the "
    "asynchronous assignment runs, then `assigned`, `partial` or `rejected` (tolerate statuses added later).",
    "getProjectLeaseRequest": "Poll a lease request of one project; 404 when it belongs to another project, "
    "even of the same organization.",
    "listLeasedAccounts": "The organization's leased accounts, newest `assignedAt` first, paginated with "
    "`cursor`; `projectId` narrows it to one project (404 when not the organization's). This list is the "
    "source of truth for what the partner pays for.",
    "listProjectLeasedAccounts": "One project's leased accounts, newest `assignedAt` first, paginated with "
    "`cursor`.",
}
#: Descriptions (and examples: the demo seed's ids, so "try it" works against `make dev`) of the
#: parameters, by name. A parameter missing here fails `tests/unit/test_openapi.py`.
_PARAMETERS: dict[str, tuple[str, Any]] = {
    "projectId": (
        "Project id (`prj_...`) in the caller's organization; another organization's is a 404.",
        "prj_demo",
    ),
    "requestId": ("Lease request id: `lreq_<ULID>`, or the partner's own `requestId`.", "lreq_demo_1"),
    "socialAccountId": ("Social account id (`sa_...`).", "sa_pool_2"),
    "status": ("`assigned` (current leases, the default) or `disconnected` (ended ones).", "assigned"),
    "limit": ("Page size, 1-200 (default 50); plain decimal digits only.", 50),
    "cursor": (
        "Opaque `nextCursor` of the previous page; valid only with the same organization, `status` "
        "and project filter (else 422 at `cursor`).",
        None,
    ),
    "Idempotency-Key": (
        "Recommended (a UUID): 1-255 printable ASCII characters. Same key + same body within 24 hours "
        "replays the first 2xx response (`Idempotent-Replayed: true`); a different body is 409 "
        "IDEMPOTENCY_KEY_REUSED; while the first call runs, 409 IDEMPOTENCY_IN_PROGRESS.",
        "9a2f1e44-6b3c-4d19-9e8a-f2d7c1b5e777",
    ),
}
_TIMESTAMP = "ISO-8601 UTC, second precision, `Z` suffix."
#: Descriptions of every schema property, by schema. A property missing here fails the tests.
_FIELDS: dict[str, dict[str, str]] = {
    "LeaseRequestBody": {
        "projectId": "Required; must equal the path's `projectId` (else 422 at `projectId`): it lets the "
        "server reject a retry sent to the wrong project.",
        "count": 'How many accounts to lease: a JSON integer, 1-50 (`5.0`, `"5"` and `true` are not).',
        "niche": "What kind of account you want.",
        "target": "Free-form description of what content will run on these accounts; "
        "at most 2000 characters.",
        "note": "Any extra context; at most 2000 characters.",
        "requestId": "Your own request id, 1-64 of `[A-Za-z0-9_-]`; the server makes `lreq_<ULID>` "
        "when absent. "
        "Reused with the same body: the original 202 is replayed; with another body: 409 REQUEST_ID_IN_USE.",
    },
    "Niche": {
        "vertical": "Broad category (coffee, fitness, mobile games); 1-64 characters after trimming "
        "whitespace; matched case-insensitively.",
        "audience": "Target audience description; at most 500 characters.",
        "language": "A well-formed, valid BCP-47 language tag (`en`, `en-US`, `pt-BR`; `_` is not a "
        "separator), checked against the IANA subtag registry. Accounts match on the primary subtag.",
        "geo": "ISO 3166-1 alpha-2 country codes that exist, upper case (`US`, not `us`); at most 50; "
        "no duplicates (a bad entry is reported at `niche.geo[i]`, a duplicate at `niche.geo`). "
        "Accounts whose audience overlaps these countries most are preferred.",
    },
    "LeaseRequestAccepted": {
        "requestId": "The lease request's id: poll it at the `Location` header.",
        "status": "Always `requested` at first.",
        "submittedAt": _TIMESTAMP,
    },
    "LeaseRequestView": {
        "requestId": "The lease request's id.",
        "projectId": "The project the accounts are assigned to.",
        "status": "`requested` -> `assigned` (all `count`) | `partial` (1 <= assigned < count) | `rejected` "
        "(none; `note` says why). Clients must tolerate statuses they do not know yet.",
        "count": "How many accounts were asked for.",
        "niche": "The niche, echoed as submitted.",
        "submittedAt": _TIMESTAMP,
        "assignedAt": "When the assignment ran ("
        + _TIMESTAMP
        + "); null until then, and on a rejected request.",
        "assignedSocialAccountIds": "Assigned accounts, in assignment order; empty until the assignment.",
        "note": "Why a request is partial or rejected; null otherwise.",
    },
    "LeasedAccountPage": {
        "items": "Newest `assignedAt` first, stable across pages.",
        "nextCursor": "Pass as `cursor` for the next page; null on the last page.",
    },
    "LeasedAccountView": {
        "socialAccountId": "The leased account's id.",
        "projectId": "The project it is assigned to.",
        "handle": "The account's handle on the platform.",
        "platform": "`tiktok`.",
        "followers": "Follower count.",
        "status": "`assigned` (a current lease) or `disconnected` (ended).",
        "assignedAt": "When the lease started (" + _TIMESTAMP + ").",
        "nextRenewalAt": "Next monthly charge: `assignedAt` plus n calendar months (clamped to the month's "
        "last day); null once disconnected.",
        "monthlyPriceCents": "What each month of this lease costs, in cents.",
        "requestId": "The lease request that assigned it; null for leases made another way.",
        "disconnectedAt": "When the lease ended (" + _TIMESTAMP + "); only on disconnected items.",
        "disconnectedReason": "`released_by_partner` or `insufficient_funds`; only on disconnected items.",
    },
    "ReleaseBody": {"reason": "Free-form note stored on the audit log; at most 1000 characters."},
    "ReleaseResult": {
        "socialAccountId": "The released account.",
        "status": "`disconnected`.",
        "disconnectedReason": "`released_by_partner`.",
        "disconnectedAt": _TIMESTAMP,
    },
    "RevokeResult": {
        "socialAccountId": "The revoked account.",
        "status": "`disconnected`.",
        "disconnectedReason": "`revoked_by_partner`.",
        "canceledScheduledPosts": "How many queued scheduled posts were canceled.",
        "disconnectedAt": _TIMESTAMP,
    },
}
#: Whitespace as the body validator trims it (pydantic-core: Unicode White_Space, not Python's isspace).
_SPACE = "\\t\\n\\x0B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
#: `niche.vertical`: 1-64 characters once surrounding whitespace is trimmed.
VERTICAL_PATTERN = f"^[{_SPACE}]*[^{_SPACE}](?:[\\s\\S]{{0,62}}[^{_SPACE}])?[{_SPACE}]*$"
#: The character shape of a BCP-47 tag (subtags of 1-8 letters or digits, hyphen-separated). Being
#: well-formed and valid against the IANA registry is checked by the service and described, not
#: expressible here.
LANGUAGE_SHAPE = "^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$"
_TIMESTAMP_FIELDS = {"submittedAt", "assignedAt", "nextRenewalAt", "disconnectedAt"}
_RESPONSE_SCHEMAS = {
    "LeaseRequestAccepted",
    "LeaseRequestView",
    "LeasedAccountPage",
    "LeasedAccountView",
    "ReleaseResult",
    "RevokeResult",
}


def _header(description: str, schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


def _headers_for(status: str, operation_id: str) -> dict[str, Any]:
    """Response headers of one status of one operation: what the service really sends."""
    headers = {
        "X-Request-Id": _header(
            "Service-generated id of this call (`req_<ULID>`); quote it to support. A client-sent "
            "X-Request-Id is ignored.",
            {"type": "string", "pattern": "^req_[0-9A-Z]{26}$"},
            required=True,
        )
    }
    if status != "401":
        always = status.startswith("2") or status in _RATE_ALWAYS
        headers |= {
            "X-RateLimit-Limit": _header(
                "Calls allowed in this minute for this endpoint class.", {"type": "integer"}, required=always
            ),
            "X-RateLimit-Remaining": _header(
                "Calls left in this minute for this endpoint class.", {"type": "integer"}, required=always
            ),
            "X-RateLimit-Reset": _header(
                "Unix seconds at which this minute's window ends.", {"type": "integer"}, required=always
            ),
            "X-RateLimit-Endpoint-Class": _header(
                "`read` (GET) or `write` (POST, DELETE).",
                {"type": "string", "enum": ["read", "write"]},
                required=always,
            ),
        }
    if status == "429":
        headers["Retry-After"] = _header(
            "Seconds to wait before retrying.", {"type": "integer", "minimum": 0}, required=True
        )
    if status == "409" and operation_id == "requestLeasedAccounts":
        headers["Retry-After"] = _header(
            "`1` on IDEMPOTENCY_IN_PROGRESS: retry after a second.", {"type": "integer"}, required=False
        )
    if status == "202":
        headers["Location"] = _header(
            "Where to poll the request: `/v1/projects/<projectId>/leased-accounts/requests/<requestId>`.",
            {"type": "string"},
            required=True,
        )
        headers["Idempotent-Replayed"] = _header(
            "`true` when this is the replay of an earlier call with the same Idempotency-Key (or requestId).",
            {"type": "string", "enum": ["true"]},
            required=False,
        )
    return headers


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The one envelope of every non-2xx response.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "description": "What went wrong.",
                "required": ["code", "message", "requestId"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": sorted({code for code, _, _ in _ERRORS.values()}),
                        "description": "Stable machine value; one per HTTP status.",
                    },
                    "message": {"type": "string", "description": "For people; do not parse it."},
                    "requestId": {
                        "type": "string",
                        "pattern": "^req_[0-9A-Z]{26}$",
                        "description": "The X-Request-Id of this response.",
                    },
                    "details": {
                        "type": "object",
                        "additionalProperties": True,
                        "description": "Optional, by code: `issues` (VALIDATION), `reason` and `hint` "
                        "(CONFLICT), `requiredScope` (FORBIDDEN_SCOPE), `window` (RATE_LIMITED).",
                        "properties": {
                            "issues": {
                                "type": "array",
                                "description": "One issue per problem, at the request's own field path.",
                                "items": {
                                    "type": "object",
                                    "required": ["path", "message"],
                                    "properties": {
                                        "path": {
                                            "type": "string",
                                            "description": '`niche.geo[1]`; `""` for the whole body; '
                                            "`Idempotency-Key` for that header.",
                                        },
                                        "message": {"type": "string", "description": "What is wrong."},
                                    },
                                },
                            },
                            "reason": {
                                "type": "string",
                                "enum": list(CONFLICT_REASONS),
                                "description": _REASONS_TEXT,
                            },
                            "hint": {"type": "string", "description": "Which route to use instead."},
                            "requiredScope": {"type": "string", "description": "The scope the key lacks."},
                            "window": {
                                "type": "string",
                                "enum": ["minute", "day"],
                                "description": "Which budget is spent.",
                            },
                        },
                    },
                },
            }
        },
    }


def _error_response(status: str, operation_id: str) -> dict[str, Any]:
    code, message, details = _ERRORS[status]
    error_properties: dict[str, Any] = {"code": {"const": code}}
    example: dict[str, Any] = {"code": code, "message": message, "requestId": EXAMPLE_REQUEST_ID}
    if details:
        example["details"] = details
    description = _WHEN[status]
    if status == "409":
        reasons = _CONFLICT_REASONS[operation_id]
        error_properties["details"] = {
            "type": "object",
            "required": ["reason"],
            "properties": {"reason": {"type": "string", "enum": list(reasons)}},
        }
        example["message"] = _CONFLICT_EXAMPLES.get(reasons[0], message)
        example["details"] = {"reason": reasons[0]}
        description += " Here: " + ", ".join(reasons) + "."
    return {
        "description": description,
        "headers": _headers_for(status, operation_id),
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Error"},
                        {
                            "type": "object",
                            "properties": {"error": {"type": "object", "properties": error_properties}},
                        },
                    ]
                },
                "example": {"error": example},
            }
        },
    }


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` -> X: a query or header parameter is absent, never null."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [option for option in options if option != {"type": "null"}]
        if len(rest) == 1:
            merged = {key: value for key, value in schema.items() if key != "anyOf"}
            return {**rest[0], **merged}
    return schema


def _describe_schemas(schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        schema.pop("title", None)
        fields = _FIELDS.get(name)
        if fields is None:
            continue
        if name in _RESPONSE_SCHEMAS:
            schema.pop("additionalProperties", None)  # clients tolerate fields added later
        for field_name, field in schema.get("properties", {}).items():
            field.pop("title", None)
            if field_name in fields:
                field["description"] = fields[field_name]
            if field_name in _TIMESTAMP_FIELDS and name in _RESPONSE_SCHEMAS:
                for option in field.get("anyOf", [field]):
                    if option.get("type") == "string":
                        option["format"] = "date-time"
    niche = schemas.get("Niche", {}).get("properties", {})
    if "vertical" in niche:  # 1-64 characters once trimmed, as the model's validator trims
        niche["vertical"].pop("maxLength", None)
        niche["vertical"].pop("minLength", None)
        niche["vertical"]["pattern"] = VERTICAL_PATTERN
    for option in niche.get("language", {}).get("anyOf", []):
        if option.get("type") == "string":
            option["pattern"] = LANGUAGE_SHAPE
    geo = niche.get("geo")
    if geo is not None:
        from iso3166 import countries_by_alpha2

        for option in geo.get("anyOf", [geo]):
            if option.get("type") == "array":
                option["uniqueItems"] = True
                option["items"] = {"type": "string", "enum": sorted(countries_by_alpha2)}


def decorate(document: dict[str, Any]) -> dict[str, Any]:
    """Add the contract's cross-cutting parts to a merged document."""
    document = copy.deepcopy(document)
    document["info"] |= {
        "contact": {"name": "Layers partner support", "url": "https://layers.com"},
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    }
    document["servers"] = [PRODUCTION_SERVER, LOCAL_SERVER]
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    schemas["Error"] = _error_schema()
    _describe_schemas(schemas)
    components["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "lp_<env>_<keyId>_<secret>",
            "description": "API key: `Authorization: Bearer lp_live_...`. `env` is `live` or `test`; `keyId` "
            "is 16 characters of [0-9A-Z] (safe to log); `secret` is 43 characters of base64url.",
        }
    }
    components.pop("headers", None)
    document["security"] = [{"bearerAuth": []}]
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            operation_id = operation.get("operationId", "")
            if operation_id in _OPERATIONS:
                operation.setdefault("description", _OPERATIONS[operation_id])
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header":
                    parameter["name"] = HEADER_NAMES.get(parameter["name"].lower(), parameter["name"])
                parameter["schema"] = _without_null(parameter.get("schema", {}))
                parameter["schema"].pop("title", None)
                described = _PARAMETERS.get(parameter["name"])
                if described is not None:
                    parameter["description"], example = described
                    if example is not None:
                        parameter["example"] = example
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:  # an optional body is absent or an object, never `null`
                body["schema"] = _without_null(body.get("schema", {}))
            if body is not None and operation_id in _REQUEST_EXAMPLES:
                body["example"] = _REQUEST_EXAMPLES[operation_id]
            responses = {
                str(status): response for status, response in (operation.get("responses") or {}).items()
            }
            operation["responses"] = responses
            responses.pop("422", None)  # Powertools' own validation shape: ours is the envelope
            for status, response in responses.items():
                if status.startswith("2"):
                    response["headers"] = _headers_for(status, operation_id)
                    content = response.get("content", {}).get("application/json")
                    if content is not None and operation_id in _RESPONSE_EXAMPLES:
                        content["example"] = _RESPONSE_EXAMPLES[operation_id]
            for status in _ERRORS:
                if status in _WRITE_ONLY and method not in {"post", "delete"}:
                    continue
                if status == "402" and method != "post":
                    continue
                responses.setdefault(status, _error_response(status, operation_id))
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
        description=DESCRIPTION,
        servers=[PRODUCTION_SERVER],  # type: ignore[list-item]
        on_conflict="error",
    )
    for path in api_handler_files(template):
        merge.add_file(path, resolver_name="app")
    return decorate(json.loads(merge.get_openapi_json_schema()))


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
