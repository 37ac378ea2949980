"""The translation pipeline: protect tokens, consult the cache, call the space's engine
chain, verify and restore tokens, count usage, and fall back when engines fail."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.core import i18n
from bot.core.errors import (
    EngineError,
    EngineUnavailableError,
    ParleyError,
    TokenMismatchError,
    UnsupportedPairError,
)
from bot.core.glossary import protect_terms
from bot.core.ports import EngineRequest, EngineResult, GlossaryTerm, TranslationEngine
from bot.core.space_store import SpaceSettings, SpaceStore
from bot.core.store import Store
from bot.core.tokens import ProtectedText, is_translatable, protect, restore

log = logging.getLogger(__name__)

# Anything that notifies people on Discord or Slack, typed or in markup.
_MENTION = re.compile(
    r"<@[!&]?[\w.-]+(?:\|[^>]*)?>|<!(?:here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[^>]+>"
    r"|(?<![\w@])@(?:everyone|here|channel)\b",
    re.IGNORECASE,
)
_DOUBLE_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")
_PLACEHOLDER = re.compile(r"⟦\d+⟧")
_PLACEHOLDER_SPLIT = re.compile(r"(⟦\d+⟧)")
# The piece-by-piece retry makes one engine call per run of words between tokens.
_MAX_PIECES = 12
# How long a process waits for another process that is translating the same text.
_PEER_WAIT_S = 5.0
_PEER_POLL_S = 0.05
# How long an engine is left alone after it failed, when the provider sent no Retry-After.
DEFAULT_DOWN_S = 30.0
QUOTA_DOWN_S = 3600.0


@dataclass(frozen=True)
class Translation:
    """A finished translation.

    `fallback` marks the original text sent with a short note, and `reason` then gives the cause:
    "damaged" (a protected token did not survive), "failed" (every engine failed),
    "unsupported" (no engine has a route between the two languages) or "private" (the
    author opted out and only third-party engines were left; the text has no note).
    `degraded_from` names the space's primary engine when another engine had to step in,
    and `degraded_reason` says why ("unavailable", "quota", "budget", "privacy").
    """

    text: str
    source: str
    target: str
    engine: str
    cached: bool = False
    fallback: bool = False
    reason: str | None = None
    degraded_from: str | None = None
    degraded_reason: str | None = None


@dataclass(frozen=True)
class Author:
    """Who wrote a text, and in which channel: their consent decides which engines see it.

    An empty `user` means the author is unknown; such text stays off third-party engines.
    """

    user: str
    channel: str


# consent(platform, space, channel, user) → may the text go to a third-party engine?
ConsentCheck = Callable[[str, str, str, str], Awaitable[bool]]


@dataclass(frozen=True)
class SpaceRef:
    """The space a translation is for: its settings, budget, glossary and usage apply."""

    platform: str
    space: str


@dataclass
class _Job:
    """The targets of one text still waiting for an engine, and what happened so far."""

    text: str
    source: str
    protected: dict[str, ProtectedText]
    done: dict[str, Translation] = field(default_factory=dict)
    errors: dict[str, ParleyError] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


class TranslationService:
    """Translates chat text with a space's engine chain.

    Returns nothing for a target when there is nothing to translate: the same language,
    untranslatable text (emoji, links, code only), or an engine output equal to the input.
    """

    def __init__(
        self,
        store: Store,
        engines: Mapping[str, TranslationEngine],
        spaces: SpaceStore | None = None,
        consent: ConsentCheck | None = None,
    ) -> None:
        """`consent(platform, space, channel, user)` returns whether text may go to a
        third-party engine; without it, every engine may be used."""
        self.consent = consent
        self.store = store
        self.engines = dict(engines)
        self.spaces = spaces or SpaceStore(store, tuple(self.engines)[:1])
        self._inflight: dict[str, asyncio.Future[EngineResult]] = {}
        self.engine_calls = 0

    def engine(self, name: str) -> TranslationEngine:
        try:
            return self.engines[name]
        except KeyError:
            raise EngineError(f"engine {name!r} is not configured") from None

    async def translate(
        self,
        text: str,
        source: str,
        target: str,
        engine_name: str | None = None,
        *,
        space: SpaceRef | None = None,
        context: tuple[str, ...] = (),
        author: Author | None = None,
    ) -> Translation | None:
        """Translate into one language; see `translate_many`."""
        found = await self.translate_many(
            text, source, (target,), engine_name, space=space, context=context, author=author
        )
        return found.get(target)

    async def translate_many(
        self,
        text: str,
        source: str,
        targets: tuple[str, ...],
        engine_name: str | None = None,
        *,
        space: SpaceRef | None = None,
        context: tuple[str, ...] = (),
        author: Author | None = None,
    ) -> dict[str, Translation]:
        """Translate `text` into each target with the space's chain (or `engine_name` alone).

        A target that every engine failed gets the original text with a note (`fallback`).
        Targets with nothing to translate are left out of the result. `author` is who wrote
        the text and where: third-party engines are passed over when they opted out.
        """
        wanted = tuple(dict.fromkeys(target for target in targets if target != source))
        if not wanted or not is_translatable(text):
            return {}

        settings = (
            await self.spaces.settings(space.platform, space.space)
            if space
            else SpaceSettings(engines=tuple(self.engines)[:1])
        )
        chain = (engine_name,) if engine_name else settings.engines
        base = protect(text)
        job = _Job(text, source, {target: base for target in wanted})
        primary = chain[0]
        allowed = await self._consents(space, author)

        for name in chain:
            pending = [target for target in wanted if target not in job.done]
            if not pending:
                break
            engine = self.engine(name)
            estimate = len(text) * len(pending)
            if engine.third_party and not allowed:
                reason: str | None = "privacy"
            else:
                reason = await self._skip_reason(engine, space, settings, estimate)
            if reason is not None:
                for target in pending:
                    job.skipped.setdefault(target, reason)
                continue
            await self._run_engine(engine, job, pending, space, settings, context)

        results: dict[str, Translation] = {}
        for target in wanted:
            found = job.done.get(target)
            if found is None:
                if target not in job.errors and job.skipped.get(target) == "privacy":
                    # Only third-party engines were left and the author opted out: the text
                    # goes untranslated, without a note that would tell others of the opt-out.
                    found = Translation(
                        text, source, target, chain[-1], fallback=True, reason="private"
                    )
                else:
                    found = self._fallback(text, source, target, chain[-1], job.errors.get(target))
            elif found.engine != primary and not found.fallback:
                found = _degraded(found, primary, job.skipped.get(target, "unavailable"))
            if found.text:
                results[target] = found
        return results

    async def _consents(self, space: SpaceRef | None, author: Author | None) -> bool:
        """Return whether the author's text may go to third-party engines."""
        if space is None or author is None:
            return True
        if not author.user:
            return False
        return await self.may_share(space.platform, space.space, author.channel, author.user)

    async def may_share(self, platform: str, space: str, channel: str, user: str) -> bool:
        """Return whether this user's text in this channel may reach third-party engines."""
        if self.consent is None:
            return True
        return await self.consent(platform, space, channel, user)

    async def _skip_reason(
        self,
        engine: TranslationEngine,
        space: SpaceRef | None,
        settings: SpaceSettings,
        characters_needed: int,
    ) -> str | None:
        """Return why the chain should pass over this engine now, or None to use it.

        A paid engine is passed over when the characters this request would bill exceed
        the space's budget left. Tokens cannot be known before the call, so only a spent
        token budget stops it.
        """
        down = await self.spaces.down_reason(engine.name)
        if down is not None:
            return down
        if engine.paid and space is not None:
            characters, tokens = await self.spaces.budget_left(
                space.platform, space.space, settings
            )
            if characters is not None and characters < characters_needed:
                return "budget"
            if tokens is not None and tokens <= 0:
                return "budget"
        return None

    async def _run_engine(
        self,
        engine: TranslationEngine,
        job: _Job,
        targets: list[str],
        space: SpaceRef | None,
        settings: SpaceSettings,
        context: tuple[str, ...],
    ) -> None:
        """Translate `targets` with one engine, recording successes and errors in `job`."""
        glossaries: dict[str, tuple[GlossaryTerm, ...]] = {}
        if space is not None:
            for target in targets:
                terms = await self.spaces.glossary(space.platform, space.space, job.source, target)
                if terms:
                    glossaries[target] = terms
        protected = {
            target: (
                job.protected[target]
                if engine.uses_glossary
                else protect_terms(job.protected[target], glossaries.get(target, ()))
            )
            for target in targets
        }

        misses: list[str] = []
        for target in targets:
            cached = await self.store.cached_translation(
                self._cache_key(
                    engine, protected[target], job.source, target, glossaries.get(target, ())
                )
            )
            restored = None if cached is None else _restore_or_none(cached, protected[target])
            if restored is None:
                misses.append(target)
            else:
                job.done[target] = _finish(
                    job.text, restored, job.source, target, engine.name, cached=True
                )

        # Targets whose protected text is the same share one request.
        groups: dict[str, list[str]] = {}
        for target in misses:
            groups.setdefault(protected[target].text, []).append(target)
        for group_targets in groups.values():
            for start in range(0, len(group_targets), max(1, engine.max_targets)):
                chunk = tuple(group_targets[start : start + max(1, engine.max_targets)])
                request = EngineRequest(
                    text=protected[chunk[0]].text,
                    source=job.source,
                    targets=chunk,
                    context=context,
                    glossaries={t: glossaries[t] for t in chunk if t in glossaries},
                    formality=settings.formality,
                )
                await self._request(engine, job, request, protected, glossaries, space)

    async def _request(
        self,
        engine: TranslationEngine,
        job: _Job,
        request: EngineRequest,
        protected: dict[str, ProtectedText],
        glossaries: dict[str, tuple[GlossaryTerm, ...]],
        space: SpaceRef | None,
    ) -> None:
        try:
            result = await self._call_shared(engine, request)
        except EngineUnavailableError as error:
            await self._mark_down(engine, error)
            for target in request.targets:
                job.errors[target] = error
                job.skipped.setdefault(target, "quota" if error.quota else "unavailable")
            return
        except EngineError as error:
            log.warning(
                "engine %s failed for %s->%s: %s",
                engine.name,
                request.source,
                ",".join(request.targets),
                error,
            )
            for target in request.targets:
                job.errors[target] = error
            return

        # Every call is counted, so /usage shows free engines too (with 0 billed).
        if space is not None:
            await self.spaces.record_usage(
                space.platform,
                space.space,
                engine.name,
                characters=result.billed_characters,
                tokens=result.tokens,
                paid=engine.paid,
            )
        for target in request.targets:
            if target in result.failures or target not in result.translations:
                job.errors[target] = result.failures.get(
                    target, EngineError(f"{engine.name} returned no {target} translation")
                )
                continue
            raw = _tidy(result.translations[target], request.text)
            restored = await self._restore_or_retry(
                engine, raw, protected[target], job.source, target, job.text
            )
            if restored is None:
                job.errors[target] = TokenMismatchError(f"{engine.name} {job.source}->{target}")
                continue
            restored_text, final_raw = restored
            await self.store.cache_translation(
                self._cache_key(
                    engine, protected[target], job.source, target, glossaries.get(target, ())
                ),
                final_raw,
            )
            job.done[target] = _finish(
                job.text, restored_text, job.source, target, engine.name, cached=False
            )

    async def _restore_or_retry(
        self,
        engine: TranslationEngine,
        raw: str,
        protected: ProtectedText,
        source: str,
        target: str,
        original: str,
    ) -> tuple[str, str] | None:
        """Restore tokens; when the engine damaged one, retry piece by piece once.

        A result that mentions someone the original did not (Apertium turned "@aquí" into
        "@here") counts as damaged too.
        """
        try:
            return _checked(restore(raw, protected), original), raw
        except TokenMismatchError as error:
            # Rule-based engines damage the same token the same way every time (Apertium
            # moved a placeholder into "⟦regarde 0⟧"), so the retry translates the text
            # between tokens piece by piece, which cannot move a token.
            log.info(
                "engine %s damaged a token %s->%s (%s); retrying piece by piece",
                engine.name,
                source,
                target,
                error,
            )
        try:
            pieces = _tidy(
                await self._translate_pieces(engine, protected, source, target), protected.text
            )
            return _checked(restore(pieces, protected), original), pieces
        except (TokenMismatchError, EngineError) as error:
            log.warning(
                "engine %s damaged a token %s->%s twice (%s)", engine.name, source, target, error
            )
            return None

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
        results = await asyncio.gather(
            *(
                engine.translate(EngineRequest(pieces[index].strip(), source, (target,)))
                for index in wordy
            )
        )
        self.engine_calls += len(wordy)
        for index, result in zip(wordy, results, strict=True):
            text = result.translations.get(target)
            if text is None:
                raise result.failures.get(target, EngineError("piece not translated"))
            if _PLACEHOLDER.search(text):
                raise TokenMismatchError(f"{engine.name} invented a placeholder in {text!r}")
            piece = pieces[index]
            leading = piece[: len(piece) - len(piece.lstrip())]
            trailing = piece[len(piece.rstrip()) :]
            pieces[index] = f"{leading}{text.strip()}{trailing}"
        return "".join(pieces)

    async def _call_shared(self, engine: TranslationEngine, request: EngineRequest) -> EngineResult:
        """Call the engine, sharing one call among identical concurrent requests.

        Within a process, identical requests await the same future. Across processes, a
        short Redis lock lets one caller translate while the others wait for its result
        in the cache.
        """
        key = _request_key(engine.name, request)
        if key in self._inflight:
            return await asyncio.shield(self._inflight[key])

        future: asyncio.Future[EngineResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._call_across_processes(engine, request, key)
            future.set_result(result)
            return result
        except BaseException as error:
            future.set_exception(error)
            # No other caller may be awaiting this future. Retrieving the exception keeps asyncio
            # from logging it as never retrieved.
            future.exception()
            raise
        finally:
            self._inflight.pop(key, None)

    async def _call_across_processes(
        self, engine: TranslationEngine, request: EngineRequest, key: str
    ) -> EngineResult:
        lock = f"translate:{key}"
        if not await self.store.acquire_lock(lock, ttl_s=int(_PEER_WAIT_S) + 1):
            waited = 0.0
            while waited < _PEER_WAIT_S:
                await asyncio.sleep(_PEER_POLL_S)
                waited += _PEER_POLL_S
                cached = await self.store.shared_result(key)
                if cached is not None:
                    # The peer paid for this call; this copy of its result bills nothing.
                    return EngineResult(translations=_loads(cached))
            log.info(
                "engine %s: peer did not finish in %.1fs, calling it", engine.name, _PEER_WAIT_S
            )
        try:
            self.engine_calls += 1
            result = await engine.translate(request)
            await self.store.share_result(key, _dumps(result.translations), int(_PEER_WAIT_S) * 2)
            return result
        finally:
            await self.store.release_lock(lock)

    async def _mark_down(self, engine: TranslationEngine, error: EngineUnavailableError) -> None:
        seconds = error.retry_after or (QUOTA_DOWN_S if error.quota else DEFAULT_DOWN_S)
        reason = "quota" if error.quota else "unavailable"
        log.warning(
            "engine %s is %s; passing over it for %.0fs: %s", engine.name, reason, seconds, error
        )
        await self.spaces.mark_down(engine.name, seconds, reason)

    def _cache_key(
        self,
        engine: TranslationEngine,
        protected: ProtectedText,
        source: str,
        target: str,
        terms: tuple[GlossaryTerm, ...],
    ) -> str:
        # Case is kept in the key because engines keep it in the output. Glossary terms
        # change the output of engines that apply them, so they are part of the key.
        material = _collapse(protected.text)
        if engine.uses_glossary and terms:
            material += "\x00" + "\x00".join(f"{t.source}\x01{t.target}" for t in terms)
        digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]
        return f"{engine.name}:{source}:{target}:{digest}"

    def _fallback(
        self, text: str, source: str, target: str, engine: str, error: ParleyError | None
    ) -> Translation:
        if isinstance(error, TokenMismatchError):
            reason = "damaged"
        elif isinstance(error, UnsupportedPairError):
            reason = "unsupported"
        else:
            reason = "failed"
        note = i18n.t(f"translation.{reason}", target, engine=engine, source=source, target=target)
        return Translation(
            f"{text}\n({note})", source, target, engine, fallback=True, reason=reason
        )


