"""DeepL engine: the official `deepl` SDK, run in worker threads, with request batching.

The SDK is synchronous (it uses `requests`), so every SDK call that sends a request runs
in a thread through `asyncio.to_thread`, and the event loop never waits on the network.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, ParamSpec, TypeVar
from xml.sax.saxutils import escape

import deepl

from bot.core.errors import EngineError, EngineUnavailableError, UnsupportedPairError
from bot.core.ports import EngineRequest, EngineResult, GlossaryTerm

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")

AUTH_KEY_VARIABLE: Final = "DEEPL_AUTH_KEY"

# DeepL limits for POST /v2/translate: at most 50 texts, and a request body of at most
# 128 KiB. The SDK sends JSON with ASCII escapes, so a batch keeps its escaped texts and
# context under 100 KB to leave room for the other fields.
MAX_TEXTS_PER_CALL: Final = 50
MAX_BATCH_BYTES: Final = 100_000
DEFAULT_BATCH_WINDOW_S: Final = 0.015

# The SDK rejects the bare target codes EN and PT, so Parley's "en" and "pt" pick a variant.
_TARGET_VARIANTS: Final[dict[str, str]] = {"en": "EN-US", "pt": "PT-BR"}

# DeepL's API reference: "more" and "less" fail for a target language without formality
# support (English, for one), while "prefer_more" and "prefer_less" fall back to the default.
_FORMALITY: Final[dict[str, str]] = {"more": "prefer_more", "less": "prefer_less"}

# Parley's placeholders travel to DeepL as empty XML elements that `ignore_tags` protects.
_PLACEHOLDER_TAG_NAME: Final = "x"
_PLACEHOLDER = re.compile(r"⟦(\d+)⟧")
# DeepL may write the element back as <x id="0"/> or <x id="0"></x>, with either quote.
_PLACEHOLDER_ELEMENT = re.compile(r"""<x\s+id\s*=\s*(["'])(\d+)\1\s*(?:/>|>\s*</x\s*>)""")

# 4xx statuses that concern the account or its rate, not the glossary's language pair.
_ACCOUNT_STATUSES: Final = frozenset({403, 429, 456})


@dataclass(frozen=True)
class _BatchKey:
    """The SDK arguments that texts in one `translate_text` call must share."""

    source: str | None
    target: str
    formality: str | None
    glossary_id: str | None
    context: str | None


@dataclass
class _Batch:
    texts: list[str] = field(default_factory=list)
    futures: list[asyncio.Future[deepl.TextResult]] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


@dataclass(frozen=True)
class _Languages:
    """DeepL's language codes, upper-case, as GET /v2/languages lists them."""

    sources: frozenset[str]
    targets: frozenset[str]


class _Batcher:
    """Merges texts submitted for the same `_BatchKey` within `window_s` into one call.

    A batch is sent when its window ends, or as soon as it contains `MAX_TEXTS_PER_CALL`
    texts or the next text would take it past `MAX_BATCH_BYTES`. Each submitter gets the
    result for its own text, or the exception of the whole call.
    """

    def __init__(
        self,
        send: Callable[[_BatchKey, list[str]], Awaitable[list[deepl.TextResult]]],
        window_s: float,
    ) -> None:
        self._send = send
        self._window_s = window_s
        self._open: dict[_BatchKey, _Batch] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, key: _BatchKey, text: str) -> deepl.TextResult:
        """Queue `text` for the batch of `key` and wait for its translation."""
        size = _json_size(text)
        batch = self._open.get(key)
        if batch is not None and batch.size + size > MAX_BATCH_BYTES:
            self._flush(key, batch)
            batch = None
        if batch is None:
            batch = _Batch(size=_json_size(key.context or ""))
            self._open[key] = batch
            batch.timer = asyncio.get_running_loop().call_later(
                self._window_s, self._flush, key, batch
            )

        future: asyncio.Future[deepl.TextResult] = asyncio.get_running_loop().create_future()
        batch.texts.append(text)
        batch.futures.append(future)
        batch.size += size
        if len(batch.texts) >= MAX_TEXTS_PER_CALL:
            self._flush(key, batch)
        return await future

    def fail_queued(self, error: EngineError) -> None:
        """Fail every text still waiting for its window. Batches already sent carry on."""
        for batch in self._open.values():
            if batch.timer is not None:
                batch.timer.cancel()
            for future in batch.futures:
                if not future.done():
                    future.set_exception(error)
        self._open.clear()

    def _flush(self, key: _BatchKey, batch: _Batch) -> None:
        if self._open.get(key) is not batch:
            return  # Already sent because it filled up before its window ended.
        del self._open[key]
        if batch.timer is not None:
            batch.timer.cancel()
        task = asyncio.get_running_loop().create_task(self._run(key, batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: _BatchKey, batch: _Batch) -> None:
        try:
            results = await self._send(key, batch.texts)
            if len(results) != len(batch.texts):
                raise EngineError(
                    f"DeepL returned {len(results)} translations for {len(batch.texts)} texts"
                )
        except asyncio.CancelledError:
            for future in batch.futures:
                future.cancel()
            raise
        except Exception as error:
            for future in batch.futures:
                if not future.done():
                    future.set_exception(error)
            return
        for future, result in zip(batch.futures, results, strict=True):
            if not future.done():  # The submitter may have been cancelled meanwhile.
                future.set_result(result)


class DeepLEngine:
    """Translation engine backed by the DeepL API through the official `deepl` SDK.

    Concurrent `translate` calls with the same source, target, formality, glossary and
    context are merged into one HTTP request when they arrive within `batch_window_s`.
    Glossaries are created on DeepL on first use and reused by name, also across
    restarts. `http_calls` counts the SDK calls this engine made; the SDK's own retries
    of one call are not counted.
    """

    name = "deepl"
    # DeepL takes one target language per request, so each target is its own call.
    max_targets = 8
    paid = True
    uses_glossary = True
    third_party = True

    def __init__(
        self,
        auth_key: str,
        *,
        server_url: str | None = None,
        timeout_s: float = 10.0,
        batch_window_s: float = DEFAULT_BATCH_WINDOW_S,
    ) -> None:
        """Create an engine for the DeepL account of `auth_key`.

        `server_url` defaults to the free or the Pro API, as the SDK picks from the key.
        `timeout_s` bounds each SDK call, including the SDK's own retries.
        Raises `EngineError` when the key is empty.
        """
        if not auth_key:
            raise EngineError(f"DeepL authentication key is empty. Set {AUTH_KEY_VARIABLE}.")
        # The SDK retries 429, 5xx and connection errors itself, up to 5 times with backoff
        # (deepl 1.32, http_client.py). Measured against a local fake answering 500, that
        # held the first message for the whole engine timeout (10 s) while the thread went
        # on retrying for 17 s. Parley's engine chain already falls back and marks the
        # engine down, so the SDK's retries are turned off. The setting is a global of
        # deepl.http_client with no per-client form, which is fine because Parley is the
        # only user of the SDK in its processes.
        deepl.http_client.max_network_retries = 0
        self._client = deepl.DeepLClient(auth_key, server_url=server_url)
        self._timeout_s = timeout_s
        self._batcher = _Batcher(self._translate_batch, batch_window_s)
        self._languages: _Languages | None = None
        self._languages_lock = asyncio.Lock()
        self._glossary_ids: dict[str, str | None] = {}
        self._glossary_tasks: dict[str, asyncio.Task[str | None]] = {}
        self._existing_glossaries: dict[str, str] | None = None
        self._glossary_pairs_logged: set[tuple[str, str]] = set()
        self.http_calls = 0

    async def translate(self, request: EngineRequest) -> EngineResult:
        """Translate the request into each target with one DeepL call per target.

        Placeholders such as ``⟦0⟧`` come back unchanged. `formality` "more" or "less" is
        sent as DeepL's "prefer_more" or "prefer_less", and other values are ignored.
        The context lines are sent as DeepL's `context`, which is neither translated nor
        billed. A target DeepL does not offer fails on its own with `UnsupportedPairError`.
        Raises `EngineError` when every target failed and at least one failure was not a
        missing route, preferring an `EngineUnavailableError` among them.
        """
        if not request.text.strip():
            return EngineResult({target: request.text for target in request.targets})

        languages = await self._load_languages()
        outcomes = await asyncio.gather(
            *(self._translate_one(request, target, languages) for target in request.targets),
            return_exceptions=True,
        )

        translations: dict[str, str] = {}
        failures: dict[str, EngineError] = {}
        billed_characters = 0
        for target, outcome in zip(request.targets, outcomes, strict=True):
            if isinstance(outcome, EngineError):
                failures[target] = outcome
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                text, billed = outcome
                translations[target] = text
                billed_characters += billed

        if not translations:
            _raise_request_failure(failures)
        return EngineResult(translations, billed_characters=billed_characters, failures=failures)

    async def supports(self, source: str, target: str) -> bool:
        """Return whether DeepL lists `source` as a source and `target` as a target language.

        The language lists are fetched once, and again only after a failed fetch.
        Raises `EngineError` when DeepL cannot list its languages.
        """
        if source == target:
            return True
        languages = await self._load_languages()
        return (
            _source_code(source) in languages.sources and _target_code(target) in languages.targets
        )

    async def close(self) -> None:
        """Fail texts still waiting for a batch and close the SDK's HTTP session."""
        self._batcher.fail_queued(EngineError("DeepL engine closed before sending the text"))
        self._client.close()  # type: ignore[no-untyped-call]

    async def _translate_one(
        self, request: EngineRequest, target: str, languages: _Languages
    ) -> tuple[str, int]:
        """Translate into one target and return the text and the characters DeepL billed."""
        if request.source == target:
            return request.text, 0
        target_code = _target_code(target)
        if target_code not in languages.targets:
            raise UnsupportedPairError(self.name, request.source, target)

        # DeepL detects the source language itself when none is sent, so a source that is
        # missing from its list is left out instead of failing the request.
        source_code = _source_code(request.source)
        source = source_code if source_code in languages.sources else None
        terms = request.glossaries.get(target, ())
        glossary_id = None
        if terms and source is not None:
            glossary_id = await self._glossary_id(source, target_code, terms)

        key = _BatchKey(
            source=source,
            target=target_code,
            formality=_FORMALITY.get(request.formality or ""),
            glossary_id=glossary_id,
            context="\n".join(request.context) or None,
        )
        text = to_deepl_xml(request.text)
        try:
            result = await self._batcher.submit(key, text)
        except EngineError as error:
            if source is None or glossary_id is None or _http_status(error) != 404:
                raise
            # The glossary was deleted on DeepL, and the failed batch made the engine forget
            # it, so this creates it again and retries once.
            glossary_id = await self._glossary_id(source, target_code, terms)
            result = await self._batcher.submit(replace(key, glossary_id=glossary_id), text)
        return from_deepl_xml(result.text), result.billed_characters

    async def _translate_batch(self, key: _BatchKey, texts: list[str]) -> list[deepl.TextResult]:
        """Send one POST /v2/translate for `texts`, which all share `key`."""
        action = f"translation into {key.target} ({len(texts)} texts)"
        try:
            results = await self._call(
                action,
                self._client.translate_text,
                texts,
                source_lang=key.source,
                target_lang=key.target,
                formality=key.formality,
                glossary=key.glossary_id,
                context=key.context,
                tag_handling="xml",
                ignore_tags=[_PLACEHOLDER_TAG_NAME],
            )
        except EngineError as error:
            # NOTE: this assumes that DeepL returns 404 for a glossary id it no longer has,
            # as its glossary endpoints do. Only the fake server was checked.
            if key.glossary_id is not None and _http_status(error) == 404:
                self._forget_glossary(key.glossary_id)
            raise
        # The SDK returns a list for a list of texts, and an empty list when the response
        # body is not JSON at all (Translator._api_call ignores the JSONDecodeError).
        results = results if isinstance(results, list) else [results]
        if len(results) != len(texts):
            message = f"DeepL {action} returned {len(results)} translations for {len(texts)} texts"
            logger.warning("%s", message)
            raise EngineError(message)
        return results

    async def _load_languages(self) -> _Languages:
        async with self._languages_lock:
            if self._languages is None:
                sources, targets = await asyncio.gather(
                    self._call("source language listing", self._client.get_source_languages),
                    self._call("target language listing", self._client.get_target_languages),
                )
                if not sources or not targets:
                    # The SDK turns a body that is not JSON into an empty list. Caching that
                    # would make the engine reject every pair until a restart.
                    message = (
                        f"DeepL listed {len(sources)} source and {len(targets)} target languages"
                    )
                    logger.warning("%s", message)
                    raise EngineError(message)
                self._languages = _Languages(
                    sources=frozenset(language.code.upper() for language in sources),
                    targets=frozenset(language.code.upper() for language in targets),
                )
                logger.info(
                    "DeepL offers %d source and %d target languages",
                    len(self._languages.sources),
                    len(self._languages.targets),
                )
            return self._languages

    async def _glossary_id(
        self, source: str, target: str, terms: tuple[GlossaryTerm, ...]
    ) -> str | None:
        """Return the id of the DeepL glossary for these terms, creating it on first use.

        `source` and `target` are DeepL codes. Returns None when DeepL cannot hold a
        glossary for the pair or the terms, so the text is translated without one.
        Concurrent requests for the same glossary share one creation.
        """
        name = _glossary_name(source, target, terms)
        if name in self._glossary_ids:
            return self._glossary_ids[name]
        task = self._glossary_tasks.get(name)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._find_or_create_glossary(name, source, target, terms)
            )
            self._glossary_tasks[name] = task
            task.add_done_callback(lambda done: self._glossary_tasks.pop(name, None))
            # Mark the error retrieved in case every requester was cancelled meanwhile.
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(task)

    async def _find_or_create_glossary(
        self, name: str, source: str, target: str, terms: tuple[GlossaryTerm, ...]
    ) -> str | None:
        glossary_target = deepl.Language.remove_regional_variant(target)
        entries = _glossary_entries(terms)
        if not entries:
            self._log_glossary_unavailable(source, glossary_target, "no term is valid for DeepL")
            self._glossary_ids[name] = None
            return None

        existing = await self._list_glossaries()
        glossary_id = existing.get(name)
        if glossary_id is None:
            action = f"glossary creation for {source}->{glossary_target} ({len(entries)} terms)"
            try:
                info = await self._call(
                    action, self._client.create_glossary, name, source, glossary_target, entries
                )
            except EngineError as error:
                status = _http_status(error)
                if status is None or not 400 <= status < 500 or status in _ACCOUNT_STATUSES:
                    raise
                self._log_glossary_unavailable(source, glossary_target, str(error))
                self._glossary_ids[name] = None
                return None
            glossary_id = info.glossary_id
            existing[name] = glossary_id
            logger.info("DeepL glossary %s created as %s", name, glossary_id)
        self._glossary_ids[name] = glossary_id
        return glossary_id

    async def _list_glossaries(self) -> dict[str, str]:
        """Return the account's ready glossaries by name, fetched once per engine.

        Reusing a glossary by name keeps restarts and other processes from creating
        copies of the same glossary.
        """
        if self._existing_glossaries is None:
            glossaries = await self._call("glossary listing", self._client.list_glossaries)
            self._existing_glossaries = {
                glossary.name: glossary.glossary_id for glossary in glossaries if glossary.ready
            }
        return self._existing_glossaries

    def _forget_glossary(self, glossary_id: str) -> None:
        for cache in (self._glossary_ids, self._existing_glossaries or {}):
            for name in [name for name, known in cache.items() if known == glossary_id]:
                del cache[name]
        logger.warning("DeepL glossary %s not found, so it will be created again", glossary_id)

    def _log_glossary_unavailable(self, source: str, target: str, reason: str) -> None:
        """Log once per pair that its texts are translated without a glossary."""
        if (source, target) in self._glossary_pairs_logged:
            return
        self._glossary_pairs_logged.add((source, target))
        logger.info(
            "DeepL glossary for %s->%s not created, translating without it: %s",
            source,
            target,
            reason,
        )

    async def _call(
        self, action: str, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run one SDK call in a thread, with the engine's timeout and error mapping."""
        self.http_calls += 1
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.to_thread(function, *args, **kwargs)
        except TimeoutError:
            message = f"DeepL {action} timed out after {self._timeout_s:g} s"
            logger.warning("%s", message)
            raise EngineUnavailableError(message) from None
        except deepl.DeepLException as exc:
            error = _engine_error(action, exc)
            logger.warning("%s", error)
            raise error from exc
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            # The SDK parses responses without checks: a translation without
            # billed_characters raises TypeError in int(None), for example.
            message = f"DeepL {action} returned an invalid response: {exc!r}"
            logger.warning("%s", message)
            raise EngineError(message) from exc


def to_deepl_xml(text: str) -> str:
    """Escape `text` as XML content and turn placeholders such as ``⟦0⟧`` into ``<x id="0"/>``."""
    return _PLACEHOLDER.sub(r'<x id="\1"/>', escape(text))


def from_deepl_xml(text: str) -> str:
    """Undo `to_deepl_xml` on DeepL's output: placeholders first, then the entities.

    Placeholders are restored before unescaping, so an escaped ``&lt;x id="0"/&gt;`` typed
    by a user stays literal text.
    """
    return html.unescape(_PLACEHOLDER_ELEMENT.sub(r"⟦\2⟧", text))


def _source_code(language: str) -> str:
    """Return DeepL's source code for an ISO 639-1 code, without any regional variant."""
    return language.split("-", 1)[0].upper()


def _target_code(language: str) -> str:
    return _TARGET_VARIANTS.get(language.lower(), language.upper())


def _glossary_name(source: str, target: str, terms: tuple[GlossaryTerm, ...]) -> str:
    """Name a glossary by a hash of its pair and sorted terms, so equal glossaries share it."""
    pairs = sorted({(term.source, term.target) for term in terms})
    digest = hashlib.sha256(json.dumps([source, target, pairs]).encode()).hexdigest()
    return f"parley-{source}-{target}-{digest[:32]}"


def _glossary_entries(terms: tuple[GlossaryTerm, ...]) -> dict[str, str]:
    """Return the terms DeepL accepts as glossary entries, source term to target term.

    Terms that are empty or contain control characters or line separators are left out.
    The last of several terms with the same source wins.
    """
    entries: dict[str, str] = {}
    for term in terms:
        try:
            deepl.validate_glossary_term(term.source.strip())
            deepl.validate_glossary_term(term.target.strip())
        except ValueError:
            continue
        entries[term.source.strip()] = term.target.strip()
    return entries


def _json_size(text: str) -> int:
    """Return the bytes `text` takes in the SDK's JSON body, where non-ASCII is \\u-escaped."""
    return len(json.dumps(text))


def _http_status(error: EngineError) -> int | None:
    cause = error.__cause__
    return cause.http_status_code if isinstance(cause, deepl.DeepLException) else None


def _engine_error(action: str, exc: deepl.DeepLException) -> EngineError:
    """Map an SDK exception to the engine error the pipeline acts on."""
    if isinstance(exc, deepl.QuotaExceededException):
        return EngineUnavailableError(
            f"DeepL {action} failed: the account's character quota is used up (HTTP 456)",
            quota=True,
        )
    if isinstance(exc, deepl.TooManyRequestsException):
        # NOTE: deepl 1.32 keeps only the status and body of a response
        # (HttpClient._internal_request), so a Retry-After header cannot be read.
        return EngineUnavailableError(
            f"DeepL {action} failed: too many requests (HTTP 429)", retry_after=None
        )
    if isinstance(exc, deepl.AuthorizationException):
        # The SDK's message is not used, so no part of the request can leak into logs.
        return EngineError(
            f"DeepL {action} failed: the authentication key was rejected (HTTP 403). "
            f"Check {AUTH_KEY_VARIABLE}."
        )
    status = exc.http_status_code
    if isinstance(exc, deepl.ConnectionException) or (status is not None and status >= 500):
        return EngineUnavailableError(f"DeepL {action} failed: {exc}")
    return EngineError(f"DeepL {action} failed: {exc}")


def _raise_request_failure(failures: Mapping[str, EngineError]) -> None:
    """Raise the error for a request whose every target failed.

    Returns when every failure is a missing route, so the caller reports them per target.
    """
    errors = [error for error in failures.values() if not isinstance(error, UnsupportedPairError)]
    for error in errors:
        if isinstance(error, EngineUnavailableError):
            raise error
    if errors:
        raise errors[0]
