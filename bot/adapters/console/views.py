"""Render a chat record as each reader sees it: one view per channel and reading language."""

from __future__ import annotations

from bot.adapters.console.sender import ChatMessage, ChatRecord
from bot.core.events import Place
from bot.core.store import Store


async def render_views(record: ChatRecord, store: Store) -> str:
    """Return plain text showing every channel as its readers see it.

    A linked channel is shown once, in its own language. A multilingual channel is shown
    once per language: originals in that language, and Parley's copy in that language for
    the rest (or the original, marked untranslated, when there is none). Lines marked ↪
    are posts Parley made; a message from a bot that Parley ignored carries [bot].
    """
    blocks: list[str] = []
    for (platform, space, channel), messages in sorted(record.channels.items()):
        config = await store.channel_config(Place(platform, space, channel))
        if config is not None and config.mode == "multilingual":
            for language in config.languages:
                title = f"#{channel} ({platform}) as a reader of {language} sees it"
                lines = _multilingual_lines(messages, language, config.languages)
                blocks.append(_block(title, lines))
        elif config is not None:
            title = f"#{channel} ({platform}, {config.languages[0]})"
            blocks.append(_block(title, [_line(message, messages) for message in messages]))
        elif messages:
            title = f"#{channel} ({platform}, no Parley set-up)"
            blocks.append(_block(title, [_line(message, messages) for message in messages]))

    if record.private:
        lines = [
            f"to {action.user} in #{action.channel}: {action.text}" for action in record.private
        ]
        blocks.append(_block("private replies (ephemeral)", lines))
    return "\n\n".join(blocks) + "\n"


def _multilingual_lines(
    messages: list[ChatMessage], language: str, channel_languages: tuple[str, ...]
) -> list[str]:
    lines: list[str] = []
    for message in messages:
        if message.by_parley:
            continue
        if message.language in (language, None):
            lines.append(_line(message, messages))
        else:
            lines.append(_copy_line(message, messages, language))
        lines.extend(_on_request_lines(message, messages, channel_languages))
    return lines


def _copy_line(message: ChatMessage, messages: list[ChatMessage], language: str) -> str:
    """Show the channel's copy of `message` in `language`, under the original author's name."""
    copy = next(
        (
            other
            for other in messages
            if other.by_parley and other.origin == message.id and other.language == language
        ),
        None,
    )
    if copy is None:
        return _line(message, messages) + "   [untranslated]"
    shown = ChatMessage(**{**copy.__dict__, "author": message.author, "reply_to": message.reply_to})
    return _line(shown, messages) + f"   [from {message.language}]"


def _on_request_lines(
    message: ChatMessage, messages: list[ChatMessage], channel_languages: tuple[str, ...]
) -> list[str]:
    """Show translations asked for with a flag reaction: thread posts in other languages."""
    return [
        f"      └ thread, {other.language} on request: {other.text}"
        for other in messages
        if other.by_parley
        and other.origin == message.id
        and other.thread == message.id
        and other.language not in channel_languages
    ]


def _line(message: ChatMessage, messages: list[ChatMessage]) -> str:
    marks = ""
    if message.edited:
        marks += " (edited)"
    if message.from_bot:
        marks += " [bot]"
    relay = "↪ " if message.by_parley else ""
    replied = next((other for other in messages if other.id == message.reply_to), None)
    reply = f"(replying to {replied.author}) " if replied is not None else ""
    text = message.text.replace("\n", "\n    ")
    return f"  {relay}{message.author}: {reply}{text}{marks}"


def _block(title: str, lines: list[str]) -> str:
    rule = "─" * min(len(title), 72)
    return "\n".join([title, rule, *(lines or ["  (no messages)"])])
