"""Learner profiles, level estimates and the placement test."""

from __future__ import annotations

import pytest

from bot.core.errors import UserError
from bot.core.learning import Learning
from bot.core.learning.placement import (
    PlacementItem,
    PlacementResult,
    Question,
    available_banks,
    load_bank,
    next_item,
    placement_level,
)

ANA = "discord:u-ana"


async def test_defaults_without_profile(learning: Learning) -> None:
    profile = await learning.profiles.get(ANA)

    assert profile.timezone == "UTC"
    assert profile.day_start == 0
    assert profile.style == "gentle"
    assert profile.goal == 30
    assert profile.targets == ()


async def test_update_saves_every_option(learning: Learning) -> None:
    await learning.profiles.update(
        ANA,
        {
            "native": "pt-BR",
            "targets": "es:B1 fr",
            "timezone": "America/Sao_Paulo",
            "day_start": "5",
            "correction": "Direct",
            "goal": "50",
            "interests": "music, football, Music",
        },
    )

    profile = await learning.profiles.get(ANA)
    assert profile.native == "pt"
    assert [(t.language, t.level) for t in profile.targets] == [("es", "B1"), ("fr", None)]
    assert profile.timezone == "America/Sao_Paulo"
    assert profile.day_start == 5
    assert profile.style == "direct"
    assert profile.goal == 50
    assert profile.interests == ("music", "football")


@pytest.mark.parametrize(
    ("option", "value", "key"),
    [
        ("timezone", "Mars/Olympus", "learning.error.timezone"),
        ("timezone", "../etc/passwd", "learning.error.timezone"),
        ("day_start", "24", "learning.error.day_start"),
        ("day_start", "noon", "learning.error.day_start"),
        ("correction", "harsh", "learning.error.style"),
        ("goal", "0", "learning.error.goal"),
        ("targets", "es:D4", "learning.error.level"),
        ("targets", "es fr de it pt nl", "learning.error.too_many_targets"),
        ("native", "klingon", "error.language"),
        ("interests", "x" * 41, "learning.error.interest"),
    ],
)
async def test_update_rejects_invalid(
    learning: Learning, option: str, value: str, key: str
) -> None:
    with pytest.raises(UserError) as raised:
        await learning.profiles.update(ANA, {"goal": "40", option: value})

    assert raised.value.key == key
    assert (await learning.profiles.get(ANA)).goal == 30


async def test_targets_keep_estimates(learning: Learning) -> None:
    await learning.profiles.update(ANA, {"targets": "es:C1"})

    await learning.profiles.update(ANA, {"targets": "fr es"})

    profile = await learning.profiles.get(ANA)
    levels = {target.language: target.level for target in profile.targets}
    assert levels == {"es": "C1", "fr": None}


# Level estimates.


async def test_graded_work_nudges_estimate(learning: Learning) -> None:
    await learning.profiles.update(ANA, {"targets": "es:B1"})

    up = await learning.record_graded(ANA, "es", 1.0)
    down = await learning.record_graded(ANA, "es", 0.0)

    assert up == pytest.approx(3.56)
    assert down == pytest.approx(3.42)


async def test_estimate_crosses_band(learning: Learning) -> None:
    await learning.profiles.update(ANA, {"targets": "es:B1"})

    for _ in range(9):
        await learning.record_graded(ANA, "es", 1.0)

    target = (await learning.profiles.get(ANA)).target("es")
    assert target is not None
    assert target.level == "B2"


async def test_estimate_clamped(learning: Learning) -> None:
    await learning.profiles.update(ANA, {"targets": "es:A1"})

    for _ in range(5):
        low = await learning.record_graded(ANA, "es", 0.0)

    assert low == 1.0


async def test_graded_non_target_ignored(learning: Learning) -> None:
    await learning.profiles.update(ANA, {"targets": "es"})

    assert await learning.record_graded(ANA, "de", 1.0) is None
    assert await learning.profiles.target_languages(ANA) == {"es"}


async def test_graded_unknown_level_starts_a1(learning: Learning) -> None:
    await learning.profiles.update(ANA, {"targets": "es"})

    estimate = await learning.record_graded(ANA, "es", 0.7)

    assert estimate == pytest.approx(1.5)


async def test_graded_score_checked(learning: Learning) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        await learning.record_graded(ANA, "es", 1.5)


# Placement.


def test_banks_shipped() -> None:
    assert available_banks() == ("en", "es", "fr")


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_bank_has_two_items_per_level(language: str) -> None:
    levels = [item.level for item in load_bank(language)]

    assert sorted(levels) == ["A1", "A1", "A2", "A2", "B1", "B1", "B2", "B2", "C1", "C1"]


def answer_as(bank: tuple[PlacementItem, ...], ceiling: str) -> tuple[list[str], list[bool]]:
    """Run the staircase for a learner who is right at every level up to `ceiling`."""
    order = ("A1", "A2", "B1", "B2", "C1")
    asked: list[str] = []
    right: list[bool] = []
    while (item := next_item(bank, asked, right)) is not None:
        asked.append(item.id)
        right.append(order.index(item.level) <= order.index(ceiling))
    return asked, right


@pytest.mark.parametrize("ceiling", ["A2", "B1", "B2", "C1"])
def test_staircase_finds_level(ceiling: str) -> None:
    bank = load_bank("es")

    asked, right = answer_as(bank, ceiling)

    assert len(asked) == 6
    assert placement_level(bank, asked, right) == ceiling


def test_all_wrong_places_a1() -> None:
    bank = load_bank("fr")
    asked: list[str] = []
    right: list[bool] = []
    while (item := next_item(bank, asked, right)) is not None:
        asked.append(item.id)
        right.append(False)

    assert placement_level(bank, asked, right) == "A1"


def test_lucky_guess_above_failure_ignored() -> None:
    bank = load_bank("en")
    by_level = {item.level: item.id for item in bank}

    level = placement_level(
        bank, [by_level["A2"], by_level["B1"], by_level["B2"]], [True, False, True]
    )

    assert level == "A2"


async def test_placement_sets_level(learning: Learning) -> None:
    bank = {item.id: item for item in load_bank("es")}
    step: Question | PlacementResult = await learning.placement.start(ANA, "es")

    while isinstance(step, Question):
        # Right up to B1, wrong above it.
        knows = step.item.level in ("A1", "A2", "B1")
        wrong = next(letter for letter in "abcd" if letter != bank[step.item.id].answer)
        step = await learning.placement.answer(ANA, bank[step.item.id].answer if knows else wrong)

    assert step.level == "B1"
    target = (await learning.profiles.get(ANA)).target("es")
    assert target is not None
    assert target.level == "B1"


async def test_placement_answer_needs_test(learning: Learning) -> None:
    with pytest.raises(UserError) as raised:
        await learning.placement.answer(ANA, "a")

    assert raised.value.key == "learning.error.placement_none"


async def test_placement_rejects_bad_letter(learning: Learning) -> None:
    await learning.placement.start(ANA, "en")

    with pytest.raises(UserError) as raised:
        await learning.placement.answer(ANA, "e")

    assert raised.value.key == "learning.error.placement_choice"


async def test_placement_unknown_language(learning: Learning) -> None:
    with pytest.raises(UserError) as raised:
        await learning.placement.start(ANA, "ja")

    assert raised.value.key == "learning.error.placement_language"
