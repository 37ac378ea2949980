"""Wires the learning features (progress, reviews, exports, privacy) into a running core."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.actions import Attachment
from bot.core.commands import CommandReply, CommandSpec
from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.errors import UserError
from bot.core.events import Command
from bot.core.i18n import resolve_locale, t
from bot.core.learning import Learning
from bot.core.learning.chart import load_progress, render_png, summary_text
from bot.core.learning.commands import register_learning_commands
from bot.core.learning.export import ExportCommands, Exports
from bot.core.learning.privacy import Privacy, PrivacyCommands
from bot.core.learning.review import ReviewCommands, Reviews, StudyCard
from bot.core.ports import TranslationEngine
from bot.core.store import Store
from bot.core.translate import TranslationService

# XP for one rated review card.
REVIEW_XP = 1


@dataclass
class LearningParts:
    """The learning services a process keeps next to the core."""

    learning: Learning
    reviews: Reviews
    privacy: Privacy


def wire_learning(
    parley: Parley,
    store: Store,
    translator: TranslationService,
    detector: LanguageDetector,
    engines: Mapping[str, TranslationEngine],
) -> LearningParts:
    """Register the learning commands and observers on `parley`, and the privacy gate on
    `translator`; return the services for adapters and workers."""
    learning = Learning(store)
    parley.observers.append(learning.observer)
    register_learning_commands(parley.commands, learning)

    reviews = Reviews(store)
    learning.links.merge_hooks.append(reviews.merge)

    async def award_review(command: Command, learner: str, card: StudyCard) -> None:
        place = command.place
        await learning.award(
            learner,
            "review",
            REVIEW_XP,
            f"review:{command.event_id}",
            space=(place.platform, place.space),
            language=card.language,
        )

    ReviewCommands(reviews, detector, on_rated=award_review).register(parley.commands)
    ExportCommands(Exports(reviews)).register(parley.commands)

    progress = CommandSpec("progress", (), (), False, "help.progress")

    async def show_progress(command: Command) -> CommandReply:
        """Reply with the learner's chart as a PNG and the same numbers as sentences."""
        learner = await learning.learner_for(command.place.platform, command.author.id)
        series = await load_progress(store, learner, datetime.now(UTC))
        locale = command.author.locale
        chart = Attachment("parley-progress.png", render_png(series, locale), "image/png")
        return CommandReply(summary_text(series, locale), resolve_locale(locale), chart)

    parley.commands.add(progress, show_progress)

    recap = CommandSpec("recap", ("state",), ("state",), True, "help.recap")

    async def set_recap(command: Command) -> str:
        """Turn the weekly recap post in this channel on or off (admins)."""
        state = command.options["state"].strip().lower()
        if state not in ("on", "off"):
            raise UserError("error.recap_state", value=state[:10])
        key = store.key("space", command.place.platform, command.place.space, "recap")
        if state == "on":
            await store.redis.set(key, command.place.channel)
        else:
            await store.redis.delete(key)
        return t(f"recap.{state}", command.author.locale)

    parley.commands.add(recap, set_recap)

    privacy = Privacy(store, translator.spaces, engines)
    PrivacyCommands(privacy).register(parley.commands)
    # Text from users or channels that opted out never reaches a third-party engine.
    translator.consent = privacy.may_send_to_third_party
    return LearningParts(learning, reviews, privacy)
