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
