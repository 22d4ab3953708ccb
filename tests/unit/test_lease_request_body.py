"""The lease request body (api.md 2.1): types, ranges, tags, countries, unknown fields, issue paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from layers_common.http.validation import issue_path, validation_failed
from layers_common.models.lease_request import LeaseRequestBody

VALID: dict[str, Any] = {"projectId": "prj_a", "count": 5, "niche": {"vertical": "coffee"}}


def body(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


def niche(**changes: Any) -> dict[str, Any]:
    return body(niche={"vertical": "coffee", **changes})


def issues_of(payload: dict[str, Any]) -> list[str]:
    """The contract's issue paths for a body, validated as the routes do (parsed JSON, python mode)."""
    with pytest.raises(ValidationError) as raised:
        LeaseRequestBody.model_validate(json.loads(json.dumps(payload)))
    return [issue.path for issue in validation_failed(map(dict, raised.value.errors())).issues]


def test_a_minimal_body_is_accepted():
    # Given the smallest valid body
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(VALID))
    # Then every field reads back with its default
    assert (parsed.project_id, parsed.count, parsed.niche.vertical) == ("prj_a", 5, "coffee")
    assert parsed.request_id is None
    assert parsed.niche.geo is None


def test_a_full_body_is_accepted():
    # Given a body with every optional field
    payload = body(
        niche={"vertical": "coffee", "audience": "home baristas", "language": "en-US", "geo": ["US", "CA"]},
        target="grow to 10k",
        note="launch week",
        requestId="partner-req_42",
    )
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(payload))
    # Then each field is kept
    assert parsed.niche.geo == ["US", "CA"]
    assert parsed.request_id == "partner-req_42"


@pytest.mark.parametrize("count", [1, 50])
def test_count_accepts_the_ends_of_its_range(count):
    # Given a count at either end of 1..50
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(body(count=count)))
    # Then it is accepted
    assert parsed.count == count


@pytest.mark.parametrize("count", [0, 51, -1])
def test_count_outside_one_to_fifty_is_an_issue_at_count(count):
    # Given a count out of range
    # When it is validated
    # Then the single issue is at `count`
    assert issues_of(body(count=count)) == ["count"]


@pytest.mark.parametrize(
    "count", [5.0, "5", True, None, [5]], ids=["float", "string", "bool", "null", "list"]
)
def test_count_must_be_a_json_integer(count):
    # Given a count that is not a JSON integer
    # When it is validated
    # Then the single issue is at `count`
    assert issues_of(body(count=count)) == ["count"]


@pytest.mark.parametrize("count", [5.0, "5", True], ids=["float", "string", "bool"])
def test_count_must_be_an_integer_also_when_validated_from_python_values(count):
    # Given the parsed JSON as the handler hands it over (Python values, not JSON text)
    # When it is validated
    with pytest.raises(ValidationError) as raised:
        LeaseRequestBody.model_validate(body(count=count))
    # Then it is still refused at `count`
    assert [issue.path for issue in validation_failed(map(dict, raised.value.errors())).issues] == ["count"]


def test_missing_required_fields_are_each_reported_at_their_own_path():
    # Given an empty object
    # When it is validated
    # Then projectId, count and niche are each reported
    assert issues_of({}) == ["projectId", "count", "niche"]


def test_a_missing_vertical_is_reported_inside_niche():
    # Given a niche without a vertical
    # When it is validated
    # Then the issue is at niche.vertical
    assert issues_of(body(niche={})) == ["niche.vertical"]


def test_vertical_is_trimmed():
    # Given a vertical with surrounding whitespace
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(niche(vertical="  coffee \t")))
    # Then it is trimmed
    assert parsed.niche.vertical == "coffee"


def test_a_vertical_of_sixty_four_characters_after_trimming_is_accepted():
    # Given 64 characters surrounded by spaces
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(niche(vertical="  " + "v" * 64 + "  ")))
    # Then it is accepted, trimmed
    assert parsed.niche.vertical == "v" * 64


@pytest.mark.parametrize("vertical", ["", "   ", "v" * 65], ids=["empty", "blank", "65-chars"])
def test_a_vertical_outside_one_to_sixty_four_characters_is_an_issue(vertical):
    # Given a vertical that is empty after trimming, or too long
    # When it is validated
    # Then the issue is at niche.vertical
    assert issues_of(niche(vertical=vertical)) == ["niche.vertical"]


def test_audience_of_five_hundred_characters_is_accepted():
    # Given an audience at the limit
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(niche(audience="a" * 500)))
    # Then it is accepted
    assert parsed.niche.audience is not None
    assert len(parsed.niche.audience) == 500


def test_audience_over_five_hundred_characters_is_an_issue():
    # Given a 501-character audience
    # When it is validated
    # Then the issue is at niche.audience
    assert issues_of(niche(audience="a" * 501)) == ["niche.audience"]


@pytest.mark.parametrize("tag", ["en", "en-US", "zh-Hant-TW", "pt-BR", "sr-Latn"])
def test_a_well_formed_bcp47_language_tag_is_accepted(tag):
    # Given a well-formed tag
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(niche(language=tag)))
    # Then it is kept as sent
    assert parsed.niche.language == tag


@pytest.mark.parametrize("tag", ["en_US", "xx-invalid-", "123", "", "en-", "-en"])
def test_a_malformed_language_tag_is_an_issue_at_niche_language(tag):
    # Given a tag that is not well-formed BCP-47
    # When it is validated
    # Then the issue is at niche.language
    assert issues_of(niche(language=tag)) == ["niche.language"]


