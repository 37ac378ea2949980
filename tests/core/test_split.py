from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest

from bot.core.split import split_message
from bot.core.tokens import atomic_tokens, protect

WORDS = ["hello", "world", "translation", "bot", "parley", "language", "learning", "a", "is"]
TOKENS = [
    "<@123456789>",
    "<#987654321>",
    "<:party:112233>",
    "<a:dance:445566>",
    "https://example.com/path/to/page?q=1",
    "`inline code`",
    "``a ` b``",
    "🎉",
    "👨\u200d👩\u200d👧",
    ":tada:",
    "john@example.com",
    "||a hidden spoiler||",
    "<@U12AB|bob>",
    "<https://x.y/docs|the docs>",
    "<t:1700000000:R>",
    "**bold words**",
]
SEPARATORS = [" ", " ", " ", " ", ". ", "! ", "\n", "\n\n"]
SHORT_FENCE = "```py\nprint('hi')\nx = 1\n```"


def random_text(seed: int, length: int, *, fences: bool) -> str:
    """Build chat-like text from words, tokens and breaks, the same for the same seed."""
    rng = random.Random(seed)
    pieces: list[str] = []
    while sum(len(piece) for piece in pieces) < length:
        roll = rng.random()
        if fences and roll < 0.03:
            pieces.append("\n" + SHORT_FENCE + "\n")
        elif roll < 0.25:
            pieces.append(rng.choice(TOKENS))
        else:
            pieces.append(rng.choice(WORDS))
        pieces.append(rng.choice(SEPARATORS))
    return "".join(pieces).strip()


def content(text: str) -> str:
    """Return the non-whitespace characters of `text`, in order."""
    return "".join(text.split())


def without_fence_marks(text: str) -> str:
    """Drop fence markers and language tags, which a split adds when it reopens a long fence."""
    return re.sub(r"```[\w+#.-]*(?=\n)|```", "", text)


SEEDS = range(12)
LIMITS = [20, 37, 80, 200, 2000]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("limit", LIMITS)
def test_split_parts_within_limit(seed: int, limit: int) -> None:
    text = random_text(seed, 3000, fences=True)
    parts = split_message(text, limit)
    assert all(len(part) <= limit for part in parts)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("limit", LIMITS)
def test_split_preserves_content(seed: int, limit: int) -> None:
    text = random_text(seed, 3000, fences=False)
    parts = split_message(text, limit)
    assert content("".join(parts)) == content(text)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("limit", LIMITS)
def test_split_preserves_content_around_fences(seed: int, limit: int) -> None:
    text = random_text(seed, 3000, fences=True)
    parts = split_message(text, limit)
    assert content(without_fence_marks("\n".join(parts))) == content(without_fence_marks(text))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("limit", LIMITS)
def test_split_never_cuts_tokens(seed: int, limit: int) -> None:
    text = random_text(seed, 3000, fences=True)
    parts = split_message(text, limit)
    for span in atomic_tokens(text):
        token = text[span.start : span.end]
        if len(token) <= limit:
            assert any(token in part for part in parts), token


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("limit", LIMITS)
def test_split_balances_fences(seed: int, limit: int) -> None:
    text = random_text(seed, 3000, fences=True)
    parts = split_message(text, limit)
    assert all(part.count("```") % 2 == 0 for part in parts)


@pytest.mark.parametrize("seed", SEEDS)
def test_split_parts_have_no_blank_edges(seed: int) -> None:
    parts = split_message(random_text(seed, 3000, fences=True), 200)
    assert all(part == part.strip("\n") for part in parts)
    assert all(part.strip() for part in parts)


def test_split_short_text_unchanged() -> None:
    text = "\n  short text with trailing space  \n"
    assert split_message(text, 2000) == [text]


def test_split_exact_limit_unchanged() -> None:
    text = "x" * 2000
    assert split_message(text, 2000) == [text]


