"""Unit tests: no network at all, fakes for our own ports, a clock that stands still."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytest_socket import disable_socket, enable_socket

from layers_common.principal import Principal
from layers_common.repository.records import OrgRecord
from layers_common.settings import Settings
from tests.fakes import FakeLeasingStore, FixedClock
from tests.unit.seeding import ORG, OTHER_ORG, OTHER_ORG_PROJECT, OTHER_PROJECT, PROJECT, STANDARD_PRICE


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Every unit test runs with sockets off (unix sockets stay allowed for local tooling)."""
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 4, 18, 19, 24, 11, tzinfo=UTC))


@pytest.fixture
def settings() -> Settings:
    return Settings(table_name="leasing-unit", standard_monthly_price_cents=STANDARD_PRICE)


@pytest.fixture
def store() -> FakeLeasingStore:
    """Org A (two projects, a wallet of $3,000) and org B (one project)."""
    fake = FakeLeasingStore()
    fake.put_org(OrgRecord(org_id=ORG, name="Org A", status="active"))
    fake.put_org(OrgRecord(org_id=OTHER_ORG, name="Org B", status="active"))
    fake.put_project(ORG, PROJECT)
    fake.put_project(ORG, OTHER_PROJECT)
    fake.put_project(OTHER_ORG, OTHER_ORG_PROJECT)
    fake.put_wallet(ORG, 300_000)
    fake.put_wallet(OTHER_ORG, 300_000)
    return fake


@pytest.fixture
def caller() -> Principal:
    return Principal(
        org_id=ORG, key_id="KEYA000000000001", scopes=frozenset({"*"}), tier="standard", env="test"
    )
