"""Removing a workspace: its installation and every Parley key of that space.

Slack sends ``app_uninstalled`` when a workspace removes the app, and ``tokens_revoked``
when tokens stop working (``tokens.bot`` lists bot users, ``tokens.oauth`` users who
revoked their own token). Parley makes no API call for either, because the token is gone.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.adapters.slack.events import space_of
from bot.adapters.slack.listeners import SlackAdapter
from bot.adapters.slack.sender import PLATFORM

log = logging.getLogger(__name__)


class Uninstaller:
    """Listeners for ``app_uninstalled`` and ``tokens_revoked``."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter

    async def on_app_uninstalled(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        space = space_of(body, context.team_id)
        await self._erase(context.enterprise_id, space, reason="app_uninstalled")

    async def on_tokens_revoked(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        space = space_of(body, context.team_id)
        tokens = event.get("tokens") or {}
        installations = self.adapter.installations
        if installations is not None:
            for user in tokens.get("oauth") or []:
                await installations.async_delete_installation(
                    enterprise_id=context.enterprise_id, team_id=space, user_id=str(user)
                )
        # Without its bot token Parley can no longer read or post in the workspace.
        if tokens.get("bot"):
            await self._erase(context.enterprise_id, space, reason="bot token revoked")

    async def _erase(self, enterprise_id: str | None, space: str | None, *, reason: str) -> None:
        installations = self.adapter.installations
        if installations is not None:
            await installations.async_delete_all(enterprise_id=enterprise_id, team_id=space)
        # Channel set-ups, messages, copy maps and engine settings of the space go too.
        # Link groups that also hold other spaces' channels keep those channels.
        erased = 0 if space is None else await self.adapter.store.erase_space(PLATFORM, space)
        log.info(
            "slack workspace %s (enterprise %s) removed (%s): installation and %d keys deleted",
            space,
            enterprise_id,
            reason,
            erased,
        )
