"""Measure the Redis memory that learners' data takes: per key type, per learner and per card.

Run from the repository root: .venv/bin/python bench/memory.py
Uses REDIS_URL when set, else starts an embedded Redis. Results are in docs/bench-memory.md.

The script writes a synthetic population under a random ``bench-mem-…`` prefix and reads
``MEMORY USAGE key SAMPLES 0`` (exact, every element counted) for every key. It prints one
table row per key type and measures a few other layouts on a sample of learners. At the
end it deletes every key it wrote.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import redis
from fsrs import Rating, Scheduler, State

from bot.core.learning.review import StudyCard, card_id_for
from bot.embedded_redis import EmbeddedRedis

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SPACES = 10
LINKED_SHARE = 0.2
REMINDER_SHARE = 0.3
# Ratings a learner gives, in the proportions of a typical deck: mostly Good.
RATING_WEIGHTS = {Rating.Again: 0.10, Rating.Hard: 0.15, Rating.Good: 0.65, Rating.Easy: 0.10}
MAX_REVIEWS_PER_CARD = 20
CARD_AGE_DAYS = 90
ZONES = ("UTC", "Europe/Madrid", "America/New_York", "Asia/Tokyo", "America/Sao_Paulo")
SYLLABLES = ("ma", "te", "ri", "lo", "sa", "na", "pe", "do", "ca", "mi", "ra", "ve", "tu", "ja")
BATCH = 1000


@dataclass
class Population:
    """Every key written, with its key type label, and counts for the per-unit figures."""

    kinds: dict[str, str] = field(default_factory=dict)
    learner_ids: list[str] = field(default_factory=list)
    learners: int = 0
    cards: int = 0
    reviews: int = 0


def pseudo_text(rng: random.Random, words: int) -> str:
    """Return `words` pronounceable words of 2-4 syllables, about as long as real phrases."""
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(words)
    )


def simulate_card(
    rng: random.Random, scheduler: Scheduler, card_id: int, front: str, back: str
) -> tuple[StudyCard, list[list[Any]]]:
    """Return a card created up to CARD_AGE_DAYS ago and reviewed whenever due until NOW,
    with its review log entries in the format `Reviews.rate` writes."""
    created = (NOW - timedelta(days=rng.uniform(0, CARD_AGE_DAYS))).replace(microsecond=0)
    card = StudyCard(
        id=card_id,
        front=front,
        back=back,
        language="es",
        source=rng.choice(("saved", "saved", "mistake")),
        state=State.Learning,
        step=0,
        stability=None,
        difficulty=None,
        due=created,
        last_review=None,
        reps=0,
        lapses=0,
        created=created,
    )
    entries: list[list[Any]] = []
    ratings = list(RATING_WEIGHTS)
    weights = list(RATING_WEIGHTS.values())
    while card.due <= NOW and len(entries) < MAX_REVIEWS_PER_CARD:
        # Learners review some time after the card is due, not at the exact second.
        moment = (card.due + timedelta(minutes=rng.uniform(0, 600))).replace(microsecond=0)
        if moment > NOW:
            break
        rating = rng.choices(ratings, weights)[0]
        scheduled, _ = scheduler.review_card(card.to_fsrs(), rating, moment)
        card = card.reviewed(scheduled, rating)
        entries.append([card_id, int(rating), int(moment.timestamp()), rng.randint(1500, 15000)])
    return card, entries


def _fields(mapping: dict[Any, Any]) -> Mapping[Any, Any]:
    """Pass a mapping to redis-py, whose hset signature names every value type it takes."""
    return mapping


def compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def populate(
    client: redis.Redis, prefix: str, learners: int, cards_per_learner: int, seed: int
) -> Population:
    """Write the population and return every key with its key type label."""
    rng = random.Random(seed)
    scheduler = Scheduler()
    population = Population(learners=learners)
    today = NOW.date().toordinal()

    def key(kind: str, *parts: str) -> str:
        name = ":".join((prefix, *parts))
        population.kinds[name] = kind
        return name

    for index in range(learners):
        user = str(1_100_000_000_000_000_000 + index * 7919)
        learner = f"discord:{user}"
        population.learner_ids.append(learner)
        space = f"{1_200_000_000_000_000_000 + index % SPACES}"
        pipe = client.pipeline(transaction=False)

        def lkey(kind: str, *parts: str, learner: str = learner) -> str:
            return key(f"learner:{{id}}:{kind}", "learner", learner, *parts)

        pipe.hset(
            lkey("profile", "profile"),
            mapping={
                "native": "en",
                "timezone": rng.choice(ZONES),
                "day_start": rng.choice(("0", "4")),
                "style": "gentle",
                "goal": "30",
                "interests": compact(["music", "travel"]),
                "name": f"Learner {index}",
            },
        )
        pipe.hset(lkey("targets", "targets"), "es", f"{rng.uniform(1, 4):.4f}")
        accounts = [learner]
        if rng.random() < LINKED_SHARE:
            slack_user = f"U0{index:08X}"
            accounts.append(f"slack:{slack_user}")
            pipe.set(
                key("learner-of:{platform}:{user}", "learner-of", "slack", slack_user), learner
            )
            pipe.hset(key("user:{platform}:{user}", "user", "slack", slack_user), "lang", "en")
        pipe.sadd(lkey("accounts", "accounts"), *accounts)
        pipe.hset(key("user:{platform}:{user}", "user", "discord", user), "lang", "en")

        active = [day for day in range(today - 29, today + 1) if rng.random() < 0.7]
        daily = {str(day): rng.randint(3, 60) for day in active}
        if daily:
            pipe.hset(lkey("days", "days"), mapping=_fields(daily))
            pipe.sadd(lkey("practice", "practice"), *active)
        pipe.hset(lkey("xp", "xp"), "total", sum(daily.values()) + rng.randint(0, 5000))
        pipe.hset(
            lkey("streak", "streak"),
            mapping={
                "last_ts": int(NOW.timestamp()),
                "day": today,
                "current": rng.randint(0, 30),
                "best": rng.randint(0, 90),
                "freezes": rng.randint(0, 2),
            },
        )
        pipe.sadd(lkey("spaces", "spaces"), f"discord:{space}")
        for period in ("all", "week:2025-W22"):
            board = key(
                f"learn:board:{{space}}:{period.split(':')[0]}",
                "learn",
                "board",
                "discord",
                space,
                *period.split(":"),
            )
            pipe.zincrby(board, sum(daily.values()), learner)
        if rng.random() < REMINDER_SHARE:
            pipe.hset(key("reminders", "reminders"), learner, rng.randint(6, 21))

        cards: dict[str, str] = {}
        due: dict[str, int] = {}
        log: list[str] = []
        for number in range(cards_per_learner):
            front = pseudo_text(rng, rng.randint(1, 3))
            card_id = card_id_for(f"{front} {number}", "es")
            card, entries = simulate_card(rng, scheduler, card_id, front, pseudo_text(rng, 2))
            cards[str(card_id)] = card.to_json()
            due[str(card_id)] = int(card.due.timestamp())
            log.extend(compact(entry) for entry in entries)
        # The log is in time order in Redis, as reviews append to it.
        log.sort(key=lambda entry: json.loads(entry)[2])
        pipe.hset(lkey("cards", "cards"), mapping=_fields(cards))
        pipe.zadd(lkey("due", "due"), due)
        for start in range(0, len(log), BATCH):
            pipe.rpush(lkey("revlog", "revlog"), *log[start : start + BATCH])
        pipe.execute()
        population.cards += len(cards)
        population.reviews += len(log)
    return population


def memory_by_key(client: redis.Redis, keys: list[str]) -> Iterator[tuple[str, int, str]]:
    """Yield (key, MEMORY USAGE bytes with every element counted, encoding) for each key."""
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        pipe = client.pipeline(transaction=False)
        for name in chunk:
            pipe.memory_usage(name, samples=0)
            pipe.object("encoding", name)
        results = pipe.execute()
        for offset, name in enumerate(chunk):
            usage, encoding = results[2 * offset], results[2 * offset + 1]
            yield name, int(usage or 0), _text(encoding)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return "-"
    return value.decode() if isinstance(value, bytes) else value


def key_type_table(client: redis.Redis, population: Population) -> tuple[list[str], int]:
    """Return table rows per key type and the bytes all keys take together."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    encodings: dict[str, set[str]] = defaultdict(set)
    types: dict[str, str] = {}
    for name, usage, encoding in memory_by_key(client, list(population.kinds)):
        kind = population.kinds[name]
        totals[kind][0] += 1
        totals[kind][1] += usage
        encodings[kind].add(encoding)
        if kind not in types:
            types[kind] = _text(client.type(name))
    rows = []
    grand = 0
    for kind, (count, usage) in sorted(totals.items(), key=lambda item: -item[1][1]):
        grand += usage
        rows.append(
            f"| `{kind}` | {types[kind]} | {', '.join(sorted(encodings[kind]))} | {count:,} "
            f"| {usage:,} | {usage / count:,.0f} | {usage / population.learners:,.0f} |"
        )
    return rows, grand


