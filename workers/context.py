"""The translation runtime a worker process builds once and reuses for every job."""

from __future__ import annotations

import asyncio
import atexit

from bot.runtime import Runtime
from config.settings import load_settings

_state: tuple[Runtime, asyncio.AbstractEventLoop] | None = None


def worker_runtime() -> tuple[Runtime, asyncio.AbstractEventLoop]:
    """Return this process's runtime and the event loop it lives on, building them once.

    Jobs run on one persistent loop because the Redis and HTTP clients are bound to the
    loop they were created on.
    """
    global _state
    if _state is None:
        loop = asyncio.new_event_loop()
        runtime = loop.run_until_complete(Runtime.start(load_settings(), role="worker"))
        _state = (runtime, loop)
        atexit.register(_close)
    return _state


def _close() -> None:
    global _state
    if _state is None:
        return
    runtime, loop = _state
    _state = None
    loop.run_until_complete(runtime.close())
    loop.close()
