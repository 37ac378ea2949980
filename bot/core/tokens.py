"""Protected tokens: chat markup that must leave translation byte for byte.

`protect` swaps each token (code, mentions, links, emoji, markdown markers, line breaks) for a
numbered placeholder such as ``⟦0⟧``. `restore` puts the tokens back into the engine's output
and raises `TokenMismatchError` when a placeholder was lost, repeated, damaged or invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

from bot.core.errors import TokenMismatchError

PLACEHOLDER_OPEN = "\u27e6"  # ⟦ MATHEMATICAL LEFT WHITE SQUARE BRACKET
PLACEHOLDER_CLOSE = "\u27e7"  # ⟧ MATHEMATICAL RIGHT WHITE SQUARE BRACKET

# Leading zeros are rejected so that "⟦00⟧" counts as damage, not as placeholder 0.
_PLACEHOLDER = re.compile(f"{PLACEHOLDER_OPEN}(0|[1-9][0-9]*){PLACEHOLDER_CLOSE}")


def placeholder(index: int) -> str:
    """Return the placeholder that stands for token `index`, e.g. ``⟦3⟧``."""
    return f"{PLACEHOLDER_OPEN}{index}{PLACEHOLDER_CLOSE}"


@dataclass(frozen=True)
class ProtectedText:
    """Text with its tokens swapped for placeholders. `tokens[i]` is what ``⟦i⟧`` replaced."""

    text: str
    tokens: tuple[str, ...]

    @staticmethod
    def placeholder(index: int) -> str:
        return placeholder(index)


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """Span `text[start:end]` of one atomic token, with the name of its kind."""

    start: int
    end: int
    kind: str


# --- Atomic tokens --------------------------------------------------------------------------
# One regex per kind, tried in this order at each position. The scan takes the leftmost match,
# so an enclosing construct (a code fence, a spoiler) swallows any URL or mention inside it.

_FENCE = r"```[\s\S]*?(?:```|\Z)"  # an unterminated fence runs to the end of the text
# Inline code, like a CommonMark code span, may cross a line break but not a blank line.
_INLINE_CODE = r"``(?:[^`\n]|`(?!`)|\n(?![^\S\n]*\n))+``|`(?:[^`\n]|\n(?![^\S\n]*\n))+`"
# The whole spoiler is one token, so its words stay untranslated. Translating inside would let
# the engine move hidden words across the "||" markers and reveal them in the channel.
_SPOILER = r"\|\|(?:[^|]|\|(?!\|))+\|\|"
# Discord's backslash escape ("\*not italic\*") must stay attached to the character it escapes.
_ESCAPE = r"\\[^\w\s]"
_DISCORD = (
    r"<@[!&]?\d+>"  # user, nickname and role mentions
    r"|<#\d+>"  # channel
    r"|</[\w -]+:\d+>"  # slash command, with subcommand words
    r"|<a?:\w+:\d+>"  # custom emoji, animated or not
    r"|<t:-?\d+(?::[tTdDfFR])?>"  # timestamp with optional style
    r"|<id:\w+>"  # server guide links such as <id:customize>
)
_SLACK = (
    r"<@[A-Z][A-Z0-9]+(?:\|[^<>]*)?>"  # user, optionally with a label
    r"|<#[A-Z][A-Z0-9]+(?:\|[^<>]*)?>"  # channel
    r"|<![^<>|]+(?:\|[^<>]*)?>"  # <!here>, <!subteam^S1|@team>, <!date^…|fallback>
    r"|<(?:https?|ftp|mailto|tel|sms|slack):[^<>\s|]+(?:\|[^<>]*)?>"  # links, labelled or not
)
# Slack escapes &, < and > in message text as HTML entities, which engines would mangle.
_ENTITY = r"&(?:amp|lt|gt);"
_URL = r"(?<!\w)(?:https?|ftp)://[^\s<>]+|(?<![\w.])www\.[^\s<>]+"
_EMAIL = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_BROADCAST = r"(?<![\w@])@(?:everyone|here)(?!\w)"
# ":tada:", ":+1:", ":flag-es:". An all-digit name is excluded so that "10:30:45" stays text.
_SHORTCODE = r"(?<!\w):(?![0-9]+:)[\w+-]+:(?!\w)"

# Emoji without a Unicode database: Python's re has no \p{Extended_Pictographic}, so these
# ranges approximate it. They take in some non-emoji symbols (card suits, chess pieces, some
# dingbats), which is harmless because symbols carry no words to translate.
_EMOJI_BASE = (
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, regional indicators, etc.
    "\u2600-\u27bf"  # miscellaneous symbols and dingbats
    "\u231a\u231b\u2328\u23cf\u23e9-\u23f3\u23f8-\u23fa"
    "\u2194-\u2199\u21a9\u21aa\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55"
    "\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe"
    "\u203c\u2049\u2139\u24c2\u3030\u303d\u3297\u3299"
)
_EMOJI_ELEMENT = (
    f"(?:[{_EMOJI_BASE}]"
    r"|[\u00a9\u00ae\u2122](?=\ufe0f)"  # ©, ® and ™ are emoji only with the emoji selector
    r"|[0-9#*]\ufe0f?\u20e3)"  # keycaps
    # Variation selectors, skin tones and the tag characters of subdivision flags.
    r"[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]*"
)
# A run of adjacent emoji, joined or not by ZERO WIDTH JOINER, is one token.
_EMOJI = f"{_EMOJI_ELEMENT}(?:\u200d?{_EMOJI_ELEMENT})*"
# User text may contain the placeholder brackets. Protecting them keeps `restore` unambiguous.
_BRACKETS = PLACEHOLDER_OPEN + PLACEHOLDER_CLOSE
_BRACKET = f"{PLACEHOLDER_OPEN}[^{_BRACKETS}\\n]{{0,20}}{PLACEHOLDER_CLOSE}|[{_BRACKETS}]"

_ATOMIC_KINDS = (
    ("fence", _FENCE),
    ("code", _INLINE_CODE),
    ("spoiler", _SPOILER),
    ("escape", _ESCAPE),
    ("discord", _DISCORD),
    ("slack", _SLACK),
    ("entity", _ENTITY),
    ("url", _URL),
    ("email", _EMAIL),
    ("broadcast", _BROADCAST),
    ("shortcode", _SHORTCODE),
    ("emoji", _EMOJI),
    ("bracket", _BRACKET),
)
_ATOMIC = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _ATOMIC_KINDS))

# Characters a bare URL rarely ends with: sentence punctuation and markdown closers.
_URL_TRAILING = ".,;:!?'\"*_~|"


def atomic_tokens(text: str) -> list[TokenSpan]:
    """Find the tokens that must never be cut or translated, in text order, without overlaps.

    Markdown markers and line breaks are not included: they are tokens for `protect`, but a
    message may be split at a line break.
    """
    spans: list[TokenSpan] = []
    position = 0
    while (match := _ATOMIC.search(text, position)) is not None:
        kind = match.lastgroup or ""
        start, end = match.span()
        if kind == "url":
            end = start + len(_trim_url(match.group()))
        spans.append(TokenSpan(start, end, kind))
        # A trimmed URL resumes the scan at its trimmed tail, so a closing "**" is still seen.
        position = end
    return spans


def _trim_url(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets that belong to the sentence."""
    # The brackets are counted once and the counts updated while trimming, because recounting
    # (and re-slicing) at every step made a URL followed by many ")" take quadratic time.
    opening = {")": url.count("("), "]": url.count("[")}
    closing = {")": url.count(")"), "]": url.count("]")}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _URL_TRAILING:
            end -= 1
        elif last in closing and opening[last] < closing[last]:
            closing[last] -= 1
            end -= 1
        else:
            break
    return url[:end]


