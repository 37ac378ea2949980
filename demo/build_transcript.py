"""Generate demo/transcript.jsonl, a scripted chat session for `parley demo`.

Every chat message is a real sentence from the lingua-py language-testdata files (Leipzig
Wortschatz corpora, Apache License 2.0), picked by line number so the output is the same on
every run. Chat tokens such as mentions, emoji, links and inline code are added around each
sentence, never inside a word.

Usage: .venv/bin/python demo/build_transcript.py [--data DIR] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "langid"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "transcript.jsonl"
LANGUAGES = ("en", "es", "fr", "pt")

MENTION = "<@112233445566778899>"
CUSTOM_EMOJI = "<:parley:123456789012345678>"
LINK = "https://example.org/agenda"

MOD = {"user": "u-admin", "name": "Mod", "admin": True, "locale": "en-US"}
ANA = {"user": "u-ana", "name": "Ana", "locale": "es-ES"}
BEN = {"user": "u-ben", "name": "Ben", "locale": "en-US"}
CLAIRE = {"user": "u-claire", "name": "Claire", "locale": "fr"}
DANA = {"user": "u-dana", "name": "Dana", "locale": "en-GB"}
JOANA = {"user": "u-joana", "name": "Joana", "locale": "pt-BR"}
REMINDER_BOT = {"user": "u-reminder-bot", "name": "Reminder Bot", "bot": True}


def load_sentences(data: Path) -> dict[str, list[str]]:
    """Read sentences/<language>.txt for each demo language, one sentence per line."""
    sentences: dict[str, list[str]] = {}
    for language in LANGUAGES:
        path = data / "sentences" / f"{language}.txt"
        if not path.is_file():
            raise SystemExit(
                f"error: sentence file not found: {path}\n"
                "Pass --data DIR, where DIR contains sentences/en.txt, es.txt, fr.txt and pt.txt."
            )
        sentences[language] = path.read_text(encoding="utf-8").splitlines()
    return sentences


def build_events(sentences: dict[str, list[str]]) -> list[str | dict[str, object]]:
    """Return the transcript in order: a str is a `//` comment line, a dict is one event."""

    def line(language: str, number: int) -> str:
        """Return the sentence on 1-based line `number` of that language's file."""
        lines = sentences[language]
        if not 1 <= number <= len(lines) or not lines[number - 1].strip():
            raise SystemExit(
                f"error: sentences/{language}.txt has no sentence on line {number} "
                f"({len(lines)} lines). The demo expects the first 500 lines of language-testdata."
            )
        return lines[number - 1].strip()

    def message(
        channel: str, author: dict[str, object], message_id: str, text: str, **fields: object
    ) -> dict[str, object]:
        return {
            "type": "message",
            "channel": channel,
            **author,
            "id": message_id,
            "text": text,
            **fields,
        }

    def command(
        channel: str, author: dict[str, object], name: str, **options: str
    ) -> dict[str, object]:
        return {
            "type": "command",
            "channel": channel,
            **author,
            "command": name,
            "options": options,
        }

    # The first delivery of m3 carries an explicit event_id, so its redelivery below can repeat it.
    compile_tip = message(
        "chat-fr", CLAIRE, "m3", f"{line('fr', 433)} `make demo`", event_id="evt-demo-m3"
    )

    return [
        "// Set-up: link one channel per language, make #lobby multilingual, set Claire's "
        "reader language.",
        command("chat-en", MOD, "link create", channels="chat-en:en chat-es:es chat-fr:fr"),
        command("lobby", MOD, "channel languages", languages="en es pt"),
        command("chat-fr", CLAIRE, "language set", language="fr"),
        "// Linked group: each message is relayed, translated, to the other two channels "
        "under its author's name.",
        message("chat-es", ANA, "m1", f"👋 {MENTION} {line('es', 328)}"),
        message("chat-en", BEN, "m2", f"{line('en', 125)} 🎉 {CUSTOM_EMOJI}"),
        compile_tip,
        message("chat-en", DANA, "m4", f"{line('en', 356)} {LINK}", reply_to="m2"),
        "// Duplicate delivery: the same event_id as m3's first delivery, so it is handled once.",
        compile_tip,
        "// The copies of m5 keep @everyone as plain text. Posting them must not ping anyone.",
        message("chat-es", ANA, "m5", f"@everyone {line('es', 233)} {LINK}"),
        "// A spoiler is copied untranslated, so the engine cannot move hidden words out of it.",
        message("chat-fr", CLAIRE, "m6", f"{line('fr', 70)} ||{LINK}|| :tada:"),
        "// Ben rewrites m2 and Ana deletes m7. Their relayed copies are edited and deleted "
        "to match.",
        {
            "type": "edit",
            "channel": "chat-en",
            **BEN,
            "id": "m2",
            "text": f"{line('en', 478)} 🎉 {CUSTOM_EMOJI}",
        },
        message("chat-es", ANA, "m7", line("es", 372)),
        {"type": "delete", "channel": "chat-es", **ANA, "id": "m7"},
        "// A bot's message is ignored, so two translating bots cannot feed each other.",
        message("chat-en", REMINDER_BOT, "m8", line("en", 249)),
        "// On-demand translation into Claire's reader language, shown only to her.",
        command("chat-en", CLAIRE, "translate", message="m4"),
        "// Multilingual #lobby: each message gets replies in the channel's other languages.",
        message("lobby", BEN, "m9", f"{MENTION} {line('en', 366)} {LINK}"),
        message("lobby", ANA, "m10", f"{line('es', 486)} 👋"),
        message("lobby", JOANA, "m11", f"{line('pt', 198)} 🎉"),
        "// A flag reaction gets a translation into that flag's language (French) in a thread.",
        {"type": "reaction", "channel": "lobby", **CLAIRE, "id": "m11", "emoji": "🇫🇷"},
    ]


def render(items: list[str | dict[str, object]]) -> str:
    rows = [
        item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in items
    ]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="langid data folder that contains sentences/<language>.txt (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="transcript file to write (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    events = build_events(load_sentences(args.data))
    args.output.write_text(render(events), encoding="utf-8")
    count = sum(1 for item in events if isinstance(item, dict))
    print(f"wrote {count} events to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
