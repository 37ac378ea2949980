"""Markup conversion between Discord markdown and Slack mrkdwn, unit cases and one relay."""

from __future__ import annotations

import time

import pytest

from bot.core.conversation import Parley
from bot.core.markup import convert_markup
from tests.core.test_bridge import bridged

SLACK_TO_DISCORD = [
    ("*bold*", "**bold**"),
    ("_italic_", "_italic_"),
    ("~strike~", "~~strike~~"),
    ("*_both_*", "**_both_**"),
    ("<https://x.com/a|label>", "[label](https://x.com/a)"),
    ("<https://x.com/a>", "https://x.com/a"),
    ("<https://x.com/a|https://x.com/a>", "https://x.com/a"),
    ("<https://x.com/a_(b)|go>", "[go](https://x.com/a_%28b%29)"),
    ("<mailto:a@b.co|a@b.co>", "a@b.co"),
    ("<@U123>", "@user"),
    ("<@U123|ann>", "@ann"),
    ("<#C123|general>", "#general"),
    ("<#C123>", "#channel"),
    ("<!here>", "@here"),
    ("<!channel>", "@channel"),
    ("<!everyone>", "@everyone"),
    ("<!subteam^S1|@design>", "@design"),
    ("a &amp; b &gt; c", "a & b > c"),
    ("&lt;@123&gt;", "\\<@123>"),
    ("`*code* &lt;`", "`*code* <`"),
    ("```\n*block*\n```", "```\n*block*\n```"),
    ("2*3 and 4*5", "2\\*3 and 4\\*5"),
    ("snake_case", "snake_case"),
    ("plain text", "plain text"),
]

DISCORD_TO_SLACK = [
    ("**bold**", "*bold*"),
    ("*italic*", "_italic_"),
    ("_italic_", "_italic_"),
    ("***both***", "*_both_*"),
    ("~~strike~~", "~strike~"),
    ("__underline__", "underline"),
    ("||secret words||", "[spoiler]"),
    ("||<@123> and `code`||", "[spoiler]"),
    ("[label](https://x.com/a)", "<https://x.com/a|label>"),
    ("[label](<https://x.com/a>)", "<https://x.com/a|label>"),
    ("[https://x.com](https://x.com)", "<https://x.com>"),
    ("<https://x.com/a>", "<https://x.com/a>"),
    ("https://x.com/?a=1&b=2.", "https://x.com/?a=1&amp;b=2."),
    ("<@123>", "@user"),
    ("<@!123>", "@user"),
    ("<@&1>", "@role"),
    ("<#123>", "#channel"),
    ("<:party:123>", ":party:"),
    ("<a:dance:1>", ":dance:"),
    ("<t:1700000000:R>", "2023-11-14 22:13 UTC"),
    ("<t:1700000000>", "2023-11-14 22:13 UTC"),
    ("<t:1700000000:d>", "2023-11-14"),
    ("<t:99999999999999999999>", "99999999999999999999"),
    ("@everyone @here", "@everyone @here"),
    ("<!here>", "&lt;!here&gt;"),
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("`**code** <`", "`**code** &lt;`"),
    ("```\n**block**\n```", "```\n**block**\n```"),
    ("\\*literal\\*", "\\*literal\\*"),
    ("\\<", "&lt;"),
    ("plain text", "plain text"),
]

MALFORMED = [
    "*",
    "**",
    "***",
    "_",
    "~~~",
    "||",
    "|||",
    "`",
    "```",
    "<",
    ">",
    "<@",
    "<https://x.com|",
    "[label](",
    "&amp",
    "\ue000",
    "\ue0000\ue001",
    "*unclosed _mixed ~stuff",
]


@pytest.mark.parametrize(("text", "expected"), SLACK_TO_DISCORD)
def test_slack_to_discord(text: str, expected: str) -> None:
    assert convert_markup(text, "slack", "discord") == expected


@pytest.mark.parametrize(("text", "expected"), DISCORD_TO_SLACK)
def test_discord_to_slack(text: str, expected: str) -> None:
    assert convert_markup(text, "discord", "slack") == expected


@pytest.mark.parametrize("platform", ["discord", "slack"])
def test_same_platform_unchanged(platform: str) -> None:
    text = "*a* **b** <@U1> <@1> &amp; ||s||"
    assert convert_markup(text, platform, platform) == text


def test_unknown_platform_raises() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        convert_markup("x", "discord", "irc")


@pytest.mark.parametrize("text", MALFORMED)
@pytest.mark.parametrize(("source", "target"), [("slack", "discord"), ("discord", "slack")])
def test_malformed_input_survives(text: str, source: str, target: str) -> None:
    converted = convert_markup(text, source, target)
    assert isinstance(converted, str)


def test_forged_placeholder_kept() -> None:
    forged = "\ue0000\ue001 *x*"
    assert convert_markup(forged, "slack", "discord") == "\ue0000\ue001 **x**"
    assert convert_markup(forged, "discord", "slack") == "\ue0000\ue001 _x_"


def test_no_live_mentions_left() -> None:
    slack = convert_markup("<@U1> <#C1> <!here> <!channel>", "slack", "discord")
    discord = convert_markup("<@1> <@&2> <#3> <!here>", "discord", "slack")
    assert "<@" not in slack
    assert "<#" not in slack
    assert "<@" not in discord
    assert "<#" not in discord
    assert "<!" not in discord


ADVERSARIAL = [
    "*" * 50_000,
    "_" * 50_000,
    "~" * 50_000,
    "|" * 50_000,
    "`" * 50_000,
    "<" * 50_000,
    "&" * 50_000,
    "[" * 25_000 + "]" * 25_000,
    "*a " * 16_667,
    "**a " * 12_500,
    "||a" * 16_667,
    "[a](" * 12_500,
    "<@U1|" * 10_000,
    "<https://x" * 5_000,
    "`a\n\n" * 10_000,
    "https://x.com/" + "(" * 49_986,
    "a" * 50_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
@pytest.mark.parametrize(("source", "target"), [("slack", "discord"), ("discord", "slack")])
def test_long_input_is_fast(text: str, source: str, target: str) -> None:
    started = time.perf_counter()
    convert_markup(text, source, target)
    assert time.perf_counter() - started < 0.5


async def test_bridge_converts_markup(parley: Parley) -> None:
    discord, slack = await bridged(parley)

    await slack.say("C42", "Ben", "We meet *today*, see <https://x.com/plan|the plan>.", id="1.1")
    await discord.say("general-es", "Ana", "Vale, **perfecto** <@123>, nos vemos.", id="d1")

    posts = discord.posts()
    to_discord = [post.text for post in posts if post.platform == "discord"]
    to_slack = [post.text for post in posts if post.platform == "slack"]
    assert to_discord == ["[es] We meet **today**, see [the plan](https://x.com/plan)."]
    assert to_slack == ["[en] Vale, *perfecto* @user, nos vemos."]
