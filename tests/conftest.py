"""Shared fixtures: a real Redis server, a private key prefix per test, and a fake engine."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.relay import Relay
from bot.core.store import Store
from bot.core.translate import TranslationService
from bot.embedded_redis import EmbeddedRedis
from tests.fakes import FakeEngine


def _local_redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL if set, else the local server on 6379, else an embedded one for the session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if _local_redis_up():
        yield "redis://127.0.0.1:6379/0"
        return
    server = EmbeddedRedis()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def aredis(redis_url: str, prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def store(aredis: aioredis.Redis, prefix: str) -> Store:
    return Store(aredis, prefix, message_ttl_s=3600, event_ttl_s=3600, cache_ttl_s=3600)


@pytest.fixture(scope="session")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def parley(store: Store, engine: FakeEngine, detector: LanguageDetector) -> Parley:
    translator = TranslationService(store, {engine.name: engine})
    relay = Relay(store, translator, detector, engine.name)
    return Parley(store, translator, relay)