# --- Markdown markers and line breaks ---------------------------------------------------------
# These are found on a masked copy of the text, where a private-use character overwrites every
# atomic token. So a "*" inside a URL or a "_" inside code is never read as a marker.

_MASK = "\ue000"

# Line breaks are tokens, together with the spaces around them. Apertium treats a newline as an
# ordinary blank and reorders words across it: apertium 3.8.3 with apertium-eng-spa 0.8.1 turned
# "Title\nBody text here" into "Texto\nde Ente del título aquí". As a placeholder, the break
# keeps each line's words on their own side, and `restore` rejects a translation that loses one.
# The lookbehind lets a match start only where a run of spaces starts. Without it, a run of n
# spaces with no line break was scanned again from each of its characters, in n²/2 steps.
_LINE_BREAKS = re.compile(r"(?<![^\S\n])[^\S\n]*(?:\n[^\S\n]*)+")
# Markers at line start: quotes (">", ">>>" and Slack's escaped "&gt;"), Discord headings and
# subtext ("#", "##", "###", "-#"), bullets and numbered list items.
_LINE_MARKERS = re.compile(
    r"^[^\S\n]*(?:(?:>>>|>|&gt;|-#|#{1,3}|[-*]|\d{1,9}\.)[^\S\n]+)+", re.MULTILINE
)
# Longest delimiters first, so "***" is not read as "**" plus "*".
_EMPHASIS_DELIMITERS = ("***", "___", "**", "__", "~~", "*", "_", "~")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


