"""The Slack Web API client Parley shares, and the bot token to use for each workspace."""

from __future__ import annotations

import logging
import time
from typing import Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.install import RedisInstallationStore

log = logging.getLogger(__name__)

# Retries after a 429, each after the Retry-After seconds Slack sends. Posting is limited
# to about one message a second per channel, so a burst of copies can meet one.
RATE_LIMIT_RETRIES = 3


class NotInstalledError(Exception):
    """Parley has no bot token for a workspace: it was never installed there, or removed."""

    def __init__(self, space: str) -> None:
        super().__init__(f"no Slack installation for workspace {space}")
        self.space = space


# Exceptions a Web API call can raise once slack_sdk's retries are spent.
API_ERRORS = (SlackApiError, NotInstalledError, aiohttp.ClientError, TimeoutError)


def error_code(error: Exception) -> str:
    """Return Slack's error code (such as ``channel_not_found``) or the exception's type and
    text, short enough for a log line and free of tokens."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"HTTP {error.response.status_code}")
    return f"{type(error).__name__}: {error}"


def build_web_client(api_url: str, token: str | None = None) -> AsyncWebClient:
    """Create the Web API client: `api_url` as base URL, retrying 429s and dropped connections."""
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


class TokenSource(Protocol):
    """Finds the bot token for a workspace (a Parley space is a Slack team id)."""

    async def bot_token(self, space: str) -> str | None: ...


class StaticToken:
    """The one bot token of a single-workspace app (SLACK_BOT_TOKEN), for every space."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def bot_token(self, space: str) -> str | None:
        return self._token


class LockedTokenRotator(AsyncTokenRotator):
    """slack_sdk's token rotator, refreshing a workspace's bot token in one process at a time.

    Slack revokes a refresh token when it is used, so two replicas refreshing at once would
    leave one of them with a revoked token and a failed request. Under the lock, a token
    that another process refreshed meanwhile is taken from the store instead.
    """

    def __init__(
        self,
        installations: RedisInstallationStore,
        *,
        client_id: str,
        client_secret: str,
        client: AsyncWebClient,
    ) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self.installations = installations

    async def perform_bot_token_rotation(
        self, *, bot: Bot, minutes_before_expiration: int = 120
    ) -> Bot | None:
        """Refresh `bot`'s token and return the refreshed bot, or None when the token has
        more than `minutes_before_expiration` left.

        Raises SlackTokenRotationError when Slack rejects the refresh token, and
        TimeoutError when another process keeps the lock too long.
        """
        expires_at = bot.bot_token_expires_at
        if expires_at is None or expires_at > time.time() + minutes_before_expiration * 60:
            return None
        team_id = None if bot.is_enterprise_install else bot.team_id
        async with self.installations.rotation_lock(bot.enterprise_id, team_id):
            stored = await self.installations.async_find_bot(
                enterprise_id=bot.enterprise_id, team_id=team_id
            )
            if stored is not None and stored.bot_token != bot.bot_token:
                return stored
            return await super().perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=minutes_before_expiration
            )


class InstalledTokens:
    """Bot tokens from the installation store, refreshed first when rotation is on and the
    token expires within `expiration_minutes`.

    Bolt refreshes tokens only for incoming requests; this covers posts that no request
    started, such as relays into another workspace and worker results.
    """

    def __init__(
        self,
        installations: RedisInstallationStore,
        rotator: LockedTokenRotator,
        *,
        expiration_minutes: int,
    ) -> None:
        self.installations = installations
        self.rotator = rotator
        self.expiration_minutes = expiration_minutes

    async def bot_token(self, space: str) -> str | None:
        bot = await self.installations.find_bot_for_team(space)
        if bot is None or bot.bot_refresh_token is None:
            return None if bot is None else bot.bot_token
        try:
            refreshed = await self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self.expiration_minutes
            )
        except (SlackTokenRotationError, TimeoutError) as error:
            problem = (
                error_code(error.api_error) if isinstance(error, SlackTokenRotationError) else error
            )
            # Refreshing starts well before expiry, so the current token usually still works.
            log.warning("slack bot token of workspace %s not refreshed: %s", space, problem)
            return bot.bot_token
        if refreshed is None or refreshed.bot_token == bot.bot_token:
            return bot.bot_token
        await self.installations.async_save_bot(refreshed)
        log.info("slack bot token of workspace %s refreshed", space)
        return refreshed.bot_token


class SlackApi:
    """The shared client plus the token for each workspace: every call names its workspace."""

    def __init__(self, client: AsyncWebClient, tokens: TokenSource) -> None:
        self.client = client
        self.tokens = tokens

    async def token(self, space: str) -> str:
        """Return the bot token for `space`; raises NotInstalledError when there is none."""
        token = await self.tokens.bot_token(space)
        if token is None:
            raise NotInstalledError(space)
        return token
