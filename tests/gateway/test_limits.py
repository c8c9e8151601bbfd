"""Rate limits and daily quotas, run against both backends on one fake clock.

The Redis runs (marked `redis`) need the server at GATEWAY_TEST_REDIS_URL (default
127.0.0.1:6379) and skip, saying why, where none answers; CI sets GATEWAY_TEST_REQUIRE_REDIS=1 to
forbid the skip. Each test uses its own key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.errors import ErrorCode, RequestRefused
from gateway.limits import (
    CST,
    STORE_UNAVAILABLE,
    InProcessLimiter,
    Kind,
    Limit,
    Limiter,
    LimitExceeded,
    RedisLimiter,
    limits_from_settings,
    make_limiter,
)
from gateway.settings import Settings

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NOON = datetime(2024, 5, 1, 12, 0, tzinfo=CST).timestamp()

Factory = Callable[[dict[Kind, Limit]], Limiter]


class FakeClock:
    """Both the bucket's clock and the wall clock (Unix seconds), moved only by the test."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def only(kind: Kind, rate: float = 0, burst: int = 0, quota: int = 0) -> dict[Kind, Limit]:
    """Limits for `kind` as given; the other kinds unlimited."""
    limits: dict[Kind, Limit] = {"check": Limit(0, 0, 0), "lookup": Limit(0, 0, 0), "cost": Limit(0, 0, 0)}
    limits[kind] = Limit(rate, burst, quota)
    return limits


async def refused(limiter: Limiter, amount: int, application: str = "app-a", kind: Kind = "check") -> LimitExceeded:
    with pytest.raises(LimitExceeded) as caught:
        await limiter.take(application, kind, amount)
    return caught.value


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are deleted afterwards."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except RedisError as exc:
        await client.aclose()
        if os.environ.get("GATEWAY_TEST_REQUIRE_REDIS"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}")
    prefix = f"gw-test:{uuid.uuid4().hex}:limit"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOON)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Factory]:
    """Builds limiters of one backend on the fake clock; Redis limiters of one test share its prefix."""
    created: list[Limiter] = []
    if request.param == "memory":

        def in_process(limits: dict[Kind, Limit]) -> Limiter:
            created.append(InProcessLimiter(limits, monotonic=clock, wall=clock))
            return created[-1]

        yield in_process
    else:
        async with redis_prefix() as prefix:

            def on_redis(limits: dict[Kind, Limit]) -> Limiter:
                created.append(RedisLimiter(REDIS_URL, limits, prefix=prefix, wall=clock))
                return created[-1]

            yield on_redis
    for limiter in created:
        await limiter.close()


# The token bucket


async def test_a_full_burst_is_available_at_once_and_the_next_unit_is_refused(make: Factory) -> None:
    limiter = make(only("check", rate=10, burst=100))
    await limiter.take("app-a", "check", 100)
    refusal = await refused(limiter, 1)
    assert refusal.code is ErrorCode.RATE_LIMITED
    assert refusal.http_status == 429
    assert refusal.retry_after == 1
    assert isinstance(refusal, RequestRefused)


async def test_the_bucket_refills_at_the_rate_up_to_the_burst(make: Factory, clock: FakeClock) -> None:
    limiter = make(only("check", rate=10, burst=100))
    await limiter.take("app-a", "check", 100)
    clock.advance(0.5)
    await limiter.take("app-a", "check", 5)
    await refused(limiter, 1)
    clock.advance(3600)  # an hour idle refills to the burst, no further
    await limiter.take("app-a", "check", 100)
    await refused(limiter, 1)


async def test_retry_after_is_the_wait_until_the_request_fits(make: Factory, clock: FakeClock) -> None:
    limiter = make(only("check", rate=10, burst=100))
    await limiter.take("app-a", "check", 100)
    refusal = await refused(limiter, 50)
    assert refusal.retry_after == 5
    assert "10 per second" in refusal.message and "100" in refusal.message and "5 s" in refusal.message
    clock.advance(4.9)
    await refused(limiter, 50)
    clock.advance(0.1)
    await limiter.take("app-a", "check", 50)


async def test_a_batch_bigger_than_the_tokens_left_consumes_nothing(make: Factory) -> None:
    limiter = make(only("check", rate=0.001, burst=100))
    await limiter.take("app-a", "check", 60)
    await refused(limiter, 50)
    await limiter.take("app-a", "check", 40)
    await refused(limiter, 1)


async def test_a_batch_bigger_than_the_burst_is_told_to_split(make: Factory) -> None:
    limiter = make(only("check", rate=10, burst=100))
    refusal = await refused(limiter, 101)
    assert refusal.code is ErrorCode.RATE_LIMITED
    assert "Split" in refusal.message
    await limiter.take("app-a", "check", 100)


# The daily quota


