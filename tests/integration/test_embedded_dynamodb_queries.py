"""The embedded DynamoDB's partition reads answer every Query exactly as moto's own code does.

`indexed_queries` hands moto's `Table.query` only the queried partition (kept per secondary index
as items are written, updated in place, deleted and rolled back). Hypothesis drives a table with
two GSIs through puts, updates that move items between index partitions or out of a sparse index,
deletes and transactions that are canceled (on the session's embedded DynamoDB: conftest's
`dynamodb`); after each round, each query is asked twice, through the indexed path and then through
moto's original `Table.query`, and the answers must be identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TABLE = "EmbeddedQueries"
PARTITIONS = ["P#1", "P#2", "P#3"]
GROUPS = ["G#a", "G#b"]
SORT_KEYS = [f"{prefix}#{index:02d}" for prefix in ("LEASE", "LREQ", "LEDGER") for index in range(6)]


def _fresh_table(client: Any) -> None:
    if TABLE in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (
                ("pk", "S"),
                ("sk", "S"),
                ("g1pk", "S"),
                ("g1sk", "S"),
                ("g2pk", "S"),
                ("g2n", "N"),
            )
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "g1pk", "KeyType": "HASH"},
                    {"AttributeName": "g1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gsi2",
                "KeySchema": [
                    {"AttributeName": "g2pk", "KeyType": "HASH"},
                    {"AttributeName": "g2n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


@contextmanager
def _moto_own_query() -> Iterator[None]:
    from moto.dynamodb.models.table import Table

    indexed = Table.query
    Table.query = indexed.__wrapped__  # type: ignore[attr-defined,method-assign]
    try:
        yield
    finally:
        Table.query = indexed  # type: ignore[method-assign]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


operations = st.one_of(
    st.tuples(
        st.just("put"),
        st.sampled_from(PARTITIONS),
        st.sampled_from(SORT_KEYS),
        st.sampled_from([*GROUPS, None]),
        st.integers(0, 30),
    ),
    st.tuples(
        st.just("move"),
        st.sampled_from(PARTITIONS),
        st.sampled_from(SORT_KEYS),
        st.sampled_from([*GROUPS, None]),
        st.integers(0, 30),
    ),
    st.tuples(
        st.just("delete"), st.sampled_from(PARTITIONS), st.sampled_from(SORT_KEYS), st.none(), st.none()
    ),
    st.tuples(
        st.just("canceled"),
        st.sampled_from(PARTITIONS),
        st.sampled_from(SORT_KEYS),
        st.sampled_from(GROUPS),
        st.integers(0, 30),
    ),
)


def _apply(client: Any, operation: tuple[str, str, str, str | None, int | None]) -> None:
    kind, pk, sk, group, number = operation
    if kind == "put":
        item: dict[str, Any] = {**_key(pk, sk), "g2pk": {"S": pk}, "g2n": {"N": str(number)}}
        if group is not None:  # sparse: only some items are in gsi1
            item |= {"g1pk": {"S": group}, "g1sk": {"S": f"{number:03d}#{sk}"}}
        client.put_item(TableName=TABLE, Item=item)
    elif kind == "move":  # an update in place that moves the item to another gsi1 partition or out
        if group is None:
            expression, values = "REMOVE g1pk, g1sk SET g2n = :n", {":n": {"N": str(number)}}
        else:
            expression = "SET g1pk = :g, g1sk = :s, g2n = :n"
            values = {":g": {"S": group}, ":s": {"S": f"{number:03d}#{sk}"}, ":n": {"N": str(number)}}
        client.update_item(
            TableName=TABLE, Key=_key(pk, sk), UpdateExpression=expression, ExpressionAttributeValues=values
        )
    elif kind == "delete":
        client.delete_item(TableName=TABLE, Key=_key(pk, sk))
    else:  # a transaction that writes, then is canceled by a failed condition: rolled back
        with pytest.raises(ClientError) as canceled:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": _key(pk, sk),
                            "UpdateExpression": "SET g1pk = :g, g1sk = :s",
                            "ExpressionAttributeValues": {":g": {"S": group}, ":s": {"S": f"{number:03d}"}},
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": _key("P#none", "none"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        assert canceled.value.response["Error"]["Code"] == "TransactionCanceledException"


def _queries() -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = []
    for pk in [*PARTITIONS, "P#missing"]:
        base = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        queries += [
            base,
            {**base, "ScanIndexForward": False, "Limit": 4},
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": "LEASE#"}},
            },
            {
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
                "ExpressionAttributeValues": {
                    ":pk": {"S": pk},
                    ":low": {"S": "LEDGER"},
                    ":high": {"S": "LREQ#03"},
                },
                "Limit": 3,
            },
            {
                **base,
                "FilterExpression": "g2n > :n",
                "ExpressionAttributeValues": {":pk": {"S": pk}, ":n": {"N": "10"}},
            },
            {
                "IndexName": "gsi2",
                "KeyConditionExpression": "g2pk = :pk AND g2n <= :n",
                "ExpressionAttributeValues": {":pk": {"S": pk}, ":n": {"N": "15"}},
                "ScanIndexForward": False,
            },
        ]
    for group in [*GROUPS, "G#missing"]:
        queries += [
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "g1pk = :g",
                "ExpressionAttributeValues": {":g": {"S": group}},
            },
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "g1pk = :g AND g1sk < :s",
                "ExpressionAttributeValues": {":g": {"S": group}, ":s": {"S": "015"}},
                "Limit": 2,
            },
        ]
    return queries


def _every_page(client: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        arguments = {"TableName": TABLE, **query, **({"ExclusiveStartKey": start} if start else {})}
        response = client.query(**arguments)
        pages.append(
            {name: response.get(name) for name in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")}
        )
        start = response.get("LastEvaluatedKey")
        if not start or len(pages) > 50:
            return pages


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rounds=st.lists(st.lists(operations, min_size=1, max_size=25), min_size=1, max_size=2))
def test_every_query_answers_as_moto_own_query_does_after_any_writes(dynamodb: Any, rounds: Any) -> None:
    # Given a table with two secondary indexes (one sparse, one numeric)
    _fresh_table(dynamodb)
    for operations_of_round in rounds:
        # When puts, in-place updates, deletes and canceled transactions happen
        for operation in operations_of_round:
            _apply(dynamodb, operation)
        # Then every query (every page of it) answers as moto's original query does
        for query in _queries():
            indexed = _every_page(dynamodb, query)
            with _moto_own_query():
                original = _every_page(dynamodb, query)
            assert indexed == original, query


def test_a_query_costs_its_partition_not_the_table(dynamodb: Any) -> None:
    # Given a small partition in a table, timed; then the same table with 3,000 more items elsewhere
    _fresh_table(dynamodb)

    def put(pk: str, index: int) -> None:
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                **_key(pk, f"LEASE#{index:05d}"),
                "g1pk": {"S": pk},
                "g1sk": {"S": f"{index:05d}"},
                "g2pk": {"S": pk},
                "g2n": {"N": str(index)},
            },
        )

    for index in range(5):
        put("P#small", index)

    def key_comparisons() -> int:
        from moto.dynamodb.models.dynamo_type import DynamoType

        # Count key comparisons instead of timing: moto's own path compares every item of the table.
        counted = [0]
        original = DynamoType.__lt__

        def counting(self: Any, other: Any) -> bool:
            counted[0] += 1
            return bool(original(self, other))

        DynamoType.__lt__ = counting  # type: ignore[method-assign]
        try:
            for index_name, key in ((None, "pk"), ("gsi1", "g1pk")):
                extra = {"IndexName": index_name} if index_name else {}
                dynamodb.query(
                    TableName=TABLE,
                    KeyConditionExpression=f"{key} = :pk",
                    ExpressionAttributeValues={":pk": {"S": "P#small"}},
                    **extra,
                )
            return counted[0]
        finally:
            DynamoType.__lt__ = original  # type: ignore[method-assign]

    small_table = key_comparisons()
    for index in range(3000):
        put(f"P#big{index % 40}", index)

    # When the small partition is queried again (table and gsi1)
    large_table = key_comparisons()

    # Then the work done is the partition's: no more key comparisons than with 5 items in all
    assert large_table == small_table, (small_table, large_table)