def test_existing_country_codes_are_accepted():
    # Given upper-case alpha-2 codes that exist
    # When they are validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(niche(geo=["US", "CA", "DE"])))
    # Then they are kept in order
    assert parsed.niche.geo == ["US", "CA", "DE"]


@pytest.mark.parametrize("code", ["XX", "us", "USA", "", "U"])
def test_a_country_code_that_does_not_exist_is_an_issue_at_its_index(code):
    # Given a list whose second entry is not an ISO 3166-1 alpha-2 code
    # When it is validated
    # Then the issue names that entry's index
    assert issues_of(niche(geo=["US", code])) == ["niche.geo[1]"]


def test_each_bad_country_code_is_reported_separately():
    # Given two bad entries
    # When they are validated
    # Then each gets its own issue
    assert issues_of(niche(geo=["XX", "US", "us"])) == ["niche.geo[0]", "niche.geo[2]"]


def test_a_duplicated_country_is_an_issue_at_the_list():
    # Given a list naming US twice
    # When it is validated
    # Then the issue is on the list itself
    assert issues_of(niche(geo=["US", "CA", "US"])) == ["niche.geo"]


def test_fifty_distinct_countries_are_accepted():
    # Given 50 distinct existing codes
    from iso3166 import countries_by_alpha2

    codes = sorted(countries_by_alpha2)[:50]
    # When they are validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(niche(geo=codes)))
    # Then all are kept
    assert parsed.niche.geo == codes


def test_more_than_fifty_countries_is_an_issue_at_the_list():
    # Given 51 distinct existing codes
    from iso3166 import countries_by_alpha2

    codes = sorted(countries_by_alpha2)[:51]
    # When they are validated
    # Then the issue is on the list itself
    assert issues_of(niche(geo=codes)) == ["niche.geo"]


def test_geo_must_be_a_list():
    # Given a single code instead of a list
    # When it is validated
    # Then the issue is at niche.geo
    assert issues_of(niche(geo="US")) == ["niche.geo"]


@pytest.mark.parametrize("field", ["target", "note"])
def test_target_and_note_accept_two_thousand_characters(field):
    # Given the field at its limit
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(body(**{field: "t" * 2000})))
    # Then it is accepted
    assert len(getattr(parsed, field)) == 2000


@pytest.mark.parametrize("field", ["target", "note"])
def test_target_and_note_over_two_thousand_characters_are_an_issue(field):
    # Given the field one character over
    # When it is validated
    # Then the issue is at that field
    assert issues_of(body(**{field: "t" * 2001})) == [field]


@pytest.mark.parametrize("request_id", ["a", "A-b_9", "r" * 64])
def test_a_partner_request_id_of_the_allowed_alphabet_is_accepted(request_id):
    # Given a partner requestId of 1-64 allowed characters
    # When it is validated
    parsed = LeaseRequestBody.model_validate_json(json.dumps(body(requestId=request_id)))
    # Then it is kept
    assert parsed.request_id == request_id


@pytest.mark.parametrize(
    "request_id",
    ["", "r" * 65, "has space", "dot.ted", "slash/", "abc\n", "ünï"],
    ids=["empty", "65-chars", "space", "dot", "slash", "trailing-newline", "non-ascii"],
)
def test_a_partner_request_id_outside_the_pattern_is_an_issue_at_request_id(request_id):
    # Given a requestId the pattern refuses
    # When it is validated
    # Then the issue is at requestId
    assert issues_of(body(requestId=request_id)) == ["requestId"]


def test_an_unknown_top_level_field_is_reported_at_its_own_path():
    # Given a typo'd extra field
    # When it is validated
    # Then the issue is at `colour`
    assert issues_of(body(colour="blue")) == ["colour"]


def test_an_unknown_niche_field_is_reported_at_its_own_path():
    # Given an extra field inside niche
    # When it is validated
    # Then the issue is at `niche.colour`
    assert issues_of(niche(colour="blue")) == ["niche.colour"]


def test_a_snake_case_spelling_of_a_field_is_an_unknown_field():
    # Given a body that spells projectId as project_id
    payload = {"project_id": "prj_a", "count": 5, "niche": {"vertical": "coffee"}}
    # When it is validated
    # Then project_id is an unknown field and projectId is missing
    assert sorted(issues_of(payload)) == ["projectId", "project_id"]


def test_issue_paths_join_fields_with_dots_and_indexes_with_brackets():
    # Given a pydantic location as Powertools reports it for a body
    loc = ("body", "niche", "geo", 1)
    # When it is turned into a contract path
    # Then it reads as the request's own field names
    assert issue_path(loc) == "niche.geo[1]"


def test_an_idempotency_key_header_issue_is_reported_under_the_header_name():
    # Given a pydantic location of the Idempotency-Key header
    loc = ("header", "idempotency-key")
    # When it is turned into a contract path
    # Then the path is the header's canonical name
    assert issue_path(loc) == "Idempotency-Key"


def test_a_malformed_json_error_becomes_one_issue_at_the_root():
    # Given the error pydantic reports for JSON it cannot parse
    errors = [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error"}]
    # When it is turned into a ValidationFailed
    failed = validation_failed(errors)
    # Then there is exactly one issue, at path ""
    assert [issue.path for issue in failed.issues] == [""]


def test_issue_messages_drop_pydantics_value_error_prefix():
    # Given a value error raised by one of our validators
    # When it is reported
    with pytest.raises(ValidationError) as raised:
        LeaseRequestBody.model_validate(niche(language="en_US"))
    message = validation_failed(map(dict, raised.value.errors())).issues[0].message
    # Then the message is ours, without "Value error, "
    assert message.startswith("'en_US' is not a well-formed BCP-47")