@dataclass(frozen=True)
class _Delimiter:
    """Patterns for where one emphasis delimiter may open and where it may close.

    An opener may not follow a word character and a closer may not precede one, so snake_case
    names and arithmetic such as 2*3*4 are left alone. Neither may face a space inward.
    """

    length: int
    opener: re.Pattern[str]
    closer: re.Pattern[str]


def _delimiter(mark: str) -> _Delimiter:
    escaped = re.escape(mark)
    char = re.escape(mark[0])
    return _Delimiter(
        len(mark),
        re.compile(rf"(?<![\w{char}]){escaped}(?![\s{char}])"),
        re.compile(rf"(?<![\s{char}]){escaped}(?![\w{char}])"),
    )


_DELIMITERS = tuple(_delimiter(mark) for mark in _EMPHASIS_DELIMITERS)


def _marker_spans(text: str, atomic: list[TokenSpan]) -> list[tuple[int, int]]:
    """Find line breaks, line-start markers and emphasis delimiters outside atomic tokens."""
    working = list(text)
    for span in atomic:
        # Entities stay visible so that Slack's "&gt; " still reads as a quote marker.
        if span.kind != "entity":
            _mask(working, span.start, span.end)

    masked = "".join(working)
    spans = [match.span() for match in _LINE_BREAKS.finditer(masked)]
    for match in _LINE_MARKERS.finditer(masked):
        spans.append(match.span())
        _mask(working, *match.span())

    # Each pass masks what it found, so a "**" pair is not read again as two "*" delimiters.
    for delimiter in _DELIMITERS:
        for opener, closer in _emphasis_pairs("".join(working), delimiter):
            for start in (opener, closer):
                spans.append((start, start + delimiter.length))
                _mask(working, start, start + delimiter.length)
    return spans


def _emphasis_pairs(text: str, delimiter: _Delimiter) -> list[tuple[int, int]]:
    """Pair each opener with the nearest closer after it in the same paragraph.

    Returns (opener start, closer start) pairs. One left-to-right walk keeps this linear, where
    a single regex with a lazy body would rescan to the paragraph end for every unclosed opener.
    """
    openers = {match.start() for match in delimiter.opener.finditer(text)}
    closers = {match.start() for match in delimiter.closer.finditer(text)}
    breaks = [match.start() for match in _PARAGRAPH_BREAK.finditer(text)]

    pairs: list[tuple[int, int]] = []
    pending: int | None = None
    free_from = 0  # delimiters may not overlap a pair already found
    next_break = 0
    for position in sorted(openers | closers):
        # A blank line between the pending opener and this delimiter ends the opener's paragraph.
        while next_break < len(breaks) and breaks[next_break] < position:
            pending = None
            next_break += 1
        if position < free_from:
            continue
        if pending is not None and position in closers and position >= pending + delimiter.length:
            pairs.append((pending, position))
            pending = None
            free_from = position + delimiter.length
        elif pending is None and position in openers:
            pending = position
    return pairs


