"""Lease request: the partner's body (2.1), the 202 acknowledgement and the polled view (2.2)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from layers_common.models.base import WireBody, WireModel

LeaseRequestStatus = Literal["requested", "assigned", "partial", "rejected"]

MAX_COUNT = 50
MAX_GEO = 50


def _bcp47(tag: str) -> str:
    import langcodes  # lazy: only a request that names a language pays for the tag tables

    # langcodes also accepts `_` as a separator, which BCP-47 does not.
    if "_" in tag or not langcodes.tag_is_valid(tag):
        raise ValueError(f"{tag!r} is not a well-formed BCP-47 language tag (e.g. en, en-US, pt-BR)")
    return tag


def _iso_country(code: str) -> str:
    from iso3166 import countries_by_alpha2

    if code not in countries_by_alpha2:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (upper case, e.g. US)")
    return code


def _distinct(codes: list[str]) -> list[str]:
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"geo lists {', '.join(duplicates)} more than once")
    return codes


CountryCode = Annotated[str, AfterValidator(_iso_country)]


class Niche(WireBody):
    vertical: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    audience: Annotated[str, Field(max_length=500)] | None = None
    language: Annotated[str, AfterValidator(_bcp47)] | None = None
    geo: Annotated[list[CountryCode], Field(max_length=MAX_GEO), AfterValidator(_distinct)] | None = None


class LeaseRequestBody(WireBody):
    """Body of `POST /v1/projects/:projectId/leased-accounts/request`."""

    project_id: str
    count: Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)]
    niche: Niche
    target: Annotated[str, Field(max_length=2000)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
    request_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = None


class LeaseRequestAccepted(WireModel):
    """The 202 body."""

    request_id: str
    status: LeaseRequestStatus
    submitted_at: str


class LeaseRequestView(WireModel):
    """`GET .../leased-accounts/requests/:requestId`."""

    request_id: str
    project_id: str
    status: LeaseRequestStatus
    count: int
    niche: dict[str, object]
    submitted_at: str
    assigned_at: str | None
    assigned_social_account_ids: list[str]
    note: str | None
