"""Render a chat record as each reader sees it: one view per channel and reading language."""

from __future__ import annotations

from bot.adapters.console.sender import ChatMessage, ChatRecord
from bot.core.events import Place
from bot.core.store import Store


async def render_views(record: ChatRecord, store: Store) -> str:
    """Return plain text showing every channel as its readers see it.

    A linked channel is shown once, in its own language. A multilingual channel is shown
    once per language: originals in that language, and Parley's copy in that language for
    the rest (or the original, marked untranslated, when there is none).
    """
    blocks: list[str] = []
    for (platform, space, channel), messages in sorted(record.channels.items()):
        config = await store.channel_config(Place(platform, space, channel))
        if config is not None and config.mode == "multilingual":
            for language in config.languages:
                title = f"#{channel} ({platform}) as a reader of {language} sees it"
                blocks.append(_block(title, _multilingual_lines(messages, language)))
        else:
            language = config.languages[0] if config is not None else "any"
            title = f"#{channel} ({platform}, {language})"
            blocks.append(_block(title, [_line(message, messages) for message in messages]))

    if record.private:
        lines = [
            f"to {action.user} in #{action.channel}: {action.text}" for action in record.private
        ]
        blocks.append(_block("private replies (ephemeral)", lines))
    return "\n\n".join(blocks) + "\n"


def _multilingual_lines(messages: list[ChatMessage], language: str) -> list[str]:
    lines: list[str] = []
    for message in messages:
        if message.by_parley:
            continue
        if message.language in (language, None):
            lines.append(_line(message, messages))
        else:
            lines.append(_copy_line(message, messages, language))
        lines.extend(_thread_lines(message, messages))
    return lines


def _copy_line(message: ChatMessage, messages: list[ChatMessage], language: str) -> str:
    copy = next(
        (
            other
            for other in messages
            if other.by_parley
            and other.origin == message.id
            and other.language == language
            and other.thread is None
        ),
        None,
    )
    if copy is None:
        return _line(message, messages) + "   [untranslated]"
    shown = ChatMessage(**{**copy.__dict__, "author": message.author, "reply_to": message.reply_to})
    return _line(shown, messages) + f"   [from {message.language}]"


def _thread_lines(message: ChatMessage, messages: list[ChatMessage]) -> list[str]:
    """Show translations asked for with a flag reaction, which Parley posts in a thread."""
    return [
        f"      └ thread, {other.language} on request: {other.text}"
        for other in messages
        if other.by_parley
        and other.thread == message.id
        and other.reply_to is None
        and other.origin == message.id
        and _is_on_request(other, messages)
    ]


def _is_on_request(post: ChatMessage, messages: list[ChatMessage]) -> bool:
    # Thread-style copies of a multilingual channel are in the thread too; a post counts as
    # asked for when no other copy of the same original shares its language.
    same = [
        other
        for other in messages
        if other.by_parley and other.origin == post.origin and other.language == post.language
    ]
    return len(same) == 1 and post.author == "Parley"


def _line(message: ChatMessage, messages: list[ChatMessage]) -> str:
    marks = " (edited)" if message.edited else ""
    relay = "↪ " if message.by_parley else ""
    replied = next((other for other in messages if other.id == message.reply_to), None)
    reply = f"(replying to {replied.author}) " if replied is not None else ""
    text = message.text.replace("\n", "\n    ")
    return f"  {relay}{message.author}: {reply}{text}{marks}"


def _block(title: str, lines: list[str]) -> str:
    rule = "─" * min(len(title), 72)
    return "\n".join([title, rule, *(lines or ["  (no messages)"])])
