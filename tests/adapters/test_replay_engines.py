"""`parley replay` with DeepL as primary engine (a local fake of its API, the real SDK) and
Apertium as fallback: the chain, the quota fallback and the single notice, end to end."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from bot.providers.apertium import apertium_available
from tests.providers.fake_deepl import FakeDeepL

pytestmark = pytest.mark.skipif(not apertium_available(), reason="Apertium is not installed")

REPO = Path(__file__).resolve().parents[2]

SETUP = {
    "type": "command",
    "channel": "chat-en",
    "user": "u1",
    "name": "Mod",
    "admin": True,
    "command": "link create",
    "options": {"channels": "chat-en:en chat-es:es"},
}


def message(number: int, text: str) -> dict[str, object]:
    return {
        "type": "message",
        "channel": "chat-en",
        "user": "u2",
        "name": "Ben",
        "id": f"m{number}",
        "text": text,
    }


async def replay(tmp_path: Path, fake_url: str, events: list[dict[str, object]]) -> list[dict]:
    path = tmp_path / "transcript.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in events) + "\n", encoding="utf-8")
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "APERTIUM_URL")
    }
    env.update(
        {
            "DEEPL_AUTH_KEY": "fake-deepl-key",
            "DEEPL_SERVER_URL": fake_url,
            "PARLEY_ENGINES": "deepl,apertium",
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "replay",
        str(path),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    return [json.loads(line) for line in stdout.decode().splitlines()]


async def test_deepl_primary_translates(tmp_path: Path) -> None:
    async with FakeDeepL() as fake:
        actions = await replay(
            tmp_path,
            fake.base_url,
            [
                SETUP,
                message(1, "I cannot join the call today <@42>, sorry."),
            ],
        )

    posts = [action for action in actions if action["kind"] == "post"]
    assert len(posts) == 1
    assert posts[0]["text"].startswith("[ES]")
    assert "<@42>" in posts[0]["text"]
    assert fake.translate_calls == 1


async def test_quota_falls_back_once_noticed(tmp_path: Path) -> None:
    async with FakeDeepL() as fake:
        fake.quota_exceeded = True
        actions = await replay(
            tmp_path,
            fake.base_url,
            [
                SETUP,
                message(1, "I cannot join the call today, sorry."),
                message(2, "The meeting moved to Thursday afternoon."),
            ],
        )

    posts = [action for action in actions if action["kind"] == "post"]
    relays = [post for post in posts if post["display_name"] == "Ben"]
    notices = [post for post in posts if post["display_name"] == "Parley"]
    assert len(relays) == 2
    assert "hoy" in relays[0]["text"]
    assert len(notices) == 1
    assert "deepl has used up its quota" in notices[0]["text"]
