"""The error envelope: every domain error maps to the contract's status and code, and leaks nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from layers_common import errors
from layers_common.http.envelope import (
    JSON_CONTENT_TYPE,
    error_response,
    internal_error_response,
    status_and_code,
)
from layers_common.idempotency import in_progress
from layers_common.rate_limit import RateLimitExceeded, RateLimitStatus

REQUEST_ID = "req_01J0000000000000000000000"

EXAMPLES: list[tuple[errors.DomainError, int, str]] = [
    (errors.Unauthenticated(), 401, "UNAUTHENTICATED"),
    (errors.BillingExhausted(100, 15_000), 402, "BILLING_EXHAUSTED"),
    (errors.ForbiddenScope("leased:write"), 403, "FORBIDDEN_SCOPE"),
    (errors.NotFound("Leased account"), 404, "NOT_FOUND"),
    (errors.Conflict("NOT_LEASED", "not leased", hint="DELETE /v1/social-accounts/sa_1"), 409, "CONFLICT"),
    (errors.PayloadTooLarge(65_536), 413, "PAYLOAD_TOO_LARGE"),
    (errors.UnsupportedMediaType("text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"),
    (errors.ValidationFailed.at("niche.geo[1]", "not a country"), 422, "VALIDATION"),
    (errors.RateLimited(30, "minute"), 429, "RATE_LIMITED"),
    (RateLimitExceeded(30, "minute", RateLimitStatus("write", 60, 0, 1)), 429, "RATE_LIMITED"),
    (errors.KillSwitch(), 503, "KILL_SWITCH"),
]


def all_subclasses(kind: type) -> set[type]:
    found: set[type] = set()
    subclasses: list[type] = kind.__subclasses__()
    for sub in subclasses:
        found |= {sub, *all_subclasses(sub)}
    return found


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(response["body"])
    return parsed


def test_every_domain_error_class_has_an_example_here():
    # Given every subclass of DomainError the code defines
    # When they are compared with the examples of this file
    # Then none is missing (a new error must be given a contract status here)
    assert all_subclasses(errors.DomainError) <= {type(error) for error, _, _ in EXAMPLES}


@pytest.mark.parametrize(("error", "status", "code"), EXAMPLES, ids=[code for _, _, code in EXAMPLES])
def test_each_domain_error_maps_to_its_contract_status_and_code(error, status, code):
    # Given a domain error
    # When it is turned into a response
    response = error_response(error, REQUEST_ID)
    # Then status and code are the contract's, and the body is the envelope
    assert status_and_code(error) == (status, code)
    assert response["statusCode"] == status
    envelope = body_of(response)["error"]
    assert (envelope["code"], envelope["requestId"]) == (code, REQUEST_ID)
    assert envelope["message"] == error.message


@pytest.mark.parametrize(("error", "status", "code"), EXAMPLES, ids=[code for _, _, code in EXAMPLES])
def test_an_error_body_never_names_a_class_or_a_stack(error, status, code):
    # Given a domain error
    # When it is turned into a response
    text = error_response(error, REQUEST_ID)["body"]
    # Then no exception class name, module path or traceback is in the body
    for leak in ("Traceback", "layers_common", "Error", "Exception", type(error).__name__, 'File "'):
        assert leak not in text


@pytest.mark.parametrize(("error", "status", "code"), EXAMPLES, ids=[code for _, _, code in EXAMPLES])
def test_an_error_response_is_json(error, status, code):
    # Given a domain error
    # When it is turned into a response
    response = error_response(error, REQUEST_ID)
    # Then it declares the JSON content type
    assert response["multiValueHeaders"]["Content-Type"] == [JSON_CONTENT_TYPE]


def test_a_validation_error_lists_its_issues_in_details():
    # Given a validation failure on two paths
    error = errors.ValidationFailed([errors.Issue("count", "too big"), errors.Issue("niche.geo[1]", "bad")])
    # When it is turned into a response
    details = body_of(error_response(error, REQUEST_ID))["error"]["details"]
    # Then each issue is listed with its path
    assert details == {
        "issues": [{"path": "count", "message": "too big"}, {"path": "niche.geo[1]", "message": "bad"}]
    }


def test_a_conflict_carries_its_reason_and_hint():
    # Given a NOT_LEASED conflict
    error = errors.Conflict("NOT_LEASED", "not leased", hint="DELETE /v1/social-accounts/sa_1")
    # When it is turned into a response
    details = body_of(error_response(error, REQUEST_ID))["error"]["details"]
    # Then the details say why and where to go
    assert details == {"reason": "NOT_LEASED", "hint": "DELETE /v1/social-accounts/sa_1"}


def test_a_forbidden_scope_names_the_required_scope():
    # Given a missing scope
    # When it is turned into a response
    details = body_of(error_response(errors.ForbiddenScope("social:write"), REQUEST_ID))["error"]["details"]
    # Then the details name it
    assert details == {"requiredScope": "social:write"}


def test_an_error_without_details_has_no_details_key():
    # Given a not-found error
    # When it is turned into a response
    envelope = body_of(error_response(errors.NotFound(), REQUEST_ID))["error"]
    # Then the envelope has code, message and requestId only
    assert set(envelope) == {"code", "message", "requestId"}


def test_an_idempotency_in_progress_conflict_says_retry_after_one_second():
    # Given the in-progress conflict
    # When it is turned into a response
    response = error_response(in_progress(), REQUEST_ID)
    # Then it is a 409 IDEMPOTENCY_IN_PROGRESS with Retry-After: 1
    assert response["statusCode"] == 409
    assert body_of(response)["error"]["details"] == {"reason": "IDEMPOTENCY_IN_PROGRESS"}
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]


def test_a_rate_limited_error_carries_retry_after():
    # Given a rate limit rejection
    # When it is turned into a response
    response = error_response(errors.RateLimited(17, "minute"), REQUEST_ID)
    # Then the Retry-After header holds the seconds
    assert response["multiValueHeaders"]["Retry-After"] == ["17"]


def test_a_conflict_without_retry_after_has_no_retry_after_header():
    # Given a conflict that is not about timing
    # When it is turned into a response
    response = error_response(errors.Conflict("NOT_LEASED", "x"), REQUEST_ID)
    # Then there is no Retry-After header
    assert "Retry-After" not in response["multiValueHeaders"]


def test_an_internal_error_says_nothing_more():
    # Given a bug
    # When it is answered
    response = internal_error_response(REQUEST_ID)
    # Then the body is a bare INTERNAL envelope
    assert response["statusCode"] == 500
    assert body_of(response) == {
        "error": {"code": "INTERNAL", "message": "Internal error.", "requestId": REQUEST_ID}
    }


def test_non_ascii_messages_are_kept_readable():
    # Given a media type error naming a non-ASCII content type
    # When it is turned into a response
    text = error_response(errors.UnsupportedMediaType("text/plain; charset=ü"), REQUEST_ID)["body"]
    # Then the body is valid JSON that keeps the character
    assert "ü" in json.loads(text)["error"]["message"]


def test_an_unmapped_domain_error_is_answered_like_any_other_bug():
    # Given a domain error no mapping knows (for example a future subclass someone forgot to map)
    error = errors.DomainError("table leasing-prod: conditional check failed", {"table": "leasing-prod"})
    # When it is turned into a response
    response = error_response(error, REQUEST_ID)
    # Then it is the bare INTERNAL envelope
    assert response["statusCode"] == 500
    assert body_of(response) == body_of(internal_error_response(REQUEST_ID))
