"""Per-application rate limits and daily quotas: the brake on enumeration.

A data check (数据核验) answers yes/no about subjects, and a key lookup returns one entity per
key; either can be turned into a census by an application that tries every key. Each is counted
in units (subjects checked, entities looked up, and for every query its cost: the values it may
return, gateway/query_limits.py), per application and per kind, against two limits:

- a token bucket: `rate` units per second, at most `burst` at once;
- a daily quota: `daily_quota` units per calendar day in China Standard Time (UTC+8), so it
  resets at 00:00 CST whatever the server's time zone.

0 for a rate or a quota means that limit is off. A take is all-or-nothing: a request that would
exceed either limit consumes nothing and is refused with

    RequestRefused
    └── LimitExceeded   RATE_LIMITED or QUOTA_EXCEEDED (both HTTP 429), with `retry_after` seconds

whose message states the limit and when it resets, never the data asked for.

Two backends behave alike: `InProcessLimiter` counts in this worker's memory (one worker, or
tests); `RedisLimiter` counts in Redis, so all workers share one budget. When Redis is
configured but cannot be reached the limiter fails closed: every take is refused as RATE_LIMITED
until it answers again, and `ping()` reports it for /readyz. `make_limiter(settings)` picks one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol, get_args

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.errors import ErrorCode, RequestRefused
from gateway.settings import Settings

__all__ = [
    "CST",
    "KINDS",
    "STORE_UNAVAILABLE",
    "InProcessLimiter",
    "Kind",
    "Limit",
    "LimitExceeded",
    "Limiter",
    "RedisLimiter",
    "cst_day",
    "limits_from_settings",
    "make_limiter",
]

logger = logging.getLogger(__name__)

Kind = Literal["check", "lookup", "cost"]
KINDS: tuple[Kind, ...] = get_args(Kind)
CST = timezone(timedelta(hours=8), "CST")  # China keeps no daylight saving time: a fixed offset is exact
DAY_SECONDS = 86400
DAY_KEY_TTL_SECONDS = 2 * DAY_SECONDS
STORE_UNAVAILABLE = "rate limits cannot be checked (limit store unavailable)"
REDIS_TIMEOUT_SECONDS = 1.0  # a slow limit store must not hold every request; override with ?socket_timeout=
LOCAL_WHEN_DOWN: tuple[Kind, ...] = ("cost",)  # kept per worker while the shared store is down
_EPSILON = 1e-6  # float refill error must not refuse a take that is exactly due
_NOUNS: dict[str, str] = {"check": "subject checks (数据核验)", "lookup": "key lookups",
                          "cost": "query cost (values a query may return; docs/security.md)"}

Clock = Callable[[], float]


class LimitExceeded(RequestRefused):
    """A take refused by a rate limit or a daily quota; `retry_after` is the wait in whole seconds."""

    def __init__(self, code: ErrorCode, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """One kind's limits: `rate` units per second with bursts of `burst`, `daily_quota` per CST day (0 = off)."""

    rate: float
    burst: int
    daily_quota: int

    def __post_init__(self) -> None:
        if self.rate < 0 or self.burst < 0 or self.daily_quota < 0:
            raise ValueError(f"limits cannot be negative: {self}")
        if self.rate > 0 and self.burst < 1:
            raise ValueError(f"a rate limit needs a burst of at least 1: {self}")


def limits_from_settings(settings: Settings) -> dict[Kind, Limit]:
    return {
        "check": Limit(settings.check_rate, settings.check_burst, settings.check_daily_quota),
        "lookup": Limit(settings.lookup_rate, settings.lookup_burst, settings.lookup_daily_quota),
        "cost": Limit(settings.cost_rate, settings.cost_burst, settings.cost_daily_quota),
    }


def cst_day(wall: float) -> str:
    """The calendar day in China Standard Time of a Unix time, as YYYYMMDD."""
    return datetime.fromtimestamp(wall, CST).strftime("%Y%m%d")


def _seconds_to_cst_midnight(wall: float) -> int:
    offset = CST.utcoffset(None).total_seconds()
    next_midnight = (math.floor((wall + offset) / DAY_SECONDS) + 1) * DAY_SECONDS - offset
    return max(1, math.ceil(next_midnight - wall))


