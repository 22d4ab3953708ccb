"""An in-process DynamoDB (moto's server app) on a free loopback port, one request at a time.

moto's server is not atomic under concurrent writes: with `ThreadedMotoServer`, 16 threads racing
the same conditional `TransactWriteItems` produced two winners in 1 of 200 races. Serializing the
WSGI app behind one lock removes that hole, so the local runtime can be trusted with concurrency.

Since everything waits on that lock, what moto does per request must cost what DynamoDB's work
costs, not the table's size: transactions roll back the items they touched instead of copying
every table (`transactions_roll_back_items`), a Query reads its partition instead of sorting the
whole table (`indexed_queries`), the stream keeps neither every record nor every shard iterator
forever (`bounded_streams`), moto's instance registry keeps no item alive (`untracked_models`) and
its dispatcher lists its modules once (`cached_module_list`). A transaction's `ClientRequestToken`
makes its retries idempotent, as in DynamoDB (`idempotent_transactions`), and an API request's
calls are served before the event path's (`api_calls_first`). They patch moto's classes (and
botocore's built-in handler list), once per process.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


#: The header an API request's DynamoDB calls carry (see `api_calls_first`).
PRIORITY_HEADER = "X-Leasing-Local-Priority"
_caller = threading.local()


class FairLock:
    """A mutual-exclusion lock granted in order of arrival, urgent waiters first.

    `threading.Lock` makes no promise of order: under steady contention (the event path's workers
    and every API call share the embedded DynamoDB) one waiter can lose the race again and again,
    which showed as a plain GET taking 14 s. Here each waiter queues and `release` hands the lock
    to the oldest urgent waiter, else the oldest waiter: a request waits for at most the requests
    that arrived before it (and, if it is not urgent, the urgent ones).
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._urgent: deque[threading.Lock] = deque()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, urgent: bool = False) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            (self._urgent if urgent else self._waiters).append(turn)
        turn.acquire()  # released by `release`, which hands the lock over (it stays held)

    def release(self) -> None:
        with self._guard:
            if self._urgent:
                self._urgent.popleft().release()
            elif self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


class SerializedApp:
    """A WSGI app that handles one request at a time, body included: API calls first, then in
    order of arrival."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = FairLock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        urgent = environ.get("HTTP_" + PRIORITY_HEADER.upper().replace("-", "_")) == "api"
        self._lock.acquire(urgent)
        try:
            result = self._app(environ, start_response)
            try:
                return list(result)  # the response is produced inside the lock, not while streaming
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            self._lock.release()


@contextmanager
def api_request() -> Iterator[None]:
    """The DynamoDB calls this thread makes meanwhile are an API request's (see `api_calls_first`)."""
    _caller.api = True
    try:
        yield
    finally:
        _caller.api = False


def _mark_api_call(request: Any, **_kwargs: Any) -> None:
    if getattr(_caller, "api", False):
        request.headers[PRIORITY_HEADER] = "api"


def api_calls_first() -> None:
    """An API request's DynamoDB calls go before the event path's waiting ones.

    On AWS a partner's GET never queues behind the consumers' writes: DynamoDB serves both at once.
    Here one embedded DynamoDB serves one call at a time, so while 100 lease requests were being
    assigned a GET waited behind the event path's calls at each of its round trips. Every botocore
    session created from now on marks the calls of a thread inside `api_request()` (the local API
    gateway's), and `SerializedApp` serves those first. The event path still gets every turn the
    API leaves: it catches up as soon as requests pause.
    """
    from botocore import handlers

    entry = ("before-send.dynamodb", _mark_api_call)
    if entry not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(entry)


