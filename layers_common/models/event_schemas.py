"""JSON Schemas of the domain events (the `detail` of each bus event), for docs/events/."""

from __future__ import annotations

import json
from typing import Any

from layers_common.models.events import EVENT_MODELS, EVENT_SOURCE


def event_schemas() -> dict[str, dict[str, Any]]:
    """detail-type → JSON Schema of its `detail`, as the bus carries it (camelCase)."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in EVENT_MODELS:
        name = model.model_fields["event_type"].default
        schema = model.model_json_schema(by_alias=True, mode="serialization")
        schema["$id"] = (
            f"https://schemas.layers.com/leasing/{name}/v{model.model_fields['event_version'].default}.json"
        )
        schema["description"] = (model.__doc__ or name).strip().splitlines()[0]
        schema["x-eventbridge"] = {"source": EVENT_SOURCE, "detail-type": name}
        schemas[str(name)] = schema
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