def alternatives(
    client: redis.Redis, prefix: str, population: Population, sample: int
) -> list[str]:
    """Measure other layouts for the cards of `sample` learners; return table rows."""
    learners = population.learner_ids[:sample]
    rows = []

    def measure(names: list[str]) -> int:
        return sum(usage for _, usage, _ in memory_by_key(client, names))

    chosen_cards = [f"{prefix}:learner:{learner}:cards" for learner in learners]
    chosen_due = [f"{prefix}:learner:{learner}:due" for learner in learners]
    chosen_log = [f"{prefix}:learner:{learner}:revlog" for learner in learners]
    cards = sum(int(client.hlen(name)) for name in chosen_cards)
    reviews = sum(int(client.llen(name)) for name in chosen_log)
    chosen_card_bytes = measure(chosen_cards)
    chosen_due_bytes = measure(chosen_due)
    chosen_log_bytes = measure(chosen_log)

    alt = f"{prefix}:alt"
    long_names: list[str] = []
    per_card: list[str] = []
    object_logs: list[str] = []
    for learner, cards_key, log_key in zip(learners, chosen_cards, chosen_log, strict=True):
        raw = client.hgetall(cards_key)
        long_key = f"{alt}:long:{learner}"
        long_names.append(long_key)
        pipe = client.pipeline(transaction=False)
        for card_id, value in raw.items():
            card = StudyCard.from_json(int(card_id), _text(value))
            descriptive = {
                "front": card.front,
                "back": card.back,
                "language": card.language,
                "source": card.source,
                "reps": card.reps,
                "lapses": card.lapses,
                "created": card.created.isoformat(),
                **card.to_fsrs().to_dict(),
            }
            pipe.hset(long_key, _text(card_id), json.dumps(descriptive))
            card_key = f"{alt}:card:{learner}:{_text(card_id)}"
            per_card.append(card_key)
            pipe.hset(card_key, mapping=json.loads(_text(value)))
        object_key = f"{alt}:log:{learner}"
        object_logs.append(object_key)
        for item in client.lrange(log_key, 0, -1):
            card_id, rating, seconds, duration = json.loads(_text(item))
            entry = {
                "card_id": card_id,
                "rating": rating,
                "review_datetime": datetime.fromtimestamp(seconds, UTC).isoformat(),
                "review_duration": duration,
            }
            pipe.rpush(object_key, json.dumps(entry))
        pipe.execute()

    rows.append(
        f"| cards: one hash per learner, compact JSON (chosen) | {chosen_card_bytes / cards:,.0f} |"
    )
    rows.append(
        "| cards: one hash per learner, JSON with fsrs `Card.to_dict` names "
        f"| {measure(long_names) / cards:,.0f} |"
    )
    per_card_bytes = measure(per_card)
    rows.append(
        f"| cards: one small hash per card, one field per value | {per_card_bytes / cards:,.0f} |"
    )
    rows.append(f"| due: sorted set, default encoding (chosen) | {chosen_due_bytes / cards:,.0f} |")
    rows.append(f"| review log: compact JSON arrays (chosen) | {chosen_log_bytes / reviews:,.0f} |")
    rows.append(
        f"| review log: fsrs `ReviewLog.to_dict` JSON | {measure(object_logs) / reviews:,.0f} |"
    )
    return rows


