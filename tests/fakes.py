"""A fake translation engine: the edge of the pipeline, with switches for engine misbehaviour."""

from __future__ import annotations

import asyncio
import re

from bot.core.errors import EngineError, EngineUnavailableError, UnsupportedPairError
from bot.core.ports import EngineRequest, EngineResult

_PLACEHOLDER = re.compile(r"⟦\d+⟧")


class FakeEngine:
    """Translates by tagging text with the target language: "hola" → "[fr] hola".

    Placeholders are kept. Switches: `drop_placeholders` loses them and `invent_placeholders`
    adds an unknown one (both count down per call); `fail` raises EngineError and
    `supports_fails` makes `supports` raise it; `unavailable` (seconds to retry after)
    raises EngineUnavailableError; `echo` returns the input; `delay_s` waits before
    answering. `requests` records each request and `calls` each (text, source, target).
    """

    name = "fake"
    max_targets = 8
    paid = False
    uses_glossary = False
    third_party = False

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.requests: list[EngineRequest] = []
        self.unavailable: float | None = None
        self.drop_placeholders = 0
        self.invent_placeholders = 0
        self.fail = False
        self.echo = False
        self.delay_s = 0.0
        self.unsupported: set[tuple[str, str]] = set()
        self.supports_fails = False

    async def translate(self, request: EngineRequest) -> EngineResult:
        self.requests.append(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise EngineError("fake engine switched to fail")
        if self.unavailable is not None:
            raise EngineUnavailableError(
                "fake engine switched to unavailable", retry_after=self.unavailable
            )
        translations: dict[str, str] = {}
        failures: dict[str, EngineError] = {}
        for target in request.targets:
            self.calls.append((request.text, request.source, target))
            if (request.source, target) in self.unsupported:
                failures[target] = UnsupportedPairError(self.name, request.source, target)
            else:
                translations[target] = self._one(request.text, target)
        return EngineResult(
            translations, billed_characters=len(request.text) * len(translations), failures=failures
        )

    def _one(self, text: str, target: str) -> str:
        if self.echo:
            return text
        if self.invent_placeholders:
            self.invent_placeholders -= 1
            text = f"⟦99⟧ {text}"
        if self.drop_placeholders:
            self.drop_placeholders -= 1
            text = _PLACEHOLDER.sub("", text)
        return f"[{target}] {text}"

    async def supports(self, source: str, target: str) -> bool:
        if self.supports_fails:
            raise EngineError("fake engine cannot list its pairs")
        return (source, target) not in self.unsupported
