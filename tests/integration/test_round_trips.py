"""DynamoDB round trips per endpoint call are counted and may not grow (architecture.md §7).

A botocore `before-call` hook on the functions' DynamoDB client counts one entry per API call (SDK
retries of a call are not counted twice), attributed to the function being invoked. The bounds are
today's counts (docs/data-model.md, last paragraph; `bench/round_trips.py` prints the same table):
a change that adds a round trip fails here and must say why in the doc and in these bounds.
Every write also pays one rate-limit UpdateItem on its day counter (two for the first write of a
minute), every read one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from layers_common.dependencies import reset_dependencies
from layers_common.repository.dynamodb import dynamodb_client
from leasing_cli.gateway import GatewayReply, LocalApiGateway
from tests.integration.conftest import Api
from tests.world import World, lease_body

AUTHORIZER = "AuthorizerFunction"
REQUEST_URL = "/v1/projects/prj_a/leased-accounts/request"


@dataclass
class RoundTrips:
    """DynamoDB operation names by the function that called them, for the calls made since `clear`."""

    current: str = "(outside a function)"
    calls: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.setdefault(self.current, []).append(model.name)

    def clear(self) -> None:
        self.calls.clear()

    @property
    def authorizer(self) -> list[str]:
        return self.calls.get(AUTHORIZER, [])

    @property
    def function(self) -> list[str]:
        return [
            name for function_id, names in self.calls.items() if function_id != AUTHORIZER for name in names
        ]


@pytest.fixture
def round_trips(
    gateway: LocalApiGateway, world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RoundTrips]:
    """Count on the client the functions use; the gateway's runtime says which function is running."""
    reset_dependencies()  # the functions' next client is the one counted here
    counter = RoundTrips()
    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb", counter)
    invoke = gateway.runtime.invoke

    def attributed_invoke(logical_id: str, event: Any) -> Any:
        previous, counter.current = counter.current, logical_id
        try:
            return invoke(logical_id, event)
        finally:
            counter.current = previous

    monkeypatch.setattr(gateway.runtime, "invoke", attributed_invoke)
    yield counter
    client.meta.events.unregister("before-call.dynamodb", counter)


def counted(round_trips: RoundTrips, call: Any) -> GatewayReply:
    round_trips.clear()
    reply: GatewayReply = call()
    return reply


def test_the_authorizer_reads_the_key_and_its_organization_in_two_get_items(
    api: Api, round_trips: RoundTrips
) -> None:
    # Given a valid key (the local gateway does not cache the authorizer, so every call runs it)
    # When a read is made
    reply = counted(round_trips, lambda: api.get("/v1/leased-accounts"))
    # Then the authorizer made two GetItems: the key, then its organization
    assert reply.status == 200
    assert round_trips.authorizer == ["GetItem", "GetItem"]


def test_a_lease_request_without_an_idempotency_key_costs_at_most_four_round_trips(
    api: Api, round_trips: RoundTrips
) -> None:
    # Given a project with a funded wallet
    # When a lease request is posted without an Idempotency-Key
    reply = counted(round_trips, lambda: api.post(REQUEST_URL, json_body=lease_body()))
    # Then the function used the rate counter (1-2), BatchGetItem and one TransactWriteItems
    assert reply.status == 202
    assert len(round_trips.function) <= 4, round_trips.function


def test_a_lease_request_with_an_idempotency_key_costs_at_most_five_round_trips(
    api: Api, round_trips: RoundTrips
) -> None:
    # Given a project with a funded wallet
    # When a lease request is posted with an Idempotency-Key
    reply = counted(
        round_trips,
        lambda: api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "rt-1"}),
    )
    # Then the idempotency claim (PutItem) is the only round trip added
    assert reply.status == 202
    assert len(round_trips.function) <= 5, round_trips.function


def test_replaying_a_lease_request_costs_at_most_four_round_trips(api: Api, round_trips: RoundTrips) -> None:
    # Given a lease request accepted with an Idempotency-Key
    first = api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "rt-2"})
    assert first.status == 202
    # When the same request is sent again with the same key
    reply = counted(
        round_trips,
        lambda: api.post(REQUEST_URL, json_body=lease_body(), headers={"Idempotency-Key": "rt-2"}),
    )
    # Then the stored answer is replayed without a transaction
    assert reply.status == 202
    assert reply.header("Idempotent-Replayed") == "true"
    assert len(round_trips.function) <= 4, round_trips.function
    assert "TransactWriteItems" not in round_trips.function


@pytest.mark.parametrize(
    "route",
    ["/v1/projects/prj_a/leased-accounts/requests/{id}", "/v1/leased-accounts/requests/{id}"],
)
def test_polling_a_lease_request_costs_at_most_two_round_trips_on_either_route(
    api: Api, round_trips: RoundTrips, route: str
) -> None:
    # Given an accepted lease request
    accepted = api.post(REQUEST_URL, json_body=lease_body())
    assert accepted.status == 202
    request_id = accepted.json()["requestId"]
    # When it is polled
    reply = counted(round_trips, lambda: api.get(route.format(id=request_id)))
    # Then the function used the read rate window and one GetItem
    assert reply.status == 200
    assert len(round_trips.function) <= 2, round_trips.function


@pytest.mark.parametrize(
    ("target", "bound"),
    [
        ("/v1/projects/prj_a/leased-accounts", 3),  # rate, project GetItem, Query gsi2
        ("/v1/leased-accounts", 2),  # rate, Query gsi1
        ("/v1/leased-accounts?projectId=prj_a", 3),  # rate, project GetItem, Query gsi2
    ],
)
def test_listing_leased_accounts_costs_at_most_two_or_three_round_trips(
    api: Api, round_trips: RoundTrips, target: str, bound: int
) -> None:
    # Given an organization with leases in two projects
    # When its leased accounts are listed
    reply = counted(round_trips, lambda: api.get(target))
    # Then one Query answers it, after the rate window (and the project check when one is named)
    assert reply.status == 200
    assert len(round_trips.function) <= bound, round_trips.function
    assert round_trips.function.count("Query") == 1


def test_releasing_a_leased_account_costs_at_most_five_round_trips(api: Api, round_trips: RoundTrips) -> None:
    # Given an account leased to the caller's organization
    # When it is released
    reply = counted(round_trips, lambda: api.delete("/v1/leased-accounts/sa_leased_1"))
    # Then: the rate counter (1-2), GetItem account, GetItem lease, one TransactWriteItems
    assert reply.status == 200
    assert len(round_trips.function) <= 5, round_trips.function


def test_revoking_a_social_account_costs_at_most_five_round_trips(api: Api, round_trips: RoundTrips) -> None:
    # Given a connected account with queued posts
    # When it is revoked
    reply = counted(round_trips, lambda: api.delete("/v1/social-accounts/sa_byo_a"))
    # Then: the rate counter (1-2), GetItem account, Query posts, one TransactWriteItems
    assert reply.status == 200
    assert len(round_trips.function) <= 5, round_trips.function
