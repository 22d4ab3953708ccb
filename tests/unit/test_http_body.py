"""Body-shape checks (api.md 1, Limits on input): size 413, media type 415, JSON object 422."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from layers_common.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from layers_common.http.body import MAX_BODY_BYTES, header, parse_json_object


def event(
    body: str | None, content_type: str | None = "application/json", *, b64: bool = False
) -> dict[str, Any]:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return {"body": body, "headers": headers, "isBase64Encoded": b64}


def padded_object(size: int) -> str:
    """A JSON object of exactly `size` bytes."""
    shell = '{"pad":""}'
    return '{"pad":"' + "x" * (size - len(shell)) + '"}'


def root_issue(raised: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [issue.path for issue in raised.value.issues]


def test_a_json_object_is_parsed():
    # Given a JSON object body
    # When it is read
    # Then the object comes back
    assert parse_json_object(event('{"reason": "done"}')) == {"reason": "done"}


@pytest.mark.parametrize("body", [None, ""])
def test_no_body_is_none(body):
    # Given a request without a body
    # When it is read
    # Then there is nothing to validate
    assert parse_json_object(event(body)) is None


def test_a_body_of_exactly_64_kib_is_accepted():
    # Given a JSON object of 65,536 bytes
    body = padded_object(MAX_BODY_BYTES)
    # When it is read
    # Then it is parsed
    assert parse_json_object(event(body)) is not None


def test_a_body_over_64_kib_is_payload_too_large():
    # Given a JSON object one byte over 64 KiB
    body = padded_object(MAX_BODY_BYTES + 1)
    # When it is read
    # Then it is a 413
    with pytest.raises(PayloadTooLarge):
        parse_json_object(event(body))


def test_the_size_limit_counts_bytes_not_characters():
    # Given 30,000 three-byte characters (90,000 bytes, 30,000 characters)
    body = json.dumps({"pad": "€" * 30_000}, ensure_ascii=False)
    # When it is read
    # Then it is a 413
    with pytest.raises(PayloadTooLarge):
        parse_json_object(event(body))


def test_the_size_limit_applies_to_the_decoded_base64_body():
    # Given a base64-encoded body that decodes to more than 64 KiB
    body = base64.b64encode(padded_object(MAX_BODY_BYTES + 1).encode()).decode()
    # When it is read
    # Then it is a 413
    with pytest.raises(PayloadTooLarge):
        parse_json_object(event(body, b64=True))


def test_size_is_checked_before_media_type():
    # Given an oversized text/plain body
    # When it is read
    # Then 413 wins over 415
    with pytest.raises(PayloadTooLarge):
        parse_json_object(event("x" * (MAX_BODY_BYTES + 1), "text/plain"))


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/jsonx"],
)
def test_a_body_that_is_not_json_is_unsupported_media_type(content_type):
    # Given a body sent as something other than JSON
    # When it is read
    # Then it is a 415
    with pytest.raises(UnsupportedMediaType):
        parse_json_object(event("{}", content_type))


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/merge-patch+json",
        "application/vnd.layers+json; charset=utf-8",
    ],
)
def test_json_media_types_with_parameters_or_a_json_suffix_are_accepted(content_type):
    # Given a JSON body with a JSON media type
    # When it is read
    # Then it is parsed
    assert parse_json_object(event('{"a": 1}', content_type)) == {"a": 1}


def test_a_body_without_content_type_is_read_as_json():
    # Given a JSON body with no Content-Type header
    # When it is read
    # Then it is parsed
    assert parse_json_object(event('{"a": 1}', None)) == {"a": 1}


def test_the_content_type_header_is_found_in_any_case():
    # Given a lower-case content-type header of text/plain
    request = {"body": "{}", "headers": {"content-type": "text/plain"}}
    # When it is read
    # Then the header is honoured (415)
    with pytest.raises(UnsupportedMediaType):
        parse_json_object(request)


def test_headers_are_looked_up_case_insensitively():
    # Given an event with mixed-case header names
    request = {"headers": {"IDEMPOTENCY-key": "k-1"}}
    # When a header is read by its canonical name
    # Then it is found
    assert header(request, "Idempotency-Key") == "k-1"


def test_a_base64_body_is_decoded():
    # Given a base64-encoded JSON object
    body = base64.b64encode(b'{"a": 1}').decode()
    # When it is read
    # Then it is parsed
    assert parse_json_object(event(body, b64=True)) == {"a": 1}


def test_a_base64_body_that_is_not_utf8_is_a_validation_issue_at_the_root():
    # Given bytes that are not UTF-8, base64-encoded
    body = base64.b64encode(b'{"a": "\xff\xfe"}').decode()
    # When it is read
    with pytest.raises(ValidationFailed) as raised:
        parse_json_object(event(body, b64=True))
    # Then the issue is at path ""
    assert root_issue(raised) == [""]


def test_a_body_with_a_lone_surrogate_is_a_validation_issue_at_the_root():
    # Given a (non-base64) body carrying a lone surrogate, which is not UTF-8
    # When it is read
    with pytest.raises(ValidationFailed) as raised:
        parse_json_object(event('{"a": "\ud800"}'))
    # Then the issue is at path ""
    assert root_issue(raised) == [""]


def test_a_body_that_is_not_valid_base64_is_a_validation_issue_at_the_root():
    # Given a body flagged base64 that is not
    # When it is read
    with pytest.raises(ValidationFailed) as raised:
        parse_json_object(event("not base64!", b64=True))
    # Then the issue is at path ""
    assert root_issue(raised) == [""]


@pytest.mark.parametrize("body", ["{", '{"a": 1,}', "{'a': 1}", "nope", '{"a": 1} trailing'])
def test_invalid_json_is_a_validation_issue_at_the_root(body):
    # Given a body that does not parse
    # When it is read
    with pytest.raises(ValidationFailed) as raised:
        parse_json_object(event(body))
    # Then the issue is at path ""
    assert root_issue(raised) == [""]


@pytest.mark.parametrize("body", ["[]", "[{}]", '"text"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_a_validation_issue_at_the_root(body):
    # Given valid JSON that is not an object
    # When it is read
    with pytest.raises(ValidationFailed) as raised:
        parse_json_object(event(body))
    # Then the issue is at path ""
    assert root_issue(raised) == [""]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_not_json(constant):
    # Given a body using a JavaScript constant Python's parser would accept
    # When it is read
    with pytest.raises(ValidationFailed) as raised:
        parse_json_object(event(f'{{"count": {constant}}}'))
    # Then the issue is at path ""
    assert root_issue(raised) == [""]
