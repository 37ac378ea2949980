"""Gateway payloads shaped like the ones Discord sends (API v10), for one test server.

Each builder returns the `d` field of a dispatch as Discord delivers it, with the fields
Discord includes even when discord.py ignores them, so the real parsers see real shapes.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

GUILD_ID = 1100000000000000001
APPLICATION_ID = 1100000000000000002  # a bot user's id is its application's id
BOT_ID = APPLICATION_ID
OWNER_ID = 1100000000000000003
MOD_ROLE_ID = 1100000000000000004
CATEGORY_ID = 1100000000000000005
CHANNEL_IDS = {
    "chat-en": 1100000000000000011,
    "chat-es": 1100000000000000012,
    "chat-fr": 1100000000000000013,
    "general": 1100000000000000014,
}
USERS = {
    "ana": 1100000000000000021,
    "ben": 1100000000000000022,
    "mod": 1100000000000000023,
    "otherbot": 1100000000000000024,
}
TIMESTAMP = "2026-12-04T10:00:00.000000+00:00"
# Administrator off, Manage Server on (1 << 5), plus the usual member permissions.
MOD_PERMISSIONS = (1 << 5) | 0x0000_0006_3784_0E41
MEMBER_PERMISSIONS = 0x0000_0006_3784_0E41


def user(user_id: int, username: str, *, global_name: str | None = None, bot: bool = False) -> JSON:
    data: JSON = {
        "id": str(user_id),
        "username": username,
        "global_name": global_name,
        "discriminator": "0",
        "avatar": f"{user_id:x}"[:32],
        "avatar_decoration_data": None,
        "clan": None,
        "primary_guild": None,
        "public_flags": 0,
    }
    if bot:
        data["bot"] = True
    return data


def bot_user() -> JSON:
    return {**user(BOT_ID, "Parley", bot=True), "verified": True, "mfa_enabled": False, "flags": 0}


def member_fields(*, roles: list[str] | None = None, nick: str | None = None) -> JSON:
    """The partial member Discord attaches to guild messages (without `user`)."""
    return {
        "roles": roles or [],
        "nick": nick,
        "avatar": None,
        "banner": None,
        "joined_at": "2026-01-10T08:00:00.000000+00:00",
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }


def person(name: str) -> JSON:
    """A member of the test server: ana, ben, mod (Manage Server) or otherbot (a bot)."""
    return user(USERS[name], name, global_name=name.capitalize(), bot=name == "otherbot")


def text_channel(channel_id: int, name: str, position: int) -> JSON:
    return {
        "id": str(channel_id),
        "type": 0,
        "name": name,
        "position": position,
        "parent_id": str(CATEGORY_ID),
        "topic": None,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "default_thread_rate_limit_per_user": 0,
        "permission_overwrites": [],
        "flags": 0,
        "icon_emoji": None,
        "theme_color": None,
    }


def guild_channels() -> list[JSON]:
    category = {
        "id": str(CATEGORY_ID),
        "type": 4,
        "name": "Text Channels",
        "position": 0,
        "parent_id": None,
        "permission_overwrites": [],
        "flags": 0,
    }
    channels = [
        text_channel(channel_id, name, position)
        for position, (name, channel_id) in enumerate(CHANNEL_IDS.items(), start=1)
    ]
    return [category, *[{**channel, "guild_id": str(GUILD_ID)} for channel in channels]]


def thread_channel(thread_id: int, parent_id: int, name: str) -> JSON:
    return {
        "id": str(thread_id),
        "guild_id": str(GUILD_ID),
        "parent_id": str(parent_id),
        "owner_id": str(BOT_ID),
        "type": 11,
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": TIMESTAMP,
            "locked": False,
            "create_timestamp": TIMESTAMP,
        },
    }


def role(role_id: int, name: str, permissions: int, position: int) -> JSON:
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def guild_create() -> JSON:
    """GUILD_CREATE for the test server as a bot without the members intent receives it."""
    return {
        "id": str(GUILD_ID),
        "name": "Parley test server",
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(OWNER_ID),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "system_channel_id": str(CHANNEL_IDS["general"]),
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "application_id": None,
        "features": [],
        "nsfw": False,
        "lazy": True,
        "large": False,
        "unavailable": False,
        "member_count": 5,
        "joined_at": "2026-11-01T09:00:00.000000+00:00",
        "roles": [
            role(GUILD_ID, "@everyone", MEMBER_PERMISSIONS, 0),
            role(MOD_ROLE_ID, "Mods", MOD_PERMISSIONS, 1),
        ],
        "emojis": [],
        "stickers": [],
        "channels": [
            {key: value for key, value in channel.items() if key != "guild_id"}
            for channel in guild_channels()
        ],
        "threads": [],
        "members": [{**member_fields(), "user": bot_user()}],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "incidents_data": None,
    }


def message(
    message_id: int, channel_id: int, content: str, author: JSON, *, guild: bool = True
) -> JSON:
    """A message object; with `guild`, as MESSAGE_CREATE delivers it in a server."""
    data: JSON = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": 0,
        "content": content,
        "author": author,
        "timestamp": TIMESTAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": False,
        "flags": 0,
    }
    if guild:
        roles = [str(MOD_ROLE_ID)] if author["id"] == str(USERS["mod"]) else []
        data.update(
            guild_id=str(GUILD_ID),
            channel_type=0,
            member=member_fields(roles=roles),
            nonce=str(message_id + 7),
            referenced_message=None,
        )
    return data


def message_create(
    message_id: int, channel: str | int, content: str, *, by: str = "ana", **extra: Any
) -> JSON:
    channel_id = CHANNEL_IDS[channel] if isinstance(channel, str) else channel
    return {**message(message_id, channel_id, content, person(by)), **extra}


def message_update(
    message_id: int, channel: str, content: str, *, by: str = "ana", edited: str | None = None
) -> JSON:
    """MESSAGE_UPDATE for an edit: the full message with `edited_timestamp` set."""
    data = message_create(message_id, channel, content, by=by)
    data["edited_timestamp"] = edited or "2026-12-04T10:05:00.000000+00:00"
    data.pop("nonce")
    return data


def embed_unfurl_update(message_id: int, channel: str, content: str, *, by: str = "ana") -> JSON:
    """MESSAGE_UPDATE Discord sends when it adds a link preview: the full message with the
    embed, and `edited_timestamp` still null."""
    data = message_create(message_id, channel, content, by=by)
    data["embeds"] = [{"type": "link", "url": "https://example.org/", "title": "Example"}]
    data.pop("nonce")
    return data


def message_delete(message_id: int, channel: str | int) -> JSON:
    channel_id = CHANNEL_IDS[channel] if isinstance(channel, str) else channel
    return {"id": str(message_id), "channel_id": str(channel_id), "guild_id": str(GUILD_ID)}


def reaction_add(message_id: int, channel: str, emoji: str, *, by: str = "ben") -> JSON:
    return {
        "user_id": str(USERS[by]),
        "type": 0,
        "message_id": str(message_id),
        "message_author_id": str(USERS["ana"]),
        "member": {**member_fields(), "user": person(by)},
        "emoji": {"name": emoji, "id": None},
        "channel_id": str(CHANNEL_IDS[channel]),
        "burst": False,
        "burst_colors": [],
        "guild_id": str(GUILD_ID),
    }


def _interaction(
    interaction_id: int,
    channel: str,
    data: JSON,
    *,
    by: str,
    locale: str,
) -> JSON:
    permissions = MOD_PERMISSIONS if by == "mod" else MEMBER_PERMISSIONS
    roles = [str(MOD_ROLE_ID)] if by == "mod" else []
    return {
        "id": str(interaction_id),
        "application_id": str(APPLICATION_ID),
        "type": 2,
        "data": data,
        "guild_id": str(GUILD_ID),
        "guild": {"id": str(GUILD_ID), "locale": "en-US", "features": []},
        "channel_id": str(CHANNEL_IDS[channel]),
        "channel": {**text_channel(CHANNEL_IDS[channel], channel, 1), "guild_id": str(GUILD_ID)},
        "member": {
            **member_fields(roles=roles),
            "user": person(by),
            "permissions": str(permissions),
        },
        "token": f"interaction-token-{interaction_id}",
        "version": 1,
        "app_permissions": str(MEMBER_PERMISSIONS | (1 << 29)),
        "locale": locale,
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
        "context": 0,
        "attachment_size_limit": 10485760,
    }


def slash_command(
    interaction_id: int,
    channel: str,
    name: str,
    options: dict[str, str],
    *,
    by: str = "mod",
    locale: str = "en-US",
) -> JSON:
    """INTERACTION_CREATE for a slash command such as "link create" with string options."""
    words = name.split()
    values = [{"type": 3, "name": key, "value": value} for key, value in options.items()]
    if len(words) == 2:
        values = [{"type": 1, "name": words[1], "options": values}]
    data = {"id": str(interaction_id + 1), "name": words[0], "type": 1, "options": values}
    return _interaction(interaction_id, channel, data, by=by, locale=locale)


def message_command(
    interaction_id: int,
    channel: str,
    target: JSON,
    *,
    name: str = "Translate",
    by: str = "ben",
    locale: str = "en-US",
) -> JSON:
    """INTERACTION_CREATE for a message context-menu command on the message `target`."""
    data = {
        "id": str(interaction_id + 1),
        "name": name,
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }
    return _interaction(interaction_id, channel, data, by=by, locale=locale)
