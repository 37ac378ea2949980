"""Conversion of chat markup between Discord markdown and Slack mrkdwn for relayed copies.

`convert_markup` works in three passes. Atoms (code, mentions, links, URLs, entities, escapes)
are swapped for private-use placeholders, so formatting rules never look inside them. Then the
emphasis markers are rewritten with regexes whose every quantifier stops at the next marker or
line break, which keeps the work linear in the length of the text. Last, each placeholder is
replaced by its atom rendered for the target platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

DISCORD = "discord"
SLACK = "slack"

# Placeholders are built from private-use characters. Input that already contains them is
# protected as an atom of its own, so a user cannot forge a placeholder.
_OPEN = "\ue000"
_CLOSE = "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}([0-9]+){_CLOSE}")
# Markers produced by the emphasis pass. They stand in for the target's markers until the end,
# so the pass that escapes stray source characters cannot touch them.
_BOLD = "\ue002"
_ITALIC = "\ue003"
_STRIKE = "\ue004"
_RESERVED = f"[{_OPEN}{_CLOSE}{_BOLD}{_ITALIC}{_STRIKE}]"

# Code is copied byte for byte in both directions. An unterminated fence runs to the end of the
# text, and inline code may not cross a blank line, as in tokens.py.
_FENCE = r"```[\s\S]*?(?:```|\Z)"
_INLINE_CODE = r"``(?:[^`\n]|`(?!`)|\n(?![^\S\n]*\n))+``|`(?:[^`\n]|\n(?![^\S\n]*\n))+`"
_URL = r"(?<!\w)(?:https?|ftp)://[^\s<>]+"
# Characters a bare URL rarely ends with: sentence punctuation and markdown closers.
_URL_TRAILING = ".,;:!?'\"*_~|)"

_SLACK_ATOMS = re.compile(
    "|".join(
        (
            f"(?P<fence>{_FENCE})",
            f"(?P<code>{_INLINE_CODE})",
            r"(?P<user><@[A-Z0-9]+(?:\|(?P<user_label>[^<>]*))?>)",
            r"(?P<channel><#[A-Z0-9]+(?:\|(?P<channel_label>[^<>]*))?>)",
            r"(?P<special><!(?P<special_name>[^<>|]+)(?:\|(?P<special_label>[^<>]*))?>)",
            r"(?P<link><(?P<link_url>[a-z][a-z0-9+.-]*:[^<>\s|]+)(?:\|(?P<link_label>[^<>]*))?>)",
            r"(?P<entity>&(?:amp|lt|gt);)",
            f"(?P<url>{_URL})",
            # Slack escapes "<" and ">" in plain text, so a raw one is malformed input.
            r"(?P<angle>[<>])",
            f"(?P<reserved>{_RESERVED})",
        )
    )
)

_DISCORD_ATOMS = re.compile(
    "|".join(
        (
            f"(?P<fence>{_FENCE})",
            f"(?P<code>{_INLINE_CODE})",
            # A spoiler is one atom, so nothing inside it is ever converted or shown.
            r"(?P<spoiler>\|\|(?:[^|]|\|(?!\|))+\|\|)",
            r"(?P<escape>\\[^\w\s])",
            r"(?P<user><@!?[0-9]+>)",
            r"(?P<role><@&[0-9]+>)",
            r"(?P<channel><#[0-9]+>)",
            r"(?P<emoji><a?:(?P<emoji_name>\w+):[0-9]+>)",
            r"(?P<timestamp><t:(?P<seconds>-?[0-9]+)(?::(?P<style>[tTdDfFR]))?>)",
            r"(?P<command></(?P<command_name>[\w -]+):[0-9]+>)",
            r"(?P<guide><id:(?P<guide_name>\w+)>)",
            r"(?P<link>\[(?P<link_label>[^\[\]\n]*)\]"
            r"\(<?(?P<link_url>(?:https?|ftp)://[^\s()<>]+)>?\))",
            r"(?P<bracketed><(?P<bracketed_url>(?:https?|ftp)://[^\s<>]+)>)",
            f"(?P<url>{_URL})",
            f"(?P<reserved>{_RESERVED})",
        )
    )
)

# Emphasis in Slack mrkdwn: one marker on each side, not inside a word, content on one line
# that neither starts nor ends with a space. `[^X\n]*?[^\sX]` stops at the first marker X, so
# each attempt scans at most to the next marker.
_SLACK_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]*?[^\s*])\*(?![\w*])")
_SLACK_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]*?[^\s_])_(?![\w_])")
_SLACK_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]*?[^\s~])~(?![\w~])")

# Emphasis in Discord markdown, longest marker first. Discord lets "*" work inside a word,
# and "_" only at word boundaries.
# NOTE: emphasis spanning a line break is valid on Discord but left unconverted here, because
# Slack emphasis cannot span lines.
_DISCORD_BOLD_ITALIC = re.compile(r"\*\*\*(?!\s)([^*\n]*?[^\s*])\*\*\*")
_DISCORD_BOLD = re.compile(r"\*\*(?!\s)([^*\n]*?[^\s*])\*\*")
_DISCORD_ITALIC_STAR = re.compile(r"\*(?![\s*])([^*\n]*?[^\s*])\*")
_DISCORD_UNDERLINE = re.compile(r"__(?!\s)([^_\n]*?[^\s_])__")
_DISCORD_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?![\s_])([^_\n]*?[^\s_])_(?![\w_])")
_DISCORD_STRIKE = re.compile(r"~~(?!\s)([^~\n]*?[^\s~])~~")

# Characters Discord reads as markup when they come from Slack text that used them literally.
# "_" inside a word (snake_case, :thumbs_up:) is left alone because Discord ignores it there.
_DISCORD_STRAY = re.compile(r"[*~|\\]|(?<!\w)_|_(?!\w)")

_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SLACK_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}


def convert_markup(text: str, source: str, target: str) -> str:
    """Rewrite `text` written on platform `source` so that it reads the same on `target`.

    Platforms are "discord" and "slack", and text for the same platform is returned as it is.
    Mentions from the other platform become plain text that cannot ping, and Discord spoilers
    become "[spoiler]" so that hidden text stays hidden. Code is not converted.
    """
    if source == target:
        return text
    if (source, target) == (SLACK, DISCORD):
        return _slack_to_discord(text)
    if (source, target) == (DISCORD, SLACK):
        return _discord_to_slack(text)
    raise ValueError(f"unsupported markup conversion {source!r} -> {target!r}")


def _protect(
    text: str, atoms: re.Pattern[str], render: Callable[[re.Match[str]], str]
) -> tuple[str, list[str]]:
    """Swap each atom for a placeholder and return the text with the rendered atoms."""
    rendered: list[str] = []

    def swap(match: re.Match[str]) -> str:
        rendered.append(render(match))
        return f"{_OPEN}{len(rendered) - 1}{_CLOSE}"

    return atoms.sub(swap, text), rendered


def _restore(text: str, rendered: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda match: rendered[int(match.group(1))], text)


def _trim_url(url: str) -> tuple[str, str]:
    """Split trailing punctuation off a bare URL: "see https://x." links only "https://x"."""
    trimmed = url.rstrip(_URL_TRAILING)
    # A closing parenthesis belongs to the URL when the URL opened one (Wikipedia links).
    while url[len(trimmed) :].startswith(")") and trimmed.count("(") > trimmed.count(")"):
        trimmed += ")"
    return trimmed, url[len(trimmed) :]


# --- Slack to Discord -----------------------------------------------------------------------


def _slack_to_discord(text: str) -> str:
    protected, rendered = _protect(text, _SLACK_ATOMS, _render_slack_atom)
    protected = _SLACK_BOLD.sub(lambda m: f"{_BOLD}{m.group(1)}{_BOLD}", protected)
    protected = _SLACK_ITALIC.sub(lambda m: f"{_ITALIC}{m.group(1)}{_ITALIC}", protected)
    protected = _SLACK_STRIKE.sub(lambda m: f"{_STRIKE}{m.group(1)}{_STRIKE}", protected)
    protected = _DISCORD_STRAY.sub(lambda m: "\\" + m.group(), protected)
    protected = protected.replace(_BOLD, "**").replace(_ITALIC, "_").replace(_STRIKE, "~~")
    return _restore(protected, rendered)


def _decode_slack(text: str) -> str:
    """Decode Slack's three HTML entities, for text Discord shows without markup (code)."""
    return re.sub(r"&(?:amp|lt|gt);", lambda m: _SLACK_ENTITIES[m.group()], text)