async def test_a_batch_bigger_than_the_quota_left_consumes_nothing(make: Factory) -> None:
    limiter = make(only("check", quota=100))
    await limiter.take("app-a", "check", 60)
    refusal = await refused(limiter, 50)
    assert refusal.code is ErrorCode.QUOTA_EXCEEDED
    assert refusal.http_status == 429
    assert "100 per day" in refusal.message and "40 left" in refusal.message
    await limiter.take("app-a", "check", 40)
    await refused(limiter, 1)


async def test_the_quota_resets_at_midnight_china_standard_time(make: Factory, clock: FakeClock) -> None:
    clock.now = datetime(2024, 5, 1, 23, 59, 0, tzinfo=CST).timestamp()
    limiter = make(only("check", quota=10))
    await limiter.take("app-a", "check", 10)
    refusal = await refused(limiter, 1)
    assert refusal.code is ErrorCode.QUOTA_EXCEEDED
    assert refusal.retry_after == 60
    assert "00:00 China Standard Time" in refusal.message and "60 s" in refusal.message
    clock.advance(59.5)
    await refused(limiter, 1)
    clock.advance(0.5)  # 2024-05-02 00:00:00 CST
    await limiter.take("app-a", "check", 10)
    await refused(limiter, 1)


async def test_the_quota_does_not_reset_at_midnight_utc(make: Factory, clock: FakeClock) -> None:
    clock.now = datetime(2024, 5, 2, 7, 30, tzinfo=CST).timestamp()  # 23:30 UTC on 1 May
    limiter = make(only("check", quota=10))
    await limiter.take("app-a", "check", 10)
    clock.advance(3600)  # 00:30 UTC, still 2 May in China
    refusal = await refused(limiter, 1)
    assert refusal.retry_after == 15 * 3600 + 30 * 60


async def test_both_limits_apply_together_and_the_quota_is_reported_first(make: Factory, clock: FakeClock) -> None:
    limiter = make(only("check", rate=10, burst=100, quota=150))
    await limiter.take("app-a", "check", 100)
    assert (await refused(limiter, 10)).code is ErrorCode.RATE_LIMITED
    clock.advance(10)
    await limiter.take("app-a", "check", 50)
    assert (await refused(limiter, 1)).code is ErrorCode.QUOTA_EXCEEDED


# Isolation, unlimited and arguments


async def test_each_application_and_each_kind_has_its_own_budget(make: Factory) -> None:
    limiter = make({"check": Limit(0.001, 10, 20), "lookup": Limit(0.001, 10, 20)})
    await limiter.take("app-a", "check", 10)
    await refused(limiter, 1, "app-a", "check")
    await limiter.take("app-b", "check", 10)
    await limiter.take("app-a", "lookup", 10)
    await refused(limiter, 1, "app-a", "lookup")


async def test_zero_means_unlimited(make: Factory, clock: FakeClock) -> None:
    limiter = make({"check": Limit(0, 0, 0), "lookup": Limit(0, 0, 50)})
    for _ in range(3):
        await limiter.take("app-a", "check", 10**9)
    await limiter.take("app-a", "lookup", 50)  # no rate limit, but the quota still holds
    assert (await refused(limiter, 1, kind="lookup")).code is ErrorCode.QUOTA_EXCEEDED


async def test_a_zero_amount_takes_nothing_and_bad_arguments_are_errors(make: Factory) -> None:
    limiter = make(only("check", rate=10, burst=10, quota=10))
    await limiter.take("app-a", "check", 0)
    await limiter.take("app-a", "check", 10)
    await limiter.take("app-a", "check", 0)
    with pytest.raises(ValueError):
        await limiter.take("app-a", "check", -1)
    with pytest.raises(ValueError):
        await limiter.take("app-a", "census", 1)  # type: ignore[arg-type]


async def test_concurrent_takes_never_over_consume(make: Factory) -> None:
    workers = [make(only("check", rate=0.001, burst=1000, quota=700)) for _ in range(2)]
    outcomes = await asyncio.gather(
        *(workers[i % 2].take("app-a", "check", 7) for i in range(300)),
        return_exceptions=True,
    )
    taken = sum(outcome is None for outcome in outcomes)
    assert all(outcome is None or isinstance(outcome, LimitExceeded) for outcome in outcomes)
    # In memory each worker has its own budget (100 takes of 7 each); in Redis they share one.
    assert taken == (100 if isinstance(workers[0], RedisLimiter) else 200)


def test_limits_cannot_be_negative_and_a_rate_needs_a_burst() -> None:
    with pytest.raises(ValueError):
        Limit(-1, 10, 10)
    with pytest.raises(ValueError):
        Limit(10, 10, -1)
    with pytest.raises(ValueError):
        Limit(10, 0, 10)
    assert Limit(0, 0, 0).rate == 0


# Settings and the choice of backend


