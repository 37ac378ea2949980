"""Bot → RQ queue → real worker process → outbox → adapter, on real Redis and Apertium."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis
from rq import Queue

from bot.core.actions import ActionKind
from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.relay import Relay
from bot.core.store import Store
from bot.core.translate import TranslationService
from bot.jobs import OutboxDrainer, RqJobQueue
from bot.providers.apertium import ApertiumEngine, ApyServer, apertium_available
from tests.chat import Chat

pytestmark = [
    pytest.mark.skipif(not apertium_available(), reason="Apertium is not installed"),
    pytest.mark.asyncio(loop_scope="module"),
]

REPO = Path(__file__).resolve().parents[1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def apy_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with ApyServer(log_path=tmp_path_factory.mktemp("apy") / "apy.log") as url:
        yield url


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    token = uuid.uuid4().hex[:10]
    yield f"test-{token}", f"test-queue-{token}"


@pytest_asyncio.fixture(loop_scope="module")
async def wired(
    redis_url: str, apy_url: str, names: tuple[str, str]
) -> AsyncIterator[tuple[Parley, Store, Queue]]:
    prefix, queue_name = names
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    sync_client = redis.Redis.from_url(redis_url)
    store = Store(client, prefix, message_ttl_s=600, event_ttl_s=600, cache_ttl_s=600)
    engine = ApertiumEngine(apy_url)
    translator = TranslationService(store, {"apertium": engine})
    relay = Relay(store, translator, LanguageDetector(), "apertium")
    jobs = RqJobQueue(sync_client, queue_name, job_timeout_s=60)
    yield Parley(store, translator, relay, jobs), store, jobs.queue

    jobs.queue.delete(delete_jobs=True)
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await client.delete(*keys)
    await engine.close()
    await client.aclose()
    sync_client.close()


def run_burst_worker(redis_url: str, apy_url: str, names: tuple[str, str]) -> None:
    prefix, queue_name = names
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "APERTIUM_URL": apy_url,
        "PARLEY_KEY_PREFIX": prefix,
        "PARLEY_QUEUE": queue_name,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--burst"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:]


async def test_edit_goes_through_worker(
    wired: tuple[Parley, Store, Queue], redis_url: str, apy_url: str, names: tuple[str, str]
) -> None:
    parley, store, queue = wired
    chat = Chat(parley)
    await chat.command("chat-en", "link create", channels="chat-en:en chat-es:es")
    await chat.say("chat-en", "Ben", "I cannot join the call today, sorry.", id="m1")

    outcome = await chat.edit("chat-en", "Ben", "m1", "I can join the call today after all.")
    assert outcome.actions == []
    assert len(outcome.jobs) == 1
    assert queue.count == 1

    run_burst_worker(redis_url, apy_url, names)
    drainer = OutboxDrainer(store, parley, "discord", chat.sender, consumer="test")
    applied = await drainer.wait_for(outcome.jobs, timeout_s=10)

    assert [action.kind for action in applied] == [ActionKind.EDIT]
    assert "hoy" in chat.texts("chat-es")[0]
    assert "puedo" in chat.texts("chat-es")[0].lower()


async def test_rerun_job_delivers_once(
    wired: tuple[Parley, Store, Queue], redis_url: str, apy_url: str, names: tuple[str, str]
) -> None:
    parley, store, queue = wired
    chat = Chat(parley)
    await chat.command("chat-en", "link create", channels="chat-en:en chat-es:es")
    await chat.say("chat-en", "Ben", "The meeting starts at noon.", id="m1")
    outcome = await chat.edit("chat-en", "Ben", "m1", "The meeting starts at two.")
    run_burst_worker(redis_url, apy_url, names)

    # A second run of the same job (as after a worker died before RQ recorded success).
    job = queue.fetch_job(outcome.jobs[0])
    assert job is not None
    queue.enqueue_job(job)
    run_burst_worker(redis_url, apy_url, names)

    entries = await store.redis.xlen(store.outbox_key("discord"))
    assert entries == 1