@pytest.mark.parametrize("limit", [-1, 0, 1, 19])
def test_split_rejects_small_limit(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 20"):
        split_message("hello", limit)


def test_split_prefers_paragraph_break() -> None:
    text = "First paragraph here.\n\nSecond line. More words\nthird line words here"
    assert split_message(text, 50) == [
        "First paragraph here.",
        "Second line. More words\nthird line words here",
    ]


def test_split_prefers_line_break() -> None:
    text = "One sentence. Two sentence\nthree four five six seven"
    assert split_message(text, 40) == ["One sentence. Two sentence", "three four five six seven"]


def test_split_prefers_sentence_end() -> None:
    text = "First sentence here! Second sentence goes on and on"
    assert split_message(text, 40) == ["First sentence here!", "Second sentence goes on and on"]


def test_split_sentence_end_after_quote() -> None:
    text = 'She said "go home." Then she left the room quietly'
    assert split_message(text, 40)[0] == 'She said "go home."'


def test_split_cjk_sentence_end() -> None:
    text = "今日は良い天気です。明日も晴れるでしょう。" * 3
    parts = split_message(text, 25)
    assert all(part.endswith("。") for part in parts)


def test_split_falls_back_to_whitespace() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    parts = split_message(text, 20)
    assert parts == ["alpha beta gamma", "delta epsilon zeta", "eta theta"]


def test_split_keeps_indentation_after_line_break() -> None:
    text = "- item one is here\n  - nested item here"
    assert split_message(text, 25) == ["- item one is here", "  - nested item here"]


def test_split_drops_blank_lines_between_parts() -> None:
    text = "First paragraph here.\n\n\n   \n\nSecond paragraph here."
    assert split_message(text, 30) == ["First paragraph here.", "Second paragraph here."]


@pytest.mark.parametrize(
    "token",
    [
        "https://x.co/a/b/c",
        "<@123456789012345678>",
        "<:party_parrot:123456789012>",
        "`some inline code here`",
        "||hidden words inside||",
    ],
)
def test_split_moves_token_whole(token: str) -> None:
    text = f"Some words before {token} and after"
    parts = split_message(text, 30)
    assert any(token in part for part in parts)


def test_split_moves_short_fence_whole() -> None:
    fence = "```py\nprint('a')\nprint('b')\n```"
    text = "Look at this code please " + fence + " done"
    parts = split_message(text, 40)
    assert parts[0] == "Look at this code please"
    assert parts[1].startswith(fence)


def test_split_reopens_long_fence() -> None:
    lines = [f"value_{i} = compute({i})  # step {i}" for i in range(30)]
    text = "```python\n" + "\n".join(lines) + "\n```"
    parts = split_message(text, 200)
    assert len(parts) > 1
    assert all(len(part) <= 200 for part in parts)
    assert all(part.startswith("```python\n") for part in parts)
    assert all(part.endswith("\n```") for part in parts)


def test_split_long_fence_keeps_lines() -> None:
    lines = [f"value_{i} = compute({i})  # step {i}" for i in range(30)]
    text = "```python\n" + "\n".join(lines) + "\n```"
    parts = split_message(text, 200)
    bodies = [part.removeprefix("```python\n").removesuffix("\n```") for part in parts]
    assert "\n".join(bodies).split("\n") == lines


def test_split_long_fence_after_intro() -> None:
    lines = [f"line {i} of the program" for i in range(20)]
    text = "Here is the script:\n```sh\n" + "\n".join(lines) + "\n```\nRun it twice."
    parts = split_message(text, 150)
    assert parts[0].startswith("Here is the script:\n```sh\n")
    assert all(part.count("```") == 2 for part in parts[:-1])
    assert parts[-1].endswith("```\nRun it twice.")


def test_split_long_fence_without_language() -> None:
    text = "```\n" + "\n".join(f"row {i}" for i in range(40)) + "\n```"
    parts = split_message(text, 60)
    assert all(part.startswith("```\nrow") for part in parts)
    assert all(part.endswith("\n```") for part in parts)


def test_split_unterminated_fence() -> None:
    text = "```js\n" + "\n".join(f"let v{i} = {i};" for i in range(40))
    parts = split_message(text, 100)
    assert all(part.startswith("```js\n") for part in parts)
    assert all(part.endswith("```") for part in parts[:-1])
    assert parts[-1].count("```") == 1


def test_split_fence_line_longer_than_limit() -> None:
    text = "```\n" + "z" * 100 + "\n```"
    parts = split_message(text, 40)
    assert all(len(part) <= 40 for part in parts)
    assert all(part.startswith("```\n") for part in parts)
    assert all(part.endswith("\n```") for part in parts)
    assert content(without_fence_marks("\n".join(parts))) == "z" * 100


def test_split_hard_cuts_absurd_url() -> None:
    url = "https://example.com/" + "x" * 100
    parts = split_message(f"see {url} ok", 40)
    assert all(len(part) <= 40 for part in parts)
    assert "".join(parts) == f"see{url}ok"


def test_split_hard_cuts_long_word() -> None:
    text = "a" * 50 + " end"
    parts = split_message(text, 20)
    assert all(len(part) <= 20 for part in parts)
    assert content("".join(parts)) == content(text)


def test_split_keeps_emoji_sequence_whole() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    text = "x" * 15 + family + "y" * 15
    parts = split_message(text, 20)
    assert any(family in part for part in parts)


def test_split_whitespace_only_text() -> None:
    assert split_message(" " * 50, 20) == []


def test_split_fence_reopens_without_long_tag() -> None:
    text = "```" + "x" * 1990 + "\n" + "y = 1\n" * 100 + "```"

    parts = split_message(text, 2000)

    assert len(parts) == 2
    assert all(len(part) <= 2000 for part in parts)
    assert parts[1].startswith("```\n")
    assert all(part.count("```") == 2 for part in parts)


def test_split_fence_drops_tag_crowding_small_limit() -> None:
    text = "```python\n" + "\n".join(f"v{i} = {i}" for i in range(20)) + "\n```"

    parts = split_message(text, 20)

    assert all(len(part) <= 20 for part in parts)
    assert parts[0].startswith("```python\n")
    assert all(part.startswith("```\n") for part in parts[1:])
    assert content(without_fence_marks("\n".join(parts))) == content(without_fence_marks(text))


def test_split_fence_mid_line_keeps_mention() -> None:
    # With 17-character repeats, the last cut with room for the closing fence is in a mention.
    text = "```\n" + "abc <@123456789> " * 10 + "\n```"

    parts = split_message(text, 40)

    assert all(len(part) <= 40 for part in parts)
    assert all(part.count("<@") == part.count("<@123456789>") for part in parts)
    assert sum(part.count("<@123456789>") for part in parts) == 10


@pytest.mark.parametrize("marker", ["`", "``", "||"], ids=["code", "double-code", "spoiler"])
def test_split_long_span_reopens(marker: str) -> None:
    text = "See " + marker + "word " * 100 + "end" + marker + " after"

    parts = split_message(text, 50)

    assert all(len(part) <= 50 for part in parts)
    assert len(parts) > 2
    assert parts[0].startswith("See " + marker)
    assert all(part.endswith(marker) for part in parts[:-1])
    assert all(part.startswith(marker) for part in parts[1:])
    assert parts[-1].endswith(marker + " after")
    assert all("```" not in part for part in parts)
    assert content("".join(parts).replace(marker, "")) == content(text.replace(marker, ""))


@pytest.mark.parametrize("marker", ["`", "||"], ids=["code", "spoiler"])
def test_split_long_span_keeps_mention_inside(marker: str) -> None:
    text = marker + "x" * 1990 + " <@123456789> " + "y" * 100 + marker

    parts = split_message(text, 2000)

    (with_mention,) = [part for part in parts if "<@" in part]
    assert "<@123456789>" in with_mention
    assert with_mention.startswith(marker)
    assert with_mention.endswith(marker)


def test_split_long_spoiler_balanced() -> None:
    text = "Ending: ||" + "the butler did it " * 150 + "||"

    parts = split_message(text, 2000)

    assert len(parts) == 2
    assert all(part.count("||") == 2 for part in parts)


def test_split_spoiler_with_pipes_not_glued() -> None:
    text = "||" + "a|b " * 40 + "||"

    parts = split_message(text, 30)

    assert len(parts) > 1
    assert all(len(part) <= 30 for part in parts)
    assert all("|||" not in part for part in parts)
    assert all(part.startswith("||") and part.endswith("||") for part in parts)


def test_split_spoiler_closed_around_huge_url() -> None:
    text = "||https://example.com/" + "x" * 100 + "||"

    parts = split_message(text, 40)

    assert all(len(part) <= 40 for part in parts)
    assert all(part.startswith("||") and part.endswith("||") for part in parts)


@pytest.mark.parametrize("mark", ["\u0301", "\U0001f3fd"], ids=["combining", "skin-tone"])
@pytest.mark.parametrize(("count", "expected_parts"), [(2_500, 2), (4_000, 3)])
def test_split_joining_run_part_count(mark: str, count: int, expected_parts: int) -> None:
    text = "a" + mark * count

    parts = split_message(text, 2000)

    assert len(parts) == expected_parts
    assert "".join(parts) == text


def test_split_joining_run_cuts_at_cluster() -> None:
    text = ("e" + "\u0301" * 9) * 10

    parts = split_message(text, 25)

    assert [len(part) for part in parts] == [20, 20, 20, 20, 20]
    assert all(part.startswith("e") for part in parts)


# --- Long hostile input ---------------------------------------------------------------------
# A run of terminal punctuation once took cubic time. The long message and the long containers
# check that scanning for breaks and nested tokens stays linear. The bounds are loose, so they
# do not flake on a busy machine.


def seconds_to_run(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


@pytest.mark.parametrize("mark", [".", "!", "…"])
def test_split_punctuation_run_fast(mark: str) -> None:
    text = mark * 40_000

    assert seconds_to_run(lambda: split_message(text, 2000)) < 0.5
    assert [len(part) for part in split_message(text, 2000)] == [2000] * 20


def test_split_huge_message_fast() -> None:
    text = "Hi <@123> see https://x.io/a `code` :tada: **bold** ok. " * 1_800

    assert seconds_to_run(lambda: split_message(protect(text).text, 2000)) < 1.0
    assert seconds_to_run(lambda: split_message(text, 2000)) < 0.5
    assert content("".join(split_message(text, 2000))) == content(text)


@pytest.mark.parametrize(
    "text",
    [
        "```py\n" + "x = 1\n" * 20_000 + "```",
        "||" + "word " * 20_000 + "||",
        "`" + "x" * 100_000 + "`",
    ],
    ids=["fence", "spoiler", "code"],
)
def test_split_huge_container_fast(text: str) -> None:
    assert seconds_to_run(lambda: split_message(text, 2000)) < 1.0
    assert all(len(part) <= 2000 for part in split_message(text, 2000))
