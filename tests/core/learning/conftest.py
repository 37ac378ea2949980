"""Fixtures for learner-progress tests: a settable clock and a Learning on the test's Store."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.core.learning import Learning
from bot.core.store import Store


class FakeClock:
    """A clock that does not move until a test moves it. Returns Unix seconds."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    # A Wednesday, so that tests have days on both sides within one UTC week.
    return FakeClock(datetime.fromisoformat("2025-01-15T12:00:00+00:00"))


@pytest.fixture
def learning(store: Store, clock: FakeClock) -> Learning:
    return Learning(store, clock=clock)
