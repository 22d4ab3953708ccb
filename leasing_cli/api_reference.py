"""The API reference that `leasing serve` serves: `/openapi.json` and a browsable `/docs`.

`/docs` is Swagger UI, served from the files of the `swagger-ui-py` package (no CDN: it works
offline). `/openapi.json` is the checked-in document (identical to what `leasing openapi` generates:
a test keeps it so) with this server listed first in `servers`, so "Try it out" calls the local
API. Only GET and HEAD are answered here; anything else falls through to the API Gateway emulation.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path
from typing import Any

from layers_common.clock import new_request_id
from leasing_cli.gateway import AuthorizerCache, GatewayReply, GatewayRequest, LocalApiGateway
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.openapi import PRODUCTION_SERVER, build_openapi
from leasing_cli.template import Template

CHECKED_IN = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"

#: The Swagger UI files the page needs, and their media types (nothing else is served).
_STATIC: dict[str, str] = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-16x16.png": "image/png",
    "favicon-32x32.png": "image/png",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Layers partner API - leased accounts: reference</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
  <style>body { margin: 0; } .swagger-ui .topbar { display: none; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/static/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

_INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayRequestDuration: true,
    docExpansion: "list",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
};
"""


def swagger_ui_directory() -> Path:
    """The `static` folder of the installed `swagger-ui-py` package (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed (make venv installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _reply(status: int, content_type: str, body: bytes, *, cache: bool = False) -> GatewayReply:
    headers = [("Content-Type", content_type), ("X-Request-Id", new_request_id())]
    headers.append(("Cache-Control", "public, max-age=3600" if cache else "no-cache"))
    return GatewayReply(status=status, headers=headers, body=body)


class ApiReference:
    """Answers `/openapi.json`, `/docs`, `/docs/init.js` and `/docs/static/<file>`."""

    def __init__(self, template: Template, document_path: Path = CHECKED_IN) -> None:
        self._template = template
        self._document_path = document_path
        self._document: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def document(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                if self._document_path.is_file():
                    self._document = json.loads(self._document_path.read_text(encoding="utf-8"))
                else:  # outside a checkout: generate it from the code, as `leasing openapi` does
                    self._document = build_openapi(self._template)
            return self._document

    def document_for(self, host: str | None) -> dict[str, Any]:
        """The document with this server (as the browser reached it) first in `servers`."""
        document = dict(self.document())
        local = {"url": f"http://{host or '127.0.0.1'}", "description": "This server (leasing serve)"}
        document["servers"] = [local, PRODUCTION_SERVER]
        return document

    def reply(self, request: GatewayRequest) -> GatewayReply | None:
        if request.method.upper() not in {"GET", "HEAD"}:
            return None
        path = request.path
        if path == "/openapi.json":
            body = json.dumps(self.document_for(request.header("Host")), indent=2).encode()
            return _reply(200, "application/json; charset=utf-8", body)
        if path in {"/docs", "/docs/"}:
            return _reply(200, "text/html; charset=utf-8", _PAGE.encode())
        if path == "/docs/init.js":
            return _reply(200, "text/javascript; charset=utf-8", _INIT.encode())
        if path.startswith("/docs/static/"):
            name = path.removeprefix("/docs/static/")
            if name in _STATIC:
                return _reply(200, _STATIC[name], (swagger_ui_directory() / name).read_bytes(), cache=True)
        return None


class DocumentedApiGateway(LocalApiGateway):
    """The local API Gateway, with the API reference answered in front of it."""

    def __init__(
        self, template: Template, runtime: LambdaRuntime, *, authorizer_cache: AuthorizerCache | None = None
    ) -> None:
        super().__init__(template, runtime, authorizer_cache=authorizer_cache)
        self.reference = ApiReference(template)

    def handle(self, request: GatewayRequest) -> GatewayReply:
        reply = self.reference.reply(request)
        return reply if reply is not None else super().handle(request)
