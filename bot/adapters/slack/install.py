"""Multi-workspace installs kept in Redis: slack_sdk's installation and OAuth state stores.

Keys, under the deployment prefix (a missing enterprise or team id is written ``none``):

- ``{prefix}:slack:install:{enterprise}:{team}:{user}``: the installation made by `user`.
  ``…:{team}:latest`` is the workspace's latest installation, by any user.
- ``{prefix}:slack:bot:{enterprise}:{team}``: the workspace's current bot token and scopes.
- ``{prefix}:slack:team:{team}``: the enterprise id of a workspace, so a token can be found
  from a team id alone (Parley's spaces are team ids).
- ``{prefix}:slack:oauth-state:{state}``: an OAuth state value, valid once, with a TTL.
- ``{prefix}:slack:rotating:{enterprise}:{team}``: held while one process refreshes the
  workspace's bot token.

Tokens are stored as Redis holds them: in plain text, readable by anyone who can read Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

log = logging.getLogger(__name__)

NONE = "none"
LATEST = "latest"
# Seconds an install link stays usable: the time between opening /slack/install and
# approving the app in Slack.
STATE_TTL_S = 600
# A token refresh is one oauth.v2.access call. Its lock expires after ROTATION_LOCK_TTL_S
# seconds in case the process that holds it dies, and others wait at most ROTATION_WAIT_S.
ROTATION_LOCK_TTL_S = 30
ROTATION_WAIT_S = 10.0
ROTATION_POLL_S = 0.05

# Deletes the lock only if this holder still owns it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisInstallationStore(AsyncInstallationStore):
    """slack_sdk's `AsyncInstallationStore` on Redis, for Bolt's OAuth flow and authorization.

    Enterprise-wide installs are stored under team ``none``, as slack_sdk's own stores do,
    because one install then serves every workspace of the organization.
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    @property
    def logger(self) -> logging.Logger:
        return log

    # Keys.

    def _installation_key(self, enterprise_id: str | None, team_id: str | None, user: str) -> str:
        return f"{self.prefix}:slack:install:{enterprise_id or NONE}:{team_id or NONE}:{user}"

    def _bot_key(self, enterprise_id: str | None, team_id: str | None) -> str:
        return f"{self.prefix}:slack:bot:{enterprise_id or NONE}:{team_id or NONE}"

    def _team_key(self, team_id: str) -> str:
        return f"{self.prefix}:slack:team:{team_id}"

    # Saving.

    async def async_save(self, installation: Installation) -> None:
        """Store `installation` as its user's and as the workspace's latest, and its bot."""
        team_id = None if installation.is_enterprise_install else installation.team_id
        payload = json.dumps(installation.__dict__)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._installation_key(installation.enterprise_id, team_id, LATEST), payload)
            pipe.set(
                self._installation_key(installation.enterprise_id, team_id, installation.user_id),
                payload,
            )
            if installation.team_id is not None:
                pipe.set(self._team_key(installation.team_id), installation.enterprise_id or NONE)
            await pipe.execute()
        if installation.bot_token is not None:
            await self.async_save_bot(installation.to_bot())
        log.info(
            "slack install saved: enterprise %s team %s user %s",
            installation.enterprise_id,
            installation.team_id,
            installation.user_id,
        )

    async def async_save_bot(self, bot: Bot) -> None:
        team_id = None if bot.is_enterprise_install else bot.team_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._bot_key(bot.enterprise_id, team_id), json.dumps(bot.__dict__))
            if bot.team_id is not None:
                pipe.set(self._team_key(bot.team_id), bot.enterprise_id or NONE)
            await pipe.execute()

    async def remember_team(self, team_id: str, enterprise_id: str | None) -> None:
        """Record which enterprise a workspace belongs to, for enterprise-wide installs whose
        workspaces were never installed one by one."""
        await self.redis.set(self._team_key(team_id), enterprise_id or NONE)

    # Finding.

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        if is_enterprise_install:
            team_id = None
        raw = await self.redis.get(self._bot_key(enterprise_id, team_id))
        return None if raw is None else Bot(**json.loads(raw))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """Return `user_id`'s installation, or the workspace's latest when `user_id` is None.

        The bot fields always come from the current bot record: a later install by someone
        else, or a token rotation, replaces the bot token that older installations hold.
        """
        if is_enterprise_install:
            team_id = None
        key = self._installation_key(enterprise_id, team_id, user_id or LATEST)
        raw = await self.redis.get(key)
        if raw is None:
            return None
        installation = Installation(**json.loads(raw))
        bot = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is not None:
            installation.bot_id = bot.bot_id
            installation.bot_user_id = bot.bot_user_id
            installation.bot_token = bot.bot_token
            installation.bot_scopes = bot.bot_scopes
            installation.bot_refresh_token = bot.bot_refresh_token
            installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    async def find_bot_for_team(self, team_id: str) -> Bot | None:
        """Return the bot serving workspace `team_id`: its own install, else its enterprise's."""
        enterprise = await self.redis.get(self._team_key(team_id))
        enterprise_id = None if enterprise in (None, NONE) else str(enterprise)
        bot = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None and enterprise_id is not None:
            bot = await self.async_find_bot(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
        return bot

    @asynccontextmanager
    async def rotation_lock(
        self, enterprise_id: str | None, team_id: str | None
    ) -> AsyncIterator[None]:
        """Hold the workspace's token-refresh lock; raises TimeoutError after
        ROTATION_WAIT_S seconds of waiting for another holder."""
        key = f"{self.prefix}:slack:rotating:{enterprise_id or NONE}:{team_id or NONE}"
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + ROTATION_WAIT_S
        while not await self.redis.set(key, owner, nx=True, ex=ROTATION_LOCK_TTL_S):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"token refresh of team {team_id} still locked by another process"
                )
            await asyncio.sleep(ROTATION_POLL_S)
        try:
            yield
        finally:
            await self.redis.eval(_RELEASE, 1, key, owner)

    # Deleting.

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.redis.delete(self._bot_key(enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Delete one user's installation, or every installation of the workspace when
        `user_id` is None. The bot record stays; `async_delete_bot` removes it."""
        if user_id is None:
            pattern = self._installation_key(enterprise_id, team_id, "*")
            keys = [key async for key in self.redis.scan_iter(match=pattern, count=500)]
            if keys:
                await self.redis.delete(*keys)
            return
        await self.redis.delete(self._installation_key(enterprise_id, team_id, user_id))
        # The workspace's latest installation may be that user's: keep its bot, drop the
        # user token the user just revoked.
        latest_key = self._installation_key(enterprise_id, team_id, LATEST)
        raw = await self.redis.get(latest_key)
        if raw is None:
            return
        data: dict[str, Any] = json.loads(raw)
        if data.get("user_id") == user_id:
            for field in ("user_token", "user_refresh_token", "user_token_expires_at"):
                data[field] = None
            data["user_scopes"] = []
            await self.redis.set(latest_key, json.dumps(data))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        if team_id is not None:
            await self.redis.delete(self._team_key(team_id))
        log.info("slack install deleted: enterprise %s team %s", enterprise_id, team_id)


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """OAuth `state` values in Redis: each is valid once, for `ttl_s` seconds.

    The value ties Slack's redirect back to the browser that started the install, so a
    forged redirect cannot install the app into someone else's workspace.
    """

    def __init__(self, redis: Redis, prefix: str, *, ttl_s: int = STATE_TTL_S) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(self, state: str) -> str:
        return f"{self.prefix}:slack:oauth-state:{state}"

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        await self.redis.set(self._key(state), "1", ex=self.ttl_s)
        return state

    async def async_consume(self, state: str) -> bool:
        # DEL reports whether the key existed, so two callbacks racing with one state
        # cannot both succeed.
        return bool(await self.redis.delete(self._key(state)))
