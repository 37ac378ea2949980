from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.errors import TokenMismatchError
from bot.core.tokens import (
    ProtectedText,
    atomic_tokens,
    is_translatable,
    placeholder,
    protect,
    restore,
)

# (text, a token that `protect` must keep whole)
TOKEN_CASES = [
    ("see ```py\nprint('https://x.y')\n``` ok", "```py\nprint('https://x.y')\n```"),
    ("unterminated ```py\nx = 1\ny = 2", "```py\nx = 1\ny = 2"),
    ("run `pip install parley` now", "`pip install parley`"),
    ("run ``a ` b`` now", "``a ` b``"),
    ("hi <@123456789> there", "<@123456789>"),
    ("hi <@!123456789> there", "<@!123456789>"),
    ("ask <@&42> now", "<@&42>"),
    ("go to <#987> now", "<#987>"),
    ("try </link create:1234> now", "</link create:1234>"),
    ("nice <:party:112233> one", "<:party:112233>"),
    ("nice <a:dance:445566> one", "<a:dance:445566>"),
    ("starts <t:1700000000> ok", "<t:1700000000>"),
    ("starts <t:1700000000:R> ok", "<t:1700000000:R>"),
    ("the end ||he was the ghost|| wow", "||he was the ghost||"),
    ("hey @everyone look", "@everyone"),
    ("hey @here look", "@here"),
    ("hi <@U123ABC> there", "<@U123ABC>"),
    ("hi <@U123|bob> there", "<@U123|bob>"),
    ("join <#C123|general> now", "<#C123|general>"),
    ("ping <!here> now", "<!here>"),
    ("ping <!channel> now", "<!channel>"),
    ("ping <!everyone> now", "<!everyone>"),
    ("ask <!subteam^S123|@team> now", "<!subteam^S123|@team>"),
    (
        "posted <!date^1392734382^{date_short}|Feb 18, 2014> ok",
        "<!date^1392734382^{date_short}|Feb 18, 2014>",
    ),
    ("read <https://x.y/docs|the docs> now", "<https://x.y/docs|the docs>"),
    ("read <https://x.y/docs> now", "<https://x.y/docs>"),
    ("mail <mailto:a@b.co|a@b.co> now", "<mailto:a@b.co|a@b.co>"),
    ("Tom &amp; Jerry", "&amp;"),
    ("read https://example.com/a?b=1&c=2 now", "https://example.com/a?b=1&c=2"),
    ("get ftp://files.example.com/x.zip now", "ftp://files.example.com/x.zip"),
    ("visit www.example.com today", "www.example.com"),
    ("write to john.doe+chat@example.co.uk today", "john.doe+chat@example.co.uk"),
    ("party :tada: time", ":tada:"),
    ("agreed :+1: yes", ":+1:"),
    ("olé :flag-es: olé", ":flag-es:"),
    ("wave :wave::skin-tone-2: hi", ":wave::skin-tone-2:"),
    ("party 🎉 time", "🎉"),
    ("family 👨\u200d👩\u200d👧 time", "👨\u200d👩\u200d👧"),
    ("thumbs 👍🏽 up", "👍🏽"),
    ("flags 🇪🇸🇫🇷 here", "🇪🇸🇫🇷"),
    ("pick 1\ufe0f\u20e3 now", "1\ufe0f\u20e3"),
    ("love ❤\ufe0f you", "❤\ufe0f"),
    ("many 🎉🎊✨ here", "🎉🎊✨"),
    (
        "england 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f yes",
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    ),
    ("literal \\*stars\\* here", "\\*"),
    ("a ⟦0⟧ in the text", "⟦0⟧"),
    ("a lone ⟦ bracket", "⟦"),
    ("line one\nline two", "\n"),
    ("**bold** word", "**"),
    ("- item one", "- "),
    ("# Heading", "# "),
    ("> quoted words", "> "),
]


@pytest.mark.parametrize(("text", "token"), TOKEN_CASES)
def test_protect_round_trip(text: str, token: str) -> None:
    protected = protect(text)
    assert restore(protected.text, protected) == text


@pytest.mark.parametrize(("text", "token"), TOKEN_CASES)
def test_protect_keeps_token_whole(text: str, token: str) -> None:
    assert token in protect(text).tokens


@pytest.mark.parametrize(("text", "token"), TOKEN_CASES)
def test_protect_leaves_no_markup(text: str, token: str) -> None:
    protected = protect(text)
    between_placeholders = re.split("⟦[0-9]+⟧", protected.text)
    assert all(token not in piece for piece in between_placeholders)