def _setting_name(client: redis.Redis, listpack: str, ziplist: str) -> str:
    """Return the setting's name on this server: listpack on Redis 7, ziplist on 6.2."""
    return listpack if client.config_get(listpack) else ziplist


def raised_thresholds(
    client: redis.Redis, prefix: str, population: Population, sample: int
) -> list[str]:
    """Measure due sets and card hashes re-created under raised encoding thresholds.

    Returns no rows when the server rejects CONFIG SET (managed services often do).
    """
    learners = population.learner_ids[:sample]
    rows: list[str] = []
    for part, listpack, ziplist, value in (
        ("due", "zset-max-listpack-entries", "zset-max-ziplist-entries", 256),
        ("cards", "hash-max-listpack-value", "hash-max-ziplist-value", 256),
    ):
        try:
            setting = _setting_name(client, listpack, ziplist)
            previous = str(client.config_get(setting)[setting])
            client.config_set(setting, value)
        except redis.ResponseError:
            return rows
        try:
            copies = []
            cards = 0
            for learner in learners:
                name = f"{prefix}:learner:{learner}:{part}"
                copy = f"{prefix}:alt:{part}:{learner}"
                # Writing the elements again lets Redis pick the encoding under the new
                # setting; a key that exists keeps the encoding it has.
                if part == "due":
                    members = cast(
                        "list[tuple[bytes, float]]", client.zrange(name, 0, -1, withscores=True)
                    )
                    client.zadd(copy, {_text(member): score for member, score in members})
                    cards += len(members)
                else:
                    fields = client.hgetall(name)
                    client.hset(copy, mapping=_fields(fields))
                    cards += len(fields)
                copies.append(copy)
            usage = sum(usage for _, usage, _ in memory_by_key(client, copies))
        finally:
            client.config_set(setting, previous)
        rows.append(
            f"| {part}: as chosen, with server setting {setting} {value} | {usage / cards:,.0f} |"
        )
    return rows


