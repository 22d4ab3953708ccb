"""Page cursors of the leased-accounts listing: versioned, HMAC-signed, bound to what they page.

A cursor is `v1.<payload>.<tag>` (base64url, unpadded): the payload is the JSON position
`{"after", "status", "projectId"}`, the tag an HMAC-SHA256 (truncated to 128 bits) over the
version, the organization and the payload. So a cursor is valid only for the organization, status
and project filter it was issued for, and any change to it (or a cursor never issued) is refused
before anything is read. The key comes from the function's settings (docs/decisions.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from layers_common.errors import ValidationFailed

VERSION = "v1"
_TAG_BYTES = 16
_SHAPE = re.compile(r"^v1\.([A-Za-z0-9_-]{1,1800})\.([A-Za-z0-9_-]{22})$")
# The order key of a lease: `<assignedAt>#<leaseId>` (layers_common.repository.keys.lease_order).
_POSITION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z#[A-Za-z0-9_-]{1,128}$")
_MESSAGE = "is not a cursor returned by this listing"


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, org_id: str, payload: str) -> bytes:
    message = f"{VERSION}\n{org_id}\n{payload}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def signing_key(secret: str) -> bytes:
    """The HMAC key derived from the configured secret (never used as is: it may be any text)."""
    if not secret:
        raise RuntimeError("no cursor signing secret is configured (CURSOR_SIGNING_KEY)")
    return hashlib.sha256(b"leasing-cursor\n" + secret.encode()).digest()


def encode_cursor(key: bytes, *, org_id: str, position: str, status: str, project_id: str | None) -> str:
    payload = _b64encode(
        json.dumps(
            {"after": position, "status": status, "projectId": project_id}, separators=(",", ":")
        ).encode()
    )
    return f"{VERSION}.{payload}.{_b64encode(_tag(key, org_id, payload))}"


def decode_cursor(key: bytes, cursor: str, *, org_id: str, status: str, project_id: str | None) -> str:
    """The position a cursor stands for, or `ValidationFailed` at `cursor` for anything else."""
    shape = _SHAPE.match(cursor)
    if shape is None:
        raise ValidationFailed.at("cursor", _MESSAGE)
    payload, tag = shape.groups()
    try:
        valid_tag = hmac.compare_digest(_b64decode(tag), _tag(key, org_id, payload))
        data = json.loads(_b64decode(payload)) if valid_tag else None
    except (ValueError, binascii.Error):
        data = None
    if (
        not isinstance(data, dict)
        or set(data) != {"after", "status", "projectId"}
        or data["status"] != status
        or data["projectId"] != project_id
        or not isinstance(data["after"], str)
        or not _POSITION.match(data["after"])
    ):
        raise ValidationFailed.at("cursor", _MESSAGE)
    return str(data["after"])