def _render_slack_atom(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind in ("fence", "code"):
        # Slack escapes &, < and > even inside code, and Discord shows code verbatim.
        return _decode_slack(match.group())
    if kind == "user":
        return _plain_discord("@" + _slack_label(match.group("user_label"), "user"))
    if kind == "channel":
        return _plain_discord("#" + _slack_label(match.group("channel_label"), "channel"))
    if kind == "special":
        return _plain_discord(_slack_special(match.group("special_name"), match["special_label"]))
    if kind == "link":
        return _discord_link(match.group("link_url"), match.group("link_label"))
    if kind == "entity":
        # "\<" keeps "&lt;@123&gt;" from turning into a Discord mention once decoded.
        return {"&amp;": "&", "&lt;": "\\<", "&gt;": ">"}[match.group()]
    if kind == "url":
        url, rest = _trim_url(match.group())
        return url + _plain_discord(rest)
    if kind == "angle":
        return "\\" + match.group()
    # Private-use characters from the input are kept unchanged.
    return match.group()


def _slack_label(label: str | None, fallback: str) -> str:
    """Return a mention's label without Slack's optional leading sigil, or `fallback`."""
    if label is None:
        return fallback
    label = _decode_slack(label).lstrip("@#").strip()
    return label or fallback


def _slack_special(name: str, label: str | None) -> str:
    """Render <!here>, <!subteam^S1|@team>, <!date^…|fallback> and the like as plain text."""
    if name in ("here", "channel", "everyone"):
        return "@" + name
    if label is not None and label.strip():
        return _decode_slack(label).strip()
    if name.startswith("subteam^"):
        return "@group"
    return name.split("^", 1)[0]


def _plain_discord(text: str) -> str:
    """Escape text so that Discord shows it literally, never as markup or a mention."""
    return re.sub(r"[\\*_~|`<>\[\]()]", lambda m: "\\" + m.group(), text)


def _discord_link(url: str, label: str | None) -> str:
    url = _decode_slack(url)
    label = _decode_slack(label).strip() if label is not None else ""
    bare = url.split(":", 1)[1] if url.startswith(("mailto:", "tel:", "sms:")) else url
    if not label or label in (url, bare):
        return _plain_discord(bare) if bare != url else url
    if url.startswith(("http://", "https://")):
        # Parentheses and spaces would end Discord's link target early.
        target = quote(url, safe=":/?#@!$&'*+,;=%~[]-._")
        return f"[{_plain_discord(label)}]({target})"
    # Discord masks only web links, so other schemes keep their address visible.
    return f"{_plain_discord(label)} ({_plain_discord(bare)})"


# --- Discord to Slack -----------------------------------------------------------------------


def _discord_to_slack(text: str) -> str:
    protected, rendered = _protect(text, _DISCORD_ATOMS, _render_discord_atom)
    # "__underline__" has no Slack equivalent, so only the markers go.
    rules = (
        (_DISCORD_BOLD_ITALIC, f"{_BOLD}{_ITALIC}", f"{_ITALIC}{_BOLD}"),
        (_DISCORD_BOLD, _BOLD, _BOLD),
        (_DISCORD_ITALIC_STAR, _ITALIC, _ITALIC),
        (_DISCORD_UNDERLINE, "", ""),
        (_DISCORD_ITALIC_UNDERSCORE, _ITALIC, _ITALIC),
        (_DISCORD_STRIKE, _STRIKE, _STRIKE),
    )
    for pattern, opening, closing in rules:
        protected = pattern.sub(_wrap(opening, closing), protected)
    protected = _escape_slack(protected)
    protected = protected.replace(_BOLD, "*").replace(_ITALIC, "_").replace(_STRIKE, "~")
    return _restore(protected, rendered)


def _wrap(opening: str, closing: str) -> Callable[[re.Match[str]], str]:
    return lambda match: f"{opening}{match.group(1)}{closing}"


def _escape_slack(text: str) -> str:
    """Escape &, < and > as Slack requires in message text."""
    return re.sub(r"[&<>]", lambda m: _SLACK_ESCAPES[m.group()], text)


def _render_discord_atom(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind in ("fence", "code"):
        return _escape_slack(match.group())
    if kind == "spoiler":
        return "[spoiler]"
    if kind == "escape":
        character = match.group()[1]
        # NOTE: Slack has no escape character, so an escaped Slack marker keeps its backslash
        # rather than risk turning into formatting.
        return _escape_slack(match.group() if character in "*_~`" else character)
    simple = {"user": "@user", "role": "@role", "channel": "#channel"}
    if kind in simple:
        return simple[kind]
    if kind == "emoji":
        return f":{match.group('emoji_name')}:"
    if kind == "timestamp":
        return _iso_time(match)
    if kind == "command":
        return "/" + match.group("command_name")
    if kind == "guide":
        return match.group("guide_name")
    if kind == "link":
        return _slack_link(match.group("link_url"), match.group("link_label"))
    if kind == "bracketed":
        return _slack_link(match.group("bracketed_url"), None)
    if kind == "url":
        url, rest = _trim_url(match.group())
        return _escape_slack(url + rest)
    # Private-use characters from the input are kept unchanged.
    return match.group()


def _iso_time(match: re.Match[str]) -> str:
    """Render a Discord timestamp as ISO 8601 in UTC, because the reader's time zone is unknown."""
    try:
        moment = datetime.fromtimestamp(int(match.group("seconds")), UTC)
    except (OverflowError, OSError, ValueError):
        # Out of datetime's range: show the raw number instead of a wrong date.
        return match.group("seconds")
    if match.group("style") in ("d", "D"):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _slack_link(url: str, label: str | None) -> str:
    # "|" and ">" would end Slack's link early; "&" and "<" must be entities in Slack text.
    target = _escape_slack(url.replace("|", "%7C"))
    label = label.strip() if label is not None else ""
    if not label or label == url:
        return f"<{target}>"
    return f"<{target}|{_escape_slack(label)}>"
