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
            # Then it needs the bearer key, documents 401/404/429 with the Error envelope
            assert operation["security"] == [{"bearerAuth": []}]
            for status in ("401", "404", "422", "429", "503"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}
                assert content["example"]["error"]["code"]
            success = next(
                response for status, response in operation["responses"].items() if status.startswith("2")
            )
            assert "X-RateLimit-Remaining" in success["headers"]
            assert "X-Request-Id" in success["headers"]
            if method == "post":
                assert "402" in operation["responses"]


def test_the_lease_request_documents_202_location_and_the_idempotency_key(document: dict[str, Any]) -> None:
    # Given the request operation
    operation = document["paths"]["/v1/projects/{projectId}/leased-accounts/request"]["post"]
    # Then its success is 202 with Location, and it takes an Idempotency-Key header
    assert set(operation["responses"]["202"]["headers"]) >= {"Location", "Idempotent-Replayed"}
    headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
    assert operation["requestBody"]["content"]["application/json"]["example"]["count"] == 5


def test_the_document_is_plain_json(document: dict[str, Any]) -> None:
    # Given the document / Then it round-trips through JSON unchanged
    assert json.loads(render(document)) == document
