"""Time and identifier primitives: the contract's timestamp format, month arithmetic, path ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from layers_common.clock import add_months, epoch_seconds, isoformat, looks_like_id, new_id, parse_iso


def test_timestamps_are_utc_with_second_precision_and_a_z_suffix():
    # Given an instant with microseconds in another time zone
    moment = datetime(2026, 4, 18, 21, 24, 11, 999_999, tzinfo=timezone(timedelta(hours=2)))
    # When it is formatted
    # Then it is UTC, to the second, with Z
    assert isoformat(moment) == "2026-04-18T19:24:11Z"


def test_a_formatted_timestamp_parses_back_to_the_same_instant():
    # Given an instant
    moment = datetime(2026, 4, 18, 19, 24, 11, tzinfo=UTC)
    # When it is formatted and parsed
    # Then it is the same instant
    assert parse_iso(isoformat(moment)) == moment


def test_epoch_seconds_counts_from_1970_utc():
    # Given a known instant
    # When it is turned into unix seconds
    # Then it matches
    assert epoch_seconds(datetime(1970, 1, 2, tzinfo=UTC)) == 86_400


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (1, datetime(2028, 2, 29, 10, tzinfo=UTC)),
        (2, datetime(2028, 3, 31, 10, tzinfo=UTC)),
        (13, datetime(2029, 2, 28, 10, tzinfo=UTC)),
        (12, datetime(2029, 1, 31, 10, tzinfo=UTC)),
    ],
)
def test_adding_months_clamps_to_the_month_end_without_drifting(months, expected):
    # Given a lease assigned on January 31st of a leap year
    start = datetime(2028, 1, 31, 10, tzinfo=UTC)
    # When n months are added from that start
    # Then short months clamp to their last day and later months return to the 31st
    assert add_months(start, months) == expected


def test_new_ids_are_prefixed_ulids():
    # Given a prefix
    # When an id is made
    value = new_id("lreq")
    # Then it is the prefix, an underscore and a 26-character ULID
    assert value.startswith("lreq_")
    assert len(value) == 31


@pytest.mark.parametrize(
    "value", ["sa_01HXZS8N3C5R6STUV7WXYZ9AB", "prj_254a4ce1-f4ca-42b1-9e36-17ca45ef3d39", "x" * 128]
)
def test_plausible_ids_look_like_ids(value):
    # Given an id of the allowed alphabet and length
    # Then it could name something
    assert looks_like_id(value)


@pytest.mark.parametrize("value", [None, "", "x" * 129, "a b", "a/b", "a.b", "ünï", "a\n"])
def test_malformed_ids_do_not_look_like_ids(value):
    # Given an empty, overlong or out-of-alphabet id
    # Then it cannot name anything
    assert not looks_like_id(value)


def test_generated_ulids_are_26_crockford_characters_sorted_by_time() -> None:
    # Given ids generated a few milliseconds apart
    import time

    from ulid import ULID

    from layers_common.clock import ulid

    first = ulid()
    time.sleep(0.002)
    second = ulid()
    # Then each is a valid ULID (python-ulid parses it back) and they sort by creation time
    assert len(first) == 26
    assert str(ULID.from_str(first)) == first
    assert first < second


def test_the_bus_source_constant_matches_the_event_models() -> None:
    # Given the publisher's own copy of the event source / Then it is the models' value
    from layers_common.events_bus import EVENT_SOURCE as PUBLISHED
    from layers_common.models.events import EVENT_SOURCE

    assert PUBLISHED == EVENT_SOURCE
