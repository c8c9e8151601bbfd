"""A job a worker runs on a timer, beside the requests: one task on the event loop that only
awaits its own work, logs a failed turn and tries again at the next one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, interval: float, turn: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval = interval
        self.turn = turn
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    @property
    def stopping(self) -> bool:
        """Set once `close` is called: a long turn may check it to stop between its steps."""
        return self._stopping.is_set()

    async def close(self, grace: float = 0.0) -> None:
        """Stop. A turn in flight may finish within `grace` seconds (so it can store what it did);
        after that it is cancelled."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), grace)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.turn()
            except Exception as exc:  # a store that cannot answer now may answer at the next turn
                log.warning("%s turn failed: %s", self.name, type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
