"""Deck exports: CSV columns and values, and a valid Anki package."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fsrs import Rating, Scheduler

from bot.core.conversation import Parley
from bot.core.errors import UserError
from bot.core.events import Author, Command, Place
from bot.core.learning.export import (
    CSV_COLUMNS,
    AttachmentReply,
    ExportCommands,
    Exports,
    anki_id,
    deck_apkg,
)
from bot.core.learning.review import Reviews
from bot.core.store import Store

LEARNER = "discord:u-ana"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def reviews(store: Store) -> Reviews:
    return Reviews(store, scheduler=Scheduler(enable_fuzzing=False), clock=lambda: NOW)


@pytest.fixture
def exports(reviews: Reviews) -> Exports:
    return Exports(reviews)


async def _deck(reviews: Reviews) -> None:
    await reviews.save_card(LEARNER, "el perro", "the dog", "es")
    await reviews.save_card(LEARNER, "<b>gato</b> & co", 'cat, "quoted"', "es")
    await reviews.save_card(LEARNER, "猫", "cat", "ja")
    await reviews.show_next(LEARNER)
    await reviews.reveal(LEARNER)
    await reviews.rate(LEARNER, Rating.Good)


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


async def test_csv_header_matches_columns(exports: Exports, reviews: Reviews) -> None:
    await _deck(reviews)

    attachment = await exports.export(LEARNER, "csv")

    header = attachment.data.decode("utf-8").splitlines()[0]
    assert header == ",".join(CSV_COLUMNS)
    assert attachment.file_name == "parley-cards-20250310.csv"
    assert attachment.media_type == "text/csv"


async def test_csv_rows_hold_cards(exports: Exports, reviews: Reviews) -> None:
    await _deck(reviews)

    rows = _rows((await exports.export(LEARNER, "csv")).data)

    by_front = {row["front"]: row for row in rows}
    assert set(by_front) == {"el perro", "<b>gato</b> & co", "猫"}
    assert by_front["<b>gato</b> & co"]["back"] == 'cat, "quoted"'
    assert by_front["猫"]["language"] == "ja"


async def test_csv_fsrs_state_of_reviewed_card(exports: Exports, reviews: Reviews) -> None:
    await _deck(reviews)
    reviewed = next(card for card in await reviews.cards(LEARNER) if card.reps == 1)

    rows = _rows((await exports.export(LEARNER, "csv")).data)

    row = next(row for row in rows if row["front"] == reviewed.front)
    assert row["reps"] == "1"
    assert row["lapses"] == "0"
    assert row["due"] == reviewed.due.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert float(row["stability"]) == pytest.approx(reviewed.stability, abs=1e-4)
    assert float(row["difficulty"]) == pytest.approx(reviewed.difficulty, abs=1e-4)


async def test_csv_new_card_has_empty_state(exports: Exports, reviews: Reviews) -> None:
    await _deck(reviews)

    rows = _rows((await exports.export(LEARNER, "csv")).data)

    new = [row for row in rows if row["reps"] == "0"]
    assert len(new) == 2
    assert all(row["stability"] == "" for row in new)
    assert all(row["difficulty"] == "" for row in new)


def _open_collection(data: bytes, folder: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
        assert "collection.anki2" in names
        assert "media" in names
        (folder / "collection.anki2").write_bytes(package.read("collection.anki2"))
    return sqlite3.connect(folder / "collection.anki2")


async def test_apkg_is_anki_package(exports: Exports, reviews: Reviews, tmp_path: Path) -> None:
    await _deck(reviews)

    attachment = await exports.export(LEARNER, "apkg")

    assert attachment.file_name.endswith(".apkg")
    connection = _open_collection(attachment.data, tmp_path)
    try:
        notes = connection.execute("SELECT flds, tags FROM notes").fetchall()
        card_count = connection.execute("SELECT COUNT(*) FROM cards").fetchone()[0]
        deck_ids = {row[0] for row in connection.execute("SELECT did FROM cards")}
    finally:
        connection.close()

    fields = sorted(tuple(row[0].split("\x1f")) for row in notes)
    assert fields == [
        ("&lt;b&gt;gato&lt;/b&gt; &amp; co", "cat, &quot;quoted&quot;", "es", "saved"),
        ("el perro", "the dog", "es", "saved"),
        ("猫", "cat", "ja", "saved"),
    ]
    assert all(" saved " in row[1] for row in notes)
    assert card_count == 3
    assert deck_ids == {anki_id(LEARNER, "deck")}


async def test_apkg_ids_stable_across_exports(reviews: Reviews, tmp_path: Path) -> None:
    await _deck(reviews)
    cards = await reviews.cards(LEARNER)

    guids = []
    for index, day in enumerate((NOW, NOW.replace(day=20))):
        folder = tmp_path / str(index)
        folder.mkdir()
        connection = _open_collection(deck_apkg(LEARNER, cards, day).data, folder)
        try:
            guids.append(sorted(row[0] for row in connection.execute("SELECT guid FROM notes")))
            models = connection.execute("SELECT models FROM col").fetchone()[0]
        finally:
            connection.close()
        assert str(anki_id(LEARNER, "model")) in models

    assert guids[0] == guids[1]


def test_anki_ids_differ_per_learner() -> None:
    assert anki_id("discord:a", "deck") != anki_id("discord:b", "deck")
    assert 1 << 30 <= anki_id("discord:a", "deck") < 1 << 31


async def test_empty_deck_exports(exports: Exports, tmp_path: Path) -> None:
    attachment = await exports.export(LEARNER, "apkg")

    connection = _open_collection(attachment.data, tmp_path)
    try:
        assert connection.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    finally:
        connection.close()


def _command(**options: str) -> Command:
    return Command(
        "e1", Place("discord", "s1", "c"), Author("u-ana", "Ana"), "cards export", options
    )


async def test_export_command_returns_attachment(
    parley: Parley, exports: Exports, reviews: Reviews
) -> None:
    ExportCommands(exports).register(parley.commands)
    await _deck(reviews)

    reply = await parley.commands.run(_command(format="apkg"))

    assert isinstance(reply, AttachmentReply)
    assert reply.attachment is not None
    assert reply.attachment.data.startswith(b"PK")
    assert "3 cards" in reply.text


async def test_export_command_rejects_format(parley: Parley, exports: Exports) -> None:
    ExportCommands(exports).register(parley.commands)

    with pytest.raises(UserError) as caught:
        await parley.commands.run(_command(format="pdf"))

    assert caught.value.key == "error.export_format"
