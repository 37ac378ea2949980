"""`parley replay` end to end: embedded Redis, Apertium, a worker process, JSON Lines out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.providers.apertium import apertium_available

pytestmark = pytest.mark.skipif(not apertium_available(), reason="Apertium is not installed")

REPO = Path(__file__).resolve().parents[2]

TRANSCRIPT = [
    {
        "type": "command",
        "channel": "chat-en",
        "user": "u1",
        "name": "Mod",
        "admin": True,
        "command": "link create",
        "options": {"channels": "chat-en:en chat-es:es"},
    },
    {
        "type": "message",
        "channel": "chat-en",
        "user": "u2",
        "name": "Ben",
        "id": "m1",
        "text": "@everyone I cannot join the call today <@99> 👋",
        "event_id": "e1",
    },
    {
        "type": "message",
        "channel": "chat-en",
        "user": "u2",
        "name": "Ben",
        "id": "m1",
        "text": "@everyone I cannot join the call today <@99> 👋",
        "event_id": "e1",
    },
    {
        "type": "edit",
        "channel": "chat-en",
        "user": "u2",
        "name": "Ben",
        "id": "m1",
        "text": "I can join the call today after all.",
    },
    {"type": "delete", "channel": "chat-en", "id": "m1"},
]


def run_replay(tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "transcript.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "APERTIUM_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "replay", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_replay_offline_end_to_end(tmp_path: Path) -> None:
    result = run_replay(tmp_path, [json.dumps(event) for event in TRANSCRIPT])

    assert result.returncode == 0, result.stderr[-3000:]
    actions = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [action["kind"] for action in actions]
    assert kinds == ["ephemeral", "post", "edit", "delete"]
    post, edit, delete = actions[1], actions[2], actions[3]
    assert post["channel"] == "chat-es"
    assert post["display_name"] == "Ben"
    assert post["origin"] == "m1"
    assert post["may_mention"] is False
    assert "@everyone" in post["text"]
    assert "<@99>" in post["text"]
    assert "hoy" in post["text"]
    assert edit["target"] == post["id"]
    assert "hoy" in edit["text"]
    assert delete["target"] == post["id"]


def test_replay_reports_bad_lines(tmp_path: Path) -> None:
    lines = ['{"type": "message", "channel": "c"}', "not json", json.dumps(TRANSCRIPT[0])]

    result = run_replay(tmp_path, lines)

    assert result.returncode == 1
    assert "line 1: 'user' is required" in result.stderr
    assert "line 2: not valid JSON" in result.stderr
    assert '"kind": "ephemeral"' in result.stdout


def test_replay_skips_line_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_bytes(b"\xff\xfe bad\n" + json.dumps(TRANSCRIPT[0]).encode() + b"\n")
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "APERTIUM_URL")
    }

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "replay", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "line 1: not valid UTF-8" in result.stderr
    assert '"kind": "ephemeral"' in result.stdout
