"""`Layers` (sync) and `AsyncLayers`: the HTTP pipeline with retries, and the resources on top."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar, Union

import httpx

from layers._base import (
    DEFAULT_MAX_RETRIES,
    Call,
    NicheInput,
    default_headers,
    delete_call,
    get_request_call,
    lease_request_call,
    list_call,
    log_attempt,
    log_retry,
    rate_limit_pause,
    resolve_config,
    segment,
)
from layers._exceptions import (
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    WaitTimeoutError,
    error_from_response,
)
from layers._retries import CallShape, retry_after_error, retry_after_response, retry_delay
from layers.types import (
    LayersModel,
    LeasedAccount,
    LeasedAccountPage,
    LeaseRequest,
    LeaseRequestAccepted,
    ReleasedAccount,
    RevokedSocialAccount,
)

M = TypeVar("M", bound=LayersModel)

DEFAULT_WAIT_TIMEOUT = 120.0
DEFAULT_POLL_INTERVAL = 1.0
MAX_POLL_INTERVAL = 10.0


def _connection_error(error: Exception) -> APIConnectionError:
    if isinstance(error, httpx.TimeoutException):
        return APITimeoutError(f"The request timed out ({type(error).__name__}).")
    return APIConnectionError(f"Connection error: {type(error).__name__}: {error}")


def _next_poll(interval: float) -> float:
    return min(interval * 1.5, MAX_POLL_INTERVAL)


# --------------------------------------------------------------------------------------- sync


class Layers:
    """Client for the Layers partner API.

    `api_key` defaults to env `LAYERS_API_KEY`, `base_url` to env `LAYERS_BASE_URL`, else
    `https://api.layers.com`. `debug=True` (or env `LAYERS_LOG=debug`) logs method, path, status and
    request id of every attempt to the `layers` logger; never a header, so never the key.
    """

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: Union[float, httpx.Timeout, None] = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: Optional[httpx.Client] = None,
        debug: Optional[bool] = None,
    ) -> None:
        self._config = resolve_config(api_key, base_url, timeout, max_retries, debug)
        self._owns_client = http_client is None
        self._http = http_client or httpx.Client(timeout=self._config.timeout)
        self._sleep: Callable[[float], None] = time.sleep
        self.leased_accounts = LeasedAccounts(self)
        self.social_accounts = SocialAccounts(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> "Layers":
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def _send(self, call: Call) -> httpx.Response:
        """Send `call`, retrying where that cannot make the server act twice; raise on non-2xx."""
        shape = CallShape(call.method, call.idempotency_key is not None)
        headers = {**default_headers(self._config), **call.headers()}
        url = self._config.base_url + call.path
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(
                call.method,
                url,
                headers=headers,
                params=call.params,
                json=call.json_body,
                timeout=self._config.timeout,
            )
            try:
                response = self._http.send(request)
            except httpx.TransportError as error:
                log_attempt(call.method, request.url, attempt, None, error)
                if attempt <= self._config.max_retries and retry_after_error(shape, error):
                    delay = retry_delay(attempt)
                    log_retry(delay)
                    self._sleep(delay)
                    continue
                raise _connection_error(error) from error
            log_attempt(call.method, request.url, attempt, response, None)
            if response.is_success:
                return response
            if attempt <= self._config.max_retries and retry_after_response(shape, response):
                delay = retry_delay(attempt, response)
                log_retry(delay)
                self._sleep(delay)
                continue
            raise error_from_response(response)

    def _call(self, call: Call, model: type[M]) -> M:
        response = self._send(call)
        return model.from_wire(response.json(), response.headers.get("X-Request-Id"))


class LeasedAccounts:
    def __init__(self, client: Layers) -> None:
        self._client = client

    def request(
        self,
        project_id: str,
        count: int,
        niche: NicheInput,
        target: Optional[str] = None,
        note: Optional[str] = None,
        request_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> LeaseRequestAccepted:
        """Ask for `count` warmed accounts in `niche` (202: poll it with `get_request`/`wait_for_request`).

        Without `idempotency_key` the SDK generates one (a UUID), reused by its own retries.
        """
        call = lease_request_call(
            project_id=project_id,
            count=count,
            niche=niche,
            target=target,
            note=note,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        return self._client._call(call, LeaseRequestAccepted)

    def get_request(self, request_id: str, project_id: Optional[str] = None) -> LeaseRequest:
        """A lease request by id (the project route when `project_id` is given)."""
        return self._client._call(get_request_call(request_id, project_id), LeaseRequest)

    def wait_for_request(
        self,
        request_id: str,
        project_id: Optional[str] = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> LeaseRequest:
        """Poll until the request leaves `requested`; raise `WaitTimeoutError` (with `.last`) after `timeout`.

        Polls back off from `poll_interval` (x1.5 each time, at most 10 s), pause until the window
        resets when the read budget is spent, and wait out a 429's `Retry-After`.
        """
        deadline = time.monotonic() + timeout
        interval = poll_interval
        last: Optional[LeaseRequest] = None
        call = get_request_call(request_id, project_id)
        while True:
            pause = interval
            try:
                response = self._client._send(call)
            except RateLimitError as error:
                pause = max(interval, error.retry_after or 0.0)
            else:
                last = LeaseRequest.from_wire(response.json(), response.headers.get("X-Request-Id"))
                if not last.is_pending:
                    return last
                pause = max(interval, rate_limit_pause(response))
            if time.monotonic() + pause > deadline:
                raise WaitTimeoutError(
                    f"Lease request {request_id} was still {last.status if last else 'unknown'} "
                    f"after {timeout:g}s.",
                    last=last,
                )
            self._client._sleep(pause)
            interval = _next_poll(interval)

    def list(
        self, project_id: Optional[str] = None, status: str = "assigned", limit: Optional[int] = None
    ) -> "SyncPager":
        """Every leased account (newest first), fetched page by page as you iterate.

        `limit` is the page size (1-200; the server's default is 50).
        """

        def fetch(cursor: Optional[str]) -> LeasedAccountPage:
            return self._client._call(list_call(project_id, status, limit, cursor), LeasedAccountPage)

        return SyncPager(fetch)

    def release(self, social_account_id: str, reason: Optional[str] = None) -> ReleasedAccount:
        """Give a leased account back; billing stops. Not retried once it may have reached the server."""
        call = delete_call(f"/v1/leased-accounts/{segment(social_account_id)}", reason)
        return self._client._call(call, ReleasedAccount)


class SocialAccounts:
    def __init__(self, client: Layers) -> None:
        self._client = client

    def revoke(self, social_account_id: str, reason: Optional[str] = None) -> RevokedSocialAccount:
        """Revoke a connected (BYO) account; leased accounts answer 409 LEASED_ACCOUNT."""
        call = delete_call(f"/v1/social-accounts/{segment(social_account_id)}", reason)
        return self._client._call(call, RevokedSocialAccount)


class SyncPager:
    """Lazy iteration over every item of a cursor-paginated list: a page is fetched when needed."""

    def __init__(self, fetch: Callable[[Optional[str]], LeasedAccountPage]) -> None:
        self._fetch = fetch

    def pages(self) -> Iterator[LeasedAccountPage]:
        cursor: Optional[str] = None
        while True:
            page = self._fetch(cursor)
            yield page
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def __iter__(self) -> Iterator[LeasedAccount]:
        for page in self.pages():
            yield from page.items


# -------------------------------------------------------------------------------------- async


class AsyncLayers:
    """The asynchronous client: the same surface as `Layers`, with `await` and `async for`."""

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: Union[float, httpx.Timeout, None] = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: Optional[httpx.AsyncClient] = None,
        debug: Optional[bool] = None,
    ) -> None:
        self._config = resolve_config(api_key, base_url, timeout, max_retries, debug)
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self._config.timeout)
        self._sleep: Callable[[float], Any] = asyncio.sleep
        self.leased_accounts = AsyncLeasedAccounts(self)
        self.social_accounts = AsyncSocialAccounts(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    async def close(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncLayers":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    async def _send(self, call: Call) -> httpx.Response:
        shape = CallShape(call.method, call.idempotency_key is not None)
        headers = {**default_headers(self._config), **call.headers()}
        url = self._config.base_url + call.path
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(
                call.method,
                url,
                headers=headers,
                params=call.params,
                json=call.json_body,
                timeout=self._config.timeout,
            )
            try:
                response = await self._http.send(request)
            except httpx.TransportError as error:
                log_attempt(call.method, request.url, attempt, None, error)
                if attempt <= self._config.max_retries and retry_after_error(shape, error):
                    delay = retry_delay(attempt)
                    log_retry(delay)
                    await self._sleep(delay)
                    continue
                raise _connection_error(error) from error
            log_attempt(call.method, request.url, attempt, response, None)
            if response.is_success:
                return response
            if attempt <= self._config.max_retries and retry_after_response(shape, response):
                delay = retry_delay(attempt, response)
                log_retry(delay)
                await self._sleep(delay)
                continue
            raise error_from_response(response)

    async def _call(self, call: Call, model: type[M]) -> M:
        response = await self._send(call)
        return model.from_wire(response.json(), response.headers.get("X-Request-Id"))


class AsyncLeasedAccounts:
    def __init__(self, client: AsyncLayers) -> None:
        self._client = client

    async def request(
        self,
        project_id: str,
        count: int,
        niche: NicheInput,
        target: Optional[str] = None,
        note: Optional[str] = None,
        request_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> LeaseRequestAccepted:
        call = lease_request_call(
            project_id=project_id,
            count=count,
            niche=niche,
            target=target,
            note=note,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        return await self._client._call(call, LeaseRequestAccepted)

    async def get_request(self, request_id: str, project_id: Optional[str] = None) -> LeaseRequest:
        return await self._client._call(get_request_call(request_id, project_id), LeaseRequest)

    async def wait_for_request(
        self,
        request_id: str,
        project_id: Optional[str] = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> LeaseRequest:
        deadline = time.monotonic() + timeout
        interval = poll_interval
        last: Optional[LeaseRequest] = None
        call = get_request_call(request_id, project_id)
        while True:
            pause = interval
            try:
                response = await self._client._send(call)
            except RateLimitError as error:
                pause = max(interval, error.retry_after or 0.0)
            else:
                last = LeaseRequest.from_wire(response.json(), response.headers.get("X-Request-Id"))
                if not last.is_pending:
                    return last
                pause = max(interval, rate_limit_pause(response))
            if time.monotonic() + pause > deadline:
                raise WaitTimeoutError(
                    f"Lease request {request_id} was still {last.status if last else 'unknown'} "
                    f"after {timeout:g}s.",
                    last=last,
                )
            await self._client._sleep(pause)
            interval = _next_poll(interval)

    def list(
        self, project_id: Optional[str] = None, status: str = "assigned", limit: Optional[int] = None
    ) -> "AsyncPager":
        async def fetch(cursor: Optional[str]) -> LeasedAccountPage:
            return await self._client._call(list_call(project_id, status, limit, cursor), LeasedAccountPage)

        return AsyncPager(fetch)

    async def release(self, social_account_id: str, reason: Optional[str] = None) -> ReleasedAccount:
        call = delete_call(f"/v1/leased-accounts/{segment(social_account_id)}", reason)
        return await self._client._call(call, ReleasedAccount)


class AsyncSocialAccounts:
    def __init__(self, client: AsyncLayers) -> None:
        self._client = client

    async def revoke(self, social_account_id: str, reason: Optional[str] = None) -> RevokedSocialAccount:
        call = delete_call(f"/v1/social-accounts/{segment(social_account_id)}", reason)
        return await self._client._call(call, RevokedSocialAccount)


class AsyncPager:
    """`async for` over every item of a cursor-paginated list, a page fetched when needed."""

    def __init__(self, fetch: Callable[[Optional[str]], Any]) -> None:
        self._fetch = fetch

    async def pages(self) -> AsyncIterator[LeasedAccountPage]:
        cursor: Optional[str] = None
        while True:
            page: LeasedAccountPage = await self._fetch(cursor)
            yield page
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def __aiter__(self) -> AsyncIterator[LeasedAccount]:
        async for page in self.pages():
            for item in page.items:
                yield item


__all__ = ["AsyncLayers", "AsyncPager", "Layers", "SyncPager"]