def _refusal(kind: Kind, limit: Limit, amount: int, tokens: float, used: int, wall: float) -> LimitExceeded | None:
    """The refusal for taking `amount` with `tokens` in the bucket and `used` today, or None to admit it.

    Both backends decide with this order (quota first: it is the longer wait); RedisLimiter's
    script repeats the two comparisons, and this function writes the message from its numbers.
    """
    noun = _NOUNS[kind]
    if limit.daily_quota and used + amount > limit.daily_quota:
        left = max(0, limit.daily_quota - used)
        wait = _seconds_to_cst_midnight(wall)
        return LimitExceeded(
            ErrorCode.QUOTA_EXCEEDED,
            f"Daily quota for {noun} reached: {limit.daily_quota} per day, {left} left today and this request needs "
            f"{amount}. It resets at 00:00 China Standard Time (UTC+8), in {wait} s.",
            wait,
        )
    if limit.rate and tokens + _EPSILON < amount:
        if amount > limit.burst:
            wait = max(1, math.ceil((limit.burst - tokens) / limit.rate))
            return LimitExceeded(
                ErrorCode.RATE_LIMITED,
                f"Rate limit for {noun}: this request needs {amount}, more than the {limit.burst} allowed at once "
                f"({limit.rate:g} per second). Split it into smaller requests.",
                wait,
            )
        wait = max(1, math.ceil((amount - tokens) / limit.rate))
        return LimitExceeded(
            ErrorCode.RATE_LIMITED,
            f"Rate limit for {noun} reached: {limit.rate:g} per second, in bursts of up to {limit.burst}. "
            f"Try again in {wait} s.",
            wait,
        )
    return None


def _check_take(limits: Mapping[Kind, Limit], kind: Kind, amount: int) -> Limit:
    if kind not in limits:
        raise ValueError(f"unknown limit kind {kind!r}; expected one of {', '.join(KINDS)}")
    if amount < 0:
        raise ValueError(f"cannot take a negative amount ({amount})")
    return limits[kind]


class Limiter(Protocol):
    """The one seam the request path uses: take units before the work, refused as a whole or not at all."""

    async def take(self, application: str, kind: Kind, amount: int) -> None:
        """Consume `amount` units of `kind` for `application`, or raise LimitExceeded and consume nothing."""
        ...

    async def ping(self) -> bool:
        """Whether limits can be checked now (for /readyz)."""
        ...

    async def close(self) -> None: ...


class InProcessLimiter:
    """Counts in this worker's memory. Each worker has its own budget: one worker only, or tests.

    `take` never awaits between reading and writing its counters, so concurrent requests on one
    event loop cannot both spend the same tokens. The bucket runs on `monotonic` (immune to wall
    clock steps); the day comes from `wall` (Unix seconds). Both are injectable for tests.
    """

    def __init__(self, limits: Mapping[Kind, Limit], *, monotonic: Clock = time.monotonic, wall: Clock = time.time) -> None:
        self._limits = dict(limits)
        self._monotonic = monotonic
        self._wall = wall
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (kind, app) -> (tokens, at)
        self._days: dict[tuple[str, str], tuple[str, int]] = {}  # (kind, app) -> (CST day, used)

    async def take(self, application: str, kind: Kind, amount: int) -> None:
        limit = _check_take(self._limits, kind, amount)
        if amount == 0:
            return
        key = (kind, application)
        now, wall = self._monotonic(), self._wall()
        tokens, at = self._buckets.get(key, (float(limit.burst), now))
        if now > at:
            tokens, at = min(float(limit.burst), tokens + (now - at) * limit.rate), now
        day = cst_day(wall)
        counted_day, used = self._days.get(key, (day, 0))
        if counted_day != day:
            used = 0
        refusal = _refusal(kind, limit, amount, tokens, used, wall)
        if refusal is not None:
            raise refusal
        if limit.rate:
            self._buckets[key] = (max(0.0, tokens - amount), at)
        if limit.daily_quota:
            self._days[key] = (day, used + amount)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._buckets.clear()
        self._days.clear()


