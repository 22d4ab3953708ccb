"""Per-key rate limits: calendar-minute buckets per class, a daily write cap, the X-RateLimit headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from layers_common.clock import epoch_seconds
from layers_common.rate_limit import TIER_LIMITS, RateLimiter, RateLimitExceeded, endpoint_class
from tests.fakes import FakeLeasingStore

KEY = "KEYA000000000001"
NOW = datetime(2026, 4, 18, 19, 24, 11, tzinfo=UTC)
MINUTE_END = epoch_seconds(datetime(2026, 4, 18, 19, 25, tzinfo=UTC))
DAY_START = epoch_seconds(datetime(2026, 4, 18, tzinfo=UTC))
DAY_END = epoch_seconds(datetime(2026, 4, 19, tzinfo=UTC))


@pytest.fixture
def limiter(store: FakeLeasingStore) -> RateLimiter:
    return RateLimiter(store)


def spend(limiter: RateLimiter, calls: int, klass="write", tier="standard", now=NOW) -> None:
    for _ in range(calls):
        limiter.consume(KEY, tier, klass, now)


@pytest.mark.parametrize(
    ("method", "klass"), [("GET", "read"), ("get", "read"), ("POST", "write"), ("DELETE", "write")]
)
def test_get_is_read_and_post_and_delete_are_write(method, klass):
    # Given an HTTP method
    # When it is classified
    # Then GET reads and POST/DELETE write
    assert endpoint_class(method) == klass


def test_the_first_write_shows_the_whole_minute_budget_less_one(limiter):
    # Given a standard key that has not called yet
    # When it writes once
    status = limiter.consume(KEY, "standard", "write", NOW)
    # Then the headers describe the write minute window
    assert status.headers() == {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "59",
        "X-RateLimit-Reset": str(MINUTE_END),
        "X-RateLimit-Endpoint-Class": "write",
    }


def test_the_sixtieth_write_of_a_standard_key_shows_nothing_remaining(limiter):
    # Given a standard key with 59 writes this minute
    spend(limiter, 59)
    # When it writes a 60th time
    status = limiter.consume(KEY, "standard", "write", NOW)
    # Then it passes with Limit 60, Remaining 0
    assert (status.limit, status.remaining) == (60, 0)


def test_the_sixty_first_write_is_rejected_until_the_end_of_the_minute(limiter):
    # Given a standard key with 60 writes this minute (it is 19:24:11)
    spend(limiter, 60)
    # When it writes again
    with pytest.raises(RateLimitExceeded) as raised:
        limiter.consume(KEY, "standard", "write", NOW)
    # Then it is told to retry at 19:25:00, 49 seconds later, with headers of a spent window
    assert raised.value.retry_after == 49
    assert raised.value.status.headers()["X-RateLimit-Remaining"] == "0"
    assert raised.value.status.reset == MINUTE_END


def test_a_rejected_call_is_not_counted(limiter, store):
    # Given a standard key with 60 writes this minute
    spend(limiter, 60)
    # When it is rejected several times
    for _ in range(3):
        with pytest.raises(RateLimitExceeded):
            limiter.consume(KEY, "standard", "write", NOW)
    # Then neither the minute nor the day counted them
    assert store.window_count(KEY, f"write#m{MINUTE_END - 60}") == 60
    assert store.window_count(KEY, f"write#d{DAY_START}") == 60


def test_retry_after_is_at_least_one_second(limiter):
    # Given a full minute, checked at its very last second
    last_second = NOW.replace(second=59)
    spend(limiter, 60, now=last_second)
    # When it writes again
    with pytest.raises(RateLimitExceeded) as raised:
        limiter.consume(KEY, "standard", "write", last_second)
    # Then Retry-After is one second
    assert raised.value.retry_after == 1


def test_the_minute_window_resets_at_the_next_calendar_minute(limiter):
    # Given a full write minute at 19:24:11
    spend(limiter, 60)
    # When the key writes at 19:25:00
    status = limiter.consume(KEY, "standard", "write", datetime(2026, 4, 18, 19, 25, tzinfo=UTC))
    # Then it passes in a fresh window ending at 19:26:00
    assert (status.remaining, status.reset) == (59, MINUTE_END + 60)


def test_the_window_is_the_calendar_minute_not_a_sliding_one(limiter):
    # Given 60 writes at 19:24:59
    spend(limiter, 60, now=NOW.replace(second=59))
    # When the key writes one second later, at 19:25:00
    # Then the call passes
    assert limiter.consume(KEY, "standard", "write", NOW.replace(minute=25, second=0)).remaining == 59


def test_reads_and_writes_have_separate_buckets(limiter):
    # Given a standard key whose write minute is spent
    spend(limiter, 60)
    # When it reads
    status = limiter.consume(KEY, "standard", "read", NOW)
    # Then the read passes and describes the read window
    assert (status.endpoint_class, status.limit, status.remaining) == ("read", 120, 119)


def test_reads_are_limited_per_minute_too(limiter):
    # Given a standard key with 120 reads this minute
    spend(limiter, 120, klass="read")
    # When it reads again
    # Then it is rejected for the minute
    with pytest.raises(RateLimitExceeded) as raised:
        limiter.consume(KEY, "standard", "read", NOW)
    assert raised.value.details == {"window": "minute"}


def test_reads_do_not_count_against_the_daily_write_cap(limiter, store):
    # Given a standard key that reads
    spend(limiter, 10, klass="read")
    # Then no daily write counter moved
    assert store.window_count(KEY, f"write#d{DAY_START}") == 0


def test_keys_have_separate_buckets(limiter):
    # Given a key whose write minute is spent
    spend(limiter, 60)
    # When another key writes
    status = limiter.consume("KEYB000000000001", "standard", "write", NOW)
    # Then it has its own full budget
    assert status.remaining == 59


def test_the_daily_write_cap_rejects_until_the_end_of_the_utc_day(limiter, store):
    # Given a standard key that made its 10,000 writes today
    store.rate_counts[(KEY, f"write#d{DAY_START}")] = 10_000
    # When it writes
    with pytest.raises(RateLimitExceeded) as raised:
        limiter.consume(KEY, "standard", "write", NOW)
    # Then it is told to retry at midnight UTC
    assert raised.value.retry_after == DAY_END - epoch_seconds(NOW)
    assert raised.value.details == {"window": "day"}


def test_a_call_the_daily_cap_rejects_gives_its_minute_count_back(limiter, store):
    # Given a key with 5 writes this minute and a spent day
    spend(limiter, 5)
    store.rate_counts[(KEY, f"write#d{DAY_START}")] = 10_000
    # When it writes
    with pytest.raises(RateLimitExceeded) as raised:
        limiter.consume(KEY, "standard", "write", NOW)
    # Then the minute still shows 5 calls, and so do the headers
    assert store.window_count(KEY, f"write#m{MINUTE_END - 60}") == 5
    assert raised.value.status.remaining == 55


def test_the_daily_cap_resets_at_midnight_utc(limiter, store):
    # Given a spent day
    store.rate_counts[(KEY, f"write#d{DAY_START}")] = 10_000
    # When the key writes just after midnight UTC
    status = limiter.consume(KEY, "standard", "write", datetime(2026, 4, 19, 0, 0, 1, tzinfo=UTC))
    # Then it passes
    assert status.remaining == 59


@pytest.mark.parametrize(
    ("tier", "read", "write", "day"),
    [("standard", 120, 60, 10_000), ("pilot", 1_200, 600, 100_000), ("partner", 6_000, 3_000, 500_000)],
)
def test_the_tier_table_is_the_contracts(tier, read, write, day):
    # Given a tier
    limits = TIER_LIMITS[tier]
    # Then its limits are the contract's
    assert (limits.read_per_minute, limits.write_per_minute, limits.writes_per_day) == (read, write, day)


@pytest.mark.parametrize(("tier", "limit"), [("standard", 60), ("pilot", 600), ("partner", 3_000)])
def test_the_headers_show_the_tiers_write_limit(limiter, tier, limit):
    # Given a key of a tier
    # When it writes
    status = limiter.consume(KEY, tier, "write", NOW)
    # Then the headers show that tier's limit
    assert (status.limit, status.remaining) == (limit, limit - 1)


def test_a_pilot_key_writes_beyond_the_standard_limit(limiter):
    # Given a pilot key with 60 writes this minute
    spend(limiter, 60, tier="pilot")
    # When it writes a 61st time
    # Then it passes
    assert limiter.consume(KEY, "pilot", "write", NOW).remaining == 539


def test_an_unknown_tier_is_limited_as_standard(limiter):
    # Given a key whose tier the limiter does not know
    # When it writes
    status = limiter.consume(KEY, "diamond", "write", NOW)
    # Then the standard limit applies
    assert status.limit == 60


def test_a_rejected_call_maps_to_429_with_retry_after():
    # Given a rejection
    from layers_common.http.envelope import error_response
    from layers_common.rate_limit import RateLimitStatus

    exceeded = RateLimitExceeded(49, "minute", RateLimitStatus("write", 60, 0, MINUTE_END))
    # When it is turned into a response
    response = error_response(exceeded, "req_1")
    # Then it is a 429 with Retry-After
    assert response["statusCode"] == 429
    assert response["multiValueHeaders"]["Retry-After"] == ["49"]


@pytest.mark.parametrize(
    ("minute_calls", "day_calls", "window"),
    [(60, 100, "minute"), (5, 10_000, "day"), (60, 10_000, "minute")],
    ids=["minute-full", "day-full", "both-full"],
)
def test_a_write_either_cap_refuses_changes_no_counter(limiter, store, minute_calls, day_calls, window):
    # Given a key with these counts this minute and today
    minute_name, day_name = f"write#m{MINUTE_END - 60}", f"write#d{DAY_START}"
    store.rate_counts[(KEY, minute_name)] = minute_calls
    store.rate_counts[(KEY, day_name)] = day_calls
    # When it writes
    with pytest.raises(RateLimitExceeded) as raised:
        limiter.consume(KEY, "standard", "write", NOW)
    # Then the minute window is named first, and neither counter moved (nothing to give back)
    assert raised.value.details == {"window": window}
    assert (store.window_count(KEY, minute_name), store.window_count(KEY, day_name)) == (
        minute_calls,
        day_calls,
    )
