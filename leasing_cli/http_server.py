"""A small threaded HTTP/1.1 server on h11 that a careless client cannot break.

h11 (a maintained, strict HTTP/1.1 state machine) parses and frames; this module adds the socket
work with limits, so that:

- every answer, including framing errors (bad `Content-Length`, bad chunk size, a malformed request
  line), oversized headers (431) or URLs (414) and oversized bodies (413), comes from the
  application's `error_reply` (the gateway renders its gateway responses: the contract's envelope
  and `X-Request-Id`);
- each read waits at most `read_timeout` seconds and a whole request (headers and body) at most
  `request_timeout`: an idle, trickling or lying client (more bytes announced than sent) is
  answered 408 if it started a request, and its connection closed;
- a client that hangs up costs nothing but a closed socket (no traceback);
- `stop(grace)` stops accepting, closes idle keep-alive connections and lets requests in flight
  finish (up to `grace` seconds) before returning.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import h11

READ_TIMEOUT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 30.0
MAX_HEADER_BYTES = 16 * 1024
MAX_TARGET_BYTES = 8 * 1024
MAX_CONNECTIONS = 256
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    client: str


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


#: The application: a request → its reply. Exceptions it raises are answered with a 500.
Application = Callable[[HttpRequest], HttpReply]
#: Renders an error the server itself answers: (status, message) → reply.
ErrorReply = Callable[[int, str], HttpReply]

_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}


class _ClientGone(Exception):
    """The client closed the connection, or sent nothing in time before a request started."""


class _RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Connection:
    def __init__(self, server: ThreadedHTTPServer, sock: socket.socket, client: str) -> None:
        self.server = server
        self.sock = sock
        self.client = client
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=server.max_header_bytes)
        self.busy = False  # a request has started (bytes received) and is not answered yet
        self.started = 0.0  # when its first byte came

    # -- reading -------------------------------------------------------------------------------

    def _next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        """The next h11 event; a request (from its first byte) must arrive within the deadline."""
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            timeout = self.server.read_timeout
            if self.busy:
                timeout = min(timeout, self.started + self.server.request_timeout - time.monotonic())
                if timeout <= 0:
                    raise _RequestError(408, "The request was not received in time.")
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                if self.busy:
                    raise _RequestError(408, "The request was not received in time.") from None
                raise _ClientGone from None
            except OSError:
                raise _ClientGone from None
            if data and not self.busy:
                self.busy, self.started = True, time.monotonic()
            elif not data and not self.busy:
                raise _ClientGone
            self.h11.receive_data(data)

    def _read_request(self) -> HttpRequest | None:
        """The next request; None when the client is done (closed, idle, or the server stops)."""
        self.busy = bool(self.h11.trailing_data[0])  # pipelined bytes: a request has started
        self.started = time.monotonic()
        try:
            event = self._next_event()
        except _ClientGone:
            return None
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):  # pragma: no cover - h11 gives a Request first
            raise _RequestError(400, "Malformed request.")
        target = event.target.decode("latin-1")
        if len(event.target) > self.server.max_target_bytes:
            raise _RequestError(414, "The request URL is too long.")
        raw_headers = event.headers.raw_items()
        if sum(len(name) + len(value) + 4 for name, value in raw_headers) > self.server.max_header_bytes:
            raise _RequestError(431, "The request headers are too large.")
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers]
        length = next((value for name, value in headers if name.lower() == "content-length"), None)
        if length is not None and int(length) > self.server.max_body_bytes:
            raise _RequestError(413, "The request body is too large.")
        if self.h11.they_are_waiting_for_100_continue:
            self._send(h11.InformationalResponse(status_code=100, headers=[]))
        body = bytearray()
        while True:
            part = self._next_event()
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > self.server.max_body_bytes:
                    raise _RequestError(413, "The request body is too large.")
            elif isinstance(part, h11.EndOfMessage):
                break
            else:  # ConnectionClosed before the end of the body
                raise _ClientGone
        method = event.method.decode("latin-1")
        return HttpRequest(
            method=method, target=target, headers=headers, body=bytes(body), client=self.client
        )

    # -- writing -------------------------------------------------------------------------------

    def _send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if data:
            self.sock.sendall(data)

    def _reply(self, method: str, reply: HttpReply, close: bool) -> None:
        headers = [(name, value) for name, value in reply.headers if name.lower() not in _HOP_BY_HOP]
        headers.append(("Content-Length", str(len(reply.body))))
        if close or self.server.stopping:
            headers.append(("Connection", "close"))
        try:
            reason = HTTPStatus(reply.status).phrase.encode()
        except ValueError:
            reason = b""
        self.sock.settimeout(self.server.read_timeout)
        self._send(
            h11.Response(
                status_code=reply.status,
                headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
                reason=reason,
            )
        )
        if method != "HEAD" and reply.body:
            self._send(h11.Data(data=reply.body))
        self._send(h11.EndOfMessage())

    def _error(self, status: int, message: str) -> None:
        """Answer an error the server found, if h11 still lets us answer, then close."""
        if self.h11.our_state not in {h11.IDLE, h11.SEND_RESPONSE}:
            return
        reply = self.server.error_reply(status, message)
        with contextlib.suppress(h11.LocalProtocolError):
            self._reply("GET", reply, close=True)

    # -- the loop ------------------------------------------------------------------------------

    def serve(self) -> None:
        try:
            while not self.server.stopping:
                try:
                    request = self._read_request()
                except _RequestError as error:
                    self._error(error.status, error.message)
                    return
                except h11.RemoteProtocolError as error:
                    status = error.error_status_hint
                    message = (
                        "The request headers are too large." if status == 431 else "Malformed HTTP request."
                    )
                    self._error(status, message)
                    return
                except ValueError:  # e.g. a Content-Length h11 accepted but int() cannot read
                    self._error(400, "Malformed HTTP request.")
                    return
                except _ClientGone:
                    return
                if request is None:
                    return
                reply = self.server.answer(request)
                self._reply(request.method, reply, close=False)
                self.busy = False
                if self.h11.our_state is h11.MUST_CLOSE or self.server.stopping:
                    return
                try:
                    self.h11.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except OSError:  # the client hung up while we wrote: nothing to say to anyone
            return
        finally:
            self.close()

    def close(self) -> None:
        """A lingering close: stop writing, read (briefly) what the client still sends, close.

        Closing with unread bytes makes the kernel reset the connection, and a client still
        sending (an oversized body, a refused connection) would lose the answer already sent.
        """
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            drained = 0
            while drained < LINGER_BYTES and (remaining := deadline - time.monotonic()) > 0:
                self.sock.settimeout(remaining)
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        with contextlib.suppress(OSError):
            self.sock.close()


class ThreadedHTTPServer:
    """Accepts on `address`; one daemon thread per connection, at most `max_connections`."""

    def __init__(
        self,
        address: tuple[str, int],
        application: Application,
        error_reply: ErrorReply,
        *,
        max_body_bytes: int,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        max_header_bytes: int = MAX_HEADER_BYTES,
        max_target_bytes: int = MAX_TARGET_BYTES,
        max_connections: int = MAX_CONNECTIONS,
        access_log: bool = False,
    ) -> None:
        self.application = application
        self.error_reply = error_reply
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self.request_timeout = request_timeout
        self.max_header_bytes = max_header_bytes
        self.max_target_bytes = max_target_bytes
        self.max_connections = max_connections
        self.access_log = access_log
        self.stopping = False
        self._socket = socket.create_server(address, backlog=128)
        self.server_address: tuple[str, int] = self._socket.getsockname()[:2]
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._accepting = threading.Event()
        self._accept_done = threading.Event()
        self._accept_done.set()

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}"

    def answer(self, request: HttpRequest) -> HttpReply:
        try:
            reply = self.application(request)
        except Exception as error:  # the application's own bug: still an envelope, never a hang-up
            print(
                f"[http] {request.method} failed: {type(error).__name__}: {error}",
                file=sys.stderr,
                flush=True,
            )
            reply = self.error_reply(500, "Internal error.")
        if self.access_log:
            path = request.target.split("?", 1)[0]
            print(f"{request.method} {path} {reply.status}", file=sys.stderr, flush=True)
        return reply

    def serve_forever(self) -> None:
        """Accept connections until `shutdown()` or `stop()`."""
        self._accept_done.clear()
        self._accepting.set()
        self._socket.settimeout(0.1)
        try:
            while self._accepting.is_set():
                try:
                    sock, address = self._socket.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if not self._accepting.is_set():
                        break
                    continue
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection = _Connection(self, sock, str(address[0]))
                with self._lock:
                    full = len(self._connections) >= self.max_connections
                    if not full:
                        self._connections.add(connection)
                if full:
                    threading.Thread(target=self._refuse, args=(connection,), daemon=True).start()
                    continue
                threading.Thread(
                    target=self._run, args=(connection,), name="http-connection", daemon=True
                ).start()
        finally:
            self._accept_done.set()

    def _refuse(self, connection: _Connection) -> None:
        with contextlib.suppress(OSError):
            connection._error(429, "Too many connections.")
        connection.close()

    def _run(self, connection: _Connection) -> None:
        try:
            connection.serve()
        finally:
            with self._lock:
                self._connections.discard(connection)
                self._idle.notify_all()

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="local-api-gateway", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        """Stop accepting (connections already open are served until they close)."""
        self._accepting.clear()
        self._accept_done.wait(5)

    def stop(self, grace: float = 1.0) -> None:
        """Stop accepting, close idle connections, wait up to `grace` for requests in flight."""
        self.stopping = True
        self.shutdown()
        deadline = time.monotonic() + grace
        with self._lock:
            while True:
                for connection in list(self._connections):
                    if not connection.busy:  # waiting for a next request: wake it and close
                        with contextlib.suppress(OSError):
                            connection.sock.shutdown(socket.SHUT_RD)
                remaining = deadline - time.monotonic()
                if not self._connections or remaining <= 0:
                    break
                self._idle.wait(min(remaining, 0.05))
        self.server_close()

    def server_close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()
