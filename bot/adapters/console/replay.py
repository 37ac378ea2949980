"""Replay a JSON Lines transcript through the whole core and report every action."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from bot.adapters.console.sender import ChatMessage, ChatRecord, RecordingSender
from bot.adapters.console.transcript import TranscriptError, parse_line
from bot.core.conversation import Parley
from bot.core.events import Event, MessageCreated, MessageDeleted, MessageEdited
from bot.core.store import MessageRef, Store
from bot.jobs import OutboxDrainer

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 60.0


@dataclass
class ReplayResult:
    record: ChatRecord
    events: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


async def replay(
    lines: Iterable[str | bytes],
    parley: Parley,
    store: Store,
    *,
    out: TextIO | None,
    platform: str = "discord",
    space: str = "demo",
    errors: TextIO = sys.stderr,
) -> ReplayResult:
    """Feed each transcript line to the core in order, waiting for any worker job it starts.

    Bad lines are reported on `errors` with their line number and skipped; the rest of the
    transcript still runs.
    """
    sender = RecordingSender(out=out)
    result = ReplayResult(record=sender.record)
    drainers: dict[str, OutboxDrainer] = {}
    run = uuid.uuid4().hex[:8]

    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as error:
            message = f"line {number}: not valid UTF-8 (byte {error.start + 1})"
            result.errors.append(message)
            errors.write(f"parley replay: {message}\n")
            continue
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            event = parse_line(
                line, default_event_id=f"replay-{run}-{number}", platform=platform, space=space
            )
        except TranscriptError as error:
            message = f"line {number}: {error}"
            result.errors.append(message)
            errors.write(f"parley replay: {message}\n")
            continue

        mirror_user_action(sender.record, event)
        try:
            outcome = await parley.handle(event, sender)
        except Exception:
            # One event that fails must not stop the transcript; its traceback goes to the log.
            reference = uuid.uuid4().hex[:8]
            log.exception(
                "replay line %d: event %s failed (reference %s)", number, event.event_id, reference
            )
            message = f"line {number}: the event could not be handled (reference {reference})"
            result.errors.append(message)
            errors.write(f"parley replay: {message}\n")
            continue
        await note_language(sender.record, store, event)
        result.events += 1
        result.duplicates += int(outcome.duplicate)
        if outcome.jobs:
            drainer = drainers.get(event.place.platform)
            if drainer is None:
                drainer = OutboxDrainer(
                    store, parley, event.place.platform, sender, consumer=f"replay-{run}"
                )
                drainers[event.place.platform] = drainer
            try:
                await drainer.wait_for(outcome.jobs, JOB_TIMEOUT_S)
            except TimeoutError as error:
                message = f"line {number}: {error}; is a worker running on this queue?"
                result.errors.append(message)
                errors.write(f"parley replay: {message}\n")
    return result


async def note_language(record: ChatRecord, store: Store, event: Event) -> None:
    """Copy the language the core detected for a user's message into the record."""
    if not isinstance(event, MessageCreated | MessageEdited):
        return
    place = event.place
    found = record.find(place.platform, place.space, place.channel, event.message_id)
    stored = await store.load_message(MessageRef.at(place, event.message_id))
    if found is not None and stored is not None:
        found.language = stored.language


def mirror_user_action(record: ChatRecord, event: Event) -> None:
    """Show what the user did in the record, as the platform itself would."""
    place = event.place
    messages = record.channel(place.platform, place.space, place.channel)
    if isinstance(event, MessageCreated):
        if record.find(place.platform, place.space, place.channel, event.message_id) is None:
            messages.append(
                ChatMessage(
                    id=event.message_id,
                    author=event.author.name,
                    text=event.text,
                    language=None,
                    by_parley=False,
                    reply_to=event.reply_to,
                    thread=place.thread,
                    from_bot=event.author.is_bot or event.is_webhook,
                )
            )
    elif isinstance(event, MessageEdited):
        found = record.find(place.platform, place.space, place.channel, event.message_id)
        if found is not None:
            found.text = event.text
            found.edited = True
    elif isinstance(event, MessageDeleted):
        found = record.find(place.platform, place.space, place.channel, event.message_id)
        if found is not None:
            messages.remove(found)