def describe_machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = models[0] if models else "unknown CPU"
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores usable (`nproc`)"


def benchmark(
    url: str, learners: int, cards: int, sample: int, seed: int, *, config_set: bool
) -> list[str]:
    client = redis.Redis.from_url(url)
    prefix = f"bench-mem-{uuid.uuid4().hex[:12]}"
    try:
        info = client.info("server")
        thresholds = {
            str(name): str(value)
            for name, value in client.config_get("*-max-*-entries").items()
            if str(name).startswith(("hash", "zset", "set"))
        }
        before = int(client.info("memory")["used_memory"])
        started = time.perf_counter()
        population = populate(client, prefix, learners, cards, seed)
        written_s = time.perf_counter() - started
        after = int(client.info("memory")["used_memory"])

        rows, total = key_type_table(client, population)
        learner_total = sum(
            usage
            for name, usage, _ in memory_by_key(client, list(population.kinds))
            if population.kinds[name] != "reminders"
            and not population.kinds[name].startswith("learn:")
        )
        card_keys = [
            name
            for name, kind in population.kinds.items()
            if kind in ("learner:{id}:cards", "learner:{id}:due")
        ]
        card_bytes = sum(usage for _, usage, _ in memory_by_key(client, card_keys))
        log_keys = [
            name for name, kind in population.kinds.items() if kind == "learner:{id}:revlog"
        ]
        log_bytes = sum(usage for _, usage, _ in memory_by_key(client, log_keys))
        alt_rows = alternatives(client, prefix, population, sample)
        raised = raised_thresholds(client, prefix, population, sample) if config_set else []

        lines = [
            f"Redis {info['redis_version']}; thresholds {json.dumps(thresholds, sort_keys=True)}",
            f"{learners:,} learners, {population.cards:,} cards, {population.reviews:,} reviews "
            f"({population.reviews / population.cards:.1f} per card), written in {written_s:.0f} s",
            "",
            "| key | type | encoding | keys | bytes | bytes per key | bytes per learner |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"- all keys: {total:,} bytes (MEMORY USAGE); used_memory grew by {after - before:,}",
            f"- per learner, all keys: {total / learners:,.0f} bytes",
            f"- per learner, without cards and review log: "
            f"{(learner_total - card_bytes - log_bytes) / learners:,.0f} bytes",
            f"- per card (card hash field + due set member): {card_bytes / population.cards:,.0f}"
            " bytes",
            f"- per review log entry: {log_bytes / population.reviews:,.0f} bytes",
            "",
            f"Other layouts, measured on {sample} learners (bytes per card or per review):",
            "",
            "| layout | bytes |",
            "| --- | ---: |",
            *alt_rows,
            *raised,
        ]
        return lines
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=BATCH))
        for start in range(0, len(keys), BATCH):
            client.unlink(*keys[start : start + BATCH])
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000, help="default: %(default)s")
    parser.add_argument(
        "--cards", type=int, default=200, help="cards per learner (default: %(default)s)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=50,
        help="learners for the other layouts (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--config-set",
        action="store_true",
        help="with REDIS_URL, also measure raised encoding thresholds: this changes the "
        "server's settings for a few seconds (always done on the embedded server)",
    )
    args = parser.parse_args()
    if args.learners < 1 or args.cards < 1 or not 1 <= args.sample <= args.learners:
        parser.error("--learners and --cards must be 1 or more, --sample from 1 to --learners")

    # An embedded server by default, so that a fresh machine measures the same setup.
    server = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    url = os.environ["REDIS_URL"] if server is None else server.start()
    try:
        lines = benchmark(
            url,
            args.learners,
            args.cards,
            args.sample,
            args.seed,
            config_set=server is not None or args.config_set,
        )
    finally:
        if server is not None:
            server.stop()
    redis_kind = "REDIS_URL" if server is None else "embedded"
    print(f"{describe_machine()}, Python {platform.python_version()}, {lines[0]} ({redis_kind})")
    print("\n".join(lines[1:]))


if __name__ == "__main__":
    main()
