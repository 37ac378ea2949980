"""Measure Parley's pipeline overhead per message against an instant engine and a real Redis.

Run from the repository root: .venv/bin/python bench/pipeline.py
Uses REDIS_URL when set, else starts an embedded Redis. Results are in docs/bench-pipeline.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import math
import os
import platform
import pstats
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.adapters.console.sender import RecordingSender
from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.events import Author, Command, MessageCreated, Place
from bot.core.ports import EngineRequest, EngineResult
from bot.core.relay import Relay
from bot.core.store import Store
from bot.core.translate import TranslationService
from bot.embedded_redis import EmbeddedRedis

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "langid"
CHANNELS = {"c-en": "en", "c-es": "es", "c-fr": "fr"}
ROTATION = tuple(CHANNELS.items())
ADMIN = Author("u-admin", "Mod", is_admin=True)
AUTHOR = Author("u-ana", "Ana")
EMOJI = ("👍", "🎉", ":tada:")
WARM_UP = 50
CONCURRENCY = 16
BLOCK_SIZE = 10_000_000
HEADER = (
    "| run | messages | concurrency | p50 ms | p90 ms | p99 ms | max ms | messages/s"
    " | engine calls/msg | Redis round trips/msg |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


class InstantEngine:
    """Engine that returns the text tagged with the target language at once, placeholders kept."""

    name = "instant"
    max_targets = 8
    paid = False
    uses_glossary = False
    third_party = False

    async def translate(self, request: EngineRequest) -> EngineResult:
        return EngineResult({target: f"[{target}] {request.text}" for target in request.targets})

    async def supports(self, source: str, target: str) -> bool:
        return True


class RoundTripCounter:
    """Counter of requests sent to Redis, one per command and one per MULTI/EXEC pipeline."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.count = 0
        execute_command, pipeline = client.execute_command, client.pipeline

        async def counted_command(*args: Any, **options: Any) -> Any:
            self.count += 1
            return await execute_command(*args, **options)

        def counted_pipeline(*args: Any, **options: Any) -> Any:
            pipe = pipeline(*args, **options)
            execute = pipe.execute

            async def counted_execute(*args: Any, **options: Any) -> Any:
                self.count += 1
                return await execute(*args, **options)

            pipe.execute = counted_execute
            return pipe

        client.execute_command = counted_command
        client.pipeline = counted_pipeline


