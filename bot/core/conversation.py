"""Parley's core: turns neutral events into copies, replies and set-up changes."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field

from bot.core import i18n
from bot.core.actions import Action, ActionKind
from bot.core.commands import CommandHandler, CommandReply
from bot.core.errors import UserError
from bot.core.events import (
    Command,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    Place,
    ReactionAdded,
)
from bot.core.languages import flag_language
from bot.core.ports import JobQueue, MessageObserver, Sender
from bot.core.relay import Destination, Plan, Relay
from bot.core.split import split_message
from bot.core.store import MessageRef, Store, StoredMessage
from bot.core.translate import Author as TextAuthor
from bot.core.translate import SpaceRef, TranslationService

log = logging.getLogger(__name__)

# Name of the job that re-plans the copies of an edited message, in the workers package.
REPLAN_JOB = "workers.jobs.replan_copies"


@dataclass
class Outcome:
    """Result of handling one event: actions sent now, and ids of jobs whose results will
    arrive through the outbox."""

    actions: list[Action] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    duplicate: bool = False


class Parley:
    """Handles events from any adapter. Every action goes out through the `sender` given."""

    def __init__(
        self,
        store: Store,
        translator: TranslationService,
        relay: Relay,
        jobs: JobQueue | None = None,
    ) -> None:
        self.store = store
        self.translator = translator
        self.relay = relay
        self.jobs = jobs
        self.commands = CommandHandler(store, translator, relay)
        self.observers: list[MessageObserver] = []

    async def handle(self, event: Event, sender: Sender) -> Outcome:
        """Handle one event once; a repeated event id returns an empty duplicate outcome."""
        place = event.place
        if not await self.store.claim_event(place.platform, place.space, event.event_id):
            log.info("event %s on %s: duplicate ignored", event.event_id, place.key())
            return Outcome(duplicate=True)

        try:
            return await self._dispatch(event, sender)
        except Exception:
            # Release the claim so that the platform's redelivery can try again.
            await self.store.release_event(place.platform, place.space, event.event_id)
            raise

    async def _dispatch(self, event: Event, sender: Sender) -> Outcome:
        if isinstance(event, MessageCreated):
            return await self.handle_message_created(event, sender)
        if isinstance(event, MessageEdited):
            return await self.handle_message_edited(event, sender)
        if isinstance(event, MessageDeleted):
            return await self.handle_message_deleted(event, sender)
        if isinstance(event, ReactionAdded):
            return await self.handle_reaction_added(event, sender)
        return await self.handle_command(event, sender)

    async def handle_message_created(self, event: MessageCreated, sender: Sender) -> Outcome:
        # Webhook relays and Parley's own copies are never translated, and other bots only
        # when an admin opted them in, so two translating bots cannot feed each other.
        if event.is_webhook:
            return Outcome()
        if event.author.is_bot and not await self.store.bot_allowed(
            event.place.platform, event.place.space, event.author.id
        ):
            return Outcome()
        ref = MessageRef.at(event.place, event.message_id)
        if await self.store.original_of(ref) is not None:
            return Outcome()
        config = await self.store.channel_config(_parent(event.place))
        if config is None:
            return Outcome()

        message = StoredMessage(
            ref=ref,
            author_id=event.author.id,
            author_name=event.author.name,
            avatar_url=event.author.avatar_url,
            text=event.text,
            language=None,
            rev=0,
            reply_to=event.reply_to,
        )
        rev = await self.store.save_message(message)
        message = StoredMessage(**{**message.__dict__, "rev": rev})

        plan = await self.relay.plan(message, config)
        await self.store.set_message_language(ref, plan.source)
        # Recent messages go to engines as context, so only texts whose authors consent.
        if await self.translator.may_share(ref.platform, ref.space, ref.channel, event.author.id):
            await self.translator.spaces.remember(
                ref.platform, ref.space, ref.channel, event.text, event.author.id
            )
        if event.place.thread is not None:
            plan = _into_thread(plan, event.place)
        actions = await self.relay.apply(plan, sender)
        for observer in self.observers:
            # Observers get only a language the detector found, never a channel's stand-in.
            await observer.message_seen(event, plan.detected, bool(actions))
        return Outcome(actions=actions)

    async def handle_message_edited(self, event: MessageEdited, sender: Sender) -> Outcome:
        ref = MessageRef.at(event.place, event.message_id)
        stored = await self.store.load_message(ref)
        # Platforms report link previews and pins as edits with the text unchanged.
        if stored is None or stored.text == event.text:
            return Outcome()

        edited = StoredMessage(**{**stored.__dict__, "text": event.text})
        rev = await self.store.save_message(edited)
        edited = StoredMessage(**{**edited.__dict__, "rev": rev})

        if self.jobs is not None:
            # Each edit event gets its own job: the event id makes a job id that a reused
            # message id or an earlier run cannot collide with, and the prefix keeps
            # deployments that share a Redis apart.
            digest = hashlib.sha256(f"{ref.key()}\x00{event.event_id}".encode()).hexdigest()
            job_id = f"{self.store.prefix}-replan-{digest[:24]}-{rev}"
            self.jobs.enqueue(
                REPLAN_JOB,
                ref.platform,
                ref.space,
                ref.channel,
                ref.message,
                str(rev),
                job_id=job_id,
            )
            log.info("edit %s: re-planning copies in job %s", ref.key(), job_id)
            return Outcome(jobs=[job_id])

        plan = await self.replan(ref, rev)
        if plan is None:
            return Outcome()
        return Outcome(actions=await self.relay.apply(plan, sender))

    async def replan(self, ref: MessageRef, rev: int) -> Plan | None:
        """Plan the copies of an original at revision `rev`; None when it is gone or newer."""
        stored = await self.store.load_message(ref)
        if stored is None or stored.rev != rev:
            return None
        config = await self.store.channel_config(Place(ref.platform, ref.space, ref.channel))
        if config is None:
            return None
        plan = await self.relay.plan(stored, config)
        await self.store.set_message_language(ref, plan.source)
        return plan

    async def apply_plan(self, plan: Plan, sender: Sender) -> list[Action]:
        return await self.relay.apply(plan, sender)

    async def handle_message_deleted(self, event: MessageDeleted, sender: Sender) -> Outcome:
        ref = MessageRef.at(event.place, event.message_id)
        if await self.store.original_of(ref) is not None:
            await self.store.remove_copy(ref)
            return Outcome()

        sent: list[Action] = []
        for copy in await self.store.copies_of(ref):
            for part in copy.parts:
                action = Action(
                    kind=ActionKind.DELETE,
                    platform=copy.platform,
                    space=copy.space,
                    channel=copy.channel,
                    text="",
                    origin=ref.message,
                    target=part,
                    language=copy.language,
                )
                await sender.send(action)
                sent.append(action)
        # Translations posted on request (flag reactions) show the deleted text too.
        for extra in await self.store.extras_of(ref):
            action = Action(
                kind=ActionKind.DELETE,
                platform=extra.platform,
                space=extra.space,
                channel=extra.channel,
                text="",
                origin=ref.message,
                target=extra.message,
            )
            await sender.send(action)
            sent.append(action)
        await self.store.forget_message(ref)
        return Outcome(actions=sent)

    async def handle_reaction_added(self, event: ReactionAdded, sender: Sender) -> Outcome:
        """Reply to a flag reaction with a translation in that flag's language, in a thread."""
        language = flag_language(event.emoji)
        if language is None or event.author.is_bot:
            return Outcome()
        reacted = MessageRef.at(event.place, event.message_id)
        original = await self.store.original_of(reacted) or reacted
        stored = await self.store.load_message(original)
        if stored is None or stored.language in (None, language):
            return Outcome()
        here = (reacted.platform, reacted.space, reacted.channel)
        for copy in await self.store.copies_of(original):
            if (copy.platform, copy.space, copy.channel) == here and copy.language == language:
                return Outcome()  # the channel already shows this message in that language
        # Many people react with the same flag; the translation is posted once.
        if not await self.store.acquire_lock(
            f"flag:{reacted.key()}:{language}", ttl_s=self.store.message_ttl_s
        ):
            return Outcome()

        source = stored.language
        translation = await self.translator.translate(
            stored.text,
            source,
            language,
            self.relay.engine_name,
            space=SpaceRef(original.platform, original.space),
            author=TextAuthor(stored.author_id, original.channel),
        )
        if translation is None or translation.fallback:
            # A reaction has no private reply on Discord, so a failure stays silent here;
            # /translate explains it to the one who asked.
            await self.store.release_lock(f"flag:{reacted.key()}:{language}")
            return Outcome()

        destination = Destination(
            event.place.platform,
            event.place.space,
            event.place.channel,
            language,
            thread=event.place.thread or event.message_id,
        )
        try:
            sent = await self._post_parts(destination, translation.text, original, sender)
        except Exception:
            # Let a redelivered reaction try again instead of staying locked out.
            await self.store.release_lock(f"flag:{reacted.key()}:{language}")
            raise
        return Outcome(actions=sent)

    async def handle_command(self, event: Command, sender: Sender) -> Outcome:
        """Run a command; its reply goes to the caller alone (ephemeral)."""
        locale = event.author.locale
        try:
            reply = await self.commands.run(event)
        except UserError as error:
            reply = CommandReply(
                i18n.t(error.key, locale, **error.params), i18n.resolve_locale(locale)
            )
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception(
                "command %s on %s failed (reference %s)", event.name, event.place.key(), reference
            )
            reply = CommandReply(
                i18n.t("error.internal", locale, reference=reference), i18n.resolve_locale(locale)
            )

        sent: list[Action] = []
        parts = split_message(reply.text, sender.max_length(event.place.platform))
        for index, part in enumerate(parts):
            action = Action(
                kind=ActionKind.EPHEMERAL,
                platform=event.place.platform,
                space=event.place.space,
                channel=event.place.channel,
                text=part,
                thread=event.place.thread,
                user=event.author.id,
                language=reply.language,
                attachment=reply.attachment if index == len(parts) - 1 else None,
            )
            await sender.send(action)
            sent.append(action)
        return Outcome(actions=sent)

    async def _post_parts(
        self, destination: Destination, text: str, original: MessageRef, sender: Sender
    ) -> list[Action]:
        """Post a translation made on request and record it so a delete of the original
        removes it too."""
        sent: list[Action] = []
        for part in split_message(text, sender.max_length(destination.platform)):
            action = Action(
                kind=ActionKind.POST,
                platform=destination.platform,
                space=destination.space,
                channel=destination.channel,
                text=part,
                origin=original.message,
                thread=destination.thread,
                language=destination.language,
            )
            new_id = await sender.send(action)
            if new_id is not None:
                posted = MessageRef(
                    destination.platform, destination.space, destination.channel, new_id
                )
                await self.store.record_extra(original, posted)
            sent.append(action)
        return sent


def _parent(place: Place) -> Place:
    """Threads inherit their parent channel's set-up."""
    return Place(place.platform, place.space, place.channel)


def _into_thread(plan: Plan, place: Place) -> Plan:
    """Keep copies of a thread message inside that thread when they stay in the same channel."""
    copies = tuple(
        copy
        if copy.destination.channel != place.channel
        else type(copy)(
            Destination(**{**copy.destination.__dict__, "thread": place.thread}),
            copy.text,
            copy.existing,
        )
        for copy in plan.copies
    )
    return Plan(plan.original, plan.rev, plan.source, copies)
