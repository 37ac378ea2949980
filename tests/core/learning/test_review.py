"""Flashcards and FSRS review sessions against a real Redis, with a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Rating, Scheduler, State

from bot.core.conversation import Parley
from bot.core.errors import UserError
from bot.core.events import Author, Command
from bot.core.learning.review import (
    ReviewCommands,
    Reviews,
    StudyCard,
    card_id_for,
    normalize_front,
    parse_rating,
)
from bot.core.store import Store
from tests.chat import Chat

LEARNER = "discord:u-ana"
START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


class Clock:
    """A clock that returns the same time until the test moves it."""

    def __init__(self, moment: datetime = START) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reviews(store: Store, clock: Clock) -> Reviews:
    # Fuzzing off: FSRS intervals are then a pure function of the card and the clock.
    return Reviews(store, scheduler=Scheduler(enable_fuzzing=False), clock=clock)


async def _review(reviews: Reviews, rating: Rating) -> None:
    assert await reviews.show_next(LEARNER) is not None
    await reviews.reveal(LEARNER)
    await reviews.rate(LEARNER, rating)


def test_normalize_front_folds_case_and_punctuation() -> None:
    assert normalize_front("  ¡La   Manzana! ") == "la manzana"


def test_card_id_ignores_case() -> None:
    assert card_id_for("Hola", "es") == card_id_for("hola!", "es")


def test_card_id_depends_on_language() -> None:
    assert card_id_for("hola", "es") != card_id_for("hola", "pt")


def test_parse_rating_words_and_numbers() -> None:
    assert parse_rating("Good") == Rating.Good
    assert parse_rating("1") == Rating.Again


def test_parse_rating_rejects_other_words() -> None:
    with pytest.raises(UserError) as caught:
        parse_rating("perfect")
    assert caught.value.key == "error.rating"


async def test_new_card_is_due_now(reviews: Reviews, clock: Clock) -> None:
    saved = await reviews.save_card(LEARNER, "la manzana", "the apple", "es")

    assert saved.created
    assert saved.card.due == clock.moment
    assert saved.card.state == State.Learning
    assert await reviews.due_count(LEARNER) == 1


async def test_duplicate_front_keeps_first_card(reviews: Reviews) -> None:
    first = await reviews.save_card(LEARNER, "La manzana.", "the apple", "es")

    again = await reviews.save_card(LEARNER, "la  manzana", "apple", "es")

    assert not again.created
    assert again.card.id == first.card.id
    assert again.card.back == "the apple"
    assert len(await reviews.cards(LEARNER)) == 1


async def test_same_front_other_language_is_new(reviews: Reviews) -> None:
    await reviews.save_card(LEARNER, "casa", "house", "es")

    other = await reviews.save_card(LEARNER, "casa", "house", "pt")

    assert other.created


async def test_empty_back_rejected(reviews: Reviews) -> None:
    with pytest.raises(UserError) as caught:
        await reviews.save_card(LEARNER, "hola", "  ", "es")
    assert caught.value.key == "error.card_empty"


async def test_unknown_language_rejected(reviews: Reviews) -> None:
    with pytest.raises(UserError) as caught:
        await reviews.save_card(LEARNER, "hola", "hello", "klingon")
    assert caught.value.key == "error.language"


async def test_mistakes_become_cards(reviews: Reviews) -> None:
    created = await reviews.add_mistakes(
        LEARNER,
        "es",
        [("yo soy cansado", "yo estoy cansado"), ("Hola", "hola"), ("la problema", "el problema")],
    )

    assert [card.front for card in created] == ["yo soy cansado", "la problema"]
    assert {card.source for card in created} == {"mistake"}
    assert created[0].back == "yo estoy cansado"


async def test_repeated_mistake_not_duplicated(reviews: Reviews) -> None:
    await reviews.add_mistakes(LEARNER, "es", [("la problema", "el problema")])

    created = await reviews.add_mistakes(LEARNER, "es", [("La problema", "el problema")])

    assert created == []
    assert len(await reviews.cards(LEARNER)) == 1


async def test_rate_before_reveal_rejected(reviews: Reviews) -> None:
    await reviews.save_card(LEARNER, "hola", "hello", "es")
    await reviews.show_next(LEARNER)

    with pytest.raises(UserError) as caught:
        await reviews.rate(LEARNER, Rating.Good)

    assert caught.value.key == "error.review_hidden"
    # The session survives, so the learner can still reveal and rate.
    assert (await reviews.reveal(LEARNER)).front == "hola"


async def test_rate_without_session_rejected(reviews: Reviews) -> None:
    with pytest.raises(UserError) as caught:
        await reviews.rate(LEARNER, Rating.Good)
    assert caught.value.key == "error.review_none"


async def test_second_rating_counts_once(reviews: Reviews) -> None:
    await reviews.save_card(LEARNER, "hola", "hello", "es")
    await _review(reviews, Rating.Good)

    with pytest.raises(UserError):
        await reviews.rate(LEARNER, Rating.Good)

    assert len(await reviews.review_logs(LEARNER)) == 1


async def test_show_next_repeats_card_on_screen(reviews: Reviews) -> None:
    await reviews.save_card(LEARNER, "uno", "one", "es")
    await reviews.save_card(LEARNER, "dos", "two", "es")

    first = await reviews.show_next(LEARNER)
    again = await reviews.show_next(LEARNER)

    assert first is not None
    assert again is not None
    assert again.id == first.id


async def test_nothing_due_returns_none(reviews: Reviews) -> None:
    assert await reviews.show_next(LEARNER) is None


async def test_rated_card_matches_fsrs(reviews: Reviews, clock: Clock) -> None:
    saved = await reviews.save_card(LEARNER, "hola", "hello", "es")
    clock.advance(seconds=8)

    await _review(reviews, Rating.Good)

    expected, _ = Scheduler(enable_fuzzing=False).review_card(
        saved.card.to_fsrs(), Rating.Good, clock.moment
    )
    stored = await reviews.card(LEARNER, saved.card.id)
    assert stored is not None
    assert stored.due == expected.due
    assert stored.state == expected.state
    assert stored.stability == pytest.approx(expected.stability, abs=1e-4)
    assert stored.difficulty == pytest.approx(expected.difficulty, abs=1e-4)
    assert stored.reps == 1


async def test_ratings_order_due_dates(reviews: Reviews) -> None:
    fronts = {"again": "uno", "hard": "dos", "good": "tres", "easy": "cuatro"}
    for front in fronts.values():
        await reviews.save_card(LEARNER, front, front.upper(), "es")
    by_front = {}
    for _ in fronts:
        shown = await reviews.show_next(LEARNER)
        assert shown is not None
        await reviews.reveal(LEARNER)
        name = next(name for name, front in fronts.items() if front == shown.front)
        by_front[name] = await reviews.rate(LEARNER, parse_rating(name))

    assert by_front["again"].due < by_front["hard"].due
    assert by_front["hard"].due < by_front["good"].due
    assert by_front["good"].due < by_front["easy"].due
    assert by_front["easy"].state == State.Review


async def test_good_reviews_lengthen_intervals(reviews: Reviews, clock: Clock) -> None:
    saved = await reviews.save_card(LEARNER, "hola", "hello", "es")
    intervals = []
    for _ in range(5):
        card = await reviews.card(LEARNER, saved.card.id)
        assert card is not None
        clock.moment = max(clock.moment, card.due)
        before = clock.moment
        await _review(reviews, Rating.Good)
        updated = await reviews.card(LEARNER, saved.card.id)
        assert updated is not None
        intervals.append(updated.due - before)

    assert intervals == sorted(intervals)
    assert intervals[-1] > intervals[-2]
    assert intervals[-1] >= timedelta(days=2)


async def test_forgotten_review_card_counts_lapse(reviews: Reviews, clock: Clock) -> None:
    saved = await reviews.save_card(LEARNER, "hola", "hello", "es")
    await _review(reviews, Rating.Easy)
    card = await reviews.card(LEARNER, saved.card.id)
    assert card is not None
    clock.moment = card.due

    await _review(reviews, Rating.Again)

    lapsed = await reviews.card(LEARNER, saved.card.id)
    assert lapsed is not None
    assert lapsed.lapses == 1
    assert lapsed.state == State.Relearning
    assert lapsed.reps == 2


async def test_due_set_follows_card(reviews: Reviews, store: Store) -> None:
    saved = await reviews.save_card(LEARNER, "hola", "hello", "es")

    await _review(reviews, Rating.Good)

    score = await store.redis.zscore(store.key("learner", LEARNER, "due"), str(saved.card.id))
    card = await reviews.card(LEARNER, saved.card.id)
    assert card is not None
    assert score == card.due.timestamp()
    assert await reviews.due_count(LEARNER) == 0


async def test_review_logs_recorded(reviews: Reviews, clock: Clock) -> None:
    saved = await reviews.save_card(LEARNER, "hola", "hello", "es")
    await reviews.show_next(LEARNER)
    await reviews.reveal(LEARNER)
    clock.advance(seconds=4)
    await reviews.rate(LEARNER, Rating.Hard)

    logs = await reviews.review_logs(LEARNER)

    assert len(logs) == 1
    assert logs[0].card_id == saved.card.id
    assert logs[0].rating == Rating.Hard
    assert logs[0].review_datetime == clock.moment
    assert logs[0].review_duration == 4000


async def test_review_log_is_compact_json(reviews: Reviews, store: Store) -> None:
    await reviews.save_card(LEARNER, "hola", "hello", "es")
    await _review(reviews, Rating.Good)

    raw = await store.redis.lrange(store.key("learner", LEARNER, "revlog"), 0, -1)

    entry = raw[0]
    assert isinstance(entry, str)
    assert entry.startswith("[")
    assert " " not in entry


async def test_learner_follows_link(reviews: Reviews, store: Store) -> None:
    await store.redis.set(store.key("learner-of", "slack", "U1"), LEARNER)

    assert await reviews.learner_for("slack", "U1") == LEARNER
    assert await reviews.learner_for("slack", "U2") == "slack:U2"


@pytest.fixture
def chat(parley: Parley, reviews: Reviews) -> Chat:
    ReviewCommands(reviews).register(parley.commands)
    return Chat(parley)


ANA = Author("u-ana", "Ana")


async def test_commands_run_a_review(chat: Chat) -> None:
    added = await chat.command(
        "c", "cards add", author=ANA, front="el perro", back="the dog", language="es"
    )
    front_reply = await chat.command("c", "review", author=ANA)
    revealed = await chat.command("c", "review reveal", author=ANA)
    rated = await chat.command("c", "review rate", author=ANA, rating="good")
    due = await chat.command("c", "cards due", author=ANA)

    assert "Card saved (es)" in added[0].text
    assert "“el perro”" in front_reply[0].text
    assert "the dog" not in front_reply[0].text
    assert "“the dog”" in revealed[0].text
    assert "in 10 min" in rated[0].text
    assert "No cards are due" in due[0].text


async def test_rated_hook_receives_card(parley: Parley, reviews: Reviews) -> None:
    calls: list[tuple[str, str, str]] = []

    async def record(command: Command, learner: str, card: StudyCard) -> None:
        calls.append((command.event_id, learner, card.front))

    ReviewCommands(reviews, on_rated=record).register(parley.commands)
    chat = Chat(parley)
    await chat.command("c", "cards add", author=ANA, front="hola", back="hello", language="es")
    await chat.command("c", "review", author=ANA)
    await chat.command("c", "review reveal", author=ANA)

    await chat.command("c", "review rate", author=ANA, rating="easy")

    assert calls == [("e4", "discord:u-ana", "hola")]


async def test_card_language_guessed(chat: Chat, parley: Parley, reviews: Reviews) -> None:
    ReviewCommands(reviews, parley.relay.detector).register(parley.commands)

    replies = await chat.command(
        "c", "cards add", author=ANA, front="Je voudrais un café, s'il vous plaît", back="coffee"
    )

    assert "(fr)" in replies[0].text


async def test_review_command_without_cards(chat: Chat) -> None:
    replies = await chat.command("c", "review", author=ANA)

    assert "no cards yet" in replies[0].text


async def test_reminders_command_validates_hour(chat: Chat) -> None:
    replies = await chat.command("c", "reminders on", author=ANA, hour="25")

    assert "`25`" in replies[0].text


async def test_reminders_command_names_zone(chat: Chat, store: Store) -> None:
    await store.redis.hset(
        store.key("learner", "discord:u-ana", "profile"), "timezone", "Europe/Madrid"
    )

    replies = await chat.command("c", "reminders on", author=ANA, hour="7")

    assert "07:00 (Europe/Madrid)" in replies[0].text


async def test_merge_moves_cards_and_logs(reviews: Reviews, clock: Clock) -> None:
    other = "slack:U-ANA"
    await reviews.save_card(LEARNER, "uno", "one", "es")
    clock.advance(minutes=1)
    await reviews.save_card(other, "dos", "two", "es")
    await reviews.show_next(other)
    await reviews.reveal(other)
    await reviews.rate(other, Rating.Good)
    await reviews.set_reminders(other, 8)

    await reviews.merge(LEARNER, other)

    assert {card.front for card in await reviews.cards(LEARNER)} == {"uno", "dos"}
    assert len(await reviews.review_logs(LEARNER)) == 1
    assert await reviews.reminder_hour(LEARNER) == 8
    assert await reviews.cards(other) == []
    assert await reviews.reminder_hour(other) is None
    assert await reviews.due_count(LEARNER, clock.moment + timedelta(days=1)) == 2


async def test_merge_keeps_more_reviewed_copy(reviews: Reviews) -> None:
    other = "slack:U-ANA"
    await reviews.save_card(LEARNER, "uno", "one", "es")
    await reviews.save_card(other, "Uno", "one!", "es")
    await reviews.show_next(other)
    await reviews.reveal(other)
    await reviews.rate(other, Rating.Easy)
    await reviews.set_reminders(LEARNER, 7)
    await reviews.set_reminders(other, 8)

    await reviews.merge(LEARNER, other)

    cards = await reviews.cards(LEARNER)
    assert len(cards) == 1
    assert cards[0].back == "one!"
    assert cards[0].state == State.Review
    assert await reviews.reminder_hour(LEARNER) == 7
