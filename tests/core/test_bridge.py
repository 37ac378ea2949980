"""Linking channels across platforms with a one-time code, and erasing a space."""

from __future__ import annotations

from bot.core.conversation import Parley
from bot.core.store import Store
from tests.chat import Chat

SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."
ENGLISH = "We will bring sandwiches and something to drink for everyone."


async def bridged(parley: Parley) -> tuple[Chat, Chat]:
    discord = Chat(parley, platform="discord", space="guild1")
    slack = Chat(parley, platform="slack", space="T1")
    slack.sender = discord.sender
    replies = await discord.command("general-es", "link bridge", language="es")
    code = replies[0].text.split()[1].rstrip(".")
    await slack.command("C42", "link join", code=code, language="en")
    return discord, slack


async def test_bridge_relays_both_ways(parley: Parley) -> None:
    discord, slack = await bridged(parley)

    await discord.say("general-es", "Ana", SPANISH, id="d1")
    await slack.say("C42", "Ben", ENGLISH, id="1700000000.000100")

    posts = discord.posts()
    to_slack = [post for post in posts if post.platform == "slack"]
    to_discord = [post for post in posts if post.platform == "discord"]
    assert [post.channel for post in to_slack] == ["C42"]
    assert to_slack[0].text == f"[en] {SPANISH}"
    assert to_slack[0].display_name == "Ana"
    assert [post.channel for post in to_discord] == ["general-es"]
    assert to_discord[0].text == f"[es] {ENGLISH}"


async def test_bridge_code_single_use(parley: Parley) -> None:
    discord = Chat(parley, platform="discord", space="guild1")
    slack = Chat(parley, platform="slack", space="T1")
    replies = await discord.command("general-es", "link bridge", language="es")
    code = replies[0].text.split()[1].rstrip(".")

    first = await slack.command("C42", "link join", code=code, language="en")
    second = await slack.command("C43", "link join", code=code, language="fr")

    assert first[0].text.startswith("Linked with discord:#general-es")
    assert "unknown or has expired" in second[0].text


async def test_bridge_edit_reaches_other_platform(parley: Parley) -> None:
    discord, _ = await bridged(parley)
    await discord.say("general-es", "Ana", SPANISH, id="d1")

    await discord.edit("general-es", "Ana", "d1", "Hoy no vamos a la playa, llueve mucho.")

    assert discord.sender.record.channel("slack", "T1", "C42")[0].text == (
        "[en] Hoy no vamos a la playa, llueve mucho."
    )


async def test_erase_space_removes_its_keys(parley: Parley, store: Store) -> None:
    discord, slack = await bridged(parley)
    await slack.say("C42", "Ben", ENGLISH, id="1700000000.000100")

    erased = await store.erase_space("slack", "T1")
    after = await discord.say("general-es", "Ana", SPANISH, id="d2")
    left = [key async for key in store.redis.scan_iter(match=f"{store.prefix}:*slack:T1*")]

    assert erased > 0
    assert left == []
    assert [post.platform for post in after.actions] == []


async def test_erase_space_frees_lone_channel(parley: Parley, store: Store) -> None:
    discord, _ = await bridged(parley)

    await store.erase_space("slack", "T1")
    replies = await discord.command("general-es", "settings")

    assert replies[0].text.startswith("This channel has no Parley set-up.")
