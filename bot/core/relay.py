"""Copies of a message in other languages: planning them (slow, may run in a worker) and
applying a plan through an adapter (posts, edits, deletes and the message map)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.core import i18n
from bot.core.actions import Action, ActionKind
from bot.core.detect import LanguageDetector
from bot.core.markup import convert_markup
from bot.core.ports import Sender
from bot.core.split import split_message
from bot.core.store import ChannelConfig, Copy, MessageRef, Store, StoredMessage
from bot.core.translate import Author as TextAuthor
from bot.core.translate import SpaceRef, Translation, TranslationService

log = logging.getLogger(__name__)

BOT_NAME = "Parley"
# Languages a detected language is checked against before it counts as practice.
CONFIRM_LANGUAGES = (
    "en",
    "es",
    "fr",
    "de",
    "pt",
    "it",
    "nl",
    "pl",
    "ru",
    "ja",
    "zh",
    "ko",
    "ar",
    "tr",
    "ca",
)
# A channel hears about a replaced engine at most once in this many seconds.
NOTICE_EVERY_S = 3600


@dataclass(frozen=True)
class Destination:
    """Destination of one copy: its channel, language, and the name and thread it posts with."""

    platform: str
    space: str
    channel: str
    language: str
    display_name: str = BOT_NAME
    avatar_url: str | None = None
    reply_to: str | None = None
    thread: str | None = None

    def key(self) -> str:
        return f"{self.platform}:{self.space}:{self.channel}:{self.language}"


@dataclass(frozen=True)
class CopyPlan:
    """The desired state of one copy: `text` None means the copy should not exist."""

    destination: Destination
    text: str | None
    existing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """A note to post once in a channel when its primary engine had to be replaced.

    `key` identifies the situation, so the same note is not posted again for a while.
    """

    platform: str
    space: str
    channel: str
    language: str
    text: str
    key: str


@dataclass(frozen=True)
class Plan:
    original: MessageRef
    rev: int
    source: str | None
    copies: tuple[CopyPlan, ...] = field(default_factory=tuple)
    notice: Notice | None = None
    # The language the detector found; None when `source` is only the channel's declared
    # language because the text was too short or unclear to judge.
    detected: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        copies = tuple(
            CopyPlan(Destination(**item["destination"]), item["text"], tuple(item["existing"]))
            for item in data["copies"]
        )
        notice = Notice(**data["notice"]) if data.get("notice") else None
        detected = data.get("detected")
        return cls(
            MessageRef(**data["original"]),
            int(data["rev"]),
            data["source"],
            copies,
            notice,
            detected,
        )


class Relay:
    """Builds and applies plans for the copies of an original message."""

    def __init__(
        self,
        store: Store,
        translator: TranslationService,
        detector: LanguageDetector,
        engine_name: str | None = None,
    ) -> None:
        """`engine_name` pins one engine for every space; None uses each space's chain."""
        self.store = store
        self.translator = translator
        self.detector = detector
        self.engine_name = engine_name

    async def destinations(
        self,
        message: StoredMessage,
        config: ChannelConfig,
        source: str | None,
        members: dict[str, str],
    ) -> list[Destination]:
        """List where copies of `message` belong under the channel's current set-up.

        `members` is the link group (channel key → language), empty for other set-ups.
        """
        ref = message.ref
        if config.mode == "multilingual":
            if source is None:
                return []
            thread = ref.message if config.style == "thread" else None
            reply_to = ref.message if config.style == "reply" else None
            return [
                Destination(
                    ref.platform, ref.space, ref.channel, language, reply_to=reply_to, thread=thread
                )
                for language in config.languages
                if language != source
            ]

        found: list[Destination] = []
        for channel_key, language in sorted(members.items()):
            platform, space, channel = channel_key.split(":", 2)
            if (platform, space, channel) == (ref.platform, ref.space, ref.channel):
                continue
            reply_to = await self._mapped_reply(message, platform, space, channel)
            found.append(
                Destination(
                    platform,
                    space,
                    channel,
                    language,
                    display_name=message.author_name,
                    avatar_url=message.avatar_url,
                    reply_to=reply_to,
                )
            )
        return found

    async def _mapped_reply(
        self, message: StoredMessage, platform: str, space: str, channel: str
    ) -> str | None:
        """Find, in another channel, the copy of the message this one replies to."""
        if message.reply_to is None:
            return None
        replied = MessageRef(
            message.ref.platform, message.ref.space, message.ref.channel, message.reply_to
        )
        original = await self.store.original_of(replied) or replied
        if (original.platform, original.space, original.channel) == (platform, space, channel):
            return original.message
        for copy in await self.store.copies_of(original):
            if (copy.platform, copy.space, copy.channel) == (platform, space, channel):
                return copy.parts[0]
        return None

    def detect(
        self, message: StoredMessage, config: ChannelConfig, group_languages: tuple[str, ...]
    ) -> tuple[str | None, str | None]:
        """Return (source for routing, language detected) among the channel's (or link
        group's) languages. The two differ when unclear text is taken to be in the linked
        channel's declared language."""
        if config.mode == "linked":
            candidates = group_languages
            found = self.detector.detect(message.text, candidates, prior=config.languages)
            # A linked channel declares its language: short or unclear text is taken to be in it.
            return found or config.languages[0], self._confirmed(message.text, found)
        found = self.detector.detect(message.text, config.languages)
        return found, self._confirmed(message.text, found)

    def _confirmed(self, text: str, found: str | None) -> str | None:
        """Return `found` only if a wider set of languages agrees.

        Detection restricted to a channel's languages always picks one of them, so English
        in a French-Spanish group comes out as Spanish. That is fine for routing, but what
        counts as practice in a language (XP) needs the wider check.
        """
        if found is None:
            return None
        wider = tuple(dict.fromkeys((found, *CONFIRM_LANGUAGES)))
        return found if self.detector.detect(text, wider) == found else None

    async def plan(self, message: StoredMessage, config: ChannelConfig) -> Plan:
        """Plan every copy of `message`: new ones, changed ones and ones to remove."""
        group_languages = config.languages
        members: dict[str, str] = {}
        if config.mode == "linked" and config.group is not None:
            members = await self.store.group_members(config.group)
            group_languages = tuple(sorted(set(members.values())))
        source, detected = self.detect(message, config, group_languages)
        wanted = await self.destinations(message, config, source, members)
        existing = {copy.destination(): copy for copy in await self.store.copies_of(message.ref)}

        translations: dict[str, Translation] = {}
        if source is not None and wanted:
            ref = message.ref
            context = await self._shareable_context(ref)
            translations = await self.translator.translate_many(
                message.text,
                source,
                tuple(destination.language for destination in wanted),
                self.engine_name,
                space=SpaceRef(ref.platform, ref.space),
                context=context,
                author=TextAuthor(message.author_id, ref.channel),
            )
        texts = [
            self._copy_text(
                message,
                config,
                source,
                translations.get(destination.language),
                destination.platform,
            )
            for destination in wanted
        ]
        copies: list[CopyPlan] = []
        for destination, text in zip(wanted, texts, strict=True):
            current = existing.pop(destination.key(), None)
            parts = current.parts if current else ()
            if text is None and not parts:
                continue
            copies.append(CopyPlan(destination, text, parts))
        for stale in existing.values():
            destination = Destination(stale.platform, stale.space, stale.channel, stale.language)
            copies.append(CopyPlan(destination, None, stale.parts))
        notice = _notice(message, config, translations.values())
        return Plan(message.ref, message.rev, source, tuple(copies), notice, detected)

    async def _shareable_context(self, ref: MessageRef) -> tuple[str, ...]:
        """Return the channel's recent messages whose authors still allow third-party engines.

        Context goes to the engine with other people's messages, so each author's current
        consent is checked, not only the one they had when they wrote.
        """
        spaces = self.translator.spaces
        entries = await spaces.context_entries(ref.platform, ref.space, ref.channel)
        allowed: dict[str, bool] = {}
        for author, _ in entries:
            if author not in allowed:
                allowed[author] = bool(author) and await self.translator.may_share(
                    ref.platform, ref.space, ref.channel, author
                )
        return tuple(text for author, text in entries if allowed[author])

    def _copy_text(
        self,
        message: StoredMessage,
        config: ChannelConfig,
        source: str | None,
        translation: Translation | None,
        platform: str,
    ) -> str | None:
        # Attachment-only and sticker-only messages have no text, and platforms reject
        # empty posts (Discord error 50006).
        if source is None or not message.text.strip():
            return None
        if config.mode == "linked":
            # Linked channels relay every message; untranslatable text goes through as it is.
            text = translation.text if translation else message.text
        elif translation is None or translation.fallback:
            return None
        else:
            text = translation.text
        # Converted after translation, when the engine's output has its tokens restored, so
        # the markup the engine never saw is what gets rewritten for `platform`.
        return convert_markup(text, message.ref.platform, platform)

    async def apply(self, plan: Plan, sender: Sender) -> list[Action]:
        """Carry out a plan through `sender` and record the resulting copies in the map.

        A plan made for an older revision than the stored one is skipped: a newer edit's
        plan is on its way.
        """
        stored = await self.store.load_message(plan.original)
        if stored is None or stored.rev > plan.rev:
            log.info(
                "relay %s: plan for rev %d skipped (stored rev %s)",
                plan.original.key(),
                plan.rev,
                stored.rev if stored else "gone",
            )
            return []

        sent: list[Action] = []
        for copy_plan in plan.copies:
            sent.extend(await self._apply_copy(plan.original, copy_plan, sender))
        if plan.notice is not None and await self.store.acquire_lock(
            plan.notice.key, ttl_s=NOTICE_EVERY_S
        ):
            notice = plan.notice
            action = Action(
                kind=ActionKind.POST,
                platform=notice.platform,
                space=notice.space,
                channel=notice.channel,
                text=notice.text,
                origin=plan.original.message,
                language=notice.language,
            )
            await sender.send(action)
            sent.append(action)
        return sent

    async def _apply_copy(
        self, original: MessageRef, copy_plan: CopyPlan, sender: Sender
    ) -> list[Action]:
        destination = copy_plan.destination
        existing = copy_plan.existing
        texts = (
            []
            if copy_plan.text is None
            else split_message(copy_plan.text, sender.max_length(destination.platform))
        )
        sent: list[Action] = []
        parts: list[str] = []

        for index, text in enumerate(texts):
            if index < len(existing):
                action = self._action(
                    ActionKind.EDIT, original, destination, text, target=existing[index]
                )
                await sender.send(action)
                parts.append(existing[index])
            else:
                target = destination.reply_to if index == 0 else None
                action = self._action(ActionKind.POST, original, destination, text, target=target)
                new_id = await sender.send(action)
                if new_id is not None:
                    parts.append(new_id)
                    # Recorded at once, so a send that fails on a later part leaves a map a
                    # redelivery can edit, instead of posting this part a second time.
                    await self.store.record_copy(original, _copy(destination, parts))
            sent.append(action)

        surplus = existing[len(texts) :]
        for part in surplus:
            action = self._action(ActionKind.DELETE, original, destination, "", target=part)
            await sender.send(action)
            sent.append(action)

        copy = _copy(destination, parts)
        if surplus:
            await self.store.drop_copy_parts(copy, surplus)
        if parts:
            await self.store.record_copy(original, copy)
        else:
            await self.store.forget_copy(original, copy)
        return sent

    def _action(
        self,
        kind: ActionKind,
        original: MessageRef,
        destination: Destination,
        text: str,
        *,
        target: str | None,
    ) -> Action:
        return Action(
            kind=kind,
            platform=destination.platform,
            space=destination.space,
            channel=destination.channel,
            text=text,
            origin=original.message,
            target=target,
            thread=destination.thread,
            display_name=destination.display_name,
            avatar_url=destination.avatar_url,
            language=destination.language,
        )


def _copy(destination: Destination, parts: list[str]) -> Copy:
    return Copy(
        destination.platform,
        destination.space,
        destination.channel,
        destination.language,
        tuple(parts),
    )


def _notice(
    message: StoredMessage, config: ChannelConfig, translations: Iterable[Translation]
) -> Notice | None:
    """Say once in the channel when its primary engine was replaced, and why."""
    # An opt-out is private, so the channel gets no notice that someone's text skipped an engine.
    degraded = next(
        (
            found
            for found in translations
            if found.degraded_from and found.degraded_reason != "privacy"
        ),
        None,
    )
    if degraded is None or degraded.degraded_from is None:
        return None
    ref = message.ref
    language = config.languages[0]
    reason = degraded.degraded_reason or "unavailable"
    text = i18n.t(
        f"notice.{reason}", language, primary=degraded.degraded_from, engine=degraded.engine
    )
    key = f"notice:{ref.platform}:{ref.space}:{ref.channel}:{degraded.degraded_from}:{reason}"
    return Notice(ref.platform, ref.space, ref.channel, language, text, key)
