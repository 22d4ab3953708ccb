"""The event JSON Schemas under docs/events/ are the ones the models produce (no drift)."""

from __future__ import annotations

from pathlib import Path

from layers_common.models.event_schemas import event_schemas, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_every_event_has_a_checked_in_schema_identical_to_its_model() -> None:
    # Given the event models
    schemas = event_schemas()
    # When compared with the files under docs/events
    on_disk = {
        path.name.removesuffix(".schema.json"): path.read_text() for path in DOCS.glob("*.schema.json")
    }
    # Then there is one file per event and each is what the model says
    # (regenerate with `make event-schemas`)
    assert set(on_disk) == set(schemas)
    for name, schema in schemas.items():
        assert on_disk[name] == render(schema), f"docs/events/{name}.schema.json is out of date"


def test_every_schema_names_the_envelope_fields() -> None:
    # Given each schema / Then it requires the envelope fields of architecture §3
    for schema in event_schemas().values():
        assert {"eventId", "eventType", "eventVersion", "occurredAt", "orgId"} <= set(schema["properties"])
        assert schema["x-eventbridge"]["source"] == "layers.leasing"