def _finish(
    original: str, restored: str, source: str, target: str, engine: str, *, cached: bool
) -> Translation:
    """Build the translation; an output equal to the input becomes an empty translation."""
    if _normalize(restored) == _normalize(original):
        return Translation("", source, target, engine, cached=cached)
    return Translation(restored, source, target, engine, cached=cached)


def _checked(restored: str, original: str) -> str:
    """Return `restored`; raise TokenMismatchError if it gained a mention."""
    gained = Counter(_MENTION.findall(restored)) - Counter(_MENTION.findall(original))
    if gained:
        raise TokenMismatchError(f"translation added mentions: {sorted(gained)}")
    return restored


def _degraded(found: Translation, primary: str, reason: str) -> Translation:
    return Translation(
        found.text,
        found.source,
        found.target,
        found.engine,
        found.cached,
        found.fallback,
        found.reason,
        degraded_from=primary,
        degraded_reason=reason,
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


def _request_key(engine: str, request: EngineRequest) -> str:
    material = "\x00".join(
        (
            engine,
            request.source,
            ",".join(request.targets),
            request.formality or "",
            _collapse(request.text),
            repr(sorted(request.glossaries.items())),
        )
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def _dumps(translations: Mapping[str, str]) -> str:
    return json.dumps(dict(translations), ensure_ascii=False)


def _loads(raw: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(raw)
    return data
