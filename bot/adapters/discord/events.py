"""Translate discord.py objects into Parley's neutral events.

Discord ids are snowflakes; the core gets them as decimal strings. A thread's messages are
placed in the thread's parent channel with `thread` set, so threads and forum posts inherit
their parent's set-up.
"""

from __future__ import annotations

import discord

from bot.core.events import (
    Author,
    Command,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    Place,
    ReactionAdded,
)

PLATFORM = "discord"

# Message types that carry text a person wrote. System messages (pins, joins, "started a
# thread", whose content is the thread name) and command responses are not translated.
CHAT_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def place_at(guild_id: int, channel_id: int, parent_id: int | None = None) -> Place:
    """Return the place of a channel, or of a thread when `parent_id` is its parent channel."""
    if parent_id is None:
        return Place(PLATFORM, str(guild_id), str(channel_id))
    return Place(PLATFORM, str(guild_id), str(parent_id), thread=str(channel_id))


def is_admin(permissions: discord.Permissions) -> bool:
    """Return True for members who may run Parley's set-up commands in a server."""
    return permissions.administrator or permissions.manage_guild


def author_of(
    user: discord.User | discord.Member,
    *,
    locale: str = "en",
    permissions: discord.Permissions | None = None,
) -> Author:
    """Describe a message author or command caller.

    `permissions` overrides the member's guild permissions; interactions carry the caller's
    resolved permissions, which need no cached roles.
    """
    if permissions is None and isinstance(user, discord.Member):
        permissions = user.guild_permissions
    return Author(
        id=str(user.id),
        name=user.display_name,
        avatar_url=user.display_avatar.url,
        is_bot=user.bot,
        is_admin=permissions is not None and is_admin(permissions),
        locale=locale,
    )


def message_created(message: discord.Message, place: Place) -> MessageCreated:
    """Describe a new message; its id is the event id, as Discord never reuses it."""
    reply_to: str | None = None
    reference = message.reference
    if (
        message.type == discord.MessageType.reply
        and reference is not None
        and reference.message_id is not None
    ):
        reply_to = str(reference.message_id)
    return MessageCreated(
        event_id=str(message.id),
        place=place,
        author=author_of(message.author),
        message_id=str(message.id),
        text=message.content,
        reply_to=reply_to,
        is_webhook=message.webhook_id is not None,
    )


def message_edited(payload: discord.RawMessageUpdateEvent, place: Place) -> MessageEdited | None:
    """Describe an edit, or return None for an update that is not an edit of the text.

    Discord also sends MESSAGE_UPDATE when it adds a link preview (an embed) to a message or
    pins it; those updates keep `edited_timestamp` null. Updates without a `content` field
    carry no text. Only updates with both count. The event id joins the message id and the
    edit time, so a redelivered edit is recognised and a later edit is not.
    """
    data = payload.data
    edited_at = data.get("edited_timestamp")
    if "content" not in data or edited_at is None:
        return None
    return MessageEdited(
        event_id=f"edit:{payload.message_id}:{edited_at}",
        place=place,
        author=author_of(payload.message.author),
        message_id=str(payload.message_id),
        text=data["content"],
    )


def message_deleted(message_id: int, place: Place) -> MessageDeleted:
    return MessageDeleted(event_id=f"delete:{message_id}", place=place, message_id=str(message_id))


def emoji_text(emoji: discord.PartialEmoji) -> str:
    """Return a Unicode emoji as itself and a custom one in its `<:name:id>` form."""
    if emoji.is_unicode_emoji():
        return emoji.name
    return str(emoji)


def reaction_added(
    payload: discord.RawReactionActionEvent, place: Place, author: Author
) -> ReactionAdded:
    emoji = emoji_text(payload.emoji)
    return ReactionAdded(
        event_id=f"react:{payload.message_id}:{payload.user_id}:{emoji}",
        place=place,
        author=author,
        message_id=str(payload.message_id),
        emoji=emoji,
    )


def command_event(
    interaction: discord.Interaction, place: Place, name: str, options: dict[str, str]
) -> Command:
    """Describe a slash or context-menu command; replies use the caller's client locale."""
    return Command(
        event_id=f"command:{interaction.id}",
        place=place,
        author=author_of(
            interaction.user,
            locale=interaction.locale.value,
            permissions=interaction.permissions,
        ),
        name=name,
        options=options,
    )
