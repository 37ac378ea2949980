"""Per-channel pacing of Discord writes, so a burst in a large linked group stays under limits."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

# Lanes kept for idle channels before stale ones are pruned.
MAX_IDLE_LANES = 1024


@dataclass
class _Lane:
    """One channel's queue: the lock keeps sends in arrival order, `started` their start times."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: deque[float] = field(default_factory=deque)
    users: int = 0


class ChannelPacer:
    """Lets at most `limit` sends start in any `period_s` window per channel.

    Callers wait in arrival order (asyncio.Lock is FIFO) and nothing is dropped. The lane is
    held for the whole send, so the sends of one channel reach Discord one at a time and in
    order. discord.py still honours Discord's own per-route buckets and 429 responses. This
    only smooths bursts before they reach them.
    """

    def __init__(
        self,
        limit: int = 5,
        period_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period_s <= 0:
            raise ValueError(f"invalid pacing: {limit} sends per {period_s} s")
        self.limit = limit
        self.period_s = period_s
        self.clock = clock
        self._lanes: dict[str, _Lane] = {}

    @asynccontextmanager
    async def slot(self, channel: str) -> AsyncIterator[None]:
        """Wait for this channel's turn and room in its window, then hold the lane."""
        if len(self._lanes) > MAX_IDLE_LANES:
            self._prune()
        lane = self._lanes.setdefault(channel, _Lane())
        lane.users += 1
        try:
            async with lane.lock:
                await self._wait_for_room(lane)
                lane.started.append(self.clock())
                yield
        finally:
            lane.users -= 1

    async def _wait_for_room(self, lane: _Lane) -> None:
        while True:
            now = self.clock()
            while lane.started and now - lane.started[0] >= self.period_s:
                lane.started.popleft()
            if len(lane.started) < self.limit:
                return
            await asyncio.sleep(self.period_s - (now - lane.started[0]))

    def _prune(self) -> None:
        """Forget lanes with no waiting sender whose last send left the window."""
        now = self.clock()
        stale = [
            channel
            for channel, lane in self._lanes.items()
            if lane.users == 0 and (not lane.started or now - lane.started[-1] >= self.period_s)
        ]
        for channel in stale:
            del self._lanes[channel]
