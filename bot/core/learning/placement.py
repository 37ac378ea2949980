"""A short adaptive placement test from the item banks in ``config/placement/{language}.json``.

Each bank contains multiple-choice items (four choices, letters a-d) at the levels A1 to C1,
two per level. A test asks up to `TEST_LENGTH` items. It starts at `START_LEVEL`; after a
right answer the next item is one level up and after a wrong one it is one level down,
within A1..C1. When the wanted level has no unused item left, the nearest level that has
one is used, the lower one on a tie. The test ends after `TEST_LENGTH` items or when the
bank runs out.

The result is found by walking up from A1. A level passes when at least half of the items
asked at it were right. Levels with no item asked are skipped. The result is the last level
that passed before the first one that did not, or A1 when none passed. The test cannot place
above C1; C2 can be set by hand with ``profile set targets``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from bot.core.errors import UserError
from bot.core.learning.keys import LearningKeys
from bot.core.learning.profile import Profiles
from bot.core.store import Store

log = logging.getLogger(__name__)

PLACEMENT_LEVELS = ("A1", "A2", "B1", "B2", "C1")
START_LEVEL = "A2"
TEST_LENGTH = 6
LETTERS = ("a", "b", "c", "d")
# An unfinished test is dropped after an hour; `placement start` begins a new one.
STATE_TTL_S = 3600


@dataclass(frozen=True)
class PlacementItem:
    """One multiple-choice item; `answer` is the letter of the right choice."""

    id: str
    level: str
    prompt: str
    choices: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Question:
    """The item to show next, with its 1-based position in the test."""

    number: int
    total: int
    language: str
    item: PlacementItem


@dataclass(frozen=True)
class PlacementResult:
    """A finished test: the level it set and how many answers were right."""

    language: str
    level: str
    right: int
    asked: int


@cache
def available_banks() -> tuple[str, ...]:
    """Return the languages that have an item bank, sorted."""
    folder = resources.files("config").joinpath("placement")
    return tuple(
        sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".json"))
    )


@cache
def load_bank(language: str) -> tuple[PlacementItem, ...]:
    """Load and check the item bank of `language`.

    Raises KeyError when there is no bank, and ValueError naming the item when the bank is
    malformed: an unknown level, not four choices, an answer that is not a-d, or a repeated id.
    """
    if language not in available_banks():
        raise KeyError(language)
    path = resources.files("config").joinpath("placement", f"{language}.json")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    items: list[PlacementItem] = []
    seen: set[str] = set()
    for raw in data["items"]:
        item = PlacementItem(
            id=str(raw["id"]),
            level=str(raw["level"]),
            prompt=str(raw["prompt"]),
            choices=tuple(str(choice) for choice in raw["choices"]),
            answer=str(raw["answer"]),
        )
        if (
            item.level not in PLACEMENT_LEVELS
            or len(item.choices) != len(LETTERS)
            or item.answer not in LETTERS
            or item.id in seen
        ):
            raise ValueError(f"placement bank {language}: item {item.id!r} is malformed")
        seen.add(item.id)
        items.append(item)
    return tuple(items)


def next_item(
    bank: tuple[PlacementItem, ...], asked: list[str], right: list[bool]
) -> PlacementItem | None:
    """Return the item to ask after `asked` (ids, with `right` for each), or None when done."""
    if len(asked) >= TEST_LENGTH:
        return None
    by_id = {item.id: item for item in bank}
    if asked:
        last = PLACEMENT_LEVELS.index(by_id[asked[-1]].level)
        step = 1 if right[-1] else -1
        next_index = min(max(last + step, 0), len(PLACEMENT_LEVELS) - 1)
    else:
        next_index = PLACEMENT_LEVELS.index(START_LEVEL)
    unused = [item for item in bank if item.id not in asked]
    if not unused:
        return None
    # Nearest level first, then the lower level, then bank order.
    return min(
        unused,
        key=lambda item: (
            abs(PLACEMENT_LEVELS.index(item.level) - next_index),
            PLACEMENT_LEVELS.index(item.level),
            bank.index(item),
        ),
    )


def placement_level(bank: tuple[PlacementItem, ...], asked: list[str], right: list[bool]) -> str:
    """Return the level the answers place at, by the rule in this module's docstring."""
    by_id = {item.id: item for item in bank}
    tally = {level: [0, 0] for level in PLACEMENT_LEVELS}
    for item_id, correct in zip(asked, right, strict=True):
        counts = tally[by_id[item_id].level]
        counts[0] += int(correct)
        counts[1] += 1
    placed = PLACEMENT_LEVELS[0]
    for level in PLACEMENT_LEVELS:
        good, total = tally[level]
        if total == 0:
            continue
        if 2 * good < total:
            break
        placed = level
    return placed


# Replaces the test state only when it is still the one the answer was given to, so a
# doubled `placement answer` cannot apply one answer to two questions.
_SWAP_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 1
"""


class PlacementTests:
    """Runs placement tests, one at a time per learner, and sets the level they find."""

    def __init__(self, store: Store, profiles: Profiles) -> None:
        self.redis = store.redis
        self.keys = LearningKeys(store)
        self.profiles = profiles

    async def start(self, learner: str, language: str) -> Question:
        """Start a test in `language`, replacing any test the learner had running.

        Raises UserError when no item bank exists for the language.
        """
        if language not in available_banks():
            raise UserError(
                "learning.error.placement_language",
                language=language,
                languages=", ".join(available_banks()),
            )
        bank = load_bank(language)
        first = next_item(bank, [], [])
        if first is None:
            raise ValueError(f"placement bank {language} is empty")
        state = {"language": language, "asked": [first.id], "right": []}
        await self.redis.set(
            self.keys.learner(learner, "placement"), json.dumps(state), ex=STATE_TTL_S
        )
        return Question(1, TEST_LENGTH, language, first)

    async def answer(self, learner: str, choice: str) -> Question | PlacementResult:
        """Record the answer to the current item; return the next item or the result.

        The result is saved as the learner's level in that language, which also adds the
        language to their targets. Raises UserError when no test is running, when the
        choice is not a letter a-d, or when another answer changed the test meanwhile.
        """
        letter = choice.strip().lower().rstrip(")")
        if letter not in LETTERS:
            raise UserError("learning.error.placement_choice", value=choice[:10])
        key = self.keys.learner(learner, "placement")
        raw = await self.redis.get(key)
        if raw is None:
            raise UserError("learning.error.placement_none")
        before = raw.decode() if isinstance(raw, bytes) else raw
        state = json.loads(before)
        language: str = state["language"]
        asked: list[str] = state["asked"]
        right: list[bool] = state["right"]
        bank = load_bank(language)
        current = next(item for item in bank if item.id == asked[-1])
        right.append(letter == current.answer)

        following = next_item(bank, asked, right)
        if following is not None:
            asked.append(following.id)
        after = "" if following is None else json.dumps(state)
        swapped = await self.redis.eval(_SWAP_SCRIPT, 1, key, before, after, str(STATE_TTL_S))
        if not swapped:
            raise UserError("learning.error.placement_changed")
        if following is not None:
            return Question(len(asked), TEST_LENGTH, language, following)

        level = placement_level(bank, asked, right)
        await self.profiles.set_level(learner, language, level)
        log.info("placement: %s placed at %s in %s", learner, level, language)
        return PlacementResult(language, level, sum(right), len(right))