def _mask(characters: list[str], start: int, end: int) -> None:
    characters[start:end] = _MASK * (end - start)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping and touching spans, so adjacent tokens share one placeholder."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# --- protect, restore, is_translatable ------------------------------------------------------


def protect(text: str) -> ProtectedText:
    """Replace every protected token in `text` with a numbered placeholder."""
    atomic = atomic_tokens(text)
    spans = [(span.start, span.end) for span in atomic] + _marker_spans(text, atomic)

    pieces: list[str] = []
    tokens: list[str] = []
    last = 0
    for start, end in _merge(spans):
        pieces.append(text[last:start])
        pieces.append(placeholder(len(tokens)))
        tokens.append(text[start:end])
        last = end
    pieces.append(text[last:])
    return ProtectedText("".join(pieces), tuple(tokens))


def is_translatable(text: str) -> bool:
    """Tell whether `text` has any words left once tokens, digits and punctuation are ignored."""
    remainder = _PLACEHOLDER.sub("", protect(text).text)
    return any(character.isalpha() for character in remainder)


class _Rule(Enum):
    """Spacing rule that `restore` applies on one side of a placeholder."""

    STRIP = auto()  # the token was glued to a word, or carries its own whitespace
    GLUED = auto()  # the token was glued to punctuation: collapse runs to one space
    SPACED = auto()  # the token had whitespace on this side: keep one run, re-insert if lost
    EDGE = auto()  # the token started or ended the text


@dataclass(frozen=True)
class _Side:
    rule: _Rule
    run: str = ""  # the original whitespace on this side, for SPACED


_HORIZONTAL_SPACE = re.compile(r"[^\S\r\n]+")


def restore(translated: str, protected: ProtectedText) -> str:
    """Put the original tokens back in place of the placeholders in an engine's output.

    Raises `TokenMismatchError` when a placeholder is missing, repeated, damaged or out of
    range. Spaces the engine added or dropped next to a placeholder are fixed to match the
    original: none where the token was glued to a word, one run where it stood apart.
    """
    matches = list(_PLACEHOLDER.finditer(translated))
    _check_placeholders(translated, matches, len(protected.tokens))
    if not matches:
        return translated

    before, after = _original_sides(protected)
    indices = [int(match.group(1)) for match in matches]
    segments = _PLACEHOLDER.split(translated)[::2]

    pieces: list[str] = []
    for position, segment in enumerate(segments):
        left = after[indices[position - 1]] if position > 0 else None
        right = before[indices[position]] if position < len(indices) else None
        pieces.append(_respace(segment, left, right))
        if position < len(indices):
            pieces.append(protected.tokens[indices[position]])
    return "".join(pieces)


def _check_placeholders(translated: str, matches: list[re.Match[str]], count: int) -> None:
    """Raise `TokenMismatchError` unless placeholders 0 to `count - 1` each appear once, whole.

    Also raises for a placeholder number of `count` or more, and for any bracket left over.
    """
    seen: dict[int, int] = {}
    for match in matches:
        index = int(match.group(1))
        seen[index] = seen.get(index, 0) + 1

    problems: list[str] = []
    missing = [placeholder(i) for i in range(count) if i not in seen]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    repeated = [f"{placeholder(i)} ×{n}" for i, n in sorted(seen.items()) if n > 1 and i < count]
    if repeated:
        problems.append(f"repeated {', '.join(repeated)}")
    unknown = [placeholder(i) for i in sorted(seen) if i >= count]
    if unknown:
        problems.append(f"unknown {', '.join(unknown)} (the text has {count} tokens)")
    stray = _first_stray_bracket(translated, matches)
    if stray is not None:
        excerpt = translated[max(0, stray - 10) : stray + 10]
        problems.append(f"damaged placeholder near {excerpt!r}")

    if problems:
        summary = "; ".join(problems)
        raise TokenMismatchError(f"translation does not match the protected tokens: {summary}")


