"""`run_slack` end to end: HTTP mode acknowledging before the work is done, Socket Mode
over a local WebSocket, and settings checked before anything starts."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace

import aiohttp
import pytest
import pytest_asyncio

from bot.adapters.console.sender import RecordingSender
from bot.adapters.slack import SlackConfigError, run_slack
from bot.core.conversation import Parley
from bot.core.events import Author, Command, Place
from bot.core.store import Store
from config.settings import Settings
from tests.adapters.slack.driver import BOT_TOKEN, SIGNING_SECRET, envelope, signed_headers
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FakeEngine

ENGLISH = "We will bring sandwiches and something to drink for everyone."
ADMIN = Author("UMOD", "Mod", is_admin=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def message(ts: str) -> dict[str, object]:
    return {"type": "message", "channel": "C1", "user": "UBEN", "text": ENGLISH, "ts": ts}


async def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def link(parley: Parley) -> None:
    """Link C1 (en) and C2 (es) in workspace T1 directly through the core."""
    place = Place("slack", "T1", "C1")
    command = Command("setup", place, ADMIN, "link create", {"channels": "C1:en C2:es"})
    await parley.handle(command, RecordingSender())


@pytest_asyncio.fixture
async def running(
    fake_slack: FakeSlack, parley: Parley, store: Store
) -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """Start run_slack with the given mode and extra settings; stop it after the test."""
    tasks: list[asyncio.Task[None]] = []

    async def start(mode: str, **extra: object) -> int:
        port = free_port()
        settings = Settings(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_PORT=port,
            SLACK_API_URL=fake_slack.api_url,
            **extra,
        )  # type: ignore[call-arg]
        runtime = SimpleNamespace(parley=parley, store=store)
        tasks.append(
            asyncio.create_task(run_slack(runtime, settings, mode=mode, host="127.0.0.1"))  # type: ignore[arg-type]
        )
        return port

    yield start
    for task in tasks:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def wait_healthy(port: int) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.02)
    raise AssertionError(f"no health check answer on port {port}")


async def test_http_acks_before_work(
    running: Callable[..., Awaitable[int]],
    fake_slack: FakeSlack,
    parley: Parley,
    engine: FakeEngine,
) -> None:
    await link(parley)
    engine.delay_s = 0.5
    port = await running("http")
    await wait_healthy(port)
    body = json.dumps(envelope(message("1700000000.000001"), event_id="EvHttp1"))

    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"http://127.0.0.1:{port}/slack/events",
            data=body,
            headers=signed_headers(body, "application/json"),
        ) as response:
            status = response.status
    answered_s = time.monotonic() - started
    await eventually(lambda: len(fake_slack.calls_to("chat.postMessage")) == 1)

    assert status == 200
    assert answered_s < engine.delay_s
    assert fake_slack.calls_to("chat.postMessage")[0].params["text"] == f"[es] {ENGLISH}"


async def test_socket_mode_redelivery_once(
    running: Callable[..., Awaitable[int]], fake_slack: FakeSlack, parley: Parley
) -> None:
    await link(parley)
    await running("socket", SLACK_APP_TOKEN="xapp-test-token")
    payload = envelope(message("1700000000.000002"), event_id="EvSocket1")

    await fake_slack.push({"envelope_id": "env-1", "type": "events_api", "payload": payload})
    await eventually(lambda: len(fake_slack.calls_to("chat.postMessage")) == 1)
    await fake_slack.push(
        {
            "envelope_id": "env-2",
            "type": "events_api",
            "payload": payload,
            "retry_attempt": 1,
            "retry_reason": "timeout",
        }
    )
    acks = await fake_slack.wait_for_acks(2)

    assert [ack["envelope_id"] for ack in acks] == ["env-1", "env-2"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("apps.connections.open")[0].token == "xapp-test-token"


async def test_socket_mode_needs_app_token(
    fake_slack: FakeSlack, parley: Parley, store: Store
) -> None:
    settings = Settings(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake_slack.api_url)  # type: ignore[call-arg]
    runtime = SimpleNamespace(parley=parley, store=store)

    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN"):
        await run_slack(runtime, settings, mode="socket")  # type: ignore[arg-type]


async def test_http_needs_signing_secret(
    fake_slack: FakeSlack, parley: Parley, store: Store
) -> None:
    settings = Settings(SLACK_BOT_TOKEN=BOT_TOKEN)  # type: ignore[call-arg]
    runtime = SimpleNamespace(parley=parley, store=store)

    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        await run_slack(runtime, settings, mode="http")  # type: ignore[arg-type]


async def test_needs_a_token(parley: Parley, store: Store) -> None:
    settings = Settings(SLACK_SIGNING_SECRET=SIGNING_SECRET)  # type: ignore[call-arg]
    runtime = SimpleNamespace(parley=parley, store=store)

    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN"):
        await run_slack(runtime, settings, mode="http")  # type: ignore[arg-type]
