"""Parley's Redis layer: channel set-up, message map, idempotency, cache and outbox.

Every key starts with the deployment prefix. Keys that hold a user's data sit under
``{prefix}:user:{platform}:{user}`` or are listed in that user's index set, so they can be
exported and erased. Message text and caches carry TTLs.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.core.events import Place


@dataclass(frozen=True)
class MessageRef:
    """A message anywhere: platform, space, channel and message id."""

    platform: str
    space: str
    channel: str
    message: str

    def key(self) -> str:
        return f"{self.platform}:{self.space}:{self.channel}:{self.message}"

    @classmethod
    def parse(cls, value: str) -> MessageRef:
        platform, space, channel, message = value.split(":", 3)
        return cls(platform, space, channel, message)

    @classmethod
    def at(cls, place: Place, message: str) -> MessageRef:
        return cls(place.platform, place.space, place.channel, message)


@dataclass(frozen=True)
class ChannelConfig:
    """A channel's Parley set-up: `mode` is "multilingual" or "linked"."""

    mode: str
    languages: tuple[str, ...]
    style: str = "reply"
    group: str | None = None


@dataclass(frozen=True)
class Copy:
    """A message Parley posted for an original: where, in which language, its part ids."""

    platform: str
    space: str
    channel: str
    language: str
    parts: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "platform": self.platform,
                "space": self.space,
                "channel": self.channel,
                "language": self.language,
                "parts": list(self.parts),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> Copy:
        data = json.loads(raw)
        return cls(
            data["platform"], data["space"], data["channel"], data["language"], tuple(data["parts"])
        )

    def destination(self) -> str:
        return f"{self.platform}:{self.space}:{self.channel}:{self.language}"


@dataclass(frozen=True)
class StoredMessage:
    """An original message as Parley last saw it. `rev` grows with every edit."""

    ref: MessageRef
    author_id: str
    author_name: str
    avatar_url: str | None
    text: str
    language: str | None
    rev: int
    reply_to: str | None = None


# Codes people type: no 0/O or 1/I to confuse.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _str(value: bytes | str) -> str:
    # Parley's clients decode responses; redis-py's types still allow bytes.
    return value.decode() if isinstance(value, bytes) else value


def _opt_str(value: bytes | str | None) -> str | None:
    return None if value is None else _str(value)


