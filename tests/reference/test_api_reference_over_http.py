"""`leasing serve` serves its OpenAPI document and a browsable reference, from local files only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e_local.conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("reference")]

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_openapi_json_is_the_checked_in_document_with_this_server_first(demo_server: Server) -> None:
    # Given a running server
    # When its document is read
    reply = demo_server.call("GET", "/openapi.json")
    # Then it is the checked-in document, with this server first and production after it
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["X-Request-Id"].startswith("req_")
    served = reply.json()
    checked_in = json.loads(CHECKED_IN.read_text())
    assert served["servers"][0]["url"] == demo_server.url
    assert served["servers"][1]["url"] == "https://api.layers.com"
    assert {**served, "servers": None} == {**checked_in, "servers": None}


def test_the_docs_page_loads_swagger_ui_from_this_server_only(demo_server: Server) -> None:
    # Given the reference page
    page = demo_server.call("GET", "/docs")
    # When every script and stylesheet it names is fetched
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    replies = {asset: demo_server.call("GET", asset) for asset in assets}
    # Then all are local paths this server answers (nothing from a CDN), and the bundle is Swagger UI
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert assets
    assert all(asset.startswith("/docs/") for asset in assets)
    assert {asset: reply.status_code for asset, reply in replies.items()} == dict.fromkeys(assets, 200)
    assert "SwaggerUIBundle" in replies["/docs/static/swagger-ui-bundle.js"].text


def test_only_the_reference_files_are_served_and_only_to_reads(demo_server: Server) -> None:
    # Given paths next to the reference files, and a write to the page
    # When they are requested
    other_file = demo_server.call("GET", "/docs/static/swagger-editor-bundle.js")
    traversal = demo_server.call("GET", "/docs/static/..%2F..%2Fcore.py")
    post = demo_server.call("POST", "/docs")
    # Then each is the gateway's not-found envelope
    for reply in (other_file, traversal, post):
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "NOT_FOUND"
