"""The translation pipeline: protect tokens, consult the cache, call the engine, verify, restore."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core import i18n
from bot.core.errors import EngineError, TokenMismatchError
from bot.core.ports import TranslationEngine
from bot.core.store import Store
from bot.core.tokens import ProtectedText, is_translatable, protect, restore

log = logging.getLogger(__name__)

_DOUBLE_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")

# How long a process waits for another process that is translating the same text.
_PEER_WAIT_S = 5.0
_PEER_POLL_S = 0.05


@dataclass(frozen=True)
class Translation:
    """A finished translation. `fallback` marks the original text sent with a short note."""

    text: str
    source: str
    target: str
    engine: str
    cached: bool = False
    fallback: bool = False


class TranslationService:
    """Translates chat text between languages with an engine chosen by name.

    Returns None when there is nothing to translate: same language, untranslatable text
    (emoji, links, code only), or an engine output equal to the input.
    """

    def __init__(self, store: Store, engines: Mapping[str, TranslationEngine]) -> None:
        self.store = store
        self.engines = dict(engines)
        self._inflight: dict[str, asyncio.Future[str]] = {}
        self.engine_calls = 0

    def engine(self, name: str) -> TranslationEngine:
        try:
            return self.engines[name]
        except KeyError:
            raise EngineError(f"engine {name!r} is not configured") from None

    async def translate(
        self, text: str, source: str, target: str, engine_name: str
    ) -> Translation | None:
        """Translate `text`; a damaged or failed result falls back to the original with a note."""
        if source == target or not is_translatable(text):
            return None

        protected = protect(text)
        engine = self.engine(engine_name)
        cache_key = _cache_key(protected.text, source, target, engine.name)

        try:
            return await self._translate_checked(protected, source, target, engine, cache_key)
        except TokenMismatchError:
            log.warning(
                "translation %s->%s by %s damaged a protected token twice; posting the original",
                source,
                target,
                engine.name,
            )
            return self._fallback(text, source, target, engine.name, "translation.damaged")
        except EngineError as error:
            log.warning("translation %s->%s by %s failed: %s", source, target, engine.name, error)
            return self._fallback(text, source, target, engine.name, "translation.failed")

    async def _translate_checked(
        self,
        protected: ProtectedText,
        source: str,
        target: str,
        engine: TranslationEngine,
        cache_key: str,
    ) -> Translation | None:
        cached = await self.store.cached_translation(cache_key)
        if cached is not None:
            restored = _restore_or_none(cached, protected)
            if restored is not None:
                return self._finish(protected, restored, source, target, engine.name, True)

        # One retry: engines sometimes drop a placeholder on a first pass that a second keeps.
        for attempt in (1, 2):
            raw = await self._call_once(
                engine, protected.text, source, target, cache_key, fresh=attempt == 2
            )
            if "  " not in protected.text:
                # Engines leave a double space where they drop a word (Apertium drops
                # subject pronouns); the input had none, so the output should have none.
                raw = _DOUBLE_SPACE.sub(" ", raw)
            restored = _restore_or_none(raw, protected)
            if restored is not None:
                await self.store.cache_translation(cache_key, raw)
                return self._finish(protected, restored, source, target, engine.name, False)
            log.info(
                "translation %s->%s by %s damaged a token (attempt %d)",
                source,
                target,
                engine.name,
                attempt,
            )
        raise TokenMismatchError(f"{engine.name} {source}->{target}")

    async def _call_once(
        self,
        engine: TranslationEngine,
        text: str,
        source: str,
        target: str,
        cache_key: str,
        *,
        fresh: bool,
    ) -> str:
        """Call the engine, sharing one call among identical concurrent requests.

        Within a process, identical requests await the same future. Across processes, a
        short Redis lock lets one caller translate while the others wait for its cache entry.
        """
        if not fresh and cache_key in self._inflight:
            return await asyncio.shield(self._inflight[cache_key])

        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if not fresh:
            self._inflight[cache_key] = future
        try:
            result = await self._call_across_processes(
                engine, text, source, target, cache_key, fresh=fresh
            )
            future.set_result(result)
            return result
        except BaseException as error:
            future.set_exception(error)
            # Nobody else may be awaiting this future; retrieving the exception keeps asyncio
            # from logging it as never retrieved.
            future.exception()
            raise
        finally:
            if not fresh:
                self._inflight.pop(cache_key, None)

    async def _call_across_processes(
        self,
        engine: TranslationEngine,
        text: str,
        source: str,
        target: str,
        cache_key: str,
        *,
        fresh: bool,
    ) -> str:
        lock = f"translate:{cache_key}"
        if not fresh and not await self.store.acquire_lock(lock, ttl_s=int(_PEER_WAIT_S) + 1):
            waited = 0.0
            while waited < _PEER_WAIT_S:
                await asyncio.sleep(_PEER_POLL_S)
                waited += _PEER_POLL_S
                cached = await self.store.cached_translation(cache_key)
                if cached is not None:
                    return cached
            log.info(
                "translation %s->%s: peer did not finish in %.1fs, calling %s",
                source,
                target,
                _PEER_WAIT_S,
                engine.name,
            )
        try:
            self.engine_calls += 1
            return await engine.translate(text, source, target)
        finally:
            if not fresh:
                await self.store.release_lock(lock)

    def _finish(
        self,
        protected: ProtectedText,
        restored: str,
        source: str,
        target: str,
        engine: str,
        cached: bool,
    ) -> Translation | None:
        original = restore(protected.text, protected)
        if _normalize(restored) == _normalize(original):
            return None
        return Translation(restored, source, target, engine, cached=cached)

    def _fallback(self, text: str, source: str, target: str, engine: str, key: str) -> Translation:
        note = i18n.t(key, target)
        return Translation(f"{text}\n({note})", source, target, engine, fallback=True)


def _restore_or_none(raw: str, protected: ProtectedText) -> str | None:
    try:
        return restore(raw, protected)
    except TokenMismatchError:
        return None


def _collapse(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _normalize(text: str) -> str:
    return _collapse(text).casefold()


def _cache_key(protected_text: str, source: str, target: str, engine: str) -> str:
    # Case is kept in the key because engines keep it in the output.
    digest = hashlib.sha256(_collapse(protected_text).encode("utf-8")).hexdigest()[:32]
    return f"{engine}:{source}:{target}:{digest}"
