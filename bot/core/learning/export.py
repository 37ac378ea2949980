"""Deck exports: a learner's cards as CSV or as an Anki package (.apkg, made with genanki).

Both return an `Attachment` (file name, bytes, media type). Core actions cannot carry files
yet, so the `cards export` command returns an `AttachmentReply`: its text goes out as
usual, and an adapter that handles the type can upload `attachment` next to it.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import itertools
import json
import sqlite3
import zipfile
from collections.abc import Sequence
from datetime import datetime

import genanki

from bot.core import i18n
from bot.core.actions import Attachment
from bot.core.commands import CommandHandler, CommandReply, CommandSpec
from bot.core.errors import UserError
from bot.core.events import Command
from bot.core.learning.review import Reviews, StudyCard

CSV_COLUMNS = ("front", "back", "language", "due", "stability", "difficulty", "reps", "lapses")
FORMATS = ("csv", "apkg")
DECK_NAME = "Parley"
_CARD_CSS = """.card { font-family: sans-serif; font-size: 24px; text-align: center; }
.language { font-size: 14px; color: #888; }"""


# A command reply that carries a file is a CommandReply with its `attachment` set.
AttachmentReply = CommandReply


def deck_csv(cards: Sequence[StudyCard], today: datetime) -> Attachment:
    """Write cards as UTF-8 CSV with a header row of CSV_COLUMNS.

    `due` is ISO 8601 in UTC; stability (days) and difficulty (1 to 10) are empty for cards
    never reviewed. `today` only names the file.
    """
    # A cell that starts with =, +, - or @ is a formula to spreadsheet programs, and cards
    # can come from text others wrote (mistakes found in graded work), so such cells get a
    # leading apostrophe, which spreadsheets show as text.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for card in cards:
        writer.writerow(
            (
                _cell(card.front),
                _cell(card.back),
                card.language,
                card.due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "" if card.stability is None else f"{card.stability:.4f}",
                "" if card.difficulty is None else f"{card.difficulty:.4f}",
                card.reps,
                card.lapses,
            )
        )
    name = f"parley-cards-{today:%Y%m%d}.csv"
    return Attachment(name, buffer.getvalue().encode("utf-8"), "text/csv")


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def anki_id(learner: str, kind: str) -> int:
    """Return a stable Anki id for the learner's deck or note type (`kind`).

    The id lies in [2**30, 2**31), the range genanki 0.13's README suggests for ids. The
    same learner's later exports update the deck in Anki instead of adding a second one.
    """
    digest = hashlib.sha256(f"parley:{kind}:{learner}".encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def note_type(learner: str) -> genanki.Model:
    return genanki.Model(
        anki_id(learner, "model"),
        "Parley card",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Language"}, {"name": "Source"}],
        templates=[
            {
                "name": "Recall",
                "qfmt": '{{Front}}<div class="language">{{Language}}</div>',
                "afmt": '{{FrontSide}}<hr id="answer">{{Back}}',
            }
        ],
        css=_CARD_CSS,
    )


def deck_apkg(learner: str, cards: Sequence[StudyCard], today: datetime) -> Attachment:
    """Write cards as an Anki package: one Front/Back/Language/Source note per card.

    Fields are HTML-escaped because Anki renders them as HTML. Notes carry the language
    and source as tags and keep their guid across exports. FSRS state does not travel,
    so Anki schedules the cards as new; the CSV export has the state.
    """
    model = note_type(learner)
    deck = genanki.Deck(anki_id(learner, "deck"), DECK_NAME)
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=model,
                fields=[
                    html.escape(card.front),
                    html.escape(card.back),
                    card.language,
                    card.source,
                ],
                tags=[card.language, card.source],
                guid=genanki.guid_for(learner, card.id),
            )
        )

    # genanki's Package.write_to_file builds the collection in a temporary file that it never
    # deletes, so the collection is built in memory and zipped here in the same layout.
    timestamp = today.timestamp()
    connection = sqlite3.connect(":memory:")
    try:
        genanki.Package(deck).write_to_db(
            connection.cursor(), timestamp, itertools.count(int(timestamp * 1000))
        )
        connection.commit()
        collection = connection.serialize()
    finally:
        connection.close()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("collection.anki2", collection)
        package.writestr("media", json.dumps({}))
    name = f"parley-cards-{today:%Y%m%d}.apkg"
    return Attachment(name, buffer.getvalue(), "application/octet-stream")


class Exports:
    """Builds deck files from a learner's stored cards."""

    def __init__(self, reviews: Reviews) -> None:
        self.reviews = reviews

    async def export(self, learner: str, file_format: str) -> Attachment:
        """Return the learner's deck as `file_format` ("csv" or "apkg")."""
        cards = await self.reviews.cards(learner)
        today = self.reviews.now()
        if file_format == "csv":
            return deck_csv(cards, today)
        if file_format == "apkg":
            return deck_apkg(learner, cards, today)
        raise ValueError(f"export format must be one of {FORMATS}, not {file_format!r}")


EXPORT_SPEC = CommandSpec("cards export", ("format",), (), False, "help.cards_export")


class ExportCommands:
    """The `cards export [csv|apkg]` command. The format defaults to csv."""

    def __init__(self, exports: Exports) -> None:
        self.exports = exports

    def register(self, handler: CommandHandler) -> None:
        handler.add(EXPORT_SPEC, self.cards_export)

    async def cards_export(self, command: Command) -> AttachmentReply:
        locale = command.author.locale
        file_format = command.options.get("format", "").strip().lower() or "csv"
        if file_format not in FORMATS:
            raise UserError(
                "error.export_format", value=file_format[:20], formats=", ".join(FORMATS)
            )
        reviews = self.exports.reviews
        learner = await reviews.learner_for(command.place.platform, command.author.id)
        attachment = await self.exports.export(learner, file_format)
        count = await reviews.card_count(learner)
        text = i18n.t("cards.exported", locale, count=count, file=attachment.file_name)
        return AttachmentReply(text, i18n.resolve_locale(locale), attachment)
