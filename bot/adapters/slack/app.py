"""Building the Bolt app: authorization (one token or OAuth installs), senders, listeners."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.api import (
    InstalledTokens,
    LockedTokenRotator,
    SlackApi,
    StaticToken,
    build_web_client,
)
from bot.adapters.slack.config import SlackConfig, SlackConfigError
from bot.adapters.slack.home import Home
from bot.adapters.slack.install import RedisInstallationStore, RedisOAuthStateStore
from bot.adapters.slack.interactions import COMMAND, TRANSLATE_CALLBACK, Interactions
from bot.adapters.slack.listeners import SlackAdapter
from bot.adapters.slack.routing import RoutingSender
from bot.adapters.slack.sender import PLATFORM, SlackSender
from bot.adapters.slack.uninstall import Uninstaller
from bot.adapters.slack.users import UserDirectory
from bot.core.conversation import Parley
from bot.core.ports import Sender
from bot.core.store import Store

log = logging.getLogger(__name__)

# Bot scopes requested by the OAuth install flow. slack-manifest.yml gives the reason for each.
BOT_SCOPES = (
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "chat:write",
    "chat:write.customize",
    "reactions:read",
    "users:read",
    "commands",
    "im:write",
    "files:write",
)
# With token rotation on, a bot token lasts 12 hours. It is refreshed when it has less than
# this many minutes left.
TOKEN_ROTATION_MINUTES = 120


@dataclass
class SlackBot:
    """A configured Bolt app and the parts around it that `run_slack` and tests use."""

    app: AsyncApp
    adapter: SlackAdapter
    sender: RoutingSender
    slack_sender: SlackSender
    api: SlackApi
    installations: RedisInstallationStore | None


def build_slack(
    config: SlackConfig,
    parley: Parley,
    store: Store,
    *,
    process_before_response: bool = False,
    other_senders: Mapping[str, Sender] | None = None,
) -> SlackBot:
    """Build the Bolt app for `config` with every listener registered.

    With `process_before_response` False (production), Bolt responds to Slack as soon as
    a listener acknowledges and finishes the work afterwards. True finishes the work
    first, which keeps tests deterministic but risks Slack's 3-second limit.
    `other_senders` are the senders of other platforms (e.g. {"discord": …}) that bridged
    link groups post to.
    """
    client = build_web_client(config.api_url)
    installations: RedisInstallationStore | None = None
    tokens: InstalledTokens | StaticToken
    if config.client_id is not None and config.client_secret is not None:
        installations = RedisInstallationStore(store.redis, store.prefix)
        # A rotator's default client talks to slack.com; this one honours SLACK_API_URL.
        rotator = LockedTokenRotator(
            installations,
            client_id=config.client_id,
            client_secret=config.client_secret,
            client=client,
        )
        tokens = InstalledTokens(installations, rotator, expiration_minutes=TOKEN_ROTATION_MINUTES)
        app = AsyncApp(
            name="parley",
            client=client,
            signing_secret=config.signing_secret or "",
            process_before_response=process_before_response,
            oauth_settings=_oauth_settings(config, installations, store, client, rotator),
        )
    elif config.bot_token is not None:
        client.token = config.bot_token
        tokens = StaticToken(config.bot_token)
        app = AsyncApp(
            name="parley",
            client=client,
            signing_secret=config.signing_secret or "",
            process_before_response=process_before_response,
        )
    else:
        raise SlackConfigError(
            "Slack needs SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
        )

    api = SlackApi(client, tokens)
    slack_sender = SlackSender(api)
    sender = RoutingSender({**(other_senders or {}), PLATFORM: slack_sender})
    users = UserDirectory(store.redis, store.prefix, api)
    adapter = SlackAdapter(parley, store, api, sender, users, installations)
    register_listeners(app, adapter)
    return SlackBot(app, adapter, sender, slack_sender, api, installations)


def _oauth_settings(
    config: SlackConfig,
    installations: RedisInstallationStore,
    store: Store,
    client: AsyncWebClient,
    rotator: LockedTokenRotator,
) -> AsyncOAuthSettings:
    settings = AsyncOAuthSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        installation_store=installations,
        state_store=RedisOAuthStateStore(store.redis, store.prefix),
        token_rotation_expiration_minutes=TOKEN_ROTATION_MINUTES,
        logger=log,
    )
    # The settings' own authorizer refreshes tokens through a client on slack.com, without
    # a lock; this one uses `rotator`, shared with the sender's token lookups.
    authorize = AsyncInstallationStoreAuthorize(
        logger=log,
        installation_store=installations,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_rotation_expiration_minutes=TOKEN_ROTATION_MINUTES,
        client=client,
    )
    authorize.token_rotator = rotator
    settings.authorize = authorize
    return settings


def register_listeners(app: AsyncApp, adapter: SlackAdapter) -> None:
    """Register Parley's listeners on `app`.

    Bolt responds with 404 to an event without a listener, and Slack retries it, so the
    manifest subscribes to these events only.
    """
    interactions = Interactions(adapter)
    home = Home(adapter)
    uninstaller = Uninstaller(adapter)
    app.event("message")(adapter.on_message)
    app.event("reaction_added")(adapter.on_reaction_added)
    app.event("app_home_opened")(home.on_home_opened)
    app.event("app_uninstalled")(uninstaller.on_app_uninstalled)
    app.event("tokens_revoked")(uninstaller.on_tokens_revoked)
    app.command(COMMAND)(interactions.on_command)
    app.shortcut(TRANSLATE_CALLBACK)(interactions.on_translate_shortcut)