def test_placeholder_format() -> None:
    assert placeholder(0) == "\u27e60\u27e7"
    assert placeholder(12) == "⟦12⟧"
    assert ProtectedText.placeholder(3) == "⟦3⟧"


def test_protect_numbers_in_order() -> None:
    protected = protect("hi <@1>, see https://x.y and `z`")
    assert protected.text == "hi ⟦0⟧, see ⟦1⟧ and ⟦2⟧"
    assert protected.tokens == ("<@1>", "https://x.y", "`z`")


def test_protect_plain_text_unchanged() -> None:
    protected = protect("Just a plain sentence, nothing else.")
    assert protected.text == "Just a plain sentence, nothing else."
    assert protected.tokens == ()


def test_protect_emphasis_markers_only() -> None:
    protected = protect("**hola** amigo")
    assert protected.text == "⟦0⟧hola⟦1⟧ amigo"
    assert protected.tokens == ("**", "**")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("__under__ line", "⟦0⟧under⟦1⟧ line"),
        ("~~gone~~ now", "⟦0⟧gone⟦1⟧ now"),
        ("*soft* voice", "⟦0⟧soft⟦1⟧ voice"),
        ("_soft_ voice", "⟦0⟧soft⟦1⟧ voice"),
        ("~strike~ it", "⟦0⟧strike⟦1⟧ it"),
        ("***both*** ways", "⟦0⟧both⟦1⟧ ways"),
        ("__*mixed*__ up", "⟦0⟧mixed⟦1⟧ up"),
        ("a **b** and *c* d", "a ⟦0⟧b⟦1⟧ and ⟦2⟧c⟦3⟧ d"),
        ("**two words** here", "⟦0⟧two words⟦1⟧ here"),
        ("## Sub heading", "⟦0⟧Sub heading"),
        ("-# small print", "⟦0⟧small print"),
        ("* star bullet", "⟦0⟧star bullet"),
        ("1. first step", "⟦0⟧first step"),
        (">>> long quote", "⟦0⟧long quote"),
        ("&gt; slack quote", "⟦0⟧slack quote"),
    ],
)
def test_protect_markdown_markers(text: str, expected: str) -> None:
    assert protect(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "my_var_name is set",
        "call snake_case_function now",
        "2*3*4 equals 24",
        "x*y and a * b * c",
        "meet at 10:30 today",
        "the score was 10:30:45",
        "a ratio of 1:2:3",
        "#hashtag is not a heading",
        "-5 degrees outside",
        "*not closed",
        "~5 minutes or ~10",
        "word_ and _word",
    ],
)
def test_protect_leaves_lookalikes(text: str) -> None:
    assert protect(text).text == text


def test_protect_emphasis_across_line_break() -> None:
    protected = protect("**two\nlines** done")
    assert protected.text == "⟦0⟧two⟦1⟧lines⟦2⟧ done"
    assert protected.tokens == ("**", "\n", "**")


def test_protect_emphasis_stops_at_paragraph() -> None:
    assert protect("*one\n\ntwo*").tokens == ("\n\n",)


def test_protect_emphasis_around_mention() -> None:
    assert protect("**<@1>** hi").tokens == ("**<@1>**",)


def test_protect_emphasis_ignores_url_underscores() -> None:
    assert protect("see https://x.y/a_b_c and _b_ c").tokens == ("https://x.y/a_b_c", "_", "_")


def test_protect_url_inside_fence_stays_inside() -> None:
    text = "```\nsee https://x.y and <@1>\n```"
    assert protect(text).tokens == (text,)


def test_protect_mention_inside_spoiler_stays_inside() -> None:
    assert protect("||<@1> did it||").tokens == ("||<@1> did it||",)


def test_protect_url_drops_sentence_punctuation() -> None:
    protected = protect("see https://x.y/a, https://x.y/b. and (https://x.y/c)")
    assert protected.tokens == ("https://x.y/a", "https://x.y/b", "https://x.y/c")


def test_protect_url_keeps_balanced_parentheses() -> None:
    protected = protect("see https://en.wikipedia.org/wiki/Rust_(language).")
    assert protected.tokens == ("https://en.wikipedia.org/wiki/Rust_(language)",)


def test_protect_bold_link() -> None:
    assert protect("**https://x.y**").tokens == ("**https://x.y**",)


def test_protect_discord_escapes() -> None:
    protected = protect("\\*not italic\\*")
    assert protected.text == "⟦0⟧not italic⟦1⟧"
    assert protected.tokens == ("\\*", "\\*")


def test_protect_merges_adjacent_tokens() -> None:
    protected = protect("hi <@1><@2> and 🎉<#3>")
    assert protected.tokens == ("<@1><@2>", "🎉<#3>")