def _request_handler() -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):
        """moto's handler without the per-request access log line."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return QuietRequestHandler


class _CopyKeepingTables:
    """moto's `copy` module as seen by its DynamoDB backend, with `deepcopy(table)` the table itself.

    moto backs up every table a TransactWriteItems touches with `copy.deepcopy(table)` (all items
    and the whole stream shard) and swaps the copy in on cancelation: O(table size) time and garbage
    per transaction, under the lock every request waits on. `transactions_roll_back_items` makes
    that backup a no-op and restores only the items the transaction touched.
    """

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _touched_items(backend: Any, transact_items: Any) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for each item a transaction names."""
    touched: list[tuple[Any, Any, Any, Any]] = []
    for entry in transact_items if isinstance(transact_items, list) else []:
        try:
            _, operation = next(iter(entry.items()))
            table = backend.tables.get(operation.get("TableName"))
            if table is None:
                continue
            if "Item" in operation:
                attributes = operation["Item"]
                key = {table.hash_key_attr: attributes[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attributes[table.range_key_attr]
            else:
                key = operation["Key"]
            hash_key, range_key = backend.get_keys_value(table, key)
        except Exception:  # noqa: S112 - a malformed entry: moto rejects it before writing anything for it
            continue
        item = table.get_item(hash_key, range_key)
        touched.append((table, hash_key, range_key, copy.deepcopy(item) if item is not None else None))
    return touched


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """Put one item back as it was (or absent), without a stream record: the write never happened."""
    _mark(table, (hash_key, range_key))
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    bucket = table.items.get(hash_key)
    if item is not None:
        table.items[hash_key][range_key] = item
    elif bucket is not None:
        bucket.pop(range_key, None)
        if not bucket:
            del table.items[hash_key]


def transactions_roll_back_items() -> None:
    """TransactWriteItems in moto, rolled back item by item instead of by swapping table copies.

    Before the transaction, each item it names is copied (or noted absent) and each stream shard's
    length noted; if it fails, those items are put back and the stream records it appended are
    removed. The table object and its stream shard stay the same (a stream reader's iterators keep
    working, as DynamoDB keeps one stream whatever happens). Atomicity needs the caller to serialize
    requests, as `SerializedApp` does: nothing else writes while a transaction runs.
    """
    import moto.dynamodb.models as dynamodb_models

    backend_class = dynamodb_models.DynamoDBBackend
    original = backend_class.transact_write_items
    if getattr(original, "_rolls_back_items", False):
        return
    setattr(dynamodb_models, "copy", _CopyKeepingTables())  # noqa: B010 - moto names `copy` privately

    def transact_write_items(self: Any, transact_items: Any) -> None:
        touched = _touched_items(self, transact_items)
        shards = {
            id(table): (table, len(table.stream_shard.items)) for table, *_ in touched if table.stream_shard
        }
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in reversed(touched):
                _restore(table, hash_key, range_key, item)
            for table, length in shards.values():
                del table.stream_shard.items[length:]
            raise

    transact_write_items._rolls_back_items = True  # type: ignore[attr-defined]
    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]


#: DynamoDB keeps a TransactWriteItems client token for 10 minutes after the call completed.
CLIENT_TOKEN_SECONDS = 10 * 60


def idempotent_transactions() -> None:
    """TransactWriteItems honours `ClientRequestToken`, as DynamoDB does (moto ignores it).

    botocore fills the token in once per call and sends the same one on each of its own retries. So
    when a first attempt was applied but its answer came too late (a read timeout under load), the
    retry must succeed without writing again — not run afresh and fail its conditions, which a
    handler would read as "already released" (a 404 for a release that just worked). DynamoDB: a
    repeat of a successful call with the same token within 10 minutes succeeds and changes nothing;
    the same token with a different payload is `IdempotentParameterMismatchException`; a failed
    call leaves no token behind, so its retry runs.
    """
    import hashlib
    import json
    from collections import OrderedDict

    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items
    if getattr(original, "_honours_client_token", False):
        return

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not isinstance(token, str) or not token:
            return original(self)
        payload = {name: value for name, value in self.body.items() if name != "ClientRequestToken"}
        fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        backend = self.dynamodb_backend
        tokens: OrderedDict[str, tuple[float, str, Any]] = backend.__dict__.setdefault(
            "_client_tokens", OrderedDict()
        )
        now = time.monotonic()
        while tokens and now - next(iter(tokens.values()))[0] > CLIENT_TOKEN_SECONDS:
            tokens.popitem(last=False)
        seen = tokens.get(token)
        if seen is not None:
            if seen[1] != fingerprint:
                raise DynamodbException(
                    ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical request.",
                )
            return seen[2]
        result = original(self)  # raises when canceled: no token is kept
        tokens[token] = (time.monotonic(), fingerprint, result)  # 10 minutes from completion
        return result

    transact_write_items._honours_client_token = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def cached_module_list() -> None:
    """moto's dispatcher lists its own package directory once, not on every request.

    `DomainDispatcherApplication.get_backend_for_host` asks `list_of_moto_modules()` (an
    `os.listdir` and an `isdir` per entry, ~200 of them) on each request, under the lock every
    request waits on: ~8% of the process's CPU under load. The listing cannot change while the
    process runs.
    """
    import functools

    from moto import backends

    listing = backends.list_of_moto_modules
    if isinstance(listing, functools._lru_cache_wrapper):
        return
    modules = tuple(listing())
    backends.list_of_moto_modules = functools.cache(lambda: modules)


class _Untracked(list[Any]):
    """An `instances_tracked` list that keeps nothing."""

    def append(self, _instance: Any) -> None:
        return None


def untracked_models() -> None:
    """moto's DynamoDB models are not kept alive by moto's instance registry.

    moto's `BaseModel.__new__` appends every instance it creates to its class's `instances_tracked`
    (for the moto dashboard, which this runtime does not serve): every item ever written, and every
    copy moto makes of one (each Query's results, each UpdateItem's old image, each transaction's
    backup), and every stream record. Nothing released them, so a read-only Query kept ~9 KB for
    good: most of `leasing serve`'s growth over a day. The DynamoDB and DynamoDB Streams model
    classes get a registry that keeps nothing, so an item lives as long as its table holds it.
    """
    import importlib

    from moto.core.model_instances import model_data

    for service in ("dynamodb", "dynamodbstreams"):
        importlib.import_module(f"moto.{service}.models")  # registers the service's model classes
        for model in model_data[service].values():
            if not isinstance(getattr(model, "instances_tracked", None), _Untracked):
                model.instances_tracked = _Untracked()  # type: ignore[attr-defined]


def _every_item(table: Any) -> Iterator[Any]:
    """The table's items in storage order (moto's `all_items` sorts the whole table first)."""
    if table.range_key_attr:
        for bucket in table.items.values():
            yield from bucket.values()
    else:
        yield from table.items.values()


def _stored(table: Any, key: tuple[Any, Any]) -> Any:
    """The item stored under (hash key, range key), or None."""
    hash_key, range_key = key
    held = table.items.get(hash_key)  # `.get`: moto's `items` is a defaultdict
    if held is None or not table.range_key_attr:
        return held
    return held.get(range_key)


class _SecondaryIndexes:
    """Each secondary index of one table as partitions: index hash key values -> {item key: item}.

    Every write path marks the item keys it touched (moto also updates items in place, so an
    item's old index keys are remembered here, not read back from it); the next indexed query
    files those keys again before it reads. `dirty = None` means "file every item again".
    """

    def __init__(self) -> None:
        self.filed: dict[tuple[Any, Any], dict[str, tuple[Any, ...]]] = {}
        self.partitions: dict[str, dict[tuple[Any, ...], dict[tuple[Any, Any], Any]]] = {}
        self.dirty: set[tuple[Any, Any]] | None = None

    @staticmethod
    def of(table: Any) -> _SecondaryIndexes:
        indexes: _SecondaryIndexes | None = table.__dict__.get("_secondary_indexes")
        if indexes is None:
            indexes = table.__dict__["_secondary_indexes"] = _SecondaryIndexes()
        return indexes

    def touched(self, key: tuple[Any, Any]) -> None:
        if self.dirty is not None:
            self.dirty.add(key)

    def partition(self, table: Any, index: Any, hash_values: tuple[Any, ...]) -> list[Any]:
        self._catch_up(table)
        return list(self.partitions.get(index.name, {}).get(hash_values, {}).values())

    def _catch_up(self, table: Any) -> None:
        if self.dirty is None:
            self.filed.clear()
            self.partitions.clear()
            keys: Iterable[tuple[Any, Any]] = [(item.hash_key, item.range_key) for item in _every_item(table)]
        else:
            keys = self.dirty
        hash_attributes = {
            index.name: [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
            for index in table.all_indexes()
        }
        for key in keys:
            for name, values in self.filed.pop(key, {}).items():
                members = self.partitions[name][values]
                members.pop(key, None)
                if not members:
                    del self.partitions[name][values]
            item = _stored(table, key)
            if item is None:
                continue
            filed: dict[str, tuple[Any, ...]] = {}
            for name, attributes in hash_attributes.items():
                values = tuple(item.attrs.get(attribute) for attribute in attributes)
                if values and all(value is not None and value.type in ("S", "N", "B") for value in values):
                    self.partitions.setdefault(name, {}).setdefault(values, {})[key] = item
                    filed[name] = values
            if filed:
                self.filed[key] = filed
        self.dirty = set()


def _mark(table: Any, key: tuple[Any, Any] | None) -> None:
    """An item of `table` may have changed (None: any item may have)."""
    indexes = _SecondaryIndexes.of(table)
    if key is None:
        indexes.dirty = None
    else:
        indexes.touched(key)


def _is_string(value: Any) -> bool:
    return value is not None and value.type == "S"


def _query_candidates(table: Any, arguments: dict[str, Any]) -> list[Any] | None:
    """The items a Query can return, found the way DynamoDB finds them (by partition), or None
    when the query is one this shortcut does not cover (moto's own path then runs unchanged)."""
    if arguments.get("filter_kwargs"):  # the legacy KeyConditions/QueryFilter API
        return None
    index_name = arguments.get("index_name")
    range_comparison = arguments.get("range_comparison")
    if index_name is None:
        hash_key = arguments.get("hash_key")
        if hash_key is None:
            return None
        bucket = table.items.get(hash_key)
        if bucket is None:
            return []
        candidates = list(bucket.values()) if table.range_key_attr else [bucket]
        if all(_is_string(item.range_key) for item in candidates):
            candidates.sort(key=lambda item: item.range_key.value)  # moto's order, without its casts
        return candidates
    index = next((index for index in table.all_indexes() if index.name == index_name), None)
    if index is None:
        return None  # moto rejects it
    hash_attributes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    range_attributes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    wanted = dict(arguments.get("hash_key_conditions") or [])
    if sorted(wanted) != sorted(hash_attributes) or (range_comparison and not range_attributes):
        return None  # moto answers (or rejects) it
    candidates = _SecondaryIndexes.of(table).partition(
        table, index, tuple(wanted[name] for name in hash_attributes)
    )
    # In moto's own order (index keys, then the table's), so its sort has nothing left to do.
    order = hash_attributes + range_attributes + [table.hash_key_attr]
    order += [table.range_key_attr] if table.range_key_attr else []
    if all(_is_string(item.attrs.get(name)) for item in candidates for name in order):
        candidates.sort(key=lambda item: tuple(item.attrs[name].value for name in order))
    return candidates


def _key_of(table: Any, attributes: dict[str, Any]) -> tuple[Any, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_key = DynamoType(attributes[table.hash_key_attr])
        range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    except Exception:  # a malformed request: moto rejected it; re-file everything to be safe
        return None
    return hash_key, range_key


def indexed_queries() -> None:
    """Query reads one partition, as in DynamoDB, instead of sorting the whole table first.

    moto's `Table.query` starts from `all_items()`, every item of the table sorted by key with
    moto's cast comparisons, then keeps the partition asked for: a query's cost grew with the table
    (17 ms at 500 items, 157 ms at 8,000; a GSI query 248 ms), under the lock every request waits
    on, so a day of use slowed every call down. Here a query's candidates are its partition's items
    (the table's own, or a secondary index's, kept by `_SecondaryIndexes` as writes happen), put in
    moto's order; they are what `all_items()` returns during that query, and moto's own code then
    applies the sort-key condition, sorts, pages, filters and projects them exactly as before (the
    sort-key condition is not applied early: moto's `LastEvaluatedKey` depends on the items after
    the last match).
    """
    import inspect

    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models.table import Table

    original = Table.query
    if getattr(original, "_reads_one_partition", False):
        return
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        candidates = _query_candidates(self, arguments)
        if candidates is None:
            return original(self, *args, **kwargs)
        self.all_items = lambda: candidates  # this call only; the class's method is untouched
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    query._reads_one_partition = True  # type: ignore[attr-defined]
    query.__wrapped__ = original  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]

    # Every way an item changes marks it for the indexes.
    put_item, delete_item = Table.put_item, Table.delete_item

    def marking_put_item(self: Any, item_attrs: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return put_item(self, item_attrs, *args, **kwargs)
        finally:
            _mark(self, _key_of(self, item_attrs) if isinstance(item_attrs, dict) else None)

    def marking_delete_item(self: Any, hash_key: Any, range_key: Any = None) -> Any:
        try:
            return delete_item(self, hash_key, range_key)
        finally:
            _mark(self, (hash_key, range_key if self.range_key_attr else None))

    Table.put_item = marking_put_item  # type: ignore[method-assign]
    Table.delete_item = marking_delete_item  # type: ignore[method-assign]

    backend_class = dynamodb_models.DynamoDBBackend
    update_item = backend_class.update_item

    def marking_update_item(self: Any, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            if table is not None:
                _mark(table, _key_of(table, key) if isinstance(key, dict) else None)

    backend_class.update_item = marking_update_item  # type: ignore[method-assign]

    # PartiQL writes items its own way: file every item again after it.
    for name in ("execute_statement", "execute_transaction", "batch_execute_statement"):
        method = getattr(backend_class, name, None)
        if method is None:
            continue

        def marking_all(self: Any, *args: Any, __method: Any = method, **kwargs: Any) -> Any:
            try:
                return __method(self, *args, **kwargs)
            finally:
                for table in list(self.tables.values()):
                    _mark(table, None)

        setattr(backend_class, name, marking_all)


#: DynamoDB Streams: a shard iterator expires 15 minutes after it is returned; records live 24 h.
ITERATOR_LIFETIME_SECONDS = 15 * 60
RECORD_RETENTION_SECONDS = 24 * 3600
#: An iterator a reader has moved on from (it used the NextShardIterator it got) is kept this long
#: only: a poller makes one per read, and keeping each for 15 minutes held ~20 MB at a steady load.
CONSUMED_ITERATOR_SECONDS = 60


def bounded_streams() -> None:
    """moto's DynamoDB Streams without its two unbounded lists.

    moto keeps every shard iterator it ever returned (one per GetRecords call, polled or not) and
    every stream record forever. Here, as in DynamoDB Streams: an iterator expires 15 minutes after
    it was last returned (`ExpiredIteratorException`), one its reader has moved on from after 60 s
    (a local economy; AWS keeps it 15 minutes); an empty read returns the same iterator (same
    position); and records are trimmed once every reader has passed them, or after 24 hours. A
    reader is the newest iterator of each chain (GetShardIterator, then each NextShardIterator), so
    the trim horizon is the slowest live reader's position; reading a trimmed position fails with
    `TrimmedDataAccessException`, as in AWS.
    """
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams import models as streams_models

    iterator_class = streams_models.ShardIterator
    backend_class = streams_models.DynamoDBStreamsBackend
    if getattr(backend_class, "_bounded", False):
        return
    original_get_shard_iterator = backend_class.get_shard_iterator

    def state(backend: Any) -> tuple[dict[str, tuple[float, Any]], dict[str, Any]]:
        """(every usable iterator by ARN → (returned or consumed at, iterator), the newest of each
        reader chain). Consumed iterators (a reader moved on to the successor) stay usable for
        `CONSUMED_ITERATOR_SECONDS`, the others for `ITERATOR_LIFETIME_SECONDS`."""
        if not hasattr(backend, "_live_iterators"):
            backend._live_iterators = {}
            backend._consumed_iterators = {}
            backend._reader_heads = {}
            backend.shard_iterators.clear()  # moto's own registry is replaced by these
        return backend._live_iterators, backend._reader_heads

    def expire(
        entries: dict[str, tuple[float, Any]], now: float, lifetime: float, heads: dict[str, Any]
    ) -> None:
        while entries:
            oldest_arn, (at, _) = next(iter(entries.items()))
            if now - at <= lifetime:
                return
            del entries[oldest_arn]
            heads.pop(oldest_arn, None)

    def returned(backend: Any, iterator: Any, replaces: Any = None) -> None:
        live, heads = state(backend)
        consumed: dict[str, tuple[float, Any]] = backend._consumed_iterators
        now = time.monotonic()
        live.pop(iterator.arn, None)
        live[iterator.arn] = (now, iterator)  # insertion order = order of last return
        if replaces is not None and replaces is not iterator:
            heads.pop(replaces.arn, None)
            if live.pop(replaces.arn, None) is not None:
                consumed[replaces.arn] = (now, replaces)
        heads[iterator.arn] = iterator
        expire(live, now, ITERATOR_LIFETIME_SECONDS, heads)
        expire(consumed, now, CONSUMED_ITERATOR_SECONDS, heads)
        backend.shard_iterators.clear()

    def trim(backend: Any, shard: Any) -> None:
        _, heads = state(backend)
        positions = [head.sequence_number for head in heads.values() if head.stream_shard is shard]
        keep_from = min(positions) if positions else shard.starting_sequence_number
        horizon = datetime.now(UTC) - timedelta(seconds=RECORD_RETENTION_SECONDS)
        expired = 0
        for record in shard.items:
            created = record.record["dynamodb"].get("ApproximateCreationDateTime")
            if not isinstance(created, datetime) or _aware(created) >= horizon:
                break
            expired += 1
        count = max(keep_from - shard.starting_sequence_number, expired)
        if count > 0:
            del shard.items[:count]
            shard.starting_sequence_number += count

    def get_shard_iterator(self: Any, *args: Any, **kwargs: Any) -> Any:
        iterator = original_get_shard_iterator(self, *args, **kwargs)
        returned(self, iterator)
        return iterator

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        live, _ = state(self)
        entry = live.get(iterator_arn) or self._consumed_iterators.get(iterator_arn)
        if entry is None:
            raise JsonRESTError(
                "ExpiredIteratorException",
                "Iterator expired. The iterator was created over 15 minutes ago or is not valid.",
            )
        iterator = entry[1]
        shard = iterator.stream_shard
        if iterator.sequence_number < shard.starting_sequence_number:
            raise JsonRESTError(
                "TrimmedDataAccessException", "The records at this iterator's position were trimmed."
            )
        records = shard.get(iterator.sequence_number, limit)
        successor = iterator
        if records:
            last = max(int(record["dynamodb"]["SequenceNumber"]) for record in records)
            successor = iterator_class(self, shard, "AFTER_SEQUENCE_NUMBER", last)
        returned(self, successor, replaces=iterator)
        trim(self, shard)
        return {"NextShardIterator": successor.arn, "Records": records}

    backend_class.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]
    backend_class.get_records = get_records  # type: ignore[method-assign]
    backend_class._bounded = True  # type: ignore[attr-defined]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class EmbeddedDynamoDB:
    """moto's DynamoDB (and DynamoDB Streams) served on `host:port` (0 = a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedDynamoDB is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> EmbeddedDynamoDB:
        if self._server is not None:
            return self
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        transactions_roll_back_items()
        idempotent_transactions()
        bounded_streams()
        indexed_queries()
        untracked_models()
        cached_module_list()
        api_calls_first()

        app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=_request_handler()
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns within 50 ms, not 500
            name="embedded-dynamodb",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmbeddedDynamoDB:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
