"""Measure provider requests, billed characters and tokens, and failing-primary latency.

Part 1 counts, per 100 chat messages in a linked group, the requests and billed characters
of DeepL and the requests and tokens of an LLM engine, with and without cache and batching.
Part 2 times `translate_many` on the chain deepl → fallback while DeepL fails in several ways.

Run from the repository root: .venv/bin/python bench/engines.py
DeepL and the LLM engine run against the local fake servers of the test suite. The fallback
engine is a real Apertium when apertium-apy is installed, else the fake LibreTranslate.
Uses REDIS_URL when set, else starts an embedded Redis. Results are in docs/bench-engines.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import platform
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import deepl
import redis.asyncio as aioredis
from aiohttp import web

REPOSITORY = Path(__file__).resolve().parents[1]
# The fake provider servers live in the test suite, which is not installed with the package.
sys.path.insert(0, str(REPOSITORY))

from bot.adapters.console.sender import RecordingSender  # noqa: E402
from bot.core.conversation import Parley  # noqa: E402
from bot.core.detect import LanguageDetector  # noqa: E402
from bot.core.events import Author, Command, MessageCreated, Place  # noqa: E402
from bot.core.ports import EngineRequest, TranslationEngine  # noqa: E402
from bot.core.relay import Relay  # noqa: E402
from bot.core.store import Store  # noqa: E402
from bot.core.translate import (  # noqa: E402
    DEFAULT_DOWN_S,
    QUOTA_DOWN_S,
    SpaceRef,
    TranslationService,
)
from bot.embedded_redis import EmbeddedRedis  # noqa: E402
from bot.providers.apertium import ApertiumEngine, ApyServer, apertium_available  # noqa: E402
from bot.providers.deepl_engine import DEFAULT_BATCH_WINDOW_S, DeepLEngine  # noqa: E402
from bot.providers.libretranslate import LibreTranslateEngine  # noqa: E402
from bot.providers.llm_engine import LlmEngine  # noqa: E402
from tests.providers.fake_deepl import FakeDeepL  # noqa: E402
from tests.providers.fake_libretranslate import FakeLibreTranslate  # noqa: E402
from tests.providers.fake_openai import FakeOpenAI  # noqa: E402

DEFAULT_DATA = REPOSITORY.parent / "shared" / "data" / "langid"
CHANNELS = {"c-en": "en", "c-es": "es", "c-fr": "fr"}
ROTATION = tuple(CHANNELS.items())
LANGUAGES = tuple(CHANNELS.values())
PLATFORM = "discord"
SPACE = "s1"
ADMIN = Author("u-admin", "Mod", is_admin=True)
EMOJI = ("👍", "🎉", ":tada:")
MESSAGES = 100
BURST = 5
# Positions in each burst that carry a short, often repeated phrase instead of a
# sentence. With the channel rotation, 40 of 100 messages are phrases: 10 first uses and
# 30 verbatim repeats.
PHRASE_POSITIONS = (1, 3)
PHRASES_PER_LANGUAGE = {"en": 4, "es": 3, "fr": 3}
MAX_PHRASE_CHARS = 16
DEEPL_KEY = "bench-deepl-key"
LLM_MODEL = "fake-model"
# The engine timeout of the failure runs, and the fake DeepL's response delay when it hangs.
FAILURE_TIMEOUT_S = 0.5
HUNG_LATENCY_S = 2.0
# PARLEY_ENGINE_TIMEOUT's default in config/settings.py, used for the run with SDK retries.
PRODUCTION_TIMEOUT_S = 10.0
SDK_DEFAULT_RETRIES = 5
# How long to wait for the SDK's background retries to end before stopping the fake.
RETRY_DRAIN_S = 30.0

CALL_HEADER = (
    "| engine | configuration | cache | batching | HTTP requests | texts sent"
    " | billed characters | tokens | cache hits | copies posted |\n"
    "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)
LATENCY_HEADER = (
    "| chain | DeepL state | engine timeout | SDK retries | first message ms"
    " | later p50 ms | later p99 ms | DeepL requests | targets by engine |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
)


@dataclass(frozen=True)
class Message:
    """One chat message of the run: its channel, language and text."""

    channel: str
    language: str
    text: str
    repeat: bool


class CountingStore(Store):
    """A Store that counts translation cache hits and can drop its cached translations."""

    cache_hits = 0

    async def cached_translation(self, cache_key: str) -> str | None:
        found = await super().cached_translation(cache_key)
        if found is not None:
            self.cache_hits += 1
        return found

    async def clear_cache(self) -> None:
        pattern = self.key("cache", "*")
        keys = [key async for key in self.redis.scan_iter(match=pattern, count=1000)]
        if keys:
            await self.redis.unlink(*keys)


class CountingDeepL(FakeDeepL):
    """FakeDeepL that also counts the POST /v2/translate requests that got an error status.

    FakeDeepL's own `translate_calls` counts only requests that reached its handler.
    """

    def __init__(self) -> None:
        super().__init__(DEEPL_KEY)
        self.requests_received = 0
        self.request_times: list[float] = []

    @web.middleware
    async def _check_request(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/v2/translate":
            self.requests_received += 1
            self.request_times.append(time.monotonic())
        return await super()._check_request(request, handler)


# Part 1: engine calls, billed characters and tokens per 100 messages.


def load_messages(data: Path, detector: LanguageDetector) -> list[Message]:
    """Build the 100 messages: real sentences with chat tokens, and short repeated phrases."""
    sentences = {
        language: (data / "sentences" / f"{language}.txt").read_text("utf-8").splitlines()
        for language in LANGUAGES
    }
    phrases = {
        language: choose_phrases(data, language, count, detector)
        for language, count in PHRASES_PER_LANGUAGE.items()
    }
    used_sentences: Counter[str] = Counter()
    used_phrases: Counter[str] = Counter()
    seen: set[str] = set()
    messages = []
    for serial in range(MESSAGES):
        channel, language = ROTATION[serial % len(ROTATION)]
        if serial % BURST in PHRASE_POSITIONS:
            options = phrases[language]
            text = options[used_phrases[language] % len(options)]
            used_phrases[language] += 1
        else:
            index = used_sentences[language]
            used_sentences[language] += 1
            url = f" https://example.com/p/{serial}" if index % 4 == 0 else ""
            sentence = sentences[language][index]
            text = f"<@123456789> {sentence} {EMOJI[serial % len(EMOJI)]}{url}"
        messages.append(Message(channel, language, text, repeat=text in seen))
        seen.add(text)
    return messages


def choose_phrases(data: Path, language: str, count: int, detector: LanguageDetector) -> list[str]:
    """Return the first `count` word-pair lines that are short and detected in `language`.

    The detection check uses the linked channel's rule (the group's languages, the channel's
    language as prior and as the result when detection is unsure), so each phrase is translated into
    both other languages like a sentence is.
    """
    chosen = []
    for line in (data / "word-pairs" / f"{language}.txt").read_text("utf-8").splitlines():
        phrase = line.strip()
        if not phrase or len(phrase) > MAX_PHRASE_CHARS:
            continue
        if (detector.detect(phrase, LANGUAGES, prior=(language,)) or language) != language:
            continue
        chosen.append(phrase)
        if len(chosen) == count:
            return chosen
    raise SystemExit(f"only {len(chosen)} short {language} word pairs found, {count} needed")


def bursts(messages: list[Message]) -> Iterator[list[Message]]:
    for start in range(0, len(messages), BURST):
        yield messages[start : start + BURST]


@dataclass
class Relayed:
    """Counts from one run through Parley.handle: copies, cache hits and provider counters."""

    copies: int = 0
    cache_hits: int = 0
    provider: dict[str, int] = field(default_factory=dict)


async def relay_messages(
    client: aioredis.Redis,
    prefix: str,
    engine: TranslationEngine,
    messages: list[Message],
    detector: LanguageDetector,
    *,
    cache: bool,
    counters: Callable[[], dict[str, int]],
) -> Relayed:
    """Link the channels with `link create`, then send the messages in bursts.

    Without `cache`, the cached translations are deleted before every burst. No text occurs
    twice in one burst, so no message can find another's translation either. `counters`
    reads the fake provider's counters. They are read after the link command, whose
    language checks may call the provider, and again at the end.
    """
    store = CountingStore(client, prefix, message_ttl_s=3600, event_ttl_s=3600, cache_ttl_s=3600)
    translator = TranslationService(store, {engine.name: engine})
    parley = Parley(store, translator, Relay(store, translator, detector))
    sender = RecordingSender()
    channels = " ".join(f"{channel}:{language}" for channel, language in CHANNELS.items())
    link = Command(
        "link-1", Place(PLATFORM, SPACE, "c-en"), ADMIN, "link create", {"channels": channels}
    )
    outcome = await parley.handle(link, sender)
    if await store.channel_config(Place(PLATFORM, SPACE, "c-en")) is None:
        raise SystemExit(f"link create failed: {outcome.actions[0].text}")

    before = counters()
    relayed = Relayed()
    serial = 0
    for burst in bursts(messages):
        if not cache:
            await store.clear_cache()
        events = []
        for message in burst:
            serial += 1
            author = Author(f"u-{serial % 7}", f"User {serial % 7}")
            place = Place(PLATFORM, SPACE, message.channel)
            events.append(MessageCreated(f"e{serial}", place, author, f"m{serial}", message.text))
        outcomes = await asyncio.gather(*(parley.handle(event, sender) for event in events))
        for event, outcome in zip(events, outcomes, strict=True):
            if len(outcome.actions) != len(CHANNELS) - 1:
                raise SystemExit(f"message {event.message_id}: {len(outcome.actions)} copies")
            relayed.copies += len(outcome.actions)
    after = counters()
    relayed.cache_hits = store.cache_hits
    relayed.provider = {name: after[name] - before[name] for name in after}
    return relayed


CONFIGURATIONS = (
    ("(a) no cache, no batching", False, False),
    ("(b) cache only", True, False),
    ("(c) batching only", False, True),
    ("(d) cache and batching", True, True),
)


async def count_deepl(
    client: aioredis.Redis, prefixes: list[str], messages: list[Message], detector: LanguageDetector
) -> list[str]:
    """Return one table row per configuration for DeepL, batching being the batch window."""
    rows = []
    async with CountingDeepL() as fake:

        def counters() -> dict[str, int]:
            return {
                "requests": fake.translate_calls,
                "texts": fake.texts_seen,
                "characters": fake.characters_billed,
            }

        for name, cache, batching in CONFIGURATIONS:
            window = DEFAULT_BATCH_WINDOW_S if batching else 0.0
            engine = DeepLEngine(DEEPL_KEY, server_url=fake.base_url, batch_window_s=window)
            prefixes.append(prefix := f"bench-{uuid.uuid4().hex[:12]}")
            relayed = await relay_messages(
                client, prefix, engine, messages, detector, cache=cache, counters=counters
            )
            await engine.close()
            used = relayed.provider
            rows.append(
                f"| DeepL | {name} | {'on' if cache else 'off'}"
                f" | {f'{window * 1000:g} ms window' if batching else 'window 0'}"
                f" | {used['requests']} | {used['texts']} | {used['characters']:,} | –"
                f" | {relayed.cache_hits} | {relayed.copies} |"
            )
    return rows


async def count_llm(
    client: aioredis.Redis, prefixes: list[str], messages: list[Message], detector: LanguageDetector
) -> list[str]:
    """Return one table row per configuration for the LLM engine.

    Batching here is one call for both target languages. Without it the engine instance's
    `max_targets` is 1, so the pipeline sends one request per target.
    """
    rows = []
    fake = FakeOpenAI(model=LLM_MODEL)
    base_url = await fake.start()

    def counters() -> dict[str, int]:
        return {"requests": fake.calls, "tokens": fake.tokens_reported}

    try:
        for name, cache, batching in CONFIGURATIONS:
            engine = LlmEngine("bench-key", LLM_MODEL, base_url=base_url)
            if not batching:
                engine.max_targets = 1
            prefixes.append(prefix := f"bench-{uuid.uuid4().hex[:12]}")
            relayed = await relay_messages(
                client, prefix, engine, messages, detector, cache=cache, counters=counters
            )
            await engine.close()
            used = relayed.provider
            rows.append(
                f"| LLM | {name} | {'on' if cache else 'off'}"
                f" | {'2 targets a call' if batching else '1 target a call'}"
                f" | {used['requests']} | – | – | {used['tokens']:,}"
                f" | {relayed.cache_hits} | {relayed.copies} |"
            )
    finally:
        await fake.stop()
    return rows


# Part 2: latency of translate_many when the primary engine fails.


@dataclass
class Scenario:
    """One latency run: the chain, what the fake DeepL does, and the engine's settings."""

    state: str
    with_deepl: bool = True
    timeout_s: float = FAILURE_TIMEOUT_S
    sdk_retries: int = 0
    switches: dict[str, Any] = field(default_factory=dict)


