"""RoutingSender: one Sender for the core that hands each action to its platform's sender.

A link group may join Slack and Discord channels (the core keys channels by
``platform:space:channel``), so handling one Slack message can yield Discord actions. The
core sends every action through the one sender it was given, which must therefore reach
each platform of the group.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.core.actions import Action
from bot.core.ports import Sender

log = logging.getLogger(__name__)

# Used for a platform with no sender here: the smallest limit of the platforms Parley
# supports (Discord's 2,000 characters), so that text split for it fits anywhere.
FALLBACK_MAX_LENGTH = 2000


class RoutingSender:
    """Dispatches actions by `action.platform` to the sender registered for that platform.

    An action for a platform with no sender is logged and dropped (`send` returns None),
    like any other failed post: the actions for the other platforms still go out.
    """

    def __init__(self, senders: Mapping[str, Sender]) -> None:
        self.senders = dict(senders)

    def add(self, platform: str, sender: Sender) -> None:
        """Register (or replace) the sender for `platform`."""
        self.senders[platform] = sender

    def max_length(self, platform: str) -> int:
        sender = self.senders.get(platform)
        if sender is None:
            return FALLBACK_MAX_LENGTH
        return sender.max_length(platform)

    async def send(self, action: Action) -> str | None:
        sender = self.senders.get(action.platform)
        if sender is None:
            log.error(
                "no sender for platform %s: %s in %s/%s (origin %s) dropped",
                action.platform,
                action.kind,
                action.space,
                action.channel,
                action.origin,
            )
            return None
        return await sender.send(action)
