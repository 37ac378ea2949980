"""The App Home tab: the user's reading language and the workspace's Parley channels."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.adapters.slack.api import API_ERRORS, error_code
from bot.adapters.slack.events import space_of
from bot.adapters.slack.listeners import SlackAdapter
from bot.adapters.slack.sender import PLATFORM
from bot.core import i18n
from bot.core.events import Place
from bot.core.store import ChannelConfig, Store

log = logging.getLogger(__name__)

# A Home view holds at most 100 blocks; one block per channel plus the header blocks.
MAX_LISTED = 90


@dataclass(frozen=True)
class ChannelSetUp:
    """A channel's Parley set-up, with its link group's languages when it is linked."""

    channel: str
    config: ChannelConfig
    group_languages: tuple[str, ...] = ()


async def channel_setups(store: Store, space: str) -> list[ChannelSetUp]:
    """List the workspace's channels that have a Parley set-up, sorted by channel id.

    NOTE: the core has no call that lists a space's set-ups, so this scans the store's
    channel keys (``{prefix}:chan:slack:{team}:{channel}``).
    """
    pattern = store.key("chan", PLATFORM, space, "*")
    channels = sorted(
        [key.rsplit(":", 1)[1] async for key in store.redis.scan_iter(match=pattern, count=500)]
    )
    found: list[ChannelSetUp] = []
    for channel in channels:
        config = await store.channel_config(Place(PLATFORM, space, channel))
        if config is None:
            continue
        languages: tuple[str, ...] = ()
        if config.mode == "linked" and config.group is not None:
            members = await store.group_members(config.group)
            languages = tuple(sorted(set(members.values())))
        found.append(ChannelSetUp(channel, config, languages))
    return found


def home_view(locale: str, reading: str | None, setups: list[ChannelSetUp]) -> dict[str, Any]:
    """Build the Home tab view in `locale`: reading language first, then the channels."""
    if reading is None:
        reading_line = i18n.t("slack.home.reading_none", locale)
    else:
        reading_line = i18n.t("slack.home.reading", locale, language=reading)
    lines = [_describe(setup, locale) for setup in setups[:MAX_LISTED]]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Parley"}},
        _section(i18n.t("slack.home.intro", locale)),
        _section(reading_line),
        {"type": "divider"},
        _section(i18n.t("slack.home.channels", locale)),
    ]
    if lines:
        blocks.extend(_section(line) for line in lines)
    else:
        blocks.append(_section(i18n.t("slack.home.channels_none", locale)))
    return {"type": "home", "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _describe(setup: ChannelSetUp, locale: str) -> str:
    channel = f"<#{setup.channel}>"
    if setup.config.mode == "multilingual":
        languages = " ".join(setup.config.languages)
        return i18n.t("slack.home.multilingual", locale, channel=channel, languages=languages)
    return i18n.t(
        "slack.home.linked",
        locale,
        channel=channel,
        languages=" ".join(setup.group_languages),
        language=setup.config.languages[0],
    )


class Home:
    """Publishes the Home tab each time a user opens it."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter

    async def on_home_opened(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        space = space_of(body, context.team_id)
        user = event.get("user")
        if space is None or not user or event.get("tab") != "home":
            return
        adapter = self.adapter
        author = await adapter.users.author(space, str(user))
        reading = await adapter.store.reading_language(PLATFORM, str(user))
        setups = await self.visible_setups(space)
        view = home_view(author.locale, reading, setups)
        try:
            token = await adapter.api.token(space)
            await adapter.api.client.views_publish(token=token, user_id=str(user), view=view)
        except API_ERRORS as error:
            log.warning(
                "slack views.publish for %s in %s failed: %s", user, space, error_code(error)
            )

    async def visible_setups(self, space: str) -> list[ChannelSetUp]:
        """Return the set-ups of public, unarchived channels: every member of the workspace
        may see those. Private channels are left out, because their members are not known
        here without another call per channel."""
        setups = await channel_setups(self.adapter.store, space)
        public = await asyncio.gather(*(self._is_public(space, setup.channel) for setup in setups))
        return [setup for setup, shown in zip(setups, public, strict=True) if shown]

    async def _is_public(self, space: str, channel: str) -> bool:
        api = self.adapter.api
        try:
            token = await api.token(space)
            response = await api.client.conversations_info(token=token, channel=channel)
        except API_ERRORS as error:
            log.info(
                "slack conversations.info for %s in %s failed: %s",
                channel,
                space,
                error_code(error),
            )
            return False
        info = response["channel"]
        return not info.get("is_private") and not info.get("is_archived")