SCENARIOS = (
    Scenario("not used (fallback engine alone)", with_deepl=False),
    Scenario("healthy, answers at once"),
    Scenario("HTTP 500 on every call", switches={"server_error": True}),
    Scenario("hung: answers after 2 s", switches={"latency_s": HUNG_LATENCY_S}),
    Scenario("quota exceeded: HTTP 456", switches={"quota_exceeded": True}),
    # Last, because the SDK keeps retrying in its thread after the engine gave up, and
    # the retry count is a global of the SDK that the other runs set to 0.
    Scenario(
        "HTTP 500 on every call",
        timeout_s=PRODUCTION_TIMEOUT_S,
        sdk_retries=SDK_DEFAULT_RETRIES,
        switches={"server_error": True},
    ),
)


async def start_fallback(
    kind: str,
) -> tuple[TranslationEngine, Callable[[], Awaitable[None]], str]:
    """Start the fallback engine's server. Return the engine, a stop function and its name.

    `kind` "auto" picks Apertium when apertium-apy is installed, else the fake LibreTranslate.
    """
    if kind == "apertium" or (kind == "auto" and apertium_available()):
        server = ApyServer()
        apertium = ApertiumEngine(await server.start())

        async def stop_apertium() -> None:
            await apertium.close()
            await server.stop()

        return apertium, stop_apertium, "Apertium (apertium-apy, real)"

    fake = FakeLibreTranslate()
    libretranslate = LibreTranslateEngine(await fake.start())

    async def stop_libretranslate() -> None:
        await libretranslate.close()
        await fake.stop()

    return libretranslate, stop_libretranslate, "LibreTranslate (fake, answers at once)"