def _str_map(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {_str(key): _str(value) for key, value in raw.items()}


def _fields(mapping: dict[str, str]) -> Mapping[Any, Any]:
    """Pass a str mapping to redis-py, whose hset signature names every value type it takes."""
    return mapping


class Store:
    """Async access to Parley's keys. All methods are safe to call from several processes."""

    def __init__(
        self, redis: Redis, prefix: str, *, message_ttl_s: int, event_ttl_s: int, cache_ttl_s: int
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.message_ttl_s = message_ttl_s
        self.event_ttl_s = event_ttl_s
        self.cache_ttl_s = cache_ttl_s

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # Idempotency. A claim is released when handling fails, so a redelivery can try again.

    async def claim_event(self, platform: str, space: str, event_id: str) -> bool:
        """Return True the first time an event id is claimed; False for a duplicate."""
        claimed = await self.redis.set(
            self.key("seen", platform, space, event_id), "1", nx=True, ex=self.event_ttl_s
        )
        return bool(claimed)

    async def release_event(self, platform: str, space: str, event_id: str) -> None:
        await self.redis.delete(self.key("seen", platform, space, event_id))

    # Channel set-up.

    async def channel_config(self, place: Place) -> ChannelConfig | None:
        raw = _str_map(await self.redis.hgetall(self.key("chan", place.key())))
        if not raw:
            return None
        return ChannelConfig(
            mode=raw["mode"],
            languages=tuple(json.loads(raw["languages"])),
            style=raw.get("style", "reply"),
            group=raw.get("group") or None,
        )

    async def set_multilingual(self, place: Place, languages: tuple[str, ...], style: str) -> None:
        await self.redis.hset(
            self.key("chan", place.key()),
            mapping=_fields(
                {
                    "mode": "multilingual",
                    "languages": json.dumps(list(languages)),
                    "style": style,
                    "group": "",
                }
            ),
        )

    async def clear_channel(self, place: Place) -> None:
        await self.redis.delete(self.key("chan", place.key()))

    async def create_group(self, group: str, members: dict[str, str]) -> None:
        """Link channels (keys from `Place.key()`) and their languages into one group at once."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key("group", group))
            pipe.hset(self.key("group", group), mapping=_fields(members))
            for channel_key, language in members.items():
                pipe.hset(
                    self.key("chan", channel_key),
                    mapping=_fields(
                        {
                            "mode": "linked",
                            "languages": json.dumps([language]),
                            "style": "relay",
                            "group": group,
                        }
                    ),
                )
            await pipe.execute()

    async def create_bridge_code(self, channel_key: str, language: str, ttl_s: int) -> str:
        """Store a one-time code that lets another channel join this one's group."""
        while True:
            code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
            stored = await self.redis.set(
                self.key("bridge", code), f"{language}|{channel_key}", nx=True, ex=ttl_s
            )
            if stored:
                return code

    async def take_bridge_code(self, code: str) -> tuple[str, str] | None:
        """Use a code once: return (channel key, language), or None if unknown or expired."""
        raw = _opt_str(await self.redis.getdel(self.key("bridge", code)))
        if raw is None:
            return None
        language, channel_key = raw.split("|", 1)
        return channel_key, language

    async def erase_space(self, platform: str, space: str) -> int:
        """Delete every key of one space (an uninstalled workspace); return how many.

        Link groups that span spaces lose only this space's channels, and a group left with
        one channel is dissolved.
        """
        marker = f":{platform}:{space}:"
        doomed: list[str] = []
        async for raw in self.redis.scan_iter(match=f"{self.prefix}:*", count=500):
            key = _str(raw)
            if marker in key + ":":
                doomed.append(key)
        async for raw in self.redis.scan_iter(match=f"{self.prefix}:group:*", count=500):
            group = _str(raw)
            members = _str_map(await self.redis.hgetall(group))
            gone = [member for member in members if member.startswith(f"{platform}:{space}:")]
            if not gone:
                continue
            await self.redis.hdel(group, *gone)
            left = [member for member in members if member not in gone]
            if len(left) < 2:
                # A group of one relays nowhere: dissolve it so its channel is free again.
                for member in left:
                    await self.redis.delete(self.key("chan", member))
                await self.redis.delete(group)
        for start in range(0, len(doomed), 500):
            await self.redis.delete(*doomed[start : start + 500])
        return len(doomed)

    async def group_members(self, group: str) -> dict[str, str]:
        """Return channel key → language for every channel in the group."""
        return _str_map(await self.redis.hgetall(self.key("group", group)))

    async def remove_group(self, group: str) -> list[str]:
        members = await self.group_members(group)
        async with self.redis.pipeline(transaction=True) as pipe:
            for channel_key in members:
                pipe.delete(self.key("chan", channel_key))
            pipe.delete(self.key("group", group))
            await pipe.execute()
        return list(members)

    async def bot_allowed(self, platform: str, space: str, bot: str) -> bool:
        return bool(await self.redis.sismember(self.key("bots", platform, space), bot))

    async def allow_bot(self, platform: str, space: str, bot: str, allowed: bool) -> None:
        key = self.key("bots", platform, space)
        if allowed:
            await self.redis.sadd(key, bot)
        else:
            await self.redis.srem(key, bot)

    # Users.

    async def reading_language(self, platform: str, user: str) -> str | None:
        return _opt_str(await self.redis.hget(self.key("user", platform, user), "lang"))

    async def set_reading_language(self, platform: str, user: str, language: str) -> None:
        await self.redis.hset(self.key("user", platform, user), "lang", language)

    # Originals and the message map.

    async def save_message(self, message: StoredMessage) -> int:
        """Store or update an original's text and return its new revision number."""
        key = self.key("msg", message.ref.key())
        index = self.key("user", message.ref.platform, message.author_id, "msgs")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping=_fields(
                    {
                        "author": message.author_id,
                        "name": message.author_name,
                        "avatar": message.avatar_url or "",
                        "text": message.text,
                        "lang": message.language or "",
                        "reply_to": message.reply_to or "",
                    }
                ),
            )
            pipe.hincrby(key, "rev", 1)
            pipe.expire(key, self.message_ttl_s)
            pipe.sadd(index, key)
            pipe.expire(index, self.message_ttl_s)
            results = await pipe.execute()
        return int(results[1])

    async def load_message(self, ref: MessageRef) -> StoredMessage | None:
        raw = _str_map(await self.redis.hgetall(self.key("msg", ref.key())))
        if not raw:
            return None
        return StoredMessage(
            ref=ref,
            author_id=raw["author"],
            author_name=raw["name"],
            avatar_url=raw["avatar"] or None,
            text=raw["text"],
            language=raw["lang"] or None,
            rev=int(raw.get("rev", "0")),
            reply_to=raw.get("reply_to") or None,
        )

    async def set_message_language(self, ref: MessageRef, language: str | None) -> None:
        await self.redis.hset(self.key("msg", ref.key()), "lang", language or "")

    async def forget_message(self, ref: MessageRef) -> None:
        """Drop an original, its map and the reverse entries of its copies."""
        copies = await self.copies_of(ref)
        extras = await self.extras_of(ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            for copy in copies:
                for part in copy.parts:
                    pipe.delete(self.key("copy", copy.platform, copy.space, copy.channel, part))
            for extra in extras:
                pipe.delete(self.key("copy", extra.key()))
            pipe.delete(self.key("extra", ref.key()))
            pipe.delete(self.key("map", ref.key()))
            pipe.delete(self.key("msg", ref.key()))
            await pipe.execute()

    async def record_copy(self, original: MessageRef, copy: Copy) -> None:
        """Record (or replace) the copy of `original` for one destination, both ways."""
        map_key = self.key("map", original.key())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(map_key, copy.destination(), copy.to_json())
            pipe.expire(map_key, self.message_ttl_s)
            for part in copy.parts:
                reverse = self.key("copy", copy.platform, copy.space, copy.channel, part)
                pipe.set(reverse, original.key(), ex=self.message_ttl_s)
            await pipe.execute()

    async def record_extra(self, original: MessageRef, post: MessageRef) -> None:
        """Record a post made for `original` on request (not a channel copy), both ways."""
        key = self.key("extra", original.key())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, post.key())
            pipe.expire(key, self.message_ttl_s)
            pipe.set(self.key("copy", post.key()), original.key(), ex=self.message_ttl_s)
            await pipe.execute()

    async def extras_of(self, original: MessageRef) -> list[MessageRef]:
        members = await self.redis.smembers(self.key("extra", original.key()))
        return [MessageRef.parse(member) for member in sorted(_str(item) for item in members)]

    async def forget_copy(self, original: MessageRef, copy: Copy) -> None:
        """Remove one destination's copy from the map of `original`."""
        await self.redis.hdel(self.key("map", original.key()), copy.destination())

    async def drop_copy_parts(self, copy: Copy, parts: tuple[str, ...]) -> None:
        await self.redis.delete(
            *(self.key("copy", copy.platform, copy.space, copy.channel, part) for part in parts)
        )

    async def copies_of(self, original: MessageRef) -> list[Copy]:
        raw = _str_map(await self.redis.hgetall(self.key("map", original.key())))
        return [Copy.from_json(value) for _, value in sorted(raw.items())]

    async def original_of(self, copy: MessageRef) -> MessageRef | None:
        """Return the original a message was copied from, or None when it is not a copy."""
        raw = _opt_str(await self.redis.get(self.key("copy", copy.key())))
        return MessageRef.parse(raw) if raw else None

    async def remove_copy(self, copy_ref: MessageRef) -> None:
        """Forget a copy that was deleted by someone other than Parley."""
        original = await self.original_of(copy_ref)
        if original is None:
            return
        for copy in await self.copies_of(original):
            if copy_ref.message in copy.parts and copy.channel == copy_ref.channel:
                await self.redis.hdel(self.key("map", original.key()), copy.destination())
                await self.drop_copy_parts(copy, copy.parts)

    # Translation cache.

    async def cached_translation(self, cache_key: str) -> str | None:
        return _opt_str(await self.redis.get(self.key("cache", cache_key)))

    async def cache_translation(self, cache_key: str, text: str) -> None:
        await self.redis.set(self.key("cache", cache_key), text, ex=self.cache_ttl_s)

    async def share_result(self, key: str, payload: str, ttl_s: int) -> None:
        """Leave a result for peer processes waiting on the same engine call."""
        await self.redis.set(self.key("shared", key), payload, ex=ttl_s)

    async def shared_result(self, key: str) -> str | None:
        return _opt_str(await self.redis.get(self.key("shared", key)))

    async def acquire_lock(self, name: str, ttl_s: int) -> bool:
        return bool(await self.redis.set(self.key("lock", name), "1", nx=True, ex=ttl_s))

    async def release_lock(self, name: str) -> None:
        await self.redis.delete(self.key("lock", name))

    # Outbox: results that workers deliver and adapters drain, one stream per platform.

    def outbox_key(self, platform: str) -> str:
        return self.key("outbox", platform)

    async def push_outbox(self, platform: str, job_id: str, payload: dict[str, Any]) -> bool:
        """Append a job's result once: a retried job that already delivered adds nothing."""
        added = await self.redis.eval(
            _PUSH_ONCE,
            2,
            self.key("job-done", job_id),
            self.outbox_key(platform),
            str(self.event_ttl_s),
            job_id,
            json.dumps(payload),
        )
        return bool(added)


# Marking the job done and appending its result happen in one script, so a worker killed
# between the two steps cannot leave a job marked done with no result delivered.
_PUSH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'job', ARGV[2], 'payload', ARGV[3])
  return 1
end
return 0
"""
