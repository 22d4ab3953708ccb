"""The embedded DynamoDB: transactions roll back item by item, streams stay bounded.

Its own instance and table (not the shared session fixture), so counts of iterators and records
belong to these tests alone.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from leasing_cli.embedded_dynamodb import EmbeddedDynamoDB

TABLE = "EmbeddedTransactions"


def _client(service: Any, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with EmbeddedDynamoDB() as dynamodb:
        yield dynamodb.endpoint_url


@pytest.fixture
def dynamodb(endpoint: str) -> Any:
    client = _client("dynamodb", endpoint)
    if TABLE in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return client


def _key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _put(pk: str, value: int) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": {**_key(pk), "value": {"N": str(value)}}}}


def _items(dynamodb: Any) -> dict[str, str]:
    return {item["pk"]["S"]: item["value"]["N"] for item in dynamodb.scan(TableName=TABLE)["Items"]}


def _shard_reader(endpoint: str, dynamodb: Any) -> tuple[Any, str]:
    streams = _client("dynamodbstreams", endpoint)
    arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams, iterator["ShardIterator"]


def _read_all(streams: Any, iterator: str) -> tuple[list[dict[str, Any]], str]:
    records: list[dict[str, Any]] = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        iterator = page["NextShardIterator"]
        records += page["Records"]
        if not page["Records"]:
            return records, iterator


def _tables_alive() -> int:
    from moto.dynamodb.models.table import Table

    gc.collect()
    return sum(1 for value in gc.get_objects() if isinstance(value, Table))


def test_a_canceled_transaction_puts_back_every_item_it_touched_and_leaves_no_stream_records(
    endpoint: str, dynamodb: Any
) -> None:
    # Given two items and a reader that has read the stream so far
    dynamodb.transact_write_items(TransactItems=[_put("kept", 1), _put("updated", 1)])
    streams, iterator = _shard_reader(endpoint, dynamodb)
    _, iterator = _read_all(streams, iterator)
    # When a transaction that puts a new item, updates one and deletes one fails on its last check
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                _put("new", 9),
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key("updated"),
                        "UpdateExpression": "SET #v = :v",
                        "ExpressionAttributeNames": {"#v": "value"},
                        "ExpressionAttributeValues": {":v": {"N": "9"}},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": _key("kept")}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key("absent"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    # Then the items are as before, and the same reader sees no record of the canceled writes
    assert _items(dynamodb) == {"kept": "1", "updated": "1"}
    records, iterator = _read_all(streams, iterator)
    assert records == []
    # And a later write is seen by that reader
    dynamodb.transact_write_items(TransactItems=[_put("after", 2)])
    records, _ = _read_all(streams, iterator)
    assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in records] == ["after"]


def test_a_transaction_does_not_copy_the_table(dynamodb: Any) -> None:
    # Given a table with items
    from moto.dynamodb.models import dynamodb_backends

    dynamodb.transact_write_items(TransactItems=[_put(f"item{index}", index) for index in range(20)])
    backend = dynamodb_backends["123456789012"]["us-east-1"]
    table = backend.tables[TABLE]
    before = _tables_alive()
    # When transactions succeed and fail
    dynamodb.transact_write_items(TransactItems=[_put("one", 1)])
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                _put("two", 2),
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key("absent"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    # Then no table object was created (moto copied every table a transaction touched, per call)
    assert _tables_alive() == before
    assert backend.tables[TABLE] is table


def _items_alive() -> int:
    from moto.dynamodb.models.dynamo_type import Item

    gc.collect()
    return sum(1 for value in gc.get_objects() if isinstance(value, Item))


def test_reads_updates_and_transactions_keep_no_item_copies_alive(endpoint: str, dynamodb: Any) -> None:
    # Given 20 items, their stream read (read records are trimmed)
    dynamodb.transact_write_items(TransactItems=[_put(f"item{index}", index) for index in range(20)])
    streams, iterator = _shard_reader(endpoint, dynamodb)
    _, iterator = _read_all(streams, iterator)
    before = _items_alive()
    # When they are queried, read, updated and rewritten in transactions 100 times, stream read again
    for round_number in range(100):
        dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"item{round_number % 20}"}},
        )
        dynamodb.get_item(TableName=TABLE, Key=_key(f"item{round_number % 20}"))
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key(f"item{round_number % 20}"),
            UpdateExpression="SET #v = :v",
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={":v": {"N": str(round_number)}},
        )
        dynamodb.transact_write_items(TransactItems=[_put(f"item{round_number % 20}", round_number)])
    _read_all(streams, iterator)
    # Then only the stored items are alive: moto's instance registry kept every copy it made (each
    # query's results, each update's old image, each transaction's backup), ~9 KB per query
    assert _items_alive() == before


def test_concurrent_conditional_transactions_have_exactly_one_winner(dynamodb: Any) -> None:
    # Given 12 threads racing the same conditional transaction, 10 times over
    for race in range(10):
        outcomes: list[bool] = []
        lock = threading.Lock()
        start = threading.Barrier(12)

        def attempt(
            index: int,
            race: int = race,
            start: threading.Barrier = start,
            lock: threading.Lock = lock,
            outcomes: list[bool] = outcomes,
        ) -> None:
            start.wait()
            try:
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": TABLE,
                                "Item": {**_key(f"race{race}"), "value": {"N": str(index)}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": TABLE,
                                "Item": {**_key(f"race{race}", "B"), "value": {"N": str(index)}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
                won = True
            except ClientError:
                won = False
            with lock:
                outcomes.append(won)

        threads = [threading.Thread(target=attempt, args=(index,)) for index in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Then exactly one wins, and both of its items are there, written by the same thread
        assert outcomes.count(True) == 1
        items = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"race{race}"}},
        )["Items"]
        assert len(items) == 2
        assert len({item["value"]["N"] for item in items}) == 1


def test_stream_records_every_reader_has_passed_are_trimmed(endpoint: str, dynamodb: Any) -> None:
    from moto.dynamodb.models import dynamodb_backends

    # Given a reader at the start of the stream and 30 writes
    streams, iterator = _shard_reader(endpoint, dynamodb)
    for index in range(30):
        dynamodb.put_item(TableName=TABLE, Item={**_key(f"w{index}"), "value": {"N": "1"}})
    shard: Any = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE].stream_shard
    assert len(shard.items) == 30
    # When the reader reads them all
    records, iterator = _read_all(streams, iterator)
    # Then it got every record in order, and the shard keeps none of them
    assert [int(record["dynamodb"]["SequenceNumber"]) for record in records] == sorted(
        int(record["dynamodb"]["SequenceNumber"]) for record in records
    )
    assert len(records) == 30
    assert len(shard.items) == 0
    # And new writes are read after them, with higher sequence numbers
    dynamodb.put_item(TableName=TABLE, Item={**_key("later"), "value": {"N": "1"}})
    later, _ = _read_all(streams, iterator)
    assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in later] == ["later"]
    assert int(later[0]["dynamodb"]["SequenceNumber"]) > int(records[-1]["dynamodb"]["SequenceNumber"])


def test_records_a_slower_reader_has_not_read_are_kept_for_it(endpoint: str, dynamodb: Any) -> None:
    # Given two readers and 10 writes
    fast_streams, fast = _shard_reader(endpoint, dynamodb)
    slow_streams, slow = _shard_reader(endpoint, dynamodb)
    for index in range(10):
        dynamodb.put_item(TableName=TABLE, Item={**_key(f"w{index}"), "value": {"N": "1"}})
    # When the fast one reads everything
    fast_records, _ = _read_all(fast_streams, fast)
    # Then the slow one still reads every record
    slow_records, _ = _read_all(slow_streams, slow)
    assert len(fast_records) == len(slow_records) == 10


def test_polling_an_idle_stream_does_not_accumulate_iterators(endpoint: str, dynamodb: Any) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    # Given a reader on an idle stream
    streams, iterator = _shard_reader(endpoint, dynamodb)
    backend: Any = dynamodbstreams_backends["123456789012"]["us-east-1"]
    _, iterator = _read_all(streams, iterator)
    live = len(backend._live_iterators)
    # When it polls 200 times with nothing new
    for _ in range(200):
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    # Then no iterator was kept for those empty reads (moto kept one per call, forever)
    assert len(backend._live_iterators) == live
    assert backend.shard_iterators == {}


def test_an_iterator_at_a_trimmed_position_is_refused_as_aws_does(endpoint: str, dynamodb: Any) -> None:
    # Given a reader's first iterator, and a read that moved it past 5 records (trimmed then)
    streams, first = _shard_reader(endpoint, dynamodb)
    for index in range(5):
        dynamodb.put_item(TableName=TABLE, Item={**_key(f"w{index}"), "value": {"N": "1"}})
    _read_all(streams, first)
    # When the first iterator is used again
    with pytest.raises(ClientError) as error:
        streams.get_records(ShardIterator=first)
    # Then it is refused: its records are gone
    assert error.value.response["Error"]["Code"] == "TrimmedDataAccessException"


def test_a_reader_moving_through_the_stream_keeps_one_live_iterator(endpoint: str, dynamodb: Any) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    # Given a reader
    streams, iterator = _shard_reader(endpoint, dynamodb)
    backend: Any = dynamodbstreams_backends["123456789012"]["us-east-1"]
    _, iterator = _read_all(streams, iterator)
    live = len(backend._live_iterators)
    # When it reads 30 times, each time after a new write
    for index in range(30):
        dynamodb.put_item(TableName=TABLE, Item={**_key(f"n{index}"), "value": {"N": "1"}})
        page = streams.get_records(ShardIterator=iterator)
        assert len(page["Records"]) == 1
        iterator = page["NextShardIterator"]
    # Then the iterators it moved on from are not kept for 15 minutes each
    assert len(backend._live_iterators) == live
    # And the one before the current is still usable for a while (a retry may use it again)
    assert len(backend._consumed_iterators) >= 30


def test_the_serializing_lock_is_granted_in_order_of_arrival() -> None:
    from leasing_cli.embedded_dynamodb import FairLock

    # Given a held lock and five threads queueing for it one after the other
    lock = FairLock()
    lock.acquire()
    order: list[int] = []

    def take(index: int) -> None:
        with lock:
            order.append(index)

    threads = []
    for index in range(5):
        thread = threading.Thread(target=take, args=(index,))
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # each is waiting before the next arrives
    # When the holder releases it
    lock.release()
    for thread in threads:
        thread.join(5)
    # Then they got it in the order they asked
    assert order == [0, 1, 2, 3, 4]


def test_urgent_waiters_get_the_lock_before_earlier_ordinary_ones() -> None:
    from leasing_cli.embedded_dynamodb import FairLock

    # Given a held lock, three ordinary waiters, then two urgent ones (each queued before the next)
    lock = FairLock()
    lock.acquire()
    order: list[str] = []

    def take(name: str, urgent: bool) -> None:
        lock.acquire(urgent)
        order.append(name)
        lock.release()

    threads = []
    for name, urgent in (
        ("event1", False),
        ("event2", False),
        ("event3", False),
        ("api1", True),
        ("api2", True),
    ):
        thread = threading.Thread(target=take, args=(name, urgent))
        thread.start()
        threads.append(thread)
        time.sleep(0.05)
    # When the holder releases it
    lock.release()
    for thread in threads:
        thread.join(5)
    # Then the urgent ones went first, each group in order of arrival
    assert order == ["api1", "api2", "event1", "event2", "event3"]


def test_dynamodb_calls_made_inside_an_api_request_are_marked_urgent(endpoint: str) -> None:
    from botocore.session import get_session

    from leasing_cli.embedded_dynamodb import PRIORITY_HEADER, api_request

    # Given a client created the way the functions create theirs (after the embedded DynamoDB started)
    client: Any = get_session().create_client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    seen: list[str | None] = []
    client.meta.events.register(
        "before-send.dynamodb", lambda request, **_: seen.append(request.headers.get(PRIORITY_HEADER))
    )
    # When it calls from the event path, then inside an API request, then after it
    client.list_tables()
    with api_request():
        client.list_tables()
    client.list_tables()
    # Then only the API request's call is marked
    assert seen == [None, "api", None]


# --------------------------------------------------------------- ClientRequestToken (idempotency)


def _claim(pk: str) -> dict[str, Any]:
    """A put that succeeds only while the item does not exist (a second run would be canceled)."""
    return {
        "Put": {
            "TableName": TABLE,
            "Item": {**_key(pk), "value": {"N": "1"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def test_a_retried_transaction_with_its_client_token_succeeds_without_writing_again(
    endpoint: str, dynamodb: Any
) -> None:
    # Given a conditional transaction that was applied with a client token (its answer "lost")
    dynamodb.transact_write_items(TransactItems=[_claim("token-1")], ClientRequestToken="retry-token-1")
    streams, iterator = _shard_reader(endpoint, dynamodb)
    before, iterator = _read_all(streams, iterator)

    # When botocore retries it with the same token, as it does after a read timeout
    dynamodb.transact_write_items(TransactItems=[_claim("token-1")], ClientRequestToken="retry-token-1")

    # Then the retry succeeds (not canceled by its own first run) and nothing is written again
    assert _items(dynamodb) == {"token-1": "1"}
    again, _ = _read_all(streams, iterator)
    assert len(before) == 1
    assert again == []


def test_the_same_client_token_with_another_payload_is_a_parameter_mismatch(dynamodb: Any) -> None:
    # Given a transaction applied with a client token
    dynamodb.transact_write_items(TransactItems=[_put("token-2", 1)], ClientRequestToken="retry-token-2")
    # When another transaction reuses that token
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[_put("token-2", 2)], ClientRequestToken="retry-token-2")
    # Then DynamoDB's error, and nothing changed
    assert raised.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert _items(dynamodb) == {"token-2": "1"}


def test_a_canceled_transaction_leaves_no_token_so_its_retry_runs_again(dynamodb: Any) -> None:
    # Given a transaction canceled by its condition (the item exists)
    dynamodb.put_item(TableName=TABLE, Item={**_key("token-3"), "value": {"N": "7"}})
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[_claim("token-3")], ClientRequestToken="retry-token-3")
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    # When the item is gone and the same call is retried with its token
    dynamodb.delete_item(TableName=TABLE, Key=_key("token-3"))
    dynamodb.transact_write_items(TransactItems=[_claim("token-3")], ClientRequestToken="retry-token-3")
    # Then it ran afresh
    assert _items(dynamodb) == {"token-3": "1"}