def test_the_defaults_and_the_settings_that_change_them() -> None:
    defaults = limits_from_settings(Settings.from_env({}))
    assert defaults == {"check": Limit(200, 2000, 200000), "lookup": Limit(200, 2000, 500000),
                        "cost": Limit(5000, 50000, 0)}
    configured = Settings.from_env(
        {
            "GATEWAY_CHECK_RATE": "0.5",
            "GATEWAY_CHECK_BURST": "5",
            "GATEWAY_CHECK_DAILY_QUOTA": "0",
            "GATEWAY_LOOKUP_RATE": "0",
            "GATEWAY_LOOKUP_BURST": "0",
            "GATEWAY_LOOKUP_DAILY_QUOTA": "7",
            "GATEWAY_COST_RATE": "100",
            "GATEWAY_COST_BURST": "6000",
            "GATEWAY_COST_DAILY_QUOTA": "10",
            "GATEWAY_REDIS_URL": "redis://limits.example:6379/2",
        }
    )
    assert limits_from_settings(configured) == {"check": Limit(0.5, 5, 0), "lookup": Limit(0, 0, 7),
                                                "cost": Limit(100, 6000, 10)}
    assert configured.redis_url == "redis://limits.example:6379/2"


async def test_make_limiter_counts_in_memory_unless_redis_is_configured() -> None:
    in_memory = make_limiter(Settings.from_env({}))
    assert isinstance(in_memory, InProcessLimiter)
    assert await in_memory.ping()
    on_redis = make_limiter(Settings.from_env({"GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0"}))
    assert isinstance(on_redis, RedisLimiter)  # no connection is made until the first take
    await on_redis.close()


# Redis only: shared budgets, keys, the server's clock, and failing closed


@pytest.mark.redis
async def test_two_redis_workers_share_one_budget(clock: FakeClock) -> None:
    async with redis_prefix() as prefix:
        limits = only("lookup", rate=10, burst=100, quota=1000)
        first, second = (RedisLimiter(REDIS_URL, limits, prefix=prefix, wall=clock) for _ in range(2))
        try:
            await first.take("app-a", "lookup", 60)
            await refused(second, 41, kind="lookup")
            await second.take("app-a", "lookup", 40)
            await refused(first, 1, kind="lookup")
            clock.advance(1)
            await second.take("app-a", "lookup", 10)
            await refused(first, 1, kind="lookup")
        finally:
            await first.close()
            await second.close()


@pytest.mark.redis
async def test_redis_keys_are_named_per_kind_application_and_cst_day_and_expire(clock: FakeClock) -> None:
    clock.now = datetime(2024, 5, 1, 23, 0, tzinfo=CST).timestamp()  # 15:00 UTC: the key names 1 May in China
    async with redis_prefix() as prefix:
        limiter = RedisLimiter(REDIS_URL, only("check", rate=10, burst=100, quota=1000), prefix=prefix, wall=clock)
        client = Redis.from_url(REDIS_URL)
        try:
            await limiter.take("app-a", "check", 5)
            bucket, day = f"{prefix}:check:app-a:bucket", f"{prefix}:check:app-a:day:20240501"
            assert limiter.keys("app-a", "check", clock()) == (bucket, day)
            assert int(await client.get(day) or 0) == 5
            assert 0 < await client.pttl(bucket) <= 11_000  # gone once the bucket would be full again
            assert 2 * 86400 - 60 < await client.ttl(day) <= 2 * 86400
        finally:
            await client.aclose()
            await limiter.close()


@pytest.mark.redis
async def test_redis_runs_on_the_servers_clock_by_default() -> None:
    async with redis_prefix() as prefix:
        limiter = RedisLimiter(REDIS_URL, only("check", rate=1000, burst=10, quota=0), prefix=prefix)
        try:
            await limiter.take("app-a", "check", 10)
            await refused(limiter, 10)
            await asyncio.sleep(0.05)  # 50 tokens' worth at 1000 per second; the burst caps it at 10
            await limiter.take("app-a", "check", 10)
            assert await limiter.ping()
        finally:
            await limiter.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_redis_refuses_every_take_at_once() -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{_closed_port()}/0", only("check", rate=10, burst=100, quota=100))
    try:
        started = time.monotonic()
        refusal = await refused(limiter, 1)
        assert time.monotonic() - started < 5
        assert refusal.code is ErrorCode.RATE_LIMITED
        assert refusal.message == STORE_UNAVAILABLE
        assert refusal.retry_after >= 1
        assert not await limiter.ping()
    finally:
        await limiter.close()


async def test_with_redis_unreachable_the_cost_budget_is_kept_per_worker() -> None:
    """Enumeration limits fail closed; the capacity budget falls back to this worker's memory."""
    limiter = RedisLimiter(f"redis://127.0.0.1:{_closed_port()}/0", only("cost", rate=0.001, burst=10))
    try:
        await limiter.take("app-a", "cost", 6)
        refusal = await refused(limiter, 6, kind="cost")
        assert refusal.code is ErrorCode.RATE_LIMITED and "query cost" in refusal.message
        await limiter.take("app-b", "cost", 10)  # each application its own budget, as in Redis
        assert (await refused(limiter, 1)).message == STORE_UNAVAILABLE  # checks still refused
    finally:
        await limiter.close()
