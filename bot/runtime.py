"""Wires Parley together from settings: Redis (embedded when no REDIS_URL), the offline
Apertium server (when no APERTIUM_URL), engines, the core and, optionally, a worker process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

import redis
import redis.asyncio as aioredis
from redis import Redis

from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.errors import EngineError
from bot.core.ports import TranslationEngine
from bot.core.relay import Relay
from bot.core.space_store import SpaceStore
from bot.core.store import Store
from bot.core.translate import TranslationService
from bot.embedded_redis import EmbeddedRedis
from bot.jobs import RqJobQueue
from bot.learning_setup import LearningParts, wire_learning
from bot.providers.apertium import ApertiumEngine, ApyServer
from config.settings import Settings

log = logging.getLogger(__name__)


class StartError(Exception):
    """A service Parley needs is unreachable at start; the message names the setting."""


@dataclass
class Runtime:
    """Everything a running Parley process holds. `close` stops what `start` started."""

    settings: Settings
    redis_url: str
    apertium_url: str
    redis: aioredis.Redis
    sync_redis: Redis
    store: Store
    translator: TranslationService
    relay: Relay
    parley: Parley
    engines: dict[str, TranslationEngine]
    learning: LearningParts | None = None
    embedded_redis: EmbeddedRedis | None = None
    apy: ApyServer | None = None
    worker: subprocess.Popen[bytes] | None = None

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        role: Literal["bot", "worker"] = "bot",
        spawn_worker: bool = False,
    ) -> Runtime:
        """Start or connect to every service Parley needs; `role` "worker" runs jobs inline."""
        embedded: EmbeddedRedis | None = None
        redis_url = settings.redis_url
        if redis_url is None:
            embedded = EmbeddedRedis()
            redis_url = embedded.start()

        apy: ApyServer | None = None
        apertium_url = settings.apertium_url
        if apertium_url is None:
            apy = ApyServer()
            apertium_url = await apy.start()

        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        sync_client = redis.Redis.from_url(redis_url)
        store = Store(
            client,
            settings.key_prefix,
            message_ttl_s=settings.message_ttl_s,
            event_ttl_s=settings.event_ttl_s,
            cache_ttl_s=settings.cache_ttl_s,
        )
        engines = build_engines(settings, apertium_url)
        translator = TranslationService(store, engines, SpaceStore(store, settings.engine_chain()))
        detector = LanguageDetector()
        # lingua loads its models on the first call (~1 s); pay that at start, not on a message.
        detector.detect("warming up the language models", ("en", "es"))
        relay = Relay(store, translator, detector)
        jobs = (
            None
            if role == "worker"
            else RqJobQueue(sync_client, settings.queue_name, job_timeout_s=settings.job_timeout_s)
        )
        await _check_services(
            client, redis_url, engines["apertium"], apertium_url, embedded=embedded, apy=apy
        )
        parley = Parley(store, translator, relay, jobs)
        learning = wire_learning(parley, store, translator, detector, engines)
        runtime = cls(
            settings=settings,
            redis_url=redis_url,
            apertium_url=apertium_url,
            redis=client,
            sync_redis=sync_client,
            store=store,
            translator=translator,
            relay=relay,
            parley=parley,
            engines=engines,
            learning=learning,
            embedded_redis=embedded,
            apy=apy,
        )
        if spawn_worker:
            runtime.worker = runtime.spawn_worker()
        return runtime

    def worker_environment(self) -> dict[str, str]:
        """Return the environment a worker process needs to share this runtime's services."""
        env = dict(os.environ)
        env.update(
            {
                "REDIS_URL": self.redis_url,
                "APERTIUM_URL": self.apertium_url,
                "PARLEY_KEY_PREFIX": self.settings.key_prefix,
                "PARLEY_QUEUE": self.settings.queue_name,
            }
        )
        return env

    def spawn_worker(self, *, burst: bool = False) -> subprocess.Popen[bytes]:
        """Start `parley worker` as a child process on this runtime's Redis and Apertium."""
        command = [sys.executable, "-m", "bot.cli", "worker"] + (["--burst"] if burst else [])
        process = subprocess.Popen(command, env=self.worker_environment())
        log.info("worker process %d started on queue %s", process.pid, self.settings.queue_name)
        return process

    async def close(self) -> None:
        """Stop the worker, the engines, the clients and any embedded servers, in that order."""
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        for engine in self.engines.values():
            close = getattr(engine, "close", None)
            if close is not None:
                await close()
        await self.redis.aclose()
        self.sync_redis.close()
        if self.apy is not None:
            await self.apy.stop()
        if self.embedded_redis is not None:
            self.embedded_redis.stop()


async def _check_services(
    client: aioredis.Redis,
    redis_url: str,
    engine: TranslationEngine,
    apertium_url: str,
    *,
    embedded: EmbeddedRedis | None,
    apy: ApyServer | None,
) -> None:
    """Fail at start, naming the setting, rather than on the first message."""
    problem: str | None = None
    try:
        await client.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        problem = f"cannot reach Redis at REDIS_URL={redis_url}: {error}"
    if problem is None:
        try:
            await engine.supports("en", "es")
        except EngineError as error:
            problem = f"cannot reach Apertium at APERTIUM_URL={apertium_url}: {error}"
    if problem is None:
        return

    await client.aclose()
    close = getattr(engine, "close", None)
    if close is not None:
        await close()
    if apy is not None:
        await apy.stop()
    if embedded is not None:
        embedded.stop()
    raise StartError(problem)


def build_engines(settings: Settings, apertium_url: str) -> dict[str, TranslationEngine]:
    """Create every engine whose settings are present; Apertium is always there."""
    timeout = settings.engine_timeout_s
    engines: dict[str, TranslationEngine] = {
        "apertium": ApertiumEngine(apertium_url, timeout=timeout),
    }
    if settings.deepl_auth_key is not None:
        from bot.providers.deepl_engine import DeepLEngine

        engines["deepl"] = DeepLEngine(
            settings.deepl_auth_key.get_secret_value(),
            server_url=settings.deepl_server_url,
            timeout_s=timeout,
        )
    if settings.openai_api_key is not None or settings.openai_base_url is not None:
        from bot.providers.llm_engine import LlmEngine

        # A local server (Ollama, llama.cpp) accepts any key, but the SDK requires one.
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "none"
        engines["openai"] = LlmEngine(
            key, settings.openai_model, base_url=settings.openai_base_url, timeout_s=timeout
        )
    if settings.libretranslate_url is not None:
        from bot.providers.libretranslate import LibreTranslateEngine

        api_key = settings.libretranslate_api_key
        engines["libretranslate"] = LibreTranslateEngine(
            settings.libretranslate_url,
            api_key=api_key.get_secret_value() if api_key else None,
            timeout_s=timeout,
        )
    return engines
