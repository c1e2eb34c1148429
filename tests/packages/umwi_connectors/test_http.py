from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from umwi_connectors._http import HttpSource, RateLimiter, ordered_gather, sync_iter
from umwi_core import Settings, SourceError, load_settings

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _source(settings: Settings, handler: Handler, sleeps: Sleeps, **kwargs: object) -> HttpSource:
    return HttpSource(
        name="testsrc",
        base_url="http://api.test",
        settings=settings,
        transport=httpx.MockTransport(handler),
        sleep=sleeps,
        **kwargs,  # type: ignore[arg-type]
    )


def _sequence(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


async def _get(source: HttpSource, params: dict[str, str] | None = None) -> bytes:
    async with source:
        response = await source.get("/v1/x", params or {})
    return response.content


def test_429_honours_retry_after_then_succeeds(settings: Settings) -> None:
    handler, seen = _sequence(
        httpx.Response(429, headers={"Retry-After": "3"}, text="slow down"),
        httpx.Response(200, content=b'{"ok": 1}'),
    )
    sleeps = Sleeps()
    assert asyncio.run(_get(_source(settings, handler, sleeps))) == b'{"ok": 1}'
    assert sleeps.waits == [3.0]
    assert len(seen) == 2


def test_retry_after_as_http_date(settings: Settings) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    handler, _ = _sequence(
        httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
        httpx.Response(200, content=b"{}"),
    )
    sleeps = Sleeps()
    asyncio.run(_get(_source(settings, handler, sleeps)))
    assert 25 <= sleeps.waits[0] <= 31


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_give_up_clearly(status: int) -> None:
    settings = load_settings(http_max_retries=3)
    handler, seen = _sequence(httpx.Response(status, text="busy"))
    sleeps = Sleeps()
    with pytest.raises(SourceError, match=rf"HTTP {status}: busy .*gave up after 4 attempts"):
        asyncio.run(_get(_source(settings, handler, sleeps, backoff_initial_s=1.0)))
    assert len(seen) == 4
    assert len(sleeps.waits) == 3
    # Exponential with jitter: each wait lies between the base delay and base + jitter.
    for attempt, wait in enumerate(sleeps.waits):
        assert 2.0**attempt <= wait <= 2.0**attempt + 1.0


def test_timeouts_are_retried_then_reported(settings: Settings) -> None:
    handler, seen = _sequence(httpx.ReadTimeout("slow"), httpx.Response(200, content=b"{}"))
    assert asyncio.run(_get(_source(settings, handler, Sleeps()))) == b"{}"
    assert len(seen) == 2
    handler, _ = _sequence(httpx.ConnectTimeout("slow"))
    with pytest.raises(SourceError, match="timed out after 30 s"):
        asyncio.run(_get(_source(settings, handler, Sleeps())))


def test_connection_errors_are_retried_then_reported(settings: Settings) -> None:
    handler, seen = _sequence(httpx.ConnectError("refused"))
    with pytest.raises(SourceError, match="could not connect: refused"):
        asyncio.run(_get(_source(settings, handler, Sleeps())))
    assert len(seen) == settings.http_max_retries + 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried_and_redacted(settings: Settings, status: int) -> None:
    handler, seen = _sequence(httpx.Response(status, text="bad key sekrit-123 here"))
    source = _source(
        settings,
        handler,
        Sleeps(),
        params={"apikey": "sekrit-123"},
        headers={"Authorization": "tok-999"},
        secrets=("sekrit-123", "tok-999"),
    )
    with pytest.raises(SourceError) as caught:
        asyncio.run(_get(source, {"a": "1"}))
    message = str(caught.value)
    assert f"HTTP {status}" in message
    assert "sekrit-123" not in message
    assert "apikey=***" in message
    assert len(seen) == 1
    assert seen[0].headers["Authorization"] == "tok-999"
    assert seen[0].url.params["apikey"] == "sekrit-123"


def test_overlong_retry_after_fails_at_once(settings: Settings) -> None:
    handler, seen = _sequence(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(SourceError, match="retry after 3600 s"):
        asyncio.run(_get(_source(settings, handler, Sleeps())))
    assert len(seen) == 1


def test_redirect_is_an_error(settings: Settings) -> None:
    handler, _ = _sequence(httpx.Response(301, headers={"Location": "http://elsewhere/?token=x"}))
    with pytest.raises(SourceError, match=r"redirect to http://elsewhere/\?token=\*\*\*"):
        asyncio.run(_get(_source(settings, handler, Sleeps())))


def test_use_outside_context_is_refused(settings: Settings) -> None:
    handler, _ = _sequence(httpx.Response(200))
    source = _source(settings, handler, Sleeps())
    with pytest.raises(RuntimeError, match="outside"):
        asyncio.run(source.get("/", {}))


def test_httpx_request_logs_are_redacted(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    handler, _ = _sequence(httpx.Response(200, content=b"{}"))
    source = _source(settings, handler, Sleeps(), params={"apikey": "sekrit-123"})
    with caplog.at_level(logging.INFO, logger="httpx"):
        asyncio.run(_get(source))
    assert caplog.records, "httpx logs each request"
    assert all("sekrit-123" not in r.getMessage() for r in caplog.records)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter([(5, 1.0)], clock=clock, sleep=clock.sleep)

    async def run() -> None:
        for _ in range(11):
            await limiter.acquire()

    asyncio.run(run())
    # 5 fit in the first second, 5 more in the next, the 11th in the third.
    assert clock.waits == [pytest.approx(1.0), pytest.approx(1.0)]


def test_rate_limiter_weights_and_several_windows() -> None:
    clock = FakeClock()
    limiter = RateLimiter([(10, 60.0), (15, 3600.0)], clock=clock, sleep=clock.sleep)

    async def run() -> None:
        await limiter.acquire(6)
        await limiter.acquire(4)
        await limiter.acquire(3)  # minute full → waits for the first entries to leave it
        clock.now += 1
        await limiter.acquire(3)  # hour now holds 16 > 15 → waits an hour

    asyncio.run(run())
    assert clock.waits[0] == pytest.approx(60.0)
    assert clock.waits[1] == pytest.approx(3600.0 - 61.0)


def test_rate_limiter_refuses_a_weight_above_the_quota() -> None:
    limiter = RateLimiter([(10, 60.0)])
    with pytest.raises(SourceError, match="exceeds the quota of 10 per 60 s"):
        asyncio.run(limiter.acquire(11))
    with pytest.raises(ValueError, match="positive"):
        RateLimiter([(0, 1.0)])


def test_rate_limiter_survives_several_event_loops() -> None:
    """One limiter serves one sync run after another, each with its own event loop, and
    its quota spans them. Acquires contend for its lock in each loop, which binds an
    asyncio lock to that loop.

    Mutations: one lock for every loop (`loop = 0` in `_lock`) raises "bound to a
    different event loop" in the second run; a fresh log per run (`self._log.clear()` in
    `_lock` on a new loop) lets the second run's first request through at once."""
    clock = FakeClock()

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        await asyncio.sleep(0)  # let the other acquire run, and wait on the lock

    limiter = RateLimiter([(1, 60.0)], clock=clock, sleep=sleep)

    async def three() -> None:
        await asyncio.gather(limiter.acquire(), limiter.acquire(), limiter.acquire())

    asyncio.run(three())
    asyncio.run(three())
    # One request a minute: every acquire after the very first waits a whole minute.
    assert clock.waits == [pytest.approx(60.0)] * 5


def test_ordered_gather_keeps_order_and_bounds_flight() -> None:
    in_flight = 0
    peak = 0

    async def job(i: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * (5 - i % 5))
        in_flight -= 1
        return i

    async def run() -> list[int]:
        return [r async for r in ordered_gather((lambda i=i: job(i) for i in range(20)), 3)]

    assert asyncio.run(run()) == list(range(20))
    assert peak <= 3


def test_ordered_gather_propagates_and_cancels() -> None:
    cancelled: list[int] = []

    async def job(i: int) -> int:
        if i == 1:
            raise SourceError("boom")
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    async def run() -> list[int]:
        return [r async for r in ordered_gather((lambda i=i: job(i) for i in range(4)), 4)]

    with pytest.raises(SourceError, match="boom"):
        asyncio.run(run())
    assert sorted(cancelled) == [0, 2, 3]


def test_sync_iter_drives_an_async_generator() -> None:
    closed = []

    async def gen() -> AsyncIterator[int]:
        try:
            for i in range(3):
                await asyncio.sleep(0)
                yield i
        finally:
            closed.append(True)

    assert list(sync_iter(gen())) == [0, 1, 2]
    iterator = sync_iter(gen())
    assert next(iterator) == 0
    iterator.close()  # type: ignore[attr-defined]
    assert closed == [True, True]
