"""An in-process DynamoDB (moto's server app) on a free loopback port, one request at a time.

moto's server is not atomic under concurrent writes: with `ThreadedMotoServer`, 16 threads racing
the same conditional `TransactWriteItems` produced two winners in 1 of 200 races. Serializing the
WSGI app behind one lock removes that hole, so the local runtime can be trusted with concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class SerializedApp:
    """A WSGI app that handles one request at a time, body included."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return list(result)  # the response is produced inside the lock, not while streaming
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def _request_handler() -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):
        """moto's handler without the per-request access log line."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return QuietRequestHandler


def keep_stream_shard_on_rollback() -> None:
    """Keep a table's stream when moto rolls a canceled transaction back.

    moto restores a canceled TransactWriteItems by swapping in a copy of the table made before it,
    stream shard included, so a stream reader holding iterators on the live shard stops seeing new
    records (and may have seen the canceled writes'). DynamoDB keeps one stream whatever happens:
    we put the live shard back on the restored table, without the canceled writes' records.
    """
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_keeps_stream_shard", False):
        return

    def transact_write_items(self: Any, transact_items: Any) -> None:
        live = dict(self.tables)
        lengths = {name: len(table.stream_shard.items) for name, table in live.items() if table.stream_shard}
        try:
            original(self, transact_items)
        except BaseException:
            for name, table in live.items():
                restored, shard = self.tables.get(name), table.stream_shard
                if restored is not None and restored is not table and shard is not None:
                    del shard.items[lengths[name] :]  # the canceled writes never happened
                    shard.table = restored
                    restored.stream_shard = shard  # iterators already handed out keep reading it
            raise

    transact_write_items._keeps_stream_shard = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


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

        keep_stream_shard_on_rollback()

        app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=_request_handler()
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="embedded-dynamodb", daemon=True
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
