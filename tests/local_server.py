"""Helpers the local fake servers share: serving an aiohttp app on a free loopback port."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from aiohttp import web


async def serve_on_loopback(
    app: web.Application, **runner_options: Any
) -> tuple[web.AppRunner, int]:
    """Start `app` on a free port of 127.0.0.1; return its runner (to clean up) and the port."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port: int = runner.addresses[0][1]
    return runner, port


class StopsOnExit:
    """Mixin for fakes used as `async with`: leaving the block calls their `stop()`."""

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
