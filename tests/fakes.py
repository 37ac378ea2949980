"""A fake translation engine: the edge of the pipeline, with switches for engine misbehaviour."""

from __future__ import annotations

import asyncio
import re

from bot.core.errors import EngineError, UnsupportedPairError

_PLACEHOLDER = re.compile(r"⟦\d+⟧")


class FakeEngine:
    """Translates by tagging text with the target language: "hola" → "[fr] hola".

    Placeholders are kept. Switches: `drop_placeholders` loses them and `invent_placeholders`
    adds an unknown one (both count down per call); `fail` raises EngineError and
    `supports_fails` makes `supports` raise it; `echo` returns the input; `delay_s` waits
    before answering. `calls` records requests.
    """

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.drop_placeholders = 0
        self.invent_placeholders = 0
        self.fail = False
        self.echo = False
        self.delay_s = 0.0
        self.unsupported: set[tuple[str, str]] = set()
        self.supports_fails = False

    async def translate(self, text: str, source: str, target: str) -> str:
        self.calls.append((text, source, target))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise EngineError("fake engine switched to fail")
        if (source, target) in self.unsupported:
            raise UnsupportedPairError(self.name, source, target)
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
