"""Commands for a space's engines: the chain, formality, budgets, usage and glossaries."""

from __future__ import annotations

import re

from bot.core import i18n
from bot.core.errors import UserError
from bot.core.events import Command, Place
from bot.core.languages import parse_language
from bot.core.translate import TranslationService

FORMALITIES = {"more": "more", "less": "less", "default": None}
MAX_TERM_LENGTH = 100
MAX_TERMS_PER_PAIR = 500
_WHOLE_NUMBER = re.compile(r"^[0-9]{1,15}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class EngineCommands:
    """Runs the engine commands for `CommandHandler`; each returns the reply text."""

    def __init__(self, translator: TranslationService) -> None:
        self.translator = translator
        self.spaces = translator.spaces

    async def chain(self, place: Place) -> tuple[str, ...]:
        settings = await self.spaces.settings(place.platform, place.space)
        return settings.engines

    async def engine_set(self, command: Command) -> str:
        names = tuple(dict.fromkeys(command.options["engines"].replace(",", " ").split()))
        known = sorted(self.translator.engines)
        for name in names:
            if name not in self.translator.engines:
                raise UserError("error.engine_unknown", name=name[:30], known=", ".join(known))
        place = command.place
        await self.spaces.set_engines(place.platform, place.space, names)
        return i18n.t("engine.set", command.author.locale, chain=" → ".join(names))

    async def formality_set(self, command: Command) -> str:
        value = command.options["formality"].strip().lower()
        if value not in FORMALITIES:
            raise UserError("error.formality", value=value[:20], choices=", ".join(FORMALITIES))
        await self.spaces.set_formality(
            command.place.platform, command.place.space, FORMALITIES[value]
        )
        return i18n.t("formality.set", command.author.locale, formality=value)

    async def budget_set(self, command: Command) -> str:
        place = command.place
        current = await self.spaces.settings(place.platform, place.space)
        characters = _budget(command.options, "characters", current.budget_characters)
        tokens = _budget(command.options, "tokens", current.budget_tokens)
        await self.spaces.set_budget(
            place.platform, place.space, characters=characters, tokens=tokens
        )
        return i18n.t(
            "budget.set",
            command.author.locale,
            characters=_amount(characters),
            tokens=_amount(tokens),
        )

    async def usage(self, command: Command) -> str:
        """Show what engines billed this space in a month, with the budget left."""
        locale = command.author.locale
        place = command.place
        month = command.options.get("month", "").strip() or None
        if month is not None and not _MONTH.match(month):
            raise UserError("error.month", value=month[:20])
        usage = await self.spaces.usage(place.platform, place.space, month)
        settings = await self.spaces.settings(place.platform, place.space)
        lines = [i18n.t("usage.title", locale, month=month or self.spaces.current_month())]
        engines = sorted(set(usage.characters) | set(usage.tokens) | set(usage.calls))
        if not engines:
            lines.append(i18n.t("usage.none", locale))
        for engine in engines:
            lines.append(
                i18n.t(
                    "usage.engine",
                    locale,
                    engine=engine,
                    calls=usage.calls.get(engine, 0),
                    characters=usage.characters.get(engine, 0),
                    tokens=usage.tokens.get(engine, 0),
                )
            )
        if month is None:
            characters, tokens = await self.spaces.budget_left(
                place.platform, place.space, settings
            )
            lines.append(
                i18n.t(
                    "usage.budget", locale, characters=_amount(characters), tokens=_amount(tokens)
                )
            )
        return "\n".join(lines)

    async def glossary_add(self, command: Command) -> str:
        source, target = _pair(command)
        term = command.options["term"].strip()
        translation = command.options["translation"].strip()
        for value in (term, translation):
            if not value or len(value) > MAX_TERM_LENGTH:
                raise UserError("error.term", maximum=MAX_TERM_LENGTH)
        place = command.place
        existing = await self.spaces.glossary(place.platform, place.space, source, target)
        if len(existing) >= MAX_TERMS_PER_PAIR and term not in {t.source for t in existing}:
            raise UserError("error.glossary_full", maximum=MAX_TERMS_PER_PAIR)
        await self.spaces.add_term(place.platform, place.space, source, target, term, translation)
        return i18n.t(
            "glossary.added",
            command.author.locale,
            term=term,
            translation=translation,
            source=source,
            target=target,
        )

    async def glossary_remove(self, command: Command) -> str:
        source, target = _pair(command)
        term = command.options["term"].strip()
        place = command.place
        if not await self.spaces.remove_term(place.platform, place.space, source, target, term):
            raise UserError(
                "error.term_missing", term=term[:MAX_TERM_LENGTH], source=source, target=target
            )
        return i18n.t("glossary.removed", command.author.locale, term=term)

    async def glossary_list(self, command: Command) -> str:
        locale = command.author.locale
        place = command.place
        if command.options.get("source") and command.options.get("target"):
            pairs = [_pair(command)]
        else:
            pairs = await self.spaces.glossary_pairs(place.platform, place.space)
        lines: list[str] = []
        for source, target in pairs:
            terms = await self.spaces.glossary(place.platform, place.space, source, target)
            lines.extend(f"{source}→{target}: {term.source} = {term.target}" for term in terms)
        return "\n".join(lines) if lines else i18n.t("glossary.empty", locale)


def _pair(command: Command) -> tuple[str, str]:
    source = parse_language(command.options.get("source", ""))
    target = parse_language(command.options.get("target", ""))
    if source == target:
        raise UserError("error.glossary_pair")
    return source, target


def _budget(options: dict[str, str], name: str, current: int | None) -> int | None:
    raw = options.get(name, "").strip().lower().replace("_", "").replace(",", "")
    if raw == "":
        return current
    if raw in ("none", "off", "unlimited"):
        return None
    # ASCII digits only: str.isdigit accepts "²" and "①", which int() rejects.
    if not _WHOLE_NUMBER.match(raw):
        raise UserError("error.budget", name=name, value=raw[:20])
    return int(raw)


def _amount(value: int | None) -> str:
    # A call may bill more tokens than were left (their count is known only afterwards),
    # so a spent budget shows 0 rather than a negative amount.
    return "∞" if value is None else f"{max(0, value):,}"