def test_protect_line_break_carries_spaces() -> None:
    protected = protect("one  \n  two")
    assert protected.text == "one⟦0⟧two"
    assert protected.tokens == ("  \n  ",)


def test_protect_list_keeps_line_structure() -> None:
    protected = protect("Shopping:\n- apples\n- pears\n\nDone")
    assert protected.text == "Shopping:⟦0⟧apples⟦1⟧pears⟦2⟧Done"
    assert protected.tokens == ("\n- ", "\n- ", "\n\n")


def test_protect_literal_brackets_not_placeholders() -> None:
    protected = protect("my ⟦0⟧ and ⟦x")
    assert protected.text == "my ⟦0⟧ and ⟦1⟧x"
    assert protected.tokens == ("⟦0⟧", "⟦")


def test_atomic_tokens_kinds() -> None:
    spans = atomic_tokens("hi <@1> `x` https://x.y 🎉")
    assert [span.kind for span in spans] == ["discord", "code", "url", "emoji"]


def test_atomic_tokens_skip_markers() -> None:
    assert atomic_tokens("**bold**\n- item") == []


def test_restore_puts_tokens_back() -> None:
    protected = protect("Hey <@1>, see https://x.y")
    assert restore("Hola ⟦0⟧, mira ⟦1⟧", protected) == "Hola <@1>, mira https://x.y"


def test_restore_follows_moved_placeholders() -> None:
    protected = protect("<@1> thanks <@2>")
    assert restore("⟦1⟧ gracias ⟦0⟧", protected) == "<@2> gracias <@1>"


def test_restore_without_tokens() -> None:
    assert restore("Hola", protect("Hello")) == "Hola"


@pytest.mark.parametrize(
    "translated",
    [
        pytest.param("Hola ⟦0⟧ y", id="missing"),
        pytest.param("Hola ⟦0⟧ y ⟦0⟧ ⟦1⟧", id="duplicated"),
        pytest.param("Hola ⟦ 0⟧ y ⟦1⟧", id="space-inside"),
        pytest.param("Hola [0] y ⟦1⟧", id="ascii-brackets"),
        pytest.param("Hola ⟦0 y ⟦1⟧", id="unclosed"),
        pytest.param("Hola 0⟧ y ⟦1⟧", id="unopened"),
        pytest.param("Hola ⟦00⟧ y ⟦1⟧", id="leading-zero"),
        pytest.param("Hola ⟦０⟧ y ⟦1⟧", id="fullwidth-digit"),
        pytest.param("Hola ⟦0⟧ y ⟦1⟧ ⟦7⟧", id="unknown"),
        pytest.param("Hola", id="all-lost"),
    ],
)
def test_restore_rejects_mismatch(translated: str) -> None:
    protected = protect("Hi <@1> and <@2>")
    with pytest.raises(TokenMismatchError):
        restore(translated, protected)


def test_restore_error_names_problems() -> None:
    protected = protect("<@1> <@2> <@3>")
    with pytest.raises(TokenMismatchError) as caught:
        restore("⟦0⟧ ⟦0⟧ ⟦7⟧", protected)
    message = str(caught.value)
    assert "missing ⟦1⟧, ⟦2⟧" in message
    assert "repeated ⟦0⟧" in message
    assert "unknown ⟦7⟧" in message


def test_restore_error_quotes_damage() -> None:
    with pytest.raises(TokenMismatchError, match="damaged placeholder near 'Hola ⟦ 0⟧'"):
        restore("Hola ⟦ 0⟧", protect("Hi <@1>"))


