"""The write counter on DynamoDB: a write is counted in its day and its minute, both or neither."""

from __future__ import annotations

from typing import Any

import pytest

from layers_common.repository.leasing_repository import LeasingRepository
from layers_common.repository.records import RateWindow, WriteCount

KEY = "KEYA000000000001"
DAY = RateWindow("write#d1776470400", 3, 1776560400)
MINUTE = 1776540240  # a minute start within that day


def counter(dynamodb: Any) -> dict[str, Any]:
    item = dynamodb.get_item(
        TableName="LeasingTable", Key={"pk": {"S": f"RATE#{KEY}#{DAY.name}"}, "sk": {"S": "RATE"}}
    ).get("Item", {})
    return {name: value for name, value in item.items() if name not in ("pk", "sk")}


def test_writes_count_per_minute_and_per_day_on_one_item(
    repository: LeasingRepository, dynamodb: Any
) -> None:
    # Given no counter yet / When two writes come in one minute and one in the next
    first = repository.count_write(KEY, DAY, MINUTE, 2)
    second = repository.count_write(KEY, DAY, MINUTE, 2)
    third = repository.count_write(KEY, DAY, MINUTE + 60, 2)
    # Then the minute count restarts with the minute and the day count goes on
    assert (first, second, third) == (WriteCount(True, 1, 1), WriteCount(True, 2, 2), WriteCount(True, 1, 3))
    assert counter(dynamodb)["expiresAt"] == {"N": str(DAY.expires_at)}


@pytest.mark.parametrize(
    ("calls", "then", "expected"),
    [
        ([MINUTE, MINUTE], MINUTE, WriteCount(False, 2, 2)),  # the minute is full
        ([MINUTE, MINUTE + 60, MINUTE + 120], MINUTE + 180, WriteCount(False, 0, 3)),  # the day is full
    ],
    ids=["minute-full", "day-full"],
)
def test_a_refused_write_writes_nothing(
    repository: LeasingRepository, dynamodb: Any, calls: list[int], then: int, expected: WriteCount
) -> None:
    # Given a counter filled to one of its limits
    for minute in calls:
        assert repository.count_write(KEY, DAY, minute, 2).counted
    before = counter(dynamodb)
    # When one more write comes / Then it is refused, with the counts, and the item is unchanged
    assert repository.count_write(KEY, DAY, then, 2) == expected
    assert counter(dynamodb) == before


def test_a_writer_whose_clock_is_behind_counts_in_the_counters_minute(repository: LeasingRepository) -> None:
    # Given a counter already in the next minute
    assert repository.count_write(KEY, DAY, MINUTE + 60, 5).counted
    # When a writer still in the previous minute writes / Then it counts in the counter's minute
    assert repository.count_write(KEY, DAY, MINUTE, 5) == WriteCount(True, 2, 2)