class Bench:
    """One Parley core on a private key prefix, with counters for engine calls and Redis."""

    def __init__(self, client: aioredis.Redis, prefix: str, data: Path) -> None:
        store = Store(client, prefix, message_ttl_s=3600, event_ttl_s=3600, cache_ttl_s=3600)
        self.translator = TranslationService(store, {InstantEngine.name: InstantEngine()})
        relay = Relay(store, self.translator, LanguageDetector(), InstantEngine.name)
        self.parley = Parley(store, self.translator, relay)
        self.round_trips = RoundTripCounter(client)
        self.sender = RecordingSender()
        self.sentences = {
            language: (data / "sentences" / f"{language}.txt").read_text("utf-8").splitlines()
            for language in CHANNELS.values()
        }
        self.ids = itertools.count(1)

    def text(self, serial: int) -> tuple[str, str]:
        """Return the channel and chat text of message `serial`. Each serial gives a new text."""
        channel, language = ROTATION[serial % len(ROTATION)]
        lines = self.sentences[language]
        sentence = lines[serial // len(ROTATION) % len(lines)]
        url = f" https://example.com/p/{serial}" if serial % 4 == 0 else ""
        return channel, f"<@123456789> {sentence} {EMOJI[serial % len(EMOJI)]}{url} ({serial})"

    async def link_channels(self) -> None:
        channels = " ".join(f"{channel}:{language}" for channel, language in CHANNELS.items())
        command = Command(
            "link-1", Place("discord", "s1", "c-en"), ADMIN, "link create", {"channels": channels}
        )
        outcome = await self.parley.handle(command, self.sender)
        if await self.parley.store.channel_config(Place("discord", "s1", "c-en")) is None:
            raise SystemExit(f"link create failed: {outcome.actions[0].text}")

    async def send(self, serial: int) -> int:
        """Handle message `serial` once and return the wall time of the call in nanoseconds."""
        channel, text = self.text(serial)
        number = next(self.ids)
        event = MessageCreated(
            f"e{number}", Place("discord", "s1", channel), AUTHOR, f"m{number}", text
        )
        started = time.perf_counter_ns()
        outcome = await self.parley.handle(event, self.sender)
        elapsed = time.perf_counter_ns() - started
        if len(outcome.actions) != len(CHANNELS) - 1:
            raise SystemExit(f"message {serial}: {len(outcome.actions)} copies, expected 2")
        return elapsed

    async def run(self, name: str, serials: list[int], concurrency: int = 1) -> str:
        """Handle `serials` in batches of `concurrency` and return one Markdown table row."""
        calls, trips = self.translator.engine_calls, self.round_trips.count
        started = time.perf_counter()
        times: list[int] = []
        for start in range(0, len(serials), concurrency):
            batch = serials[start : start + concurrency]
            times += await asyncio.gather(*(self.send(serial) for serial in batch))
        seconds = time.perf_counter() - started
        count = len(serials)
        ms = sorted(value / 1e6 for value in times)
        p50, p90, p99 = (ms[math.ceil(count * q) - 1] for q in (0.50, 0.90, 0.99))
        return (
            f"| {name} | {count} | {concurrency} | {p50:.2f} | {p90:.2f} | {p99:.2f}"
            f" | {ms[-1]:.2f} | {count / seconds:,.0f}"
            f" | {(self.translator.engine_calls - calls) / count:.2f}"
            f" | {(self.round_trips.count - trips) / count:.1f} |"
        )


async def benchmark(url: str, data: Path, messages: int, profile: int) -> list[str]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    prefix = f"bench-{uuid.uuid4().hex[:12]}"
    try:
        info = await client.info("server")
        bench = Bench(client, prefix, data)
        await bench.link_channels()
        # The warm-up loads lingua's models and opens connections, so it is not reported.
        await bench.run("warm-up", serial_block(0, WARM_UP))
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await bench.run("profile, cold cache", serial_block(1, profile))
            profiler.disable()
            # Each resumption of a coroutine after an await counts as one more call.
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(r"/bot/", 20)
            stats.sort_stats("tottime").print_stats(10)
            return []
        cold = serial_block(1, messages)
        fresh = serial_block(2, messages)
        mixed = [fresh[i] if i % 2 == 0 else cold[i] for i in range(messages)]
        rows = [
            await bench.run("cold cache, every text new", cold),
            await bench.run("warm cache, same texts again", cold),
            await bench.run("mixed, half new texts", mixed, CONCURRENCY),
        ]
        return [f"Redis {info['redis_version']}", HEADER, *rows]
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.unlink(*keys[start : start + 1000])
        await client.aclose()


def serial_block(block: int, count: int) -> list[int]:
    """Return `count` message serials from block `block`. Two blocks never share a text."""
    return list(range(block * BLOCK_SIZE, block * BLOCK_SIZE + count))


def describe_machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = models[0] if models else "unknown CPU"
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores usable (`nproc`)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--messages", type=int, default=2000, help="messages per run (default: %(default)s)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with sentences/{en,es,fr}.txt (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="instead of the runs, profile N cold messages with cProfile",
    )
    args = parser.parse_args()
    if not 1 <= args.messages <= BLOCK_SIZE:
        parser.error(f"--messages must be from 1 to {BLOCK_SIZE}, got {args.messages}")
    if args.profile < 0:
        parser.error(f"--profile must be 0 or more, got {args.profile}")
    if not (args.data / "sentences").is_dir():
        parser.error(f"data folder not found: {args.data / 'sentences'}")

    # An embedded server by default, so that a fresh machine measures the same setup.
    server = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    url = os.environ["REDIS_URL"] if server is None else server.start()
    try:
        lines = asyncio.run(benchmark(url, args.data, args.messages, args.profile))
    finally:
        if server is not None:
            server.stop()
    if lines:
        redis_kind = "REDIS_URL" if server is None else "embedded"
        print(
            f"{describe_machine()}, Python {platform.python_version()}, {lines[0]} ({redis_kind})\n"
        )
        print("\n".join(lines[1:]))


if __name__ == "__main__":
    main()
