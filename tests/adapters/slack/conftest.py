"""Fixtures for the Slack adapter: a fake Slack, and the real Bolt app on the real core."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.adapters.slack.app import SlackBot, build_slack
from bot.adapters.slack.config import SlackConfig
from bot.core.conversation import Parley
from bot.core.store import Store
from tests.adapters.slack.driver import BOT_TOKEN, SIGNING_SECRET, SlackDriver
from tests.adapters.slack.fake_slack import FakeSlack


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack_config(fake_slack: FakeSlack) -> SlackConfig:
    return SlackConfig(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake_slack.api_url
    )


@pytest.fixture
def slack(slack_config: SlackConfig, parley: Parley, store: Store) -> SlackBot:
    # process_before_response: each request returns after its work, so tests can read it.
    return build_slack(slack_config, parley, store, process_before_response=True)


@pytest.fixture
def driver(slack: SlackBot, fake_slack: FakeSlack) -> SlackDriver:
    return SlackDriver(slack, fake_slack)
