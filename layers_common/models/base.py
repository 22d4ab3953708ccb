"""Model configuration shared by every wire model: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A JSON body or response: camelCase aliases, unknown fields are a validation error."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
    )

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


class WireBody(WireModel):
    """An incoming body: only the camelCase names are fields (`project_id` is an unknown field)."""

    model_config = ConfigDict(populate_by_name=False, validate_by_name=False, validate_by_alias=True)
