"""`leasing openapi`: one valid OpenAPI 3 document for every route, identical to docs/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from leasing_cli.openapi import build_openapi, render
from leasing_cli.template import Template, default_template_path, load_template

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(default_template_path())


@pytest.fixture(scope="module")
def document(template: Template) -> dict[str, Any]:
    return build_openapi(template)


def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    # Given the merged document / When validated / Then it is a valid OpenAPI 3 document
    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_checked_in_copy_has_not_drifted_from_the_code(document: dict[str, Any]) -> None:
    # Given docs/openapi.json / Then it is exactly what the code generates (regenerate: make openapi)
    assert CHECKED_IN.read_text() == render(document), "docs/openapi.json is out of date: run `make openapi`"


def test_every_route_of_the_template_is_documented_with_its_method(
    document: dict[str, Any], template: Template
) -> None:
    # Given the template's API routes
    routes = {(route.method.lower(), route.path) for route in template.routes}
    # Then each is an operation of the document, and nothing else is
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == routes


def test_every_operation_is_secured_and_documents_the_envelope_and_headers(document: dict[str, Any]) -> None:
    # Given every operation
    for operations in document["paths"].values():
        for method, operation in operations.items():
            # Then it needs the bearer key, documents the errors with the envelope and their own code
            assert operation["security"] == [{"bearerAuth": []}]
            for status in ("401", "404", "422", "429", "503"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"]["allOf"][0] == {"$ref": "#/components/schemas/Error"}
                code = content["schema"]["allOf"][1]["properties"]["error"]["properties"]["code"]["const"]
                assert content["example"]["error"]["code"] == code
            success = next(
                response for status, response in operation["responses"].items() if status.startswith("2")
            )
            assert success["headers"]["X-RateLimit-Remaining"]["required"] is True
            if method == "post":
                assert "402" in operation["responses"]


def test_every_response_declares_a_required_x_request_id(document: dict[str, Any]) -> None:
    # Given every response of every operation
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                # Then X-Request-Id is required; rate-limit headers never on a 401
                assert response["headers"]["X-Request-Id"]["required"] is True, status
                assert ("X-RateLimit-Limit" in response["headers"]) is (status != "401"), status


def test_retry_after_is_declared_only_where_it_is_sent(document: dict[str, Any]) -> None:
    # Given every response
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                header = response["headers"].get("Retry-After")
                # Then it is required on 429, optional on the lease request's 409, absent elsewhere
                if status == "429":
                    assert header["required"] is True
                elif status == "409" and operation["operationId"] == "requestLeasedAccounts":
                    assert header["required"] is False
                else:
                    assert header is None, (path, status)


def test_each_conflict_lists_the_reasons_its_operation_can_answer(document: dict[str, Any]) -> None:
    # Given the three operations that answer 409
    reasons = {}
    for operations in document["paths"].values():
        for operation in operations.values():
            if "409" in operation["responses"]:
                schema = operation["responses"]["409"]["content"]["application/json"]["schema"]
                details = schema["allOf"][1]["properties"]["error"]["properties"]["details"]
                reasons[operation["operationId"]] = details["properties"]["reason"]["enum"]
    # Then each names its own reasons, and the envelope lists all five
    assert reasons == {
        "requestLeasedAccounts": ["IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_IN_PROGRESS", "REQUEST_ID_IN_USE"],
        "releaseLeasedAccount": ["NOT_LEASED"],
        "revokeSocialAccount": ["LEASED_ACCOUNT"],
    }
    envelope = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert len(envelope["details"]["properties"]["reason"]["enum"]) == 5
    assert len(envelope["code"]["enum"]) == 11


def test_servers_contact_and_license_are_given(document: dict[str, Any]) -> None:
    # Given the document / Then production and the local server are listed, with contact and licence
    assert [server["url"] for server in document["servers"]] == [
        "https://api.layers.com",
        "http://127.0.0.1:3000",
    ]
    assert document["info"]["contact"]["name"]
    assert document["info"]["license"]["identifier"] == "Apache-2.0"


def test_every_operation_has_examples_and_every_parameter_and_field_a_description(
    document: dict[str, Any],
) -> None:
    # Given every operation, parameter and schema property
    for operations in document["paths"].values():
        for operation in operations.values():
            assert operation["summary"]
            assert operation["description"], operation["operationId"]
            success = next(r for s, r in operation["responses"].items() if s.startswith("2"))
            assert success["content"]["application/json"]["example"], operation["operationId"]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                assert body["example"], operation["operationId"]
            for parameter in operation.get("parameters", []):
                assert parameter.get("description"), parameter["name"]
    for name, schema in document["components"]["schemas"].items():
        for field_name, field in schema.get("properties", {}).items():
            # Then each says what it is
            assert field.get("description"), f"{name}.{field_name}"


def test_the_unexpressed_body_rules_are_expressed_or_described(document: dict[str, Any]) -> None:
    niche = document["components"]["schemas"]["Niche"]["properties"]
    geo = next(option for option in niche["geo"]["anyOf"] if option.get("type") == "array")
    # Given the niche / Then geo lists existing upper-case codes, once each; the rest is described
    assert geo["uniqueItems"] is True
    assert "US" in geo["items"]["enum"]
    assert "us" not in geo["items"]["enum"]
    assert "XX" not in geo["items"]["enum"]
    assert "BCP-47" in niche["language"]["description"]
    body = document["components"]["schemas"]["LeaseRequestBody"]["properties"]
    assert "must equal the path" in body["projectId"]["description"]


def test_the_lease_request_documents_202_location_and_the_idempotency_key(document: dict[str, Any]) -> None:
    # Given the request operation
    operation = document["paths"]["/v1/projects/{projectId}/leased-accounts/request"]["post"]
    # Then its success is 202 with Location, and it takes an Idempotency-Key header
    assert set(operation["responses"]["202"]["headers"]) >= {"Location", "Idempotent-Replayed"}
    headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
    assert operation["requestBody"]["content"]["application/json"]["example"]["projectId"] == "prj_demo"


def test_the_document_is_plain_json(document: dict[str, Any]) -> None:
    # Given the document / Then it round-trips through JSON unchanged
    assert json.loads(render(document)) == document