@pytest.mark.parametrize(
    ("original", "translated", "expected"),
    [
        pytest.param(
            "Thanks <@1> it is done",
            "Gracias ⟦0⟧  está hecho",
            "Gracias <@1> está hecho",
            id="collapse-dropped-word",
        ),
        pytest.param("a <@1> b", "a   ⟦0⟧   b", "a <@1> b", id="collapse-both-sides"),
        pytest.param("Look <@1> now", "Mira⟦0⟧ahora", "Mira <@1> ahora", id="reinsert-lost"),
        pytest.param(
            "**hola** amigo", "⟦0⟧ hello ⟦1⟧ friend", "**hello** friend", id="emphasis-glued"
        ),
        pytest.param("great🎉 day", "genial ⟦0⟧ día", "genial🎉 día", id="emoji-glued"),
        pytest.param(
            "- apple\n- pear", "⟦0⟧ manzana ⟦1⟧ pera", "- manzana\n- pera", id="line-breaks"
        ),
        pytest.param("<@1> hi", " ⟦0⟧ hola", "<@1> hola", id="leading-edge"),
        pytest.param("hi <@1>", "⟦0⟧hola", "<@1> hola", id="moved-edge"),
        pytest.param("(<@1>)", "(  ⟦0⟧)", "( <@1>)", id="punctuation-run"),
        pytest.param("a <@1> <@2> b", "a ⟦0⟧    ⟦1⟧ b", "a <@1> <@2> b", id="between-tokens"),
        pytest.param("a  <@1>  b", "a  ⟦0⟧  b", "a  <@1>  b", id="original-double-space"),
        pytest.param("one\ntwo", "uno ⟦0⟧ dos", "uno\ndos", id="newline-token"),
    ],
)
def test_restore_fixes_spaces(original: str, translated: str, expected: str) -> None:
    assert restore(translated, protect(original)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("   \n\t ", False),
        ("🎉🎉", False),
        ("👍🏽 ❤️", False),
        (":tada: :+1:", False),
        ("https://example.com", False),
        ("<https://x.y|label>", False),
        ("`code`", False),
        ("```py\nprint('hello world')\n```", False),
        ("<@123> <#456>", False),
        ("@everyone", False),
        ("<@1> 10:30!!", False),
        ("42 + 7 = 49", False),
        ("... ?!", False),
        ("||spoiler words||", False),
        ("hello", True),
        ("<@1> thanks!", True),
        ("**wow**", True),
        ("こんにちは", True),
        ("🎉 party time", True),
    ],
)
def test_is_translatable(text: str, expected: bool) -> None:
    assert is_translatable(text) is expected


# --- Long hostile input ---------------------------------------------------------------------
# Each timed input below once took quadratic time. The bounds are loose, so they catch a
# return to quadratic time without flaking on a busy machine.


def seconds_to_run(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


@pytest.mark.parametrize("run", [" ", "\t"], ids=["spaces", "tabs"])
def test_protect_whitespace_run_fast(run: str) -> None:
    text = "a" + run * 40_000 + "b"

    assert seconds_to_run(lambda: protect(text)) < 0.5
    assert protect(text).tokens == ()


def test_protect_line_break_after_long_run() -> None:
    text = "a" + " " * 5_000 + "b   \n  c"

    protected = protect(text)

    assert protected.tokens == ("   \n  ",)
    assert restore(protected.text, protected) == text


def test_restore_whitespace_run_fast() -> None:
    protected = ProtectedText("a" + " " * 40_000 + "b ⟦0⟧", ("`code`",))

    assert seconds_to_run(lambda: restore(protected.text, protected)) < 0.5
    assert restore(protected.text, protected).endswith("b `code`")


def test_restore_keeps_long_space_run() -> None:
    protected = protect("a" + " " * 3_000 + "<@1> b")

    assert restore(protected.text, protected) == "a" + " " * 3_000 + "<@1> b"


def test_restore_many_tokens_fast() -> None:
    text = "a `b` " * 7_000
    protected = protect(text)

    assert len(protected.tokens) == 7_000
    assert seconds_to_run(lambda: restore(protected.text, protected)) < 0.5
    assert restore(protected.text, protected) == text


def test_url_closing_parens_fast() -> None:
    text = "see http://a" + ")" * 40_000

    assert seconds_to_run(lambda: atomic_tokens(text)) < 0.5
    assert [(span.start, span.end) for span in atomic_tokens(text)] == [(4, 12)]


def test_url_trim_mixed_brackets() -> None:
    protected = protect("see https://x.y/(a)[b]]).;) now")

    assert protected.tokens == ("https://x.y/(a)[b]",)


APERTIUM = Path("/usr/bin/apertium")
ENG_SPA_MODE = Path("/usr/share/apertium/modes/eng-spa.mode")


@pytest.mark.skipif(not APERTIUM.exists(), reason="apertium is not installed")
@pytest.mark.skipif(not ENG_SPA_MODE.exists(), reason="apertium eng-spa pair is not installed")
@pytest.mark.parametrize(
    "text",
    [
        "Hey <@123456789>, read https://example.com/docs and run `pip install parley` today 🎉",
        "**Welcome** to the server!\n- read the rules\n- say hello in <#42>\n\n> be kind :heart:",
        "Thanks <@1> it is done, see <https://x.y|the docs> and email bob@example.com 👍🏽",
    ],
)
def test_restore_after_apertium(text: str) -> None:
    protected = protect(text)
    result = subprocess.run(
        [str(APERTIUM), "-u", "eng-spa"],
        input=protected.text,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    restored = restore(result.stdout, protected)
    for token in protected.tokens:
        assert token in restored
    assert restored.count("\n") == text.count("\n")
