"""Account linking: one-time codes, and merging two learners' progress into one."""

from __future__ import annotations

import pytest

from bot.core.errors import UserError
from bot.core.learning import Learning
from bot.core.learning.linking import MAX_LINK_FAILURES
from tests.core.learning.conftest import FakeClock

DISCORD_ANA = "discord:u-ana"
SLACK_ANA = "slack:U-ANA"
DAY = 24 * 3600


async def link(learning: Learning) -> str:
    code = await learning.links.create_code("discord", "u-ana")
    return await learning.links.redeem("slack", "U-ANA", code, "Ana")


async def test_code_format(learning: Learning) -> None:
    code = await learning.links.create_code("discord", "u-ana")

    assert len(code) == 8
    assert code.isalnum()
    assert code == code.upper()


async def test_link_maps_both_accounts(learning: Learning) -> None:
    kept = await link(learning)

    assert kept == DISCORD_ANA
    assert await learning.learner_for("slack", "U-ANA") == DISCORD_ANA
    assert await learning.learner_for("discord", "u-ana") == DISCORD_ANA
    profile = await learning.profiles.get(DISCORD_ANA)
    assert profile.accounts == ("discord:u-ana", "slack:U-ANA")


async def test_link_sums_xp(learning: Learning) -> None:
    await learning.award(DISCORD_ANA, "game", 10, "d1")
    await learning.award(SLACK_ANA, "game", 5, "s1")

    await link(learning)

    summary = await learning.xp.summary(DISCORD_ANA)
    assert summary.total == 15
    assert summary.today == 15


async def test_link_unions_streak_days(learning: Learning, clock: FakeClock) -> None:
    for day in range(3):
        await learning.award(DISCORD_ANA, "game", 5, f"d{day}")
        clock.advance(DAY)
    for day in range(2):
        await learning.award(SLACK_ANA, "game", 5, f"s{day}")
        clock.advance(DAY)
    clock.advance(-DAY)

    await link(learning)

    summary = await learning.xp.summary(DISCORD_ANA)
    assert summary.streak == 5
    assert summary.best == 5


async def test_link_keeps_separate_runs_apart(learning: Learning, clock: FakeClock) -> None:
    await learning.award(DISCORD_ANA, "game", 5, "d0")
    clock.advance(3 * DAY)
    await learning.award(SLACK_ANA, "game", 5, "s0")
    clock.advance(DAY)
    await learning.award(SLACK_ANA, "game", 5, "s1")

    await link(learning)

    assert (await learning.xp.summary(DISCORD_ANA)).streak == 2


async def test_merged_streak_continues(learning: Learning, clock: FakeClock) -> None:
    await learning.award(DISCORD_ANA, "game", 5, "d0")
    clock.advance(DAY)
    await learning.award(SLACK_ANA, "game", 5, "s0")
    await link(learning)
    clock.advance(DAY)

    result = await learning.award(SLACK_ANA, "game", 5, "s1")

    assert result.learner == DISCORD_ANA
    assert result.streak == 3


async def test_link_merges_profiles(learning: Learning) -> None:
    await learning.profiles.update(DISCORD_ANA, {"targets": "es:A2", "goal": "40"})
    await learning.profiles.update(
        SLACK_ANA, {"targets": "es:B2 fr", "goal": "10", "timezone": "Europe/Lisbon"}
    )

    await link(learning)

    profile = await learning.profiles.get(DISCORD_ANA)
    assert profile.goal == 40
    assert profile.timezone == "Europe/Lisbon"
    assert {target.language: target.level for target in profile.targets} == {
        "es": "B2",
        "fr": None,
    }


async def test_link_moves_board_scores(learning: Learning) -> None:
    await learning.profiles.update(SLACK_ANA, {"targets": "es"})
    await learning.award(SLACK_ANA, "game", 7, "s1", space=("slack", "T1"), language="es")

    await link(learning)

    board = await learning.leagues.top("slack", "T1", "week")
    assert [(entry.learner, entry.xp) for entry in board] == [(DISCORD_ANA, 7)]
    standing = await learning.leagues.standing("slack", "T1", DISCORD_ANA)
    assert standing.rank == 1


async def test_link_runs_merge_hooks(learning: Learning) -> None:
    calls: list[tuple[str, str]] = []

    async def hook(kept: str, merged: str) -> None:
        calls.append((kept, merged))

    learning.links.merge_hooks.append(hook)
    await link(learning)

    assert calls == [(DISCORD_ANA, SLACK_ANA)]


async def test_code_single_use(learning: Learning) -> None:
    code = await learning.links.create_code("discord", "u-ana")
    await learning.links.redeem("slack", "U-ANA", code, "Ana")

    with pytest.raises(UserError) as raised:
        await learning.links.redeem("slack", "U-BEN", code, "Ben")

    assert raised.value.key == "learning.error.link_code"


async def test_code_expires(learning: Learning, clock: FakeClock) -> None:
    code = await learning.links.create_code("discord", "u-ana")
    clock.advance(601)

    with pytest.raises(UserError) as raised:
        await learning.links.redeem("slack", "U-ANA", code, "Ana")

    assert raised.value.key == "learning.error.link_code"


async def test_same_platform_rejected(learning: Learning) -> None:
    code = await learning.links.create_code("discord", "u-ana")

    with pytest.raises(UserError) as raised:
        await learning.links.redeem("discord", "u-other", code, "Other")

    assert raised.value.key == "learning.error.link_same_platform"


async def test_relink_rejected(learning: Learning) -> None:
    await link(learning)
    code = await learning.links.create_code("slack", "U-ANA")

    with pytest.raises(UserError) as raised:
        await learning.links.redeem("discord", "u-ana", code, "Ana")

    assert raised.value.key == "learning.error.link_already"


async def test_wrong_codes_lock_account(learning: Learning) -> None:
    for _ in range(MAX_LINK_FAILURES):
        with pytest.raises(UserError):
            await learning.links.redeem("slack", "U-ANA", "WRONG234", "Ana")
    code = await learning.links.create_code("discord", "u-ana")

    with pytest.raises(UserError) as raised:
        await learning.links.redeem("slack", "U-ANA", code, "Ana")

    assert raised.value.key == "learning.error.link_locked"
