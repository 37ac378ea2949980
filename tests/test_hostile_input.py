"""Hostile input against the core: markup, mentions, loops, duplicates, commands and replay.

Each test states one rule that Parley promises (README, docs/replay.md). Timing tests use a
budget of 100 ms per 10,000 characters, scaled linearly with the input size, so an input that
makes a regex backtrack quadratically fails while linear code passes with a wide margin.
Tests marked slow run only with PARLEY_SLOW_TESTS=1.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import time
from collections.abc import Callable

import pytest

from bot.adapters.console.replay import replay
from bot.adapters.console.sender import RecordingSender
from bot.adapters.console.transcript import TranscriptError, parse_line
from bot.core import i18n
from bot.core.actions import Action, ActionKind
from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.errors import TokenMismatchError
from bot.core.events import (
    Author,
    Command,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    Place,
    ReactionAdded,
)
from bot.core.languages import SUPPORTED
from bot.core.ports import JobQueue
from bot.core.relay import Relay
from bot.core.split import split_message
from bot.core.store import Store
from bot.core.tokens import ProtectedText, atomic_tokens, protect, restore
from bot.core.translate import TranslationService
from tests.chat import ADMIN, Chat
from tests.fakes import FakeEngine

SLOW = pytest.mark.skipif(
    os.environ.get("PARLEY_SLOW_TESTS") != "1", reason="slow; set PARLEY_SLOW_TESTS=1 to run"
)

ENGLISH = "Tomorrow we are going to the beach with the whole family if the weather is good."
SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."
MEMBER = Author("u-member", "Member")

# Mentions that make Discord or Slack notify someone when mentions are allowed.
_MENTION = re.compile(
    r"<@[!&]?\d+>|<@[A-Z][A-Z0-9]+(?:\|[^<>]*)?>|<!(?:here|channel|everyone)"
    r"(?:\|[^<>]*)?>|(?<![\w@])@(?:everyone|here)(?!\w)"
)


def mentions(text: str) -> list[str]:
    return sorted(_MENTION.findall(text))


def elapsed_s(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def budget_s(characters: int) -> float:
    # Linear code takes a few ms per 10k characters here; the quadratic code these tests
    # guard against took seconds. The bound is loose so a loaded 2-core CI machine passes.
    return max(1.0, 0.5 * characters / 10_000)


class ReplacingEngine(FakeEngine):
    """FakeEngine whose output then has words replaced, as a real engine translates them."""

    def __init__(self, replacements: dict[str, str]) -> None:
        super().__init__()
        self.replacements = replacements

    def _one(self, text: str, target: str) -> str:
        translated = super()._one(text, target)
        for old, new in self.replacements.items():
            translated = translated.replace(old, new)
        return translated


def build_parley(
    store: Store, detector: LanguageDetector, engine: FakeEngine, jobs: JobQueue | None = None
) -> Parley:
    translator = TranslationService(store, {engine.name: engine})
    relay = Relay(store, translator, detector, engine.name)
    return Parley(store, translator, relay, jobs)


async def linked(parley: Parley, *, space: str = "s1") -> Chat:
    chat = Chat(parley, space=space)
    await chat.command("chat-en", "link create", channels="chat-en:en chat-es:es")
    return chat


# --- Protected tokens leave translation byte for byte ----------------------------------------

EVERY_TOKEN = (
    "Hi <@123> and <@!45> in <#678> with <@&9>, see https://example.com/a_(b)?q=1 and "
    "www.example.org, mail a.b@example.com, `inline *code*`, ||hidden words||, :tada: 👍🏽 "
    "<:parley:123456789> <t:1700000000:R> \\*literal\\* **bold** _it_ ~~gone~~ &lt;x&gt; ⟦0⟧\n"
    "> quoted line\n```py\nprint('<@1>')\n```"
)


async def test_tokens_survive_translation(parley: Parley) -> None:
    chat = await linked(parley)

    await chat.say("chat-en", "Ben", EVERY_TOKEN, id="m1")

    (post,) = chat.posts("chat-es")
    for span in atomic_tokens(EVERY_TOKEN):
        token = EVERY_TOKEN[span.start : span.end]
        assert token in post.text, f"{span.kind} token {token!r} lost"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text.replace("⟦1⟧", ""), id="lost"),
        pytest.param(lambda text: text.replace("⟦1⟧", "⟦1⟧ ⟦1⟧"), id="repeated"),
        pytest.param(lambda text: text + " ⟦9⟧", id="invented"),
        pytest.param(lambda text: text.replace("⟦1⟧", "⟦01⟧"), id="leading-zero"),
        pytest.param(lambda text: text.replace("⟦1⟧", "⟦１⟧"), id="fullwidth-digit"),
        pytest.param(lambda text: text.replace("⟦1⟧", "⟦ 1 ⟧"), id="spaced"),
        pytest.param(lambda text: text.replace("⟦1⟧", "[1]"), id="ascii-brackets"),
        pytest.param(lambda text: text.replace("⟦1⟧", "⟦1"), id="unclosed"),
    ],
)
def test_restore_rejects_damage(damage: Callable[[str], str]) -> None:
    protected = protect("Hello <@123>, see `code` and <#456> now.")

    with pytest.raises(TokenMismatchError):
        restore(damage(protected.text), protected)


async def test_engine_dropping_tokens_keeps_them(parley: Parley, engine: FakeEngine) -> None:
    chat = await linked(parley)
    engine.drop_placeholders = 100

    await chat.say("chat-en", "Ben", f"<@123> {ENGLISH} `code`", id="m1")

    (post,) = chat.posts("chat-es")
    assert mentions(post.text) == ["<@123>"]
    assert post.text.count("`code`") == 1


def test_protect_restore_roundtrip() -> None:
    pieces = [
        "a",
        "word",
        " ",
        "  ",
        "\t",
        "\n",
        "\n\n",
        "\r\n",
        "*",
        "**",
        "_",
        "~~",
        "`",
        "```",
        "||",
        "<@123>",
        "<#9>",
        "@everyone",
        "<!here>",
        "http://x.io/a_b",
        "(",
        ")",
        ".",
        ":tada:",
        "⟦",
        "⟧",
        "⟦0⟧",
        "> ",
        "# ",
        "- ",
        "1. ",
        "\\*",
        "&gt;",
        "😀",
        "👍🏽",
        "x@y.com",
        "<t:1:R>",
        "é",
        "\u0301",
        "\u200d",
    ]
    rng = random.Random(20261204)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        protected = protect(text)

        assert restore(protected.text, protected) == text


# --- Parley never pings and never adds a mention ----------------------------------------------


async def test_every_action_disables_mentions(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.command("lobby", "channel languages", languages="en es", style="thread")
    await chat.command("chat-en", "language set", author=MEMBER, language="es")

    await chat.say("chat-en", "Ben", f"@everyone <@1> <!here> {ENGLISH}", id="m1")
    await chat.edit("chat-en", "Ben", "m1", f"@here <@2> {ENGLISH} Really.")
    await chat.say("lobby", "Ben", f"@everyone {ENGLISH}", id="m2")
    await chat.react("lobby", "Ana", "m2", "🇫🇷")
    await chat.command("chat-en", "translate", author=MEMBER, message="m1")
    await chat.delete("chat-en", "m1")

    assert len(chat.sender.sent) >= 8
    assert all(action.may_mention is False for action in chat.sender.sent)


# Apertium 3.8.3 with apertium-eng-spa 0.8.1 and apertium-fr-es 0.9.4 (Debian) turns typed
# words that are not mentions into mentions: "Estamos @aquí ahora" became "We are @here now" and
# "Venez @ici" became "Come @here". The other rows stand for engines that add text of their own.
@pytest.mark.parametrize(
    "source_word, engine_output",
    [
        ("@aquí", "@here"),
        ("@ici", "@here"),
        ("todos", "@everyone"),
        ("Ana", "<@999>"),
        ("Ana", "<!channel>"),
    ],
)
async def test_translation_gains_no_mention(
    store: Store, detector: LanguageDetector, source_word: str, engine_output: str
) -> None:
    engine = ReplacingEngine({source_word: engine_output})
    chat = await linked(build_parley(store, detector, engine))

    await chat.say("chat-es", "Ana", f"Estamos {source_word} ahora. {SPANISH}", id="m1")

    (post,) = chat.posts("chat-en")
    assert mentions(post.text) == []


def test_split_keeps_mentions_whole() -> None:
    for offset in range(0, 30):
        text = "x" * offset + " <@123456789012345678> @everyone <!here> " + "word " * 20

        parts = split_message(text, 25)

        assert sorted(m for part in parts for m in mentions(part)) == mentions(text), offset


def test_split_fuzz_keeps_tokens() -> None:
    pieces = [
        "word ",
        "a",
        "\n",
        "\n\n",
        ". ",
        "<@123456789>",
        "<#42>",
        "@everyone ",
        "<!here>",
        "https://e.com/path ",
        "`code span`",
        "```py\nx = 1\n<@5> y\n```",
        "||spoiler||",
        ":tada:",
        "😀",
        "👍🏽",
        "**b**",
        "é",
        "\u0301",
    ]
    rng = random.Random(7)
    for _ in range(400):
        limit = rng.randint(20, 60)
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 25)))

        parts = split_message(text, limit)

        assert all(len(part) <= limit for part in parts), (text, limit)
        assert sum(len(mentions(part)) for part in parts) <= len(mentions(text)), text
        for span in atomic_tokens(text):
            token = text[span.start : span.end]
            if span.kind != "fence" and len(token) <= limit:
                assert any(token in part for part in parts), (token, text, limit)


# --- Long text splits at safe points -----------------------------------------------------------


@pytest.mark.parametrize("marker", ["`", "||"], ids=["code", "spoiler"])
def test_split_oversize_span_keeps_mention(marker: str) -> None:
    text = marker + "x" * 1990 + " <@123456789> " + "y" * 100 + marker

    parts = split_message(text, 2000)

    for part in parts:
        assert part.count("<@") == part.count("<@123456789>"), part[-30:]


def test_split_long_spoiler_stays_hidden() -> None:
    text = "Ending: ||" + "the butler did it " * 150 + "||"

    parts = split_message(text, 2000)

    for part in parts:
        assert part.count("||") % 2 == 0, f"unmatched spoiler marker reveals {part[-40:]!r}"


@pytest.mark.parametrize("mark", ["\u0301", "\U0001f3fd"], ids=["combining", "skin-tone"])
def test_split_joining_run_part_count(mark: str) -> None:
    text = "a" + mark * 2500

    parts = split_message(text, 2000)

    assert len(parts) <= 2


def test_split_long_fence_tag_part_count() -> None:
    text = "```" + "x" * 1990 + "\n" + "y = 1\n" * 100 + "```"

    parts = split_message(text, 2000)

    assert len(parts) <= 4, f"{len(text)} characters became {len(parts)} parts"


def test_split_long_fence_balanced() -> None:
    text = "```\n" + "".join(f"line {n} <@{n}>\n" for n in range(300)) + "```"

    parts = split_message(text, 2000)

    assert len(parts) > 1
    for part in parts:
        assert part.count("```") == 2


# --- Pathological input for the regexes -------------------------------------------------------

PATHOLOGICAL = {
    "stars": "*" * 10_000,
    "underscores": "_" * 10_000,
    "pipes": "|" * 10_000,
    "less-than": "<" * 10_000,
    "colons": ":" * 10_000,
    "backticks": "`" * 10_000,
    "open-brackets": "⟦" * 10_000,
    "close-brackets": "⟧" * 10_000,
    "nested-markdown": "**_~~" * 2_000,
    "words-in-markers": "*a _b ~" * 1_428,
    "mention-openers": "<@" * 5_000,
    "slash-openers": "</a " * 2_500,
    "unclosed-spoiler": "||" + "a" * 10_000,
    "unclosed-code": "``" + "a" * 10_000,
    "ticks-and-letters": "`a" * 5_000,
    "shortcode-openers": ":+" * 5_000,
    "quote-markers": "> " * 5_000,
    "entities": "&gt;" * 2_500,
    "bracket-pairs": "⟦a" * 5_000,
    "escapes": "\\*" * 5_000,
    "newlines": "\n" * 10_000,
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_input_is_fast(text: str) -> None:
    protected = protect(text)

    assert elapsed_s(lambda: protect(text)) < budget_s(len(text))
    assert elapsed_s(lambda: restore(protected.text, protected)) < budget_s(len(text))
    assert elapsed_s(lambda: split_message(text, 2000)) < budget_s(len(text))


@pytest.mark.parametrize("run", [" ", "\t"], ids=["spaces", "tabs"])
def test_protect_whitespace_run_fast(run: str) -> None:
    text = "a" + run * 10_000 + "b"

    assert elapsed_s(lambda: protect(text)) < budget_s(len(text))


def test_restore_whitespace_run_fast() -> None:
    protected = ProtectedText("a" + " " * 10_000 + "b ⟦0⟧", ("`code`",))

    assert elapsed_s(lambda: restore(protected.text, protected)) < budget_s(10_000)


def test_restore_many_tokens_fast() -> None:
    text = "a `b` " * 3_400
    protected = protect(text)

    assert elapsed_s(lambda: restore(protected.text, protected)) < budget_s(len(text))


@pytest.mark.parametrize("mark", [".", "!"])
def test_split_punctuation_run_fast(mark: str) -> None:
    text = mark * 6_000

    assert elapsed_s(lambda: split_message(text, 2000)) < budget_s(len(text))


def test_url_closing_parens_fast() -> None:
    text = "see http://a" + ")" * 40_000

    assert elapsed_s(lambda: atomic_tokens(text)) < budget_s(len(text))


@SLOW
async def test_huge_message_relays_quickly(parley: Parley) -> None:
    chat = await linked(parley)
    text = "Hi <@123> see https://x.io/a `code` :tada: **bold** ok. " * 1_800

    started = time.perf_counter()
    await chat.say("chat-en", "Ben", text, id="m1")
    seconds = time.perf_counter() - started

    assert seconds < 5.0, f"a {len(text)}-character message took {seconds:.1f} s"
    assert all(len(post.text) <= 2000 for post in chat.posts("chat-es"))


# --- Parley's own posts, bots and webhooks are not translated ---------------------------------


async def test_own_copies_not_translated(parley: Parley) -> None:
    chat = Chat(parley)
    await chat.command("lobby", "channel languages", languages="en es")
    await chat.say("lobby", "Ben", ENGLISH, id="m1")
    (copy,) = chat.posts("lobby")
    copy_id = chat.sender.record.channel("discord", "s1", "lobby")[-1].id

    as_bot = await chat.say("lobby", "Parley", copy.text, id=copy_id, bot=True)
    unflagged = await chat.say("lobby", "Parley", copy.text, id=copy_id)
    edited = await chat.edit("lobby", "Parley", copy_id, SPANISH)

    assert as_bot.actions == []
    assert unflagged.actions == []
    assert edited.actions == []


async def test_bots_and_webhooks_ignored(parley: Parley) -> None:
    chat = await linked(parley)
    webhook = MessageCreated(
        "w1", chat.place("chat-en"), Author("u-hook", "Hook"), "m2", ENGLISH, is_webhook=True
    )

    from_bot = await chat.say("chat-en", "OtherBot", ENGLISH, id="m1", bot=True)
    from_webhook = await parley.handle(webhook, chat.sender)

    assert from_bot.actions == []
    assert from_webhook.actions == []


def blank_posts_and_edits(actions: list[Action]) -> list[Action]:
    return [
        action
        for action in actions
        if action.kind in (ActionKind.POST, ActionKind.EDIT) and not action.text.strip()
    ]


# A message with only attachments or a sticker has empty text, and Discord rejects a post or an
# edit without content with HTTP 400, error code 50006 "Cannot send an empty message".
@pytest.mark.parametrize("text", ["", "   ", "\n\n"], ids=["empty", "spaces", "newlines"])
async def test_blank_message_not_relayed(parley: Parley, text: str) -> None:
    chat = await linked(parley)

    outcome = await chat.say("chat-en", "Ben", text, id="m1")

    assert blank_posts_and_edits(outcome.actions) == []


async def test_edit_to_blank_not_relayed(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")

    outcome = await chat.edit("chat-en", "Ben", "m1", "")

    assert blank_posts_and_edits(outcome.actions) == []


# --- One effect per event and per job ----------------------------------------------------------


class RecordingQueue:
    """A job queue that runs nothing and remembers the job ids it was given."""

    def __init__(self) -> None:
        self.job_ids: list[str] = []

    def enqueue(self, function: str, *args: str, job_id: str) -> str:
        self.job_ids.append(job_id)
        return job_id


class FailingSender(RecordingSender):
    """Raises on one post, once, as a platform does when a request fails mid-relay."""

    def __init__(self, fail_on_post: int) -> None:
        super().__init__()
        self.fail_on_post = fail_on_post
        self.posts = 0

    async def send(self, action: Action) -> str | None:
        if action.kind == ActionKind.POST:
            self.posts += 1
            if self.posts == self.fail_on_post:
                raise ConnectionError("platform request failed")
        return await super().send(action)


DUPLICATED_EVENTS: dict[str, Callable[[Place], Event]] = {
    "message": lambda place: MessageCreated("dup", place, Author("u-ben", "Ben"), "m2", ENGLISH),
    "edit": lambda place: MessageEdited(
        "dup", place, Author("u-ben", "Ben"), "m1", ENGLISH + " Edited."
    ),
    "delete": lambda place: MessageDeleted("dup", place, "m1"),
    "reaction": lambda place: ReactionAdded("dup", place, Author("u-ana", "Ana"), "m1", "🇫🇷"),
    "command": lambda place: Command("dup", place, MEMBER, "language set", {"language": "fr"}),
}


@pytest.mark.parametrize("make_event", DUPLICATED_EVENTS.values(), ids=DUPLICATED_EVENTS.keys())
async def test_duplicate_event_has_one_effect(
    parley: Parley, make_event: Callable[[Place], Event]
) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    event = make_event(chat.place("chat-en"))
    first = await parley.handle(event, chat.sender)
    sent = len(chat.sender.sent)

    again = await parley.handle(event, chat.sender)

    assert first.actions != []
    assert again.duplicate is True
    assert len(chat.sender.sent) == sent


async def test_redelivery_after_failure_posts_once(parley: Parley) -> None:
    chat = await linked(parley)
    sender = FailingSender(fail_on_post=2)
    long_text = (ENGLISH + " ") * 30
    event = MessageCreated("e-long", chat.place("chat-en"), Author("u-ben", "Ben"), "m1", long_text)

    with pytest.raises(ConnectionError):
        await parley.handle(event, sender)
    await parley.handle(event, sender)

    visible = sender.record.channel("discord", "s1", "chat-es")
    assert len(visible) == 2, [message.text[:30] for message in visible]


async def test_flag_redelivery_after_failure_posts(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    sender = FailingSender(fail_on_post=1)
    event = ReactionAdded("e-flag", chat.place("chat-en"), Author("u-ana", "Ana"), "m1", "🇫🇷")

    with pytest.raises(ConnectionError):
        await parley.handle(event, sender)
    retried = await parley.handle(event, sender)

    assert [action.language for action in retried.actions] == ["fr"]


async def test_job_id_new_after_id_reuse(store: Store, detector: LanguageDetector) -> None:
    jobs = RecordingQueue()
    chat = await linked(build_parley(store, detector, FakeEngine(), jobs))

    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    await chat.edit("chat-en", "Ben", "m1", ENGLISH + " First edit.")
    await chat.delete("chat-en", "m1")
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    await chat.edit("chat-en", "Ben", "m1", ENGLISH + " Second edit.")

    assert len(jobs.job_ids) == 2
    assert jobs.job_ids[0] != jobs.job_ids[1]


async def test_job_id_distinct_for_dashed_ids(store: Store, detector: LanguageDetector) -> None:
    jobs = RecordingQueue()
    chat = Chat(build_parley(store, detector, FakeEngine(), jobs))
    await chat.command("chat", "link create", channels="chat:en chat-en:en other:es")

    await chat.say("chat", "Ben", ENGLISH, id="en-m1")
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    await chat.edit("chat", "Ben", "en-m1", ENGLISH + " Edited.")
    await chat.edit("chat-en", "Ben", "m1", ENGLISH + " Edited.")

    assert len(set(jobs.job_ids)) == 2, jobs.job_ids


async def test_outbox_delivers_job_once(store: Store) -> None:
    first = await store.push_outbox("discord", "job-1", {"type": "skip"})
    second = await store.push_outbox("discord", "job-1", {"type": "skip"})

    assert first is True
    assert second is False
    assert await store.redis.xlen(store.outbox_key("discord")) == 1


# --- Same language and echoed output post nothing ---------------------------------------------


async def test_echo_posts_no_copy(parley: Parley, engine: FakeEngine) -> None:
    chat = Chat(parley)
    await chat.command("lobby", "channel languages", languages="en es")
    engine.echo = True

    await chat.say("lobby", "Ben", ENGLISH, id="m1")

    assert chat.posts("lobby") == []


async def test_case_only_change_posts_no_copy(store: Store, detector: LanguageDetector) -> None:
    engine = ReplacingEngine({"[es] ": "", "Tomorrow": "TOMORROW", " we": "  we"})
    chat = Chat(build_parley(store, detector, engine))
    await chat.command("lobby", "channel languages", languages="en es")

    await chat.say("lobby", "Ben", ENGLISH, id="m1")

    assert chat.posts("lobby") == []


async def test_same_language_flag_posts_nothing(parley: Parley, engine: FakeEngine) -> None:
    chat = Chat(parley)
    await chat.command("lobby", "channel languages", languages="en es")
    await chat.say("lobby", "Ben", ENGLISH, id="m1")
    calls = len(engine.calls)

    outcome = await chat.react("lobby", "Ana", "m1", "🇬🇧")

    assert outcome.actions == []
    assert len(engine.calls) == calls


# --- Commands ---------------------------------------------------------------------------------

ADMIN_COMMANDS = [
    ("channel languages", {"languages": "en es"}),
    ("channel off", {}),
    ("link create", {"channels": "a:en b:es"}),
    ("link remove", {}),
    ("bots allow", {"user": "<@42>"}),
    ("bots deny", {"user": "<@42>"}),
    ("engine set", {"engines": "fake"}),
    ("formality set", {"formality": "more"}),
    ("budget set", {"characters": "10"}),
    ("usage", {}),
    ("glossary add", {"source": "en", "target": "es", "term": "a", "translation": "b"}),
    ("glossary remove", {"source": "en", "target": "es", "term": "a"}),
]


@pytest.mark.parametrize("name, options", ADMIN_COMMANDS, ids=[c[0] for c in ADMIN_COMMANDS])
async def test_admin_command_rejects_member(
    parley: Parley, store: Store, name: str, options: dict[str, str]
) -> None:
    chat = Chat(parley)

    (reply,) = await chat.command("a", name, author=MEMBER, **options)

    assert reply.text == i18n.t("error.admin_only", "en", name=name)
    assert await store.channel_config(chat.place("a")) is None


@pytest.mark.parametrize(
    "channels",
    [
        "a*:en b:es",
        "a:b:en c:es",
        "ｃｈａｔ:en b:es",
        "a\u200b:en b:es",
        "a:en\nb:es c",
        "{a}:en b:es",
        "a:en a:en",
    ],
)
async def test_link_create_rejects_hostile_names(
    parley: Parley, store: Store, channels: str
) -> None:
    chat = Chat(parley)

    (reply,) = await chat.command("a", "link create", channels=channels)

    assert "Reference:" not in reply.text
    assert not reply.text.startswith("Linked:")
    assert await store.channel_config(chat.place("b")) is None


async def test_link_create_rejects_huge_channel(parley: Parley) -> None:
    chat = Chat(parley)

    replies = await chat.command("a", "link create", channels="x" * 5_000 + ":en b:es")

    assert len(replies) == 1
    assert not replies[0].text.startswith("Linked:")


async def test_channel_languages_caps_count(parley: Parley) -> None:
    chat = Chat(parley)
    everything = " ".join(sorted(SUPPORTED))

    (reply,) = await chat.command("lobby", "channel languages", languages=everything)

    assert not reply.text.startswith("This channel is now multilingual"), (
        f"one message would be posted {len(SUPPORTED) - 1} times"
    )


@pytest.mark.parametrize(
    "options",
    [
        {"languages": "ｅｎ ｅｓ"},
        {"languages": "en\u200b es"},
        {"languages": "en\x00 es"},
        {"languages": "xx" * 50_000},
        {"languages": "en es", "style": "thread\n" * 10_000},
    ],
)
async def test_channel_languages_bad_values(
    parley: Parley, store: Store, options: dict[str, str]
) -> None:
    chat = Chat(parley)

    replies = await chat.command("lobby", "channel languages", author=ADMIN, **options)

    assert len(replies) == 1
    assert len(replies[0].text) < 300
    assert await store.channel_config(chat.place("lobby")) is None


async def test_command_failure_hides_traceback(parley: Parley) -> None:
    chat = Chat(parley)

    (reply,) = await chat.command("lobby", "translate", author=MEMBER, message="\ud800")

    assert reply.text.startswith("Something went wrong on Parley's side. Reference: ")
    assert "Traceback" not in reply.text
    assert "surrogate" not in reply.text


async def test_glossary_digit_term_keeps_tokens(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.command(
        "chat-en", "glossary add", source="en", target="es", term="0", translation="cero"
    )

    await chat.say("chat-en", "Ben", f"<@123> {ENGLISH}", id="m1")

    (post,) = chat.posts("chat-es")
    assert post.text == f"[es] <@123> {ENGLISH}"


@pytest.mark.parametrize(
    "amount", ["²", "①", "9" * 5_000], ids=["superscript", "circled", "5000-digits"]
)
async def test_budget_rejects_odd_numbers(parley: Parley, amount: str) -> None:
    chat = Chat(parley)

    (reply,) = await chat.command("lobby", "budget set", characters=amount)

    assert "Reference:" not in reply.text


# --- Redis key injection: keys join ids with ":" ----------------------------------------------


@pytest.mark.parametrize("field", ["space", "channel", "thread"])
def test_colon_ids_rejected(field: str) -> None:
    ids = {"platform": "discord", "space": "s1", "channel": "c1", "thread": None}
    ids[field] = "x:y"

    with pytest.raises(ValueError):
        Place(**ids)  # type: ignore[arg-type]


def test_transcript_colon_id_rejected() -> None:
    line = '{"type": "message", "channel": "x:y", "user": "u", "id": "m", "text": "hola"}'

    with pytest.raises(TranscriptError) as raised:
        parse(line)

    assert "contain no ':'" in str(raised.value)


@pytest.mark.parametrize("channel", ["*", "a\nb", "a b", "#", "\x00"])
async def test_odd_channel_ids_isolated(parley: Parley, channel: str) -> None:
    chat = Chat(parley)
    await chat.command(channel, "channel languages", languages="en es")

    inside = await chat.say(channel, "Ben", ENGLISH, id="m1")
    outside = await chat.say("plain", "Ben", ENGLISH, id="m2")

    assert [action.channel for action in inside.actions] == [channel]
    assert outside.actions == []


# --- Replay transcripts -----------------------------------------------------------------------


def parse(line: str) -> Event:
    return parse_line(line, default_event_id="e1")


def test_transcript_deep_nesting_rejected() -> None:
    with pytest.raises(TranscriptError):
        parse("[" * 100_000 + "]" * 100_000)


def test_transcript_lone_surrogate_rejected() -> None:
    line = '{"type": "message", "channel": "c", "user": "u", "id": "m", "text": "a \\ud800 b"}'

    with pytest.raises(TranscriptError):
        parse(line)


@pytest.mark.parametrize("field", ["admin", "bot", "webhook"])
def test_transcript_string_false_not_true(field: str) -> None:
    line = json.dumps(
        {"type": "message", "channel": "c", "user": "u", "id": "m", "text": "hi", field: "false"}
    )

    try:
        event = parse(line)
    except TranscriptError:
        return
    assert isinstance(event, MessageCreated)
    assert event.author.is_admin is False
    assert event.author.is_bot is False
    assert event.is_webhook is False


def test_transcript_random_values_never_crash() -> None:
    rng = random.Random(11)
    values: list[object] = [
        None,
        True,
        False,
        0,
        -1,
        1.5,
        1e308,
        "",
        "x",
        "m1",
        "\u0000",
        "a:b",
        [],
        ["a"],
        {},
        {"a": 1},
        "😀" * 3,
        "<@1>",
    ]
    fields = [
        "type",
        "channel",
        "user",
        "id",
        "text",
        "thread",
        "reply_to",
        "event_id",
        "platform",
        "space",
        "name",
        "emoji",
        "command",
        "options",
        "locale",
        "admin",
    ]
    for _ in range(3000):
        data = {field: rng.choice(values) for field in rng.sample(fields, rng.randint(0, 9))}
        if rng.random() < 0.7:
            data["type"] = rng.choice(["message", "edit", "delete", "reaction", "command"])
        line = json.dumps(data)
        try:
            parse(line)
        except TranscriptError:
            pass


async def test_replay_continues_after_bad_event(parley: Parley, store: Store) -> None:
    lines = [
        json.dumps(
            {
                "type": "command",
                "channel": "a",
                "user": "u1",
                "admin": True,
                "command": "link create",
                "options": {"channels": "a:en b:es"},
            }
        ),
        '{"type": "message", "channel": "a", "user": "u2", "id": "m1", "text": "x \\ud800"}',
        json.dumps({"type": "message", "channel": "a", "user": "u2", "id": "m2", "text": ENGLISH}),
    ]
    errors = io.StringIO()

    result = await replay(lines, parley, store, out=None, errors=errors)

    assert result.record.channel("discord", "demo", "b") != []
    assert "line 2" in errors.getvalue()


async def test_replay_keeps_null_bytes(parley: Parley, store: Store) -> None:
    lines = [
        json.dumps(
            {
                "type": "command",
                "channel": "a",
                "user": "u1",
                "admin": True,
                "command": "link create",
                "options": {"channels": "a:en b:es"},
            }
        ),
        json.dumps(
            {
                "type": "message",
                "channel": "a",
                "user": "u2",
                "id": "m1",
                "text": f"{ENGLISH} \u0000 `x\u0000y`",
            }
        ),
    ]

    result = await replay(lines, parley, store, out=None, errors=io.StringIO())

    (copy,) = result.record.channel("discord", "demo", "b")
    assert "`x\u0000y`" in copy.text
    assert result.errors == []


def test_transcript_error_no_repeated_word() -> None:
    line = '{"type": "message", "text": "a\u0001b"}'

    with pytest.raises(TranscriptError) as raised:
        parse(line)

    assert "at at" not in str(raised.value)


async def test_transcript_admin_defaults_false(parley: Parley) -> None:
    chat = Chat(parley)
    line = json.dumps(
        {
            "type": "command",
            "channel": "a",
            "user": "u9",
            "command": "channel languages",
            "options": {"languages": "en es"},
        }
    )

    event = parse(line)
    outcome = await parley.handle(event, chat.sender)

    assert outcome.actions[0].text == i18n.t("error.admin_only", "en", name="channel languages")