@dataclass
class Timed:
    """The outcome of one latency run, turned into a table row once the fake is quiet."""

    scenario: Scenario
    chain: tuple[str, ...]
    times_ms: list[float]
    served: Counter[str]
    fake: CountingDeepL
    requests_before: int

    def row(self) -> str:
        later = sorted(self.times_ms[1:])
        p50, p99 = (later[math.ceil(len(later) * q) - 1] for q in (0.50, 0.99))
        scenario = self.scenario
        timeout = f"{scenario.timeout_s:g} s" if scenario.with_deepl else "–"
        retries = str(scenario.sdk_retries) if scenario.with_deepl else "–"
        by_engine = ", ".join(f"{name} {count}" for name, count in sorted(self.served.items()))
        return (
            f"| {' → '.join(self.chain)} | {scenario.state} | {timeout} | {retries}"
            f" | {self.times_ms[0]:.1f} | {p50:.1f} | {p99:.1f}"
            f" | {self.fake.requests_received - self.requests_before} | {by_engine} |"
        )


async def measure_fallback(
    client: aioredis.Redis, prefixes: list[str], messages: list[Message], fallback_kind: str
) -> tuple[str, list[str], float]:
    """Time translate_many in each scenario.

    Returns the fallback engine's label, the table rows, and how long the SDK kept
    retrying in the last scenario, in seconds.
    """
    fallback, stop_fallback, label = await start_fallback(fallback_kind)
    fakes: list[CountingDeepL] = []
    engines: list[DeepLEngine] = []
    timed: list[Timed] = []
    try:
        # Apertium starts a pipeline per language pair on first use, which is not measured.
        for language in LANGUAGES:
            targets = tuple(other for other in LANGUAGES if other != language)
            await fallback.translate(EngineRequest(messages[1].text, language, targets))

        for scenario in SCENARIOS:
            fake = CountingDeepL()
            await fake.start()
            fakes.append(fake)
            engine = DeepLEngine(DEEPL_KEY, server_url=fake.base_url, timeout_s=scenario.timeout_s)
            engines.append(engine)
            # Load the language lists while DeepL is healthy, as in a bot that ran for a while.
            await engine.supports("en", "es")
            timed.append(
                await run_scenario(client, prefixes, messages, scenario, fake, engine, fallback)
            )
    finally:
        if fakes and SCENARIOS[-1].sdk_retries:
            await wait_for_retries(fakes[-1], SCENARIOS[-1].sdk_retries)
        deepl.http_client.max_network_retries = SDK_DEFAULT_RETRIES
        for engine in engines:
            await engine.close()
        for fake in fakes:
            await fake.stop()
        await stop_fallback()
    times = fakes[-1].request_times
    retrying_s = times[-1] - times[0] if times else 0.0
    return label, [item.row() for item in timed], retrying_s


