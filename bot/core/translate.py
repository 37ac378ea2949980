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
from bot.core.errors import EngineError, TokenMismatchError, UnsupportedPairError
from bot.core.ports import TranslationEngine
from bot.core.store import Store
from bot.core.tokens import ProtectedText, is_translatable, protect, restore

log = logging.getLogger(__name__)

_DOUBLE_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")
_PLACEHOLDER = re.compile(r"⟦\d+⟧")
_PLACEHOLDER_SPLIT = re.compile(r"(⟦\d+⟧)")
# The piece-by-piece retry makes one engine call per run of words between tokens.
_MAX_PIECES = 12

# How long a process waits for another process that is translating the same text.
_PEER_WAIT_S = 5.0
_PEER_POLL_S = 0.05


@dataclass(frozen=True)
class Translation:
    """A finished translation.

    `fallback` marks the original text sent with a short note; `reason` then says why:
    "damaged" (a protected token did not survive), "failed" (engine error) or
    "unsupported" (the engine has no route between the two languages).
    """

    text: str
    source: str
    target: str
    engine: str
    cached: bool = False
    fallback: bool = False
    reason: str | None = None


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
        except TokenMismatchError as error:
            log.warning(
                "translation %s->%s by %s damaged a protected token twice (%s); "
                "posting the original",
                source,
                target,
                engine.name,
                error,
            )
            return self._fallback(text, source, target, engine.name, "damaged")
        except UnsupportedPairError as error:
            log.info("translation %s->%s: %s", source, target, error)
            return self._fallback(text, source, target, engine.name, "unsupported")
        except EngineError as error:
            log.warning("translation %s->%s by %s failed: %s", source, target, engine.name, error)
            return self._fallback(text, source, target, engine.name, "failed")

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

        raw = await self._call_once(engine, protected.text, source, target, cache_key)
        raw = _tidy(raw, protected.text)
        try:
            restored = restore(raw, protected)
        except TokenMismatchError as error:
            # Rule-based engines damage the same token the same way every time (Apertium
            # moved a placeholder into "⟦regarde 0⟧"), so the retry translates the text
            # between tokens piece by piece, which cannot move a token.
            log.info(
                "translation %s->%s by %s damaged a token (%s); retrying piece by piece",
                source,
                target,
                engine.name,
                error,
            )
            raw = _tidy(
                await self._translate_pieces(engine, protected, source, target), protected.text
            )
            restored = restore(raw, protected)
        await self.store.cache_translation(cache_key, raw)
        return self._finish(protected, restored, source, target, engine.name, False)

    async def _translate_pieces(
        self, engine: TranslationEngine, protected: ProtectedText, source: str, target: str
    ) -> str:
        """Translate each run of words between placeholders on its own and rejoin them."""
        pieces = _PLACEHOLDER_SPLIT.split(protected.text)
        wordy = [index for index, piece in enumerate(pieces) if is_translatable(piece)]
        if len(wordy) > _MAX_PIECES:
            raise TokenMismatchError(
                f"{len(wordy)} pieces between tokens is more than {_MAX_PIECES} to retry"
            )
        translated = await asyncio.gather(
            *(engine.translate(pieces[index].strip(), source, target) for index in wordy)
        )
        self.engine_calls += len(wordy)
        for index, text in zip(wordy, translated, strict=True):
            piece = pieces[index]
            leading = piece[: len(piece) - len(piece.lstrip())]
            trailing = piece[len(piece.rstrip()) :]
            if _PLACEHOLDER.search(text):
                raise TokenMismatchError(f"{engine.name} invented a placeholder in {text!r}")
            pieces[index] = f"{leading}{text.strip()}{trailing}"
        return "".join(pieces)

    async def _call_once(
        self,
        engine: TranslationEngine,
        text: str,
        source: str,
        target: str,
        cache_key: str,
    ) -> str:
        """Call the engine, sharing one call among identical concurrent requests.

        Within a process, identical requests await the same future. Across processes, a
        short Redis lock lets one caller translate while the others wait for its cache entry.
        """
        if cache_key in self._inflight:
            return await asyncio.shield(self._inflight[cache_key])

        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[cache_key] = future
        try:
            result = await self._call_across_processes(engine, text, source, target, cache_key)
            future.set_result(result)
            return result
        except BaseException as error:
            future.set_exception(error)
            # Nobody else may be awaiting this future; retrieving the exception keeps asyncio
            # from logging it as never retrieved.
            future.exception()
            raise
        finally:
            self._inflight.pop(cache_key, None)

    async def _call_across_processes(
        self,
        engine: TranslationEngine,
        text: str,
        source: str,
        target: str,
        cache_key: str,
    ) -> str:
        lock = f"translate:{cache_key}"
        if not await self.store.acquire_lock(lock, ttl_s=int(_PEER_WAIT_S) + 1):
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

    def _fallback(
        self, text: str, source: str, target: str, engine: str, reason: str
    ) -> Translation:
        note = i18n.t(f"translation.{reason}", target, engine=engine, source=source, target=target)
        return Translation(
            f"{text}\n({note})", source, target, engine, fallback=True, reason=reason
        )


def _tidy(raw: str, sent: str) -> str:
    """Remove the double spaces an engine left where it dropped a word (Apertium drops
    subject pronouns), unless the text sent had double spaces of its own."""
    return raw if "  " in sent else _DOUBLE_SPACE.sub(" ", raw)


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
