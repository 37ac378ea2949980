"""Multi-workspace installs: the OAuth flow into Redis, authorization from it, token
rotation, and erasing a workspace when the app is removed."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.adapters.slack.app import SlackBot, build_slack
from bot.adapters.slack.config import SlackConfig
from bot.adapters.slack.install import RedisInstallationStore, RedisOAuthStateStore
from bot.adapters.slack.run import build_web_app
from bot.core.conversation import Parley
from bot.core.store import Store
from tests.adapters.slack.driver import SIGNING_SECRET, SlackDriver
from tests.adapters.slack.fake_slack import FakeSlack

ENGLISH = "We will bring sandwiches and something to drink for everyone."

GRANT: dict[str, Any] = {
    "access_token": "xoxb-team-two",
    "token_type": "bot",
    "scope": "chat:write,commands,users:read",
    "bot_user_id": "UBOT",
    "app_id": "A1",
    "team": {"id": "T2", "name": "Second team"},
    "enterprise": None,
    "is_enterprise_install": False,
    "authed_user": {"id": "UMOD"},
}


@pytest.fixture
def oauth_slack(fake_slack: FakeSlack, parley: Parley, store: Store) -> SlackBot:
    config = SlackConfig(
        client_id="111.222",
        client_secret="oauth-client-secret",
        signing_secret=SIGNING_SECRET,
        api_url=fake_slack.api_url,
    )
    fake_slack.grants["code-1"] = GRANT
    fake_slack.token_teams["xoxb-team-two"] = "T2"
    return build_slack(config, parley, store, process_before_response=True)


def installations(bot: SlackBot) -> RedisInstallationStore:
    assert bot.installations is not None
    return bot.installations


async def install(bot: SlackBot) -> int:
    """Run the OAuth flow as a browser would; returns the redirect's HTTP status."""
    async with TestClient(TestServer(build_web_app(bot.app), host="127.0.0.1")) as http:
        page = await http.get("/slack/install")
        found = re.search(r"state=([A-Za-z0-9_-]+)", await page.text())
        assert found is not None
        state = found[1]
        # Bolt marks the state cookie Secure, so a client on plain HTTP would not send it.
        done = await http.get(
            f"/slack/oauth_redirect?code=code-1&state={state}",
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )
        return done.status


async def test_install_stores_installation(oauth_slack: SlackBot) -> None:
    status = await install(oauth_slack)

    installation = await installations(oauth_slack).async_find_installation(
        enterprise_id=None, team_id="T2"
    )
    assert status == 200
    assert installation is not None
    assert installation.bot_token == "xoxb-team-two"
    assert installation.user_id == "UMOD"
    assert installation.bot_scopes == ["chat:write", "commands", "users:read"]


async def test_install_keys_under_prefix(oauth_slack: SlackBot, store: Store) -> None:
    await install(oauth_slack)

    keys = sorted([key async for key in store.redis.scan_iter(match=f"{store.prefix}:slack:*")])

    assert f"{store.prefix}:slack:install:none:T2:UMOD" in keys
    assert f"{store.prefix}:slack:install:none:T2:latest" in keys
    assert f"{store.prefix}:slack:bot:none:T2" in keys


async def test_install_rejects_forged_state(oauth_slack: SlackBot, fake_slack: FakeSlack) -> None:
    async with TestClient(TestServer(build_web_app(oauth_slack.app), host="127.0.0.1")) as http:
        done = await http.get(
            "/slack/oauth_redirect?code=code-1&state=forged",
            headers={"Cookie": "slack-app-oauth-state=forged"},
        )

    assert done.status == 401
    assert fake_slack.calls_to("oauth.v2.access") == []


async def test_installed_workspace_served(oauth_slack: SlackBot, fake_slack: FakeSlack) -> None:
    await install(oauth_slack)
    driver = SlackDriver(oauth_slack, fake_slack, team="T2")

    await driver.command("C1", "UMOD", "link create <#C1|chat-en>:en <#C2|chat-es>:es")
    await driver.say("C1", "UBEN", ENGLISH)

    posts = driver.posts("C2")
    assert [post.params["text"] for post in posts] == [f"[es] {ENGLISH}"]
    assert posts[0].token == "xoxb-team-two"


async def test_uninstall_erases_workspace(
    oauth_slack: SlackBot, fake_slack: FakeSlack, store: Store
) -> None:
    await install(oauth_slack)
    driver = SlackDriver(oauth_slack, fake_slack, team="T2")
    await driver.command("C1", "UMOD", "link create <#C1|chat-en>:en <#C2|chat-es>:es")
    await driver.say("C1", "UBEN", ENGLISH)

    response = await driver.event({"type": "app_uninstalled"})

    left = [key async for key in store.redis.scan_iter(match=f"{store.prefix}:*T2*")]
    installation = await installations(oauth_slack).async_find_installation(
        enterprise_id=None, team_id="T2"
    )
    assert response.status == 200
    assert installation is None
    assert left == []


async def test_bot_token_revoked_erases(
    oauth_slack: SlackBot, fake_slack: FakeSlack, store: Store
) -> None:
    await install(oauth_slack)
    driver = SlackDriver(oauth_slack, fake_slack, team="T2")
    await driver.command("C3", "UMOD", "channel languages en es")

    await driver.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}})

    bot = await installations(oauth_slack).async_find_bot(enterprise_id=None, team_id="T2")
    left = [key async for key in store.redis.scan_iter(match=f"{store.prefix}:chan:*T2*")]
    assert bot is None
    assert left == []


