"""slack-manifest.yml agrees with the code: scopes, command, shortcut and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.adapters.slack.app import BOT_SCOPES
from bot.adapters.slack.interactions import COMMAND, TRANSLATE_CALLBACK

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[3] / "slack-manifest.yml"
# Event types with a listener in bot.adapters.slack.app.register_listeners.
HANDLED = {"message", "reaction_added", "app_home_opened", "app_uninstalled", "tokens_revoked"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text("utf-8"))
    return loaded


def test_scopes_match_oauth(manifest: dict[str, Any]) -> None:
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_command_escapes_channels(manifest: dict[str, Any]) -> None:
    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == COMMAND
    assert command["should_escape"] is True


def test_shortcut_callback(manifest: dict[str, Any]) -> None:
    shortcut = manifest["features"]["shortcuts"][0]
    assert shortcut["type"] == "message"
    assert shortcut["callback_id"] == TRANSLATE_CALLBACK


def test_every_event_handled(manifest: dict[str, Any]) -> None:
    # message.channels and message.groups both arrive as "message" events.
    events = {
        name.split(".")[0] for name in manifest["settings"]["event_subscriptions"]["bot_events"]
    }
    assert events <= HANDLED


def test_socket_mode_on(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
