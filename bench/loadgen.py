"""A low-overhead HTTP load generator: raw asyncio HTTP/1.1 on keep-alive connections.

An httpx client saturates first on this machine (about 300 requests/s); this one parses only the
status line, the headers it needs and the body length, so the server, not the client, is what a
run measures. `drive` keeps `concurrency` connections busy for `seconds` and reports throughput and
latency percentiles; `Connection` is also the soak's client (scripts/soak.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

READ_TIMEOUT = 30.0


class Connection:
    """A keep-alive HTTP/1.1 connection that POSTs to one path; it reconnects after a failure."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                          % (path.encode(), self.host.encode(), len(body)) + head + b"\r\n" + body)
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        status, headers = parse_head(raw)
        if headers.get("transfer-encoding") == "chunked":
            payload = await self._chunked()
        else:
            payload = await asyncio.wait_for(self.reader.readexactly(int(headers.get("content-length", "0"))),
                                             READ_TIMEOUT)
        if headers.get("connection") == "close":
            await self.close()
        return status, payload

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return b"".join(parts)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip().lower()
    return status, headers


def header_block(headers: dict[str, str]) -> bytes:
    """Extra request headers, ready for `Connection.post`."""
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


@dataclass
class Load:
    """What one `drive` saw."""

    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0  # a status other than 200, or a connection failure
    first_failure: str | None = None

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


Body = Callable[[int], bytes]  # the n-th request's body


async def drive(host: str, port: int, path: str, head: bytes, body: Body, *, concurrency: int, seconds: float,
                check: Callable[[bytes], bool] | None = None) -> Load:
    """`concurrency` connections POST `body(n)` back to back for `seconds`; every answer must be
    200 (and pass `check`, when given) to count as a success."""
    load = Load(seconds)
    counter = iter(range(1 << 62))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status, payload = await connection.post(path, head, body(next(counter)))
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                    await connection.close()
                    load.failures += 1
                    load.first_failure = load.first_failure or f"connection failure ({type(exc).__name__})"
                    continue
                if status != 200 or (check is not None and not check(payload)):
                    load.failures += 1
                    load.first_failure = load.first_failure or f"{status}: {payload[:300]!r}"
                    continue
                load.latencies_ms.append((time.perf_counter() - started) * 1000)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    load.seconds = time.perf_counter() - started
    return load
