"""Schemathesis hooks for `test_schemathesis.py`: the rules the OpenAPI document describes but
JSON Schema cannot express, applied to *positive* cases only (so valid data is really valid):

- the body's `projectId` equals the path's `projectId` (a cross-field rule);
- `niche.language` is valid against the IANA subtag registry (the document gives only its shape);
- `cursor` is opaque: only a `nextCursor` the service issued is valid, so a generated one is dropped;
- `count` is a JSON integer written without a fraction (JSON Schema's `integer` also admits `14.0`).

Negative cases are left as generated: the service must reject them.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation

VALID_LANGUAGES = ("en", "en-US", "pt-BR", "de", "ja")


def _valid_language(tag: str) -> bool:
    import langcodes

    return "_" not in tag and bool(langcodes.tag_is_valid(tag))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative:
        return case
    body = case.body
    if isinstance(body, dict) and not meta.is_negative_at(ParameterLocation.BODY):
        project_id = (case.path_parameters or {}).get("projectId")
        if isinstance(project_id, str) and "projectId" in body:
            if "%" in project_id:  # already percent-encoded (a stateful link): use a plain id for both
                project_id = case.path_parameters["projectId"] = "prj_demo"
                meta.mark_dirty(ParameterLocation.PATH)
            body["projectId"] = project_id
        count = body.get("count")
        if isinstance(count, float) and count.is_integer():
            body["count"] = int(count)
        niche = body.get("niche")
        language = niche.get("language") if isinstance(niche, dict) else None
        if isinstance(niche, dict) and isinstance(language, str) and not _valid_language(language):
            niche["language"] = VALID_LANGUAGES[len(language) % len(VALID_LANGUAGES)]
        meta.mark_dirty(ParameterLocation.BODY)
    if case.query and "cursor" in case.query and not meta.is_negative_at(ParameterLocation.QUERY):
        del case.query["cursor"]
        meta.mark_dirty(ParameterLocation.QUERY)
    return case
