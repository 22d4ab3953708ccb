"""Body-shape checks of the contract, in order: size (413), media type (415), JSON object (422)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from layers_common.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_BODY_BYTES = 64 * 1024


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (REST proxy events keep the client's spelling)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value) if value is not None else None
    return None


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed.at("", "The body could not be decoded.") from None
    return str(body).encode("utf-8", errors="surrogatepass")


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_object(event: dict[str, Any]) -> dict[str, Any] | None:
    """The body as a JSON object, None when there is none; raises the contract's 413/415/422."""
    data = raw_body(event)
    if not data:
        return None
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    content_type = header(event, "Content-Type")
    if content_type is not None and not _is_json_media_type(content_type):
        raise UnsupportedMediaType(content_type)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.at("", "The body is not valid UTF-8.") from None
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser allows
        raise ValidationFailed.at("", "The body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise ValidationFailed.at("", "The body must be a JSON object.")
    return parsed
