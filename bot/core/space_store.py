"""Per-space engine state in Redis: engine chain, budgets, usage, glossaries, context."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.ports import GlossaryTerm
from bot.core.store import Store

# Usage counters outlive their period long enough for a yearly review.
_MONTH_TTL_S = 400 * 24 * 3600
_DAY_TTL_S = 40 * 24 * 3600
# How many previous messages of a channel are kept as context for engines that use it.
CONTEXT_MESSAGES = 5
# Separates the author id from the text in a recent-messages entry (a unit separator).
_AUTHOR_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class SpaceSettings:
    """A space's engine choices. `engines` is the chain: primary first, then fallbacks.

    Budgets are per calendar month (UTC) and count only paid engines; None is no limit.
    """

    engines: tuple[str, ...]
    formality: str | None = None
    budget_characters: int | None = None
    budget_tokens: int | None = None


@dataclass(frozen=True)
class Usage:
    """Engine usage of a space in one period: characters, tokens and calls by engine."""

    characters: dict[str, int]
    tokens: dict[str, int]
    calls: dict[str, int]


class SpaceStore:
    """Reads and writes per-space engine state; `now` is injectable for tests."""

    def __init__(
        self, store: Store, default_engines: tuple[str, ...], now: type[datetime] = datetime
    ) -> None:
        self.store = store
        self.redis = store.redis
        self.default_engines = default_engines
        self._now = now

    def _space_key(self, platform: str, space: str, *parts: str) -> str:
        return self.store.key("space", platform, space, *parts)

    async def settings(self, platform: str, space: str) -> SpaceSettings:
        raw = await self.redis.hgetall(self._space_key(platform, space))
        fields = {_text(key): _text(value) for key, value in raw.items()}
        engines = tuple(item for item in fields.get("engines", "").split(",") if item)
        return SpaceSettings(
            engines=engines or self.default_engines,
            formality=fields.get("formality") or None,
            budget_characters=_int_or_none(fields.get("budget_characters")),
            budget_tokens=_int_or_none(fields.get("budget_tokens")),
        )

    async def set_engines(self, platform: str, space: str, engines: tuple[str, ...]) -> None:
        await self.redis.hset(self._space_key(platform, space), "engines", ",".join(engines))

    async def set_formality(self, platform: str, space: str, formality: str | None) -> None:
        await self.redis.hset(self._space_key(platform, space), "formality", formality or "")

    async def set_budget(
        self, platform: str, space: str, *, characters: int | None, tokens: int | None
    ) -> None:
        key = self._space_key(platform, space)
        await self.redis.hset(key, "budget_characters", "" if characters is None else characters)
        await self.redis.hset(key, "budget_tokens", "" if tokens is None else tokens)

    # Usage, counted per engine and per day and month (UTC).

    def current_month(self) -> str:
        """Return this month (UTC) as YYYY-MM, the period budgets cover."""
        return self._periods()[0]

    def _periods(self) -> tuple[str, str]:
        today = self._now.now(UTC)
        return today.strftime("%Y-%m"), today.strftime("%Y-%m-%d")

    async def record_usage(
        self, platform: str, space: str, engine: str, *, characters: int, tokens: int, paid: bool
    ) -> None:
        month, day = self._periods()
        async with self.redis.pipeline(transaction=True) as pipe:
            for period, ttl in ((month, _MONTH_TTL_S), (day, _DAY_TTL_S)):
                key = self._space_key(platform, space, "usage", period)
                pipe.hincrby(key, f"{engine}:characters", characters)
                pipe.hincrby(key, f"{engine}:tokens", tokens)
                pipe.hincrby(key, f"{engine}:calls", 1)
                if paid:
                    pipe.hincrby(key, "@paid:characters", characters)
                    pipe.hincrby(key, "@paid:tokens", tokens)
                pipe.expire(key, ttl)
            await pipe.execute()

    async def usage(self, platform: str, space: str, period: str | None = None) -> Usage:
        """Return the usage of a period ("YYYY-MM" or "YYYY-MM-DD"; default this month)."""
        period = period or self._periods()[0]
        raw = await self.redis.hgetall(self._space_key(platform, space, "usage", period))
        usage = Usage({}, {}, {})
        for key, value in raw.items():
            engine, _, measure = _text(key).rpartition(":")
            if engine == "@paid":
                continue
            getattr(usage, measure)[engine] = int(_text(value))
        return usage

    async def budget_left(
        self, platform: str, space: str, settings: SpaceSettings
    ) -> tuple[int | None, int | None]:
        """Return (characters, tokens) left this month for paid engines; None is no limit."""
        month, _ = self._periods()
        raw = await self.redis.hmget(
            self._space_key(platform, space, "usage", month), ["@paid:characters", "@paid:tokens"]
        )
        used_characters, used_tokens = (int(_text(value)) if value else 0 for value in raw)
        characters = (
            None
            if settings.budget_characters is None
            else settings.budget_characters - used_characters
        )
        tokens = None if settings.budget_tokens is None else settings.budget_tokens - used_tokens
        return characters, tokens

    # Glossaries: per space and language pair, term → translation.

    def _glossary_key(self, platform: str, space: str, source: str, target: str) -> str:
        return self._space_key(platform, space, "glossary", source, target)

    async def add_term(
        self, platform: str, space: str, source: str, target: str, term: str, translation: str
    ) -> None:
        await self.redis.hset(
            self._glossary_key(platform, space, source, target), term, translation
        )

    async def remove_term(
        self, platform: str, space: str, source: str, target: str, term: str
    ) -> bool:
        removed = await self.redis.hdel(self._glossary_key(platform, space, source, target), term)
        return bool(removed)

    async def glossary(
        self, platform: str, space: str, source: str, target: str
    ) -> tuple[GlossaryTerm, ...]:
        raw = await self.redis.hgetall(self._glossary_key(platform, space, source, target))
        terms = (GlossaryTerm(_text(key), _text(value)) for key, value in raw.items())
        return tuple(sorted(terms, key=lambda term: term.source.casefold()))

    async def glossary_pairs(self, platform: str, space: str) -> list[tuple[str, str]]:
        pattern = self._space_key(platform, space, "glossary", "*")
        pairs = []
        async for key in self.redis.scan_iter(match=pattern, count=200):
            *_, source, target = _text(key).split(":")
            pairs.append((source, target))
        return sorted(pairs)

    # Recent messages of a channel, the context some engines use.

    async def remember(
        self, platform: str, space: str, channel: str, text: str, author: str = ""
    ) -> None:
        """Keep `text` as context; the author's id goes with it so that their later opt-out
        still keeps it away from third-party engines."""
        key = self._space_key(platform, space, "recent", channel)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, f"{author}{_AUTHOR_SEPARATOR}{text}")
            pipe.ltrim(key, 0, CONTEXT_MESSAGES - 1)
            pipe.expire(key, self.store.message_ttl_s)
            await pipe.execute()

    async def context(self, platform: str, space: str, channel: str) -> tuple[str, ...]:
        """Return the channel's previous messages, oldest first."""
        return tuple(text for _, text in await self.context_entries(platform, space, channel))

    async def context_entries(
        self, platform: str, space: str, channel: str
    ) -> list[tuple[str, str]]:
        """Return (author id, text) of the channel's previous messages, oldest first."""
        raw = await self.redis.lrange(self._space_key(platform, space, "recent", channel), 0, -1)
        entries = []
        for item in reversed(raw):
            author, separator, text = _text(item).partition(_AUTHOR_SEPARATOR)
            entries.append((author, text) if separator else ("", author))
        return entries

    # Engines that failed: marked down for a while so they are not hammered.

    async def mark_down(self, engine: str, seconds: float, reason: str) -> None:
        payload = json.dumps({"reason": reason, "until": time.time() + seconds})
        await self.redis.set(
            self.store.key("engine-down", engine), payload, ex=max(1, int(seconds + 0.999))
        )

    async def down_reason(self, engine: str) -> str | None:
        raw = await self.redis.get(self.store.key("engine-down", engine))
        return None if raw is None else str(json.loads(_text(raw))["reason"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None