async def test_user_token_revoked_keeps_bot(oauth_slack: SlackBot, fake_slack: FakeSlack) -> None:
    await install(oauth_slack)
    driver = SlackDriver(oauth_slack, fake_slack, team="T2")

    await driver.event({"type": "tokens_revoked", "tokens": {"oauth": ["UMOD"], "bot": []}})

    store = installations(oauth_slack)
    mine = await store.async_find_installation(enterprise_id=None, team_id="T2", user_id="UMOD")
    latest = await store.async_find_installation(enterprise_id=None, team_id="T2")
    assert mine is None
    assert latest is not None
    assert latest.bot_token == "xoxb-team-two"


async def test_expiring_token_rotated(oauth_slack: SlackBot, fake_slack: FakeSlack) -> None:
    await installations(oauth_slack).async_save(
        Installation(
            team_id="T3",
            user_id="UMOD",
            bot_token="xoxe.xoxb-old",
            bot_id="B1",
            bot_user_id="UBOT",
            bot_scopes="chat:write",
            bot_refresh_token="xoxe-1-refresh",
            # Expires in a minute: inside the 120-minute refresh window.
            bot_token_expires_at=int(time.time()) + 60,
        )
    )
    fake_slack.refreshes["xoxe-1-refresh"] = {
        "access_token": "xoxe.xoxb-new",
        "refresh_token": "xoxe-1-refresh-2",
        "token_type": "bot",
        "expires_in": 43200,
    }
    fake_slack.token_teams["xoxe.xoxb-new"] = "T3"
    driver = SlackDriver(oauth_slack, fake_slack, team="T3")

    await driver.command("C1", "UMOD", "link create <#C1|chat-en>:en <#C2|chat-es>:es")
    await driver.say("C1", "UBEN", ENGLISH)

    bot = await installations(oauth_slack).async_find_bot(enterprise_id=None, team_id="T3")
    assert bot is not None
    assert bot.bot_token == "xoxe.xoxb-new"
    assert [post.token for post in driver.posts("C2")] == ["xoxe.xoxb-new"]


async def test_sender_rotates_token(oauth_slack: SlackBot, fake_slack: FakeSlack) -> None:
    await installations(oauth_slack).async_save(
        Installation(
            team_id="T4",
            user_id="UMOD",
            bot_token="xoxe.xoxb-stale",
            bot_id="B1",
            bot_user_id="UBOT",
            bot_refresh_token="xoxe-4-refresh",
            bot_token_expires_at=int(time.time()) - 10,
        )
    )
    fake_slack.refreshes["xoxe-4-refresh"] = {
        "access_token": "xoxe.xoxb-fresh",
        "refresh_token": "xoxe-4-refresh-2",
        "token_type": "bot",
        "expires_in": 43200,
    }

    # No request from T4 is in flight: a relay from another workspace posts there.
    token = await oauth_slack.api.token("T4")

    assert token == "xoxe.xoxb-fresh"


async def test_unknown_workspace_has_no_token(oauth_slack: SlackBot) -> None:
    assert await oauth_slack.api.tokens.bot_token("T404") is None


async def test_state_valid_once(store: Store) -> None:
    states = RedisOAuthStateStore(store.redis, store.prefix, ttl_s=60)
    state = await states.async_issue()

    first = await states.async_consume(state)
    second = await states.async_consume(state)

    assert first is True
    assert second is False


async def test_state_expires(store: Store) -> None:
    states = RedisOAuthStateStore(store.redis, store.prefix, ttl_s=60)
    state = await states.async_issue()

    ttl = await store.redis.ttl(f"{store.prefix}:slack:oauth-state:{state}")

    assert 0 < ttl <= 60


async def test_enterprise_install_serves_its_teams(store: Store) -> None:
    installs = RedisInstallationStore(store.redis, store.prefix)
    await installs.async_save(
        Installation(
            enterprise_id="E1",
            team_id=None,
            user_id="UMOD",
            bot_token="xoxb-org",
            bot_id="B1",
            bot_user_id="UBOT",
            is_enterprise_install=True,
        )
    )
    await installs.remember_team("T7", "E1")

    bot = await installs.find_bot_for_team("T7")

    assert bot is not None
    assert bot.bot_token == "xoxb-org"


async def save_expired(bot: SlackBot, team: str, refresh_token: str) -> None:
    await installations(bot).async_save(
        Installation(
            team_id=team,
            user_id="UMOD",
            bot_token=f"xoxe.xoxb-{team}-stale",
            bot_id="B1",
            bot_user_id="UBOT",
            bot_refresh_token=refresh_token,
            bot_token_expires_at=int(time.time()) - 10,
        )
    )


async def test_concurrent_refresh_once(oauth_slack: SlackBot, fake_slack: FakeSlack) -> None:
    await save_expired(oauth_slack, "T5", "xoxe-5-refresh")
    fake_slack.refreshes["xoxe-5-refresh"] = {
        "access_token": "xoxe.xoxb-T5-fresh",
        "refresh_token": "xoxe-5-refresh-2",
        "token_type": "bot",
        "expires_in": 43200,
    }

    # Slack revokes a refresh token on use: a second refresh with it would fail.
    tokens = await asyncio.gather(*(oauth_slack.api.token("T5") for _ in range(3)))

    assert tokens == ["xoxe.xoxb-T5-fresh"] * 3
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1


async def test_refused_refresh_keeps_token(
    oauth_slack: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    await save_expired(oauth_slack, "T6", "xoxe-6-revoked")

    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.api"):
        token = await oauth_slack.api.token("T6")

    assert token == "xoxe.xoxb-T6-stale"
    assert "workspace T6 not refreshed: invalid_refresh_token" in caplog.text