def _first_stray_bracket(translated: str, matches: list[re.Match[str]]) -> int | None:
    """Return the index of the first bracket that is not part of a whole placeholder."""
    inside = {i for match in matches for i in range(*match.span())}
    for index, character in enumerate(translated):
        if character in (PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE) and index not in inside:
            return index
    return None


def _original_sides(protected: ProtectedText) -> tuple[list[_Side], list[_Side]]:
    """Describe what stood before and after each placeholder in the protected text."""
    text = protected.text
    before: list[_Side] = []
    after: list[_Side] = []
    for match, token in zip(_PLACEHOLDER.finditer(text), protected.tokens, strict=True):
        start, end = match.span()
        before.append(_side(token[0], text, start, from_end=True))
        after.append(_side(token[-1], text, end, from_end=False))
    return before, after


def _side(token_edge: str, text: str, boundary: int, *, from_end: bool) -> _Side:
    """Classify one side of a token from its own edge character and the text beside it.

    `boundary` is where the placeholder starts in `text` when `from_end` is true (the side
    before it), else where it ends. Indices are used instead of slices so that a text with many
    tokens is not copied once per token.
    """
    if token_edge.isspace():
        return _Side(_Rule.STRIP)
    at_edge = boundary == 0 if from_end else boundary == len(text)
    if at_edge:
        return _Side(_Rule.EDGE)
    neighbor = text[boundary - 1] if from_end else text[boundary]
    if neighbor.isalnum():
        return _Side(_Rule.STRIP)
    if not neighbor.isspace():
        return _Side(_Rule.GLUED)
    if from_end:
        run = text[_horizontal_run_start(text, boundary) : boundary]
    else:
        match = _HORIZONTAL_SPACE.match(text, boundary)
        run = match.group() if match else ""
    if not run:
        return _Side(_Rule.GLUED)
    return _Side(_Rule.SPACED, run)


def _horizontal_run_start(text: str, end: int) -> int:
    """Return where the run of spaces and tabs that ends at `end` starts (`end` if none does).

    Walking back from `end` keeps this linear in the run. A regex anchored with ``\\Z`` would
    start a match at every space of a long run and take quadratic time.
    """
    start = end
    while start > 0 and text[start - 1].isspace() and text[start - 1] not in "\r\n":
        start -= 1
    return start


def _respace(segment: str, left: _Side | None, right: _Side | None) -> str:
    """Fix the spaces at both ends of a translated segment that sits between placeholders."""
    if not segment or _HORIZONTAL_SPACE.fullmatch(segment):
        return _respace_blank(segment, left, right)

    lead = _HORIZONTAL_SPACE.match(segment)
    lead_run = lead.group() if lead else ""
    trail_run = segment[_horizontal_run_start(segment, len(segment)) :]
    body = segment[len(lead_run) : len(segment) - len(trail_run)]

    if left is not None:
        lead_run = _fit(lead_run, left, next_to_word=body[0].isalnum())
    if right is not None:
        trail_run = _fit(trail_run, right, next_to_word=body[-1].isalnum())
    return lead_run + body + trail_run


def _respace_blank(segment: str, left: _Side | None, right: _Side | None) -> str:
    """Fix a segment that is empty or only spaces, between two placeholders or at an edge."""
    sides = [side for side in (left, right) if side is not None]
    if any(side.rule is _Rule.STRIP for side in sides):
        return ""
    # A placeholder at the edge of both the original and the translation needs no padding.
    if len(sides) == 1 and sides[0].rule is _Rule.EDGE:
        return ""
    for side in sides:
        segment = _fit(segment, side, next_to_word=False)
    return segment


def _fit(run: str, side: _Side, *, next_to_word: bool) -> str:
    """Return the whitespace to keep on one side of a placeholder, given the engine's `run`."""
    if side.rule is _Rule.STRIP:
        return ""
    if side.rule is _Rule.SPACED:
        if not run:
            return side.run if next_to_word else ""
        if len(run) >= 2 and run != side.run:
            return side.run
        return run
    if len(run) >= 2:
        return " "
    if not run and next_to_word and side.rule is _Rule.EDGE:
        return " "
    return run
