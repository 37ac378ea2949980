"""Spaced repetition: flashcards that a learner saves or that come from their mistakes,
scheduled with FSRS (the `fsrs` package), plus opt-in reminders for due cards.

Keys, all under ``{prefix}:learner:{learner}``:

- ``:cards`` hash: card id → the card as compact JSON (see `StudyCard.to_json`)
- ``:due`` sorted set: card id scored by its due time in Unix seconds
- ``:revlog`` list: one JSON array ``[card id, rating, Unix seconds, duration ms or null]``
  per review, oldest first, kept for fitting FSRS parameters to the learner later
- ``:review`` string: the card on screen in the learner's review session (one-day TTL)
- ``:reminded`` string: the local date of the last reminder sent (two-day TTL)

``{prefix}:reminders`` hash: learner → local hour (0-23), for learners who turned reminders
on. The learner's time zone is the ``timezone`` field (an IANA name) of the profile hash
``{prefix}:learner:{learner}:profile``; UTC when missing or unknown.

A learner id is a string: the value of ``{prefix}:learner-of:{platform}:{user}`` when that
link exists, else ``{platform}:{user}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fsrs import Card, Rating, ReviewLog, Scheduler, State

from bot.core import i18n
from bot.core.commands import CommandFunction, CommandHandler, CommandSpec
from bot.core.detect import LanguageDetector
from bot.core.errors import UserError
from bot.core.events import Command
from bot.core.languages import parse_language
from bot.core.store import Store

log = logging.getLogger(__name__)

SOURCES = ("saved", "mistake")
RATINGS = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}
MAX_FRONT_CHARS = 200
MAX_BACK_CHARS = 500
# Bounds one learner's memory use: 10,000 cards is over 2 years at 10 new cards a day.
MAX_CARDS = 10_000
# The review log keeps the newest entries only. 50,000 reviews is over a year at 100 a day,
# far more than FSRS parameter fitting needs, and about 1.9 MB in Redis (37 bytes each as
# bench/memory.py measured).
MAX_LOG_ENTRIES = 50_000
SESSION_TTL_S = 24 * 3600
# A review that took longer than this was interrupted, so its duration is not recorded.
MAX_REVIEW_DURATION_MS = 3600 * 1000
DEFAULT_REMINDER_HOUR = 9
_REMINDED_TTL_S = 2 * 24 * 3600
_BATCH = 500


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _text(value: bytes | str) -> str:
    # Parley's clients decode responses; redis-py's types still allow bytes.
    return value.decode() if isinstance(value, bytes) else value


def normalize_front(text: str) -> str:
    """Return the form of a card's front used to find duplicates: NFKC, case-folded, inner
    whitespace collapsed, and leading or trailing punctuation removed."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    start, end = 0, len(folded)
    while start < end and unicodedata.category(folded[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(folded[end - 1]).startswith("P"):
        end -= 1
    return folded[start:end].strip()


def card_id_for(front: str, language: str) -> int:
    """Return the 48-bit id a card with this front and language gets, unless it collides.

    Deriving the id from the text makes saving the same word twice find the first card
    without a separate index key.
    """
    digest = hashlib.sha256(f"{language}\n{normalize_front(front)}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class StudyCard:
    """A flashcard with its FSRS memory state.

    `source` is "saved" or "mistake". `reps` counts reviews and `lapses` counts Again
    ratings given to a card in the Review state (a learned card that was forgotten).
    Times are UTC with whole seconds.
    """

    id: int
    front: str
    back: str
    language: str
    source: str
    state: State
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reps: int
    lapses: int
    created: datetime

    def to_json(self) -> str:
        """Serialize to compact JSON with one-letter keys, leaving out empty fields.

        Keys: f front, b back, l language, o source, s state, p step, S stability,
        D difficulty, d due, r last review, n reps, x lapses, c created (times in Unix
        seconds). Stability and difficulty keep 4 decimals: enough for scheduling to the
        minute, and about 24 bytes shorter per card than a full float.
        """
        data: dict[str, Any] = {
            "f": self.front,
            "b": self.back,
            "l": self.language,
            "o": self.source,
            "s": int(self.state),
            "d": _seconds(self.due),
            "n": self.reps,
            "x": self.lapses,
            "c": _seconds(self.created),
        }
        if self.step is not None:
            data["p"] = self.step
        if self.stability is not None:
            data["S"] = round(self.stability, 4)
        if self.difficulty is not None:
            data["D"] = round(self.difficulty, 4)
        if self.last_review is not None:
            data["r"] = _seconds(self.last_review)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, card_id: int, raw: str) -> StudyCard:
        data = json.loads(raw)
        return cls(
            id=card_id,
            front=data["f"],
            back=data["b"],
            language=data["l"],
            source=data["o"],
            state=State(data["s"]),
            step=data.get("p"),
            stability=data.get("S"),
            difficulty=data.get("D"),
            due=_moment(data["d"]),
            last_review=_moment(data["r"]) if "r" in data else None,
            reps=data["n"],
            lapses=data["x"],
            created=_moment(data["c"]),
        )

    def to_fsrs(self) -> Card:
        return Card(
            card_id=self.id,
            state=self.state,
            step=self.step,
            stability=self.stability,
            difficulty=self.difficulty,
            due=self.due,
            last_review=self.last_review,
        )

    def reviewed(self, scheduled: Card, rating: Rating) -> StudyCard:
        """Return this card after a review that `fsrs` scheduled as `scheduled`."""
        lapsed = rating == Rating.Again and self.state == State.Review
        return replace(
            self,
            state=scheduled.state,
            step=scheduled.step,
            stability=scheduled.stability,
            difficulty=scheduled.difficulty,
            due=scheduled.due,
            last_review=scheduled.last_review,
            reps=self.reps + 1,
            lapses=self.lapses + int(lapsed),
        )


@dataclass(frozen=True)
class SavedCard:
    """The result of saving a card: the stored card and whether it is new."""

    card: StudyCard
    created: bool


def parse_rating(value: str) -> Rating:
    """Return the rating named by `value` (again, hard, good, easy, or 1 to 4)."""
    word = value.strip().lower()
    if word in RATINGS:
        return RATINGS[word]
    if word in {"1", "2", "3", "4"}:
        return Rating(int(word))
    raise UserError("error.rating", value=value[:20])


class Reviews:
    """Cards, review sessions and reminders in Redis.

    `scheduler` defaults to FSRS with its default parameters and interval fuzzing on, which
    spreads reviews of cards learned together over neighbouring days. `clock` returns the
    current time (timezone-aware) and is replaced in tests.
    """

    def __init__(
        self,
        store: Store,
        *,
        scheduler: Scheduler | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.redis = store.redis
        self.scheduler = scheduler or Scheduler()
        self._clock = clock

    def now(self) -> datetime:
        """Return the clock's current time in UTC, truncated to whole seconds as stored."""
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def key(self, learner: str, *parts: str) -> str:
        return self.store.key("learner", learner, *parts)

    async def learner_for(self, platform: str, user: str) -> str:
        """Return the learner id of a platform account, following the link map if set."""
        linked = await self.redis.get(self.store.key("learner-of", platform, user))
        return _text(linked) if linked else f"{platform}:{user}"

    # Cards.

    async def save_card(
        self, learner: str, front: str, back: str, language: str, source: str = "saved"
    ) -> SavedCard:
        """Store a new card, due now, unless the learner has one with the same normalized
        front and language: then return that card unchanged, with `created` False.

        Raises UserError for empty or too long text, an unknown language or source, and
        when the learner already has MAX_CARDS cards.
        """
        front, back = front.strip(), back.strip()
        if source not in SOURCES:
            raise ValueError(f"card source must be one of {SOURCES}, not {source!r}")
        if not normalize_front(front) or not back:
            raise UserError("error.card_empty")
        if len(front) > MAX_FRONT_CHARS or len(back) > MAX_BACK_CHARS:
            raise UserError("error.card_long", front=MAX_FRONT_CHARS, back=MAX_BACK_CHARS)
        language = parse_language(language)
        cards_key = self.key(learner, "cards")
        normalized = normalize_front(front)

        card_id = card_id_for(front, language)
        while True:
            raw = await self.redis.hget(cards_key, str(card_id))
            if raw is not None:
                existing = StudyCard.from_json(card_id, _text(raw))
                if (normalize_front(existing.front), existing.language) == (normalized, language):
                    return SavedCard(existing, created=False)
                # Two texts share a hash prefix: probe the next id, as open addressing does.
                card_id = (card_id + 1) % (1 << 48)
                continue
            if await self.redis.hlen(cards_key) >= MAX_CARDS:
                raise UserError("error.card_limit", maximum=MAX_CARDS)
            now = self.now()
            card = StudyCard(
                id=card_id,
                front=front,
                back=back,
                language=language,
                source=source,
                state=State.Learning,
                step=0,
                stability=None,
                difficulty=None,
                due=now,
                last_review=None,
                reps=0,
                lapses=0,
                created=now,
            )
            # HSETNX settles a race with a concurrent save of the same id: the loser reads
            # the winner's card on the next pass.
            if await self.redis.hsetnx(cards_key, str(card_id), card.to_json()):
                await self.redis.zadd(self.key(learner, "due"), {str(card_id): _seconds(now)})
                return SavedCard(card, created=True)

    async def add_mistakes(
        self, learner: str, language: str, mistakes: Iterable[tuple[str, str]]
    ) -> list[StudyCard]:
        """Save a card per (wrong, right) pair found in graded work; return the new cards.

        The front is the wrong form and the back its correction. Pairs with an empty side,
        no difference after normalization, or text over the length limits are skipped,
        and so are mistakes the learner already has a card for.
        """
        created: list[StudyCard] = []
        for wrong, right in mistakes:
            if normalize_front(wrong) == normalize_front(right):
                continue
            try:
                saved = await self.save_card(learner, wrong, right, language, "mistake")
            except UserError as error:
                log.debug("mistake %r -> %r not saved for %s: %s", wrong, right, learner, error.key)
                if error.key == "error.card_limit":
                    break
                continue
            if saved.created:
                created.append(saved.card)
        return created

    async def card(self, learner: str, card_id: int) -> StudyCard | None:
        raw = await self.redis.hget(self.key(learner, "cards"), str(card_id))
        return None if raw is None else StudyCard.from_json(card_id, _text(raw))

    async def cards(self, learner: str) -> list[StudyCard]:
        """Return every card of the learner, the earliest due first."""
        raw = await self.redis.hgetall(self.key(learner, "cards"))
        cards = [StudyCard.from_json(int(_text(key)), _text(value)) for key, value in raw.items()]
        return sorted(cards, key=lambda card: (card.due, card.id))

    async def card_count(self, learner: str) -> int:
        return int(await self.redis.hlen(self.key(learner, "cards")))

    async def due_count(self, learner: str, now: datetime | None = None) -> int:
        moment = _seconds(now or self.now())
        return int(await self.redis.zcount(self.key(learner, "due"), "-inf", moment))

    async def next_due(self, learner: str) -> datetime | None:
        """Return when the learner's earliest card is due, or None without cards."""
        first = await self.redis.zrange(self.key(learner, "due"), 0, 0, withscores=True)
        return _moment(int(first[0][1])) if first else None

    # The review session: show a due card, reveal its back, then rate it.

    async def show_next(self, learner: str) -> StudyCard | None:
        """Return the card on screen, or start showing the earliest due card.

        Returns None when no card is due. The session lasts SESSION_TTL_S.
        """
        session_key = self.key(learner, "review")
        session = await self._session(learner)
        if session is not None:
            current = await self.card(learner, session["c"])
            if current is not None:
                return current
        now = self.now()
        due = await self.redis.zrangebyscore(
            self.key(learner, "due"), "-inf", _seconds(now), start=0, num=1
        )
        if not due:
            return None
        card_id = int(_text(cast("bytes | str", due[0])))
        card = await self.card(learner, card_id)
        if card is None:
            # The due entry outlived its card; drop it so the next call finds a real one.
            await self.redis.zrem(self.key(learner, "due"), str(card_id))
            return await self.show_next(learner)
        session_value = {"c": card_id, "t": int(now.timestamp() * 1000), "v": 0}
        await self.redis.set(session_key, _compact(session_value), ex=SESSION_TTL_S)
        return card

    async def reveal(self, learner: str) -> StudyCard:
        """Mark the card on screen as revealed and return it (its back is now shown).

        Raises UserError when no card is on screen.
        """
        session = await self._session(learner)
        card = None if session is None else await self.card(learner, session["c"])
        if session is None or card is None:
            raise UserError("error.review_none")
        session["v"] = 1
        await self.redis.set(self.key(learner, "review"), _compact(session), xx=True, keepttl=True)
        return card

    async def rate(self, learner: str, rating: Rating) -> StudyCard:
        """Apply a rating to the revealed card: FSRS reschedules it and a log entry is kept.

        Returns the rescheduled card and ends the session. Raises UserError when no card
        is on screen or its back has not been revealed yet.
        """
        session_key = self.key(learner, "review")
        # GETDEL hands the session to one caller only, so a double-sent rating counts once.
        raw = await self.redis.getdel(session_key)
        if raw is None:
            raise UserError("error.review_none")
        session = json.loads(_text(raw))
        if not session["v"]:
            await self.redis.set(session_key, _text(raw), nx=True, ex=SESSION_TTL_S)
            raise UserError("error.review_hidden")
        card = await self.card(learner, session["c"])
        if card is None:
            raise UserError("error.review_none")

        now = self.now()
        duration_ms: int | None = int(now.timestamp() * 1000) - session["t"]
        if duration_ms is not None and not 0 <= duration_ms <= MAX_REVIEW_DURATION_MS:
            duration_ms = None
        scheduled, _ = self.scheduler.review_card(card.to_fsrs(), rating, now, duration_ms)
        updated = card.reviewed(scheduled, rating)
        entry = [card.id, int(rating), _seconds(now), duration_ms]

        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(learner, "cards"), str(card.id), updated.to_json())
            pipe.zadd(self.key(learner, "due"), {str(card.id): _seconds(updated.due)})
            pipe.rpush(self.key(learner, "revlog"), _compact(entry))
            pipe.ltrim(self.key(learner, "revlog"), -MAX_LOG_ENTRIES, -1)
            await pipe.execute()
        return updated

    async def review_logs(self, learner: str) -> list[ReviewLog]:
        """Return the learner's review log, oldest first, as `fsrs` ReviewLog objects
        (the input of `fsrs.Optimizer`)."""
        raw = await self.redis.lrange(self.key(learner, "revlog"), 0, -1)
        logs = []
        for item in raw:
            card_id, rating, seconds, duration_ms = json.loads(_text(item))
            logs.append(ReviewLog(card_id, Rating(rating), _moment(seconds), duration_ms))
        return logs

    async def _session(self, learner: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.key(learner, "review"))
        if raw is None:
            return None
        session: dict[str, Any] = json.loads(_text(raw))
        return session

    async def merge(self, kept: str, merged: str) -> None:
        """Move the merged learner's cards, review log and reminder hour to the kept one.

        Runs after account linking merges two learners. A card both learners have (same
        id) keeps the copy with more reviews. The two review logs are combined in time
        order. The kept learner's reminder hour wins when both set one.
        """
        raw_merged = await self.redis.hgetall(self.key(merged, "cards"))
        raw_kept = await self.redis.hgetall(self.key(kept, "cards"))
        kept_cards = {_text(key): _text(value) for key, value in raw_kept.items()}
        moved: dict[str, str] = {}
        for raw_id, raw_card in raw_merged.items():
            card_id, card_json = _text(raw_id), _text(raw_card)
            theirs = StudyCard.from_json(int(card_id), card_json)
            ours_json = kept_cards.get(card_id)
            ours = None if ours_json is None else StudyCard.from_json(int(card_id), ours_json)
            if ours is None or ours.reps < theirs.reps:
                moved[card_id] = card_json

        entries = [
            _text(item)
            for name in (kept, merged)
            for item in await self.redis.lrange(self.key(name, "revlog"), 0, -1)
        ]
        # sorted() is stable, so reviews at the same second keep their order.
        entries = sorted(entries, key=lambda entry: int(json.loads(entry)[2]))[-MAX_LOG_ENTRIES:]
        hours = await self.redis.hmget(self.store.key("reminders"), [kept, merged])

        async with self.redis.pipeline(transaction=True) as pipe:
            if moved:
                pipe.hset(self.key(kept, "cards"), mapping=_mapping(moved))
                due = {
                    card_id: _seconds(StudyCard.from_json(0, raw).due)
                    for card_id, raw in moved.items()
                }
                pipe.zadd(self.key(kept, "due"), _mapping(due))
            if entries:
                pipe.delete(self.key(kept, "revlog"))
                pipe.rpush(self.key(kept, "revlog"), *entries)
            if hours[0] is None and hours[1] is not None:
                pipe.hset(self.store.key("reminders"), kept, _text(hours[1]))
            pipe.hdel(self.store.key("reminders"), merged)
            for part in ("cards", "due", "revlog", "review", "reminded"):
                pipe.delete(self.key(merged, part))
            await pipe.execute()
        log.info("learner %s merged into %s: %d flashcards moved", merged, kept, len(moved))

    # Reminders.

    async def set_reminders(self, learner: str, hour: int | None) -> None:
        """Turn daily reminders on at `hour` (0-23, learner's local time), or off for None."""
        if hour is None:
            await self.redis.hdel(self.store.key("reminders"), learner)
            return
        if not 0 <= hour <= 23:
            raise UserError("error.hour", value=str(hour))
        await self.redis.hset(self.store.key("reminders"), learner, str(hour))

    async def reminder_hour(self, learner: str) -> int | None:
        raw = await self.redis.hget(self.store.key("reminders"), learner)
        return None if raw is None else int(_text(raw))

    async def timezone(self, learner: str) -> ZoneInfo:
        """Return the learner's time zone from their profile; UTC when unset or unknown."""
        raw = await self.redis.hget(self.key(learner, "profile"), "timezone")
        return _zone(None if raw is None else _text(raw), learner)

    async def due_reminders(self, now: datetime | None = None) -> list[tuple[str, int]]:
        """Return (learner, due card count) for each learner to remind now, and mark them.

        A learner qualifies when reminders are on, their local hour (in their profile's
        time zone) equals their reminder hour, and at least one card is due. Each learner
        is returned once per local date, however often this runs in that hour, so a job
        that runs every few minutes sends one reminder a day. The scan reads every
        learner with reminders on, in batches of 500.
        """
        moment = (now or self.now()).astimezone(UTC)
        selected: list[tuple[str, int]] = []
        batch: list[tuple[str, int]] = []
        async for field, value in self.redis.hscan_iter(self.store.key("reminders"), count=500):
            batch.append((_text(field), int(_text(value))))
            if len(batch) >= _BATCH:
                selected.extend(await self._remind_batch(batch, moment))
                batch = []
        if batch:
            selected.extend(await self._remind_batch(batch, moment))
        return sorted(selected)

    async def _remind_batch(
        self, batch: Sequence[tuple[str, int]], moment: datetime
    ) -> list[tuple[str, int]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for learner, _ in batch:
                pipe.hget(self.key(learner, "profile"), "timezone")
            zones = await pipe.execute()

        local_dates: dict[str, date] = {}
        for (learner, hour), zone_name in zip(batch, zones, strict=True):
            zone = _zone(None if zone_name is None else _text(zone_name), learner)
            local = moment.astimezone(zone)
            if local.hour == hour:
                local_dates[learner] = local.date()
        if not local_dates:
            return []

        async with self.redis.pipeline(transaction=False) as pipe:
            for learner in local_dates:
                pipe.zcount(self.key(learner, "due"), "-inf", _seconds(moment))
            counts = await pipe.execute()
        due = {
            learner: int(count)
            for learner, count in zip(local_dates, counts, strict=True)
            if int(count) > 0
        }
        if not due:
            return []

        # SET ... GET swaps in today's date and returns the previous one in one step, so two
        # runs at the same time cannot both claim the same learner.
        async with self.redis.pipeline(transaction=False) as pipe:
            for learner in due:
                pipe.set(
                    self.key(learner, "reminded"),
                    local_dates[learner].isoformat(),
                    ex=_REMINDED_TTL_S,
                    get=True,
                )
            previous = await pipe.execute()
        return [
            (learner, count)
            for (learner, count), before in zip(due.items(), previous, strict=True)
            if before is None or _text(before) != local_dates[learner].isoformat()
        ]


def _zone(name: str | None, learner: str) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.debug("learner %s has an unknown time zone %r; using UTC", learner, name)
        return ZoneInfo("UTC")


def _mapping(values: dict[str, Any]) -> Mapping[Any, Any]:
    """Pass a mapping to redis-py, whose signatures name every value type they take."""
    return values


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reminder_text(count: int, locale: str | None) -> str:
    """Return the direct message that reminds a learner of `count` due cards."""
    return i18n.t("reminders.message", locale, count=count)


REVIEW_SPECS = (
    CommandSpec("review", (), (), False, "help.review"),
    CommandSpec("review reveal", (), (), False, "help.review_reveal"),
    CommandSpec("review rate", ("rating",), ("rating",), False, "help.review_rate"),
    CommandSpec(
        "cards add", ("front", "back", "language"), ("front", "back"), False, "help.cards_add"
    ),
    CommandSpec("cards due", (), (), False, "help.cards_due"),
    CommandSpec("reminders on", ("hour",), (), False, "help.reminders_on"),
    CommandSpec("reminders off", (), (), False, "help.reminders_off"),
)


# Called after a rating is stored, with the command, the learner and the rescheduled card:
# the place to award review XP.
RatedHook = Callable[[Command, str, StudyCard], Awaitable[None]]


class ReviewCommands:
    """The review, cards and reminders commands. `detector` guesses a card's language when
    `cards add` names none. `on_rated` runs after each stored rating; an error it raises
    reaches the caller, but the rating stays stored."""

    def __init__(
        self,
        reviews: Reviews,
        detector: LanguageDetector | None = None,
        *,
        on_rated: RatedHook | None = None,
    ) -> None:
        self.reviews = reviews
        self.detector = detector
        self.on_rated = on_rated

    def register(self, handler: CommandHandler) -> None:
        functions: dict[str, CommandFunction] = {
            "review": self.review,
            "review reveal": self.review_reveal,
            "review rate": self.review_rate,
            "cards add": self.cards_add,
            "cards due": self.cards_due,
            "reminders on": self.reminders_on,
            "reminders off": self.reminders_off,
        }
        for spec in REVIEW_SPECS:
            handler.add(spec, functions[spec.name])

    async def _learner(self, command: Command) -> str:
        return await self.reviews.learner_for(command.place.platform, command.author.id)

    async def review(self, command: Command) -> str:
        locale = command.author.locale
        learner = await self._learner(command)
        card = await self.reviews.show_next(learner)
        if card is None:
            return await self._nothing_due(learner, locale)
        due = await self.reviews.due_count(learner)
        return i18n.t(
            "review.front", locale, front=card.front, language=card.language, count=max(due, 1)
        )

    async def review_reveal(self, command: Command) -> str:
        card = await self.reviews.reveal(await self._learner(command))
        return i18n.t("review.back", command.author.locale, front=card.front, back=card.back)

    async def review_rate(self, command: Command) -> str:
        locale = command.author.locale
        learner = await self._learner(command)
        rating = parse_rating(command.options["rating"])
        card = await self.reviews.rate(learner, rating)
        if self.on_rated is not None:
            await self.on_rated(command, learner, card)
        when = await self._when(learner, card.due, locale)
        due = await self.reviews.due_count(learner)
        return i18n.t("review.rated", locale, when=when, count=due)

    async def cards_add(self, command: Command) -> str:
        locale = command.author.locale
        learner = await self._learner(command)
        front, back = command.options["front"], command.options["back"]
        language = command.options.get("language", "").strip()
        if not language:
            guessed = self.detector.detect(front) if self.detector is not None else None
            if guessed is None:
                raise UserError("error.card_language")
            language = guessed
        saved = await self.reviews.save_card(learner, front, back, language)
        key = "cards.added" if saved.created else "cards.exists"
        card = saved.card
        return i18n.t(key, locale, front=card.front, back=card.back, language=card.language)

    async def cards_due(self, command: Command) -> str:
        locale = command.author.locale
        learner = await self._learner(command)
        total = await self.reviews.card_count(learner)
        if not total:
            return i18n.t("cards.none", locale)
        due = await self.reviews.due_count(learner)
        if due:
            return i18n.t("cards.due", locale, count=due, total=total)
        return await self._nothing_due(learner, locale)

    async def reminders_on(self, command: Command) -> str:
        locale = command.author.locale
        learner = await self._learner(command)
        raw_hour = command.options.get("hour", "").strip()
        hour = DEFAULT_REMINDER_HOUR
        if raw_hour:
            if not raw_hour.isdigit():
                raise UserError("error.hour", value=raw_hour[:10])
            hour = int(raw_hour)
        await self.reviews.set_reminders(learner, hour)
        zone = await self.reviews.timezone(learner)
        return i18n.t("reminders.on", locale, hour=f"{hour:02d}:00", timezone=zone.key)

    async def reminders_off(self, command: Command) -> str:
        await self.reviews.set_reminders(await self._learner(command), None)
        return i18n.t("reminders.off", command.author.locale)

    async def _nothing_due(self, learner: str, locale: str) -> str:
        upcoming = await self.reviews.next_due(learner)
        if upcoming is None:
            return i18n.t("cards.none", locale)
        return i18n.t("review.none_due", locale, when=await self._when(learner, upcoming, locale))

    async def _when(self, learner: str, due: datetime, locale: str) -> str:
        """Describe a due time: in minutes or hours within a day, else the local date."""
        left = due - self.reviews.now()
        if left < timedelta(minutes=1):
            return i18n.t("review.when_now", locale)
        if left < timedelta(hours=1):
            return i18n.t("review.when_minutes", locale, count=round(left.total_seconds() / 60))
        if left < timedelta(days=1):
            return i18n.t("review.when_hours", locale, count=round(left.total_seconds() / 3600))
        zone = await self.reviews.timezone(learner)
        return i18n.t("review.when_date", locale, date=due.astimezone(zone).date().isoformat())