async def run_scenario(
    client: aioredis.Redis,
    prefixes: list[str],
    messages: list[Message],
    scenario: Scenario,
    fake: CountingDeepL,
    engine: DeepLEngine,
    fallback: TranslationEngine,
) -> Timed:
    """Translate every message with a cold cache, one message at a time."""
    prefixes.append(prefix := f"bench-{uuid.uuid4().hex[:12]}")
    store = CountingStore(client, prefix, message_ttl_s=3600, event_ttl_s=3600, cache_ttl_s=3600)
    translator = TranslationService(store, {"deepl": engine, fallback.name: fallback})
    chain = ("deepl", fallback.name) if scenario.with_deepl else (fallback.name,)
    await translator.spaces.set_engines(PLATFORM, SPACE, chain)
    deepl.http_client.max_network_retries = scenario.sdk_retries
    for switch, value in scenario.switches.items():
        setattr(fake, switch, value)

    timed = Timed(scenario, chain, [], Counter(), fake, fake.requests_received)
    for message in messages:
        await store.clear_cache()
        targets = tuple(language for language in LANGUAGES if language != message.language)
        started = time.perf_counter_ns()
        results = await translator.translate_many(
            message.text, message.language, targets, space=SpaceRef(PLATFORM, SPACE)
        )
        timed.times_ms.append((time.perf_counter_ns() - started) / 1e6)
        timed.served.update(
            "note only" if found.fallback else found.engine for found in results.values()
        )
    return timed