# One round trip per take: refill the bucket, check the day's counter and the bucket, consume both
# or neither. KEYS: bucket, day counter. ARGV: amount, rate, burst, quota, now in Unix seconds (empty:
# the Redis server's clock, one clock for every worker), bucket TTL in ms, day counter TTL in s.
# Returns {status, tokens, used}: status 0 taken, 1 over the daily quota, 2 over the rate.
_TAKE_SCRIPT = """
local amount = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local quota = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local used = 0
if quota > 0 then
  used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used + amount > quota then
    return {1, tostring(burst), used}
  end
end
local tokens = burst
local at = now
if rate > 0 then
  local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
  if state[1] then
    tokens = tonumber(state[1])
    at = tonumber(state[2])
    if now > at then
      tokens = math.min(burst, tokens + (now - at) * rate)
      at = now
    end
  end
  if tokens + 1e-6 < amount then
    return {2, tostring(tokens), used}
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(math.max(0, tokens - amount)), 'at', tostring(at))
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
if quota > 0 then
  redis.call('INCRBY', KEYS[2], amount)
  redis.call('EXPIRE', KEYS[2], ARGV[7])
end
return {0, tostring(tokens), used}
"""


class RedisLimiter:
    """Counts in Redis, so every worker of a deployment spends one budget per application and kind.

    Keys: `{prefix}:{kind}:{app}:bucket` (a hash, expiring once the bucket would be full again) and
    `{prefix}:{kind}:{app}:day:{YYYYMMDD}` (a counter, expiring after two days). Without `wall`,
    the bucket runs on the Redis server's clock and the day on this host's; with it (tests), both
    run on `wall`. Any Redis error refuses a check or lookup take (fail closed): limits that guard
    against enumeration are not waived. The query-cost budget guards capacity, not data: while
    Redis is down each worker keeps it in its own memory instead, so an outage of the limit store
    does not take every unconditional read down with it.
    """

    def __init__(self, url: str, limits: Mapping[Kind, Limit], *, prefix: str = "gw:limit", wall: Clock | None = None) -> None:
        self._limits = dict(limits)
        self._prefix = prefix
        self._wall = wall
        # One immediate retry survives a pooled connection that Redis closed; no backoff, so an
        # outage refuses requests at once instead of holding them.
        options: dict[str, Any] = {
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            "socket_timeout": REDIS_TIMEOUT_SECONDS,
            "retry": Retry(NoBackoff(), 1),
        }
        self._redis: Redis = Redis.from_url(url, **options)
        self._script = self._redis.register_script(_TAKE_SCRIPT)
        self._local = InProcessLimiter({kind: self._limits[kind] for kind in LOCAL_WHEN_DOWN if kind in self._limits})

    def keys(self, application: str, kind: Kind, wall: float) -> tuple[str, str]:
        """The bucket key and the day counter key of one application and kind at `wall`."""
        base = f"{self._prefix}:{kind}:{application}"
        return f"{base}:bucket", f"{base}:day:{cst_day(wall)}"

    async def take(self, application: str, kind: Kind, amount: int) -> None:
        limit = _check_take(self._limits, kind, amount)
        if amount == 0:
            return
        wall = self._wall() if self._wall is not None else time.time()
        bucket_ttl_ms = math.ceil(limit.burst / limit.rate * 1000) + 1000 if limit.rate else 0
        try:
            status, tokens, used = await self._script(
                keys=self.keys(application, kind, wall),
                args=[
                    amount,
                    repr(float(limit.rate)),
                    limit.burst,
                    limit.daily_quota,
                    repr(wall) if self._wall is not None else "",
                    bucket_ttl_ms,
                    DAY_KEY_TTL_SECONDS,
                ],
            )
        except RedisError as exc:
            if kind in LOCAL_WHEN_DOWN:
                logger.warning("limit store unavailable, counting %s in this worker: %s", kind, type(exc).__name__)
                await self._local.take(application, kind, amount)
                return
            logger.warning("limit store unavailable, refusing the request: %s: %s", type(exc).__name__, exc)
            raise LimitExceeded(ErrorCode.RATE_LIMITED, STORE_UNAVAILABLE, 1) from exc
        if int(status) != 0:
            refusal = _refusal(kind, limit, amount, float(tokens), int(used), wall)
            if refusal is None:  # the script and _refusal disagree: a bug, but never a reason to admit
                raise LimitExceeded(ErrorCode.RATE_LIMITED, f"Rate limit for {_NOUNS[kind]} reached. Try again in 1 s.", 1)
            raise refusal

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def make_limiter(settings: Settings) -> Limiter:
    """RedisLimiter when GATEWAY_REDIS_URL is set (required for several workers), else InProcessLimiter."""
    limits = limits_from_settings(settings)
    if settings.redis_url:
        return RedisLimiter(settings.redis_url, limits)
    return InProcessLimiter(limits)
