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
            blocks.append(_block(title, [_line(message) for message in messages]))

    if record.private:
        lines = [f"to {action.user} in #{action.channel}: {action.text}"
                 for action in record.private]
        blocks.append(_block("private replies (ephemeral)", lines))
    return "\n\n".join(blocks) + "\n"


def _multilingual_lines(messages: list[ChatMessage], language: str) -> list[str]:
    lines: list[str] = []
    for message in messages:
        if message.by_parley:
            continue
        if message.language in (language, None):
            lines.append(_line(message))
            continue
        copy = next(
            (other for other in messages
             if other.by_parley and other.origin == message.id and other.language == language),
            None,
        )
        if copy is None:
            lines.append(_line(message) + "   [untranslated]")
        else:
            lines.append(_line(ChatMessage(**{**copy.__dict__, "author": message.author}))
                         + f"   [from {message.language}]")
    return lines


def _line(message: ChatMessage) -> str:
    marks = " (edited)" if message.edited else ""
    relay = "↪ " if message.by_parley else ""
    text = message.text.replace("\n", "\n    ")
    return f"  {relay}{message.author}: {text}{marks}"


def _block(title: str, lines: list[str]) -> str:
    rule = "─" * min(len(title), 72)
    return "\n".join([title, rule, *(lines or ["  (no messages)"])])
