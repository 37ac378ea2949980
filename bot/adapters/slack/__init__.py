"""The Slack adapter: Bolt listeners that turn Slack events into the core's events, and a
sender that turns the core's actions into Slack Web API calls. See docs/slack.md."""

from __future__ import annotations

from bot.adapters.slack.config import SlackConfigError
from bot.adapters.slack.run import run_slack

__all__ = ["SlackConfigError", "run_slack"]
