"""The HTTP plumbing of the web connectors: one client, retries, rate limits, redaction.

Every request goes through `HttpSource.get`, which waits for the source's rate limiter and
its concurrency slot, retries 429/5xx/timeouts/connection errors with exponential backoff
and jitter (honouring `Retry-After`), and turns any final failure into a one-line,
secret-free `SourceError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from umwi_core import Settings, SourceError, redact

__all__ = [
    "HttpResponse",
    "HttpSource",
    "RateLimiter",
    "ordered_gather",
    "sync_iter",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The longest `Retry-After` we obey; a server asking for more fails the run clearly instead.
MAX_RETRY_AFTER_S = 120.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class _RedactingFilter(logging.Filter):
    """httpx logs every request URL at INFO; query strings may hold an API key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactingFilter()
for _name in ("httpx", "httpcore"):
    if _FILTER not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_FILTER)


class RateLimiter:
    """Weighted sliding-window quotas, e.g. 600 per minute and 5 000 per hour together.

    aiolimiter's leaky bucket lets a full bucket burst on top of the steady rate, which can
    exceed a fixed "N per minute" quota twice over; a sliding log of (time, weight) cannot.
    """

    def __init__(
        self,
        windows: Iterable[tuple[float, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.windows = tuple((float(limit), float(seconds)) for limit, seconds in windows)
        for limit, seconds in self.windows:
            if limit <= 0 or seconds <= 0:
                raise ValueError(f"rate window {limit}/{seconds}s must be positive")
        self._clock = clock
        self._sleep = sleep
        self._log: deque[tuple[float, float]] = deque()
        self._locks: dict[int, asyncio.Lock] = {}

    def _lock(self) -> asyncio.Lock:
        # One limiter outlives event loops (each sync run has its own); a lock may not.
        loop = id(asyncio.get_running_loop())
        lock = self._locks.get(loop)
        if lock is None:
            self._locks = {loop: (lock := asyncio.Lock())}
        return lock

    def _wait_needed(self, weight: float, now: float) -> float:
        longest = max(seconds for _, seconds in self.windows)
        while self._log and self._log[0][0] <= now - longest:
            self._log.popleft()
        wait = 0.0
        for limit, seconds in self.windows:
            used = [(at, w) for at, w in self._log if at > now - seconds]
            total = sum(w for _, w in used)
            excess = total + weight - limit
            # Drop the oldest entries until the new weight fits; it fits once they expire.
            for at, w in used:
                if excess <= 1e-9:
                    break
                excess -= w
                wait = max(wait, at + seconds - now)
        return wait

    async def acquire(self, weight: float = 1.0) -> None:
        for limit, seconds in self.windows:
            if weight > limit:
                raise SourceError(
                    f"a request of weight {weight:g} exceeds the quota of {limit:g} per "
                    f"{seconds:g} s; ask for fewer locations, variables or days per request"
                )
        async with self._lock():
            while True:
                now = self._clock()
                wait = self._wait_needed(weight, now)
                if wait <= 0:
                    self._log.append((now, weight))
                    return
                log.info("rate limit: waiting %.1f s", wait)
                await self._sleep(wait)


@dataclass(frozen=True)
class HttpResponse:
    """A successful answer: the body exactly as received plus what bronze metadata needs."""

    status: int
    url: str  # redacted
    content: bytes
    headers: Mapping[str, str]
    attempts: int
    requested_at: datetime
    elapsed_s: float

    def meta(self, **extra: object) -> dict[str, object]:
        return {
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "requested_at": self.requested_at.isoformat(),
            "elapsed_s": round(self.elapsed_s, 3),
            "content_type": self.headers.get("content-type"),
            **extra,
        }


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


ErrorDescriber = Callable[[httpx.Response], str]


def _default_describe(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] if text else response.reason_phrase


@dataclass
class HttpSource:
    """One web source: base URL, credentials, quota and how to read its error bodies.

    `secrets` are the values to redact from every message; `params`/`headers` go on every
    request (API keys, tokens). Use as an async context manager.
    """

    name: str
    base_url: str
    settings: Settings
    limiter: RateLimiter | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    describe_error: ErrorDescriber = _default_describe
    transport: httpx.AsyncBaseTransport | None = None
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    async def __aenter__(self) -> HttpSource:
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": "application/json", **self.headers},
            timeout=httpx.Timeout(self.settings.http_timeout_s),
            transport=self.transport,
            follow_redirects=False,
        )
        self._slots = asyncio.Semaphore(self.settings.http_concurrency)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def _url(self, path: str, params: Mapping[str, str]) -> str:
        url = httpx.URL(self.base_url + path).copy_merge_params(dict(params))
        return self.redact(str(url))

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = wait_exponential_jitter(
            initial=self.backoff_initial_s, max=self.backoff_max_s, jitter=self.backoff_initial_s
        )(state)
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return error.retry_after
        return float(backoff)

    async def get(
        self, path: str, params: Mapping[str, str], *, weight: float = 1.0
    ) -> HttpResponse:
        """GET `path` (relative to the base URL); a `SourceError` on any final failure."""
        if self._client is None or self._slots is None:
            raise RuntimeError(f"{self.name} client used outside `async with`")
        all_params = {**self.params, **params}
        shown = self._url(path, all_params)
        attempts = 0
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.settings.http_max_retries + 1),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        started = datetime.now(UTC)
        clock = time.monotonic()
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    response = await self._attempt(path, all_params, shown, weight)
        except _Retryable as error:
            raise SourceError(
                f"{self.name}: {error} (GET {shown}, gave up after {attempts} attempts)"
            ) from None
        return HttpResponse(
            status=response.status_code,
            url=shown,
            content=response.content,
            headers=dict(response.headers),
            attempts=attempts,
            requested_at=started,
            elapsed_s=time.monotonic() - clock,
        )

    async def _attempt(
        self, path: str, params: Mapping[str, str], shown: str, weight: float
    ) -> httpx.Response:
        assert self._client is not None
        assert self._slots is not None
        if self.limiter is not None:
            await self.limiter.acquire(weight)
        async with self._slots:
            try:
                response = await self._client.get(path, params=dict(params))
            except httpx.TimeoutException:
                raise _Retryable(f"timed out after {self.settings.http_timeout_s:g} s") from None
            except httpx.TransportError as error:
                raise _Retryable(
                    f"could not connect: {self.redact(str(error)) or type(error).__name__}"
                ) from None
        status = response.status_code
        if status in RETRY_STATUSES:
            detail = self.redact(self.describe_error(response))
            wait = _retry_after(response.headers.get("retry-after"))
            if wait is not None and wait > MAX_RETRY_AFTER_S:
                raise SourceError(
                    f"{self.name}: HTTP {status}, asked to retry after {wait:.0f} s "
                    f"(more than {MAX_RETRY_AFTER_S:.0f} s): {detail} (GET {shown})"
                )
            raise _Retryable(f"HTTP {status}: {detail}", retry_after=wait)
        if status >= 400:
            detail = self.redact(self.describe_error(response))
            raise SourceError(f"{self.name}: HTTP {status}: {detail} (GET {shown})")
        if 300 <= status < 400:
            raise SourceError(
                f"{self.name}: HTTP {status} redirect to "
                f"{self.redact(response.headers.get('location', '?'))}; set the base URL to "
                f"the final address (GET {shown})"
            )
        return response


async def ordered_gather(
    jobs: Iterable[Callable[[], Awaitable[T]]], limit: int
) -> AsyncIterator[T]:
    """Run jobs with at most `limit` in flight and yield results in job order.

    Memory stays bounded by `limit` results however many jobs there are; the first
    failure cancels the jobs still running and propagates.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pending: deque[asyncio.Task[T]] = deque()

    async def head() -> T:
        # Wait for the oldest job, but surface any job's failure at once (fail fast).
        while not pending[0].done():
            await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in pending:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        return pending.popleft().result()

    try:
        for job in jobs:
            pending.append(asyncio.ensure_future(job()))
            if len(pending) >= limit:
                yield await head()
        while pending:
            yield await head()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def sync_iter(items: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from synchronous code (the CLI, Prefect tasks)."""
    with asyncio.Runner() as runner:
        try:
            while True:
                try:
                    yield runner.run(items.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            close = getattr(items, "aclose", None)
            if close is not None:
                runner.run(close())
