"""Function settings, validated from the environment when an invocation starts and cached after."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Every setting a function of this service reads; defaults suit the local runtime."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1)
    event_bus_name: str = "leasing"
    stage: str = "dev"
    standard_monthly_price_cents: int = Field(default=15000, ge=1)
    idempotency_window_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lock_seconds: int = Field(default=30, ge=1)
    tracing_enabled: bool = False
    metrics_namespace: str = "Layers/Leasing"
    # Whether this stage accepts `lp_test_` keys (template parameter AcceptTestKeys): fail closed.
    accept_test_keys: bool = False
    # Secret the list endpoint's cursor HMAC key is derived from (template: CURSOR_SIGNING_KEY).
    cursor_signing_key: str = ""


_ENV = {
    "table_name": "TABLE_NAME",
    "event_bus_name": "EVENT_BUS_NAME",
    "stage": "STAGE",
    "standard_monthly_price_cents": "STANDARD_MONTHLY_PRICE_CENTS",
    "idempotency_window_seconds": "IDEMPOTENCY_WINDOW_SECONDS",
    "idempotency_lock_seconds": "IDEMPOTENCY_LOCK_SECONDS",
    "tracing_enabled": "TRACING_ENABLED",
    "metrics_namespace": "POWERTOOLS_METRICS_NAMESPACE",
    "accept_test_keys": "ACCEPT_TEST_KEYS",
    "cursor_signing_key": "CURSOR_SIGNING_KEY",
}


@cache
def get_settings() -> Settings:
    """Read the settings once per execution environment (never at import time)."""
    values = {field: os.environ[var] for field, var in _ENV.items() if var in os.environ}
    return Settings.model_validate(values)