async def wait_for_retries(fake: CountingDeepL, retries: int) -> None:
    """Wait until the SDK's background retries of the first message's calls have ended.

    That message sends one request per target language, and the SDK retries each one
    `retries` times, so the fake receives targets × (1 + retries) requests in all.
    Stopping the fake earlier would turn the remaining retries into connection errors,
    which the SDK also retries.
    """
    expected = (len(LANGUAGES) - 1) * (1 + retries)
    deadline = time.monotonic() + RETRY_DRAIN_S
    while fake.requests_received < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


# Running everything.


async def benchmark(url: str, data: Path, fallback_kind: str) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    prefixes: list[str] = []
    detector = LanguageDetector()
    try:
        info = await client.info("server")
        messages = load_messages(data, detector)
        calls = await count_deepl(client, prefixes, messages, detector)
        calls += await count_llm(client, prefixes, messages, detector)
        fallback, latency, retrying_s = await measure_fallback(
            client, prefixes, messages, fallback_kind
        )
        return {
            "redis": info["redis_version"],
            "messages": messages,
            "calls": calls,
            "fallback": fallback,
            "latency": latency,
            "retrying_s": retrying_s,
        }
    finally:
        for prefix in prefixes:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
            for start in range(0, len(keys), 1000):
                await client.unlink(*keys[start : start + 1000])
        await client.aclose()


def describe_machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = models[0] if models else "unknown CPU"
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores usable (`nproc`)"


def describe_messages(messages: list[Message]) -> str:
    repeats = sum(message.repeat for message in messages)
    phrases = sorted({message.text for message in messages if message.repeat})
    characters = sum(len(message.text) for message in messages)
    return (
        f"{len(messages)} messages in bursts of {BURST}, {repeats} verbatim repeats,"
        f" {characters:,} characters in all. Repeated phrases: {', '.join(phrases)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with sentences/ and word-pairs/ {en,es,fr}.txt (default: %(default)s)",
    )
    parser.add_argument(
        "--fallback",
        choices=("auto", "apertium", "libretranslate"),
        default="auto",
        help="second engine of the chain: a real Apertium, the fake LibreTranslate, or"
        " Apertium when apertium-apy is installed (default: %(default)s)",
    )
    args = parser.parse_args()
    if args.fallback == "apertium" and not apertium_available():
        parser.error("--fallback apertium needs apertium-apy and /usr/share/apertium/modes")
    for kind in ("sentences", "word-pairs"):
        if not (args.data / kind).is_dir():
            parser.error(f"data folder not found: {args.data / kind}")
    # The failure runs make engines log a warning for every failed call on purpose.
    logging.basicConfig(level=logging.ERROR)

    server = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    url = os.environ["REDIS_URL"] if server is None else server.start()
    started = time.perf_counter()
    try:
        result = asyncio.run(benchmark(url, args.data, args.fallback))
    finally:
        if server is not None:
            server.stop()
    redis_kind = "REDIS_URL" if server is None else "embedded"
    print(
        f"{describe_machine()}, Python {platform.python_version()},"
        f" Redis {result['redis']} ({redis_kind}), deepl {deepl.__version__}\n"
    )
    print(describe_messages(result["messages"]) + "\n")
    print("\n".join([CALL_HEADER, *result["calls"]]) + "\n")
    print(f"Fallback engine: {result['fallback']}\n")
    print("\n".join([LATENCY_HEADER, *result["latency"]]) + "\n")
    print(
        f"With SDK retries, the SDK went on retrying for {result['retrying_s']:.1f} s after the"
        f" first request, in its thread, after the engine had given up.\n"
        f"DeepL is passed over for {DEFAULT_DOWN_S:g} s after a failure and"
        f" {QUOTA_DOWN_S:g} s after HTTP 456. Whole run: {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
