"""Split long messages into parts that fit a platform's length limit without breaking markup.

Discord's API rejects message content over 2000 characters; Slack's chat.postMessage
documentation recommends at most 4000 characters of text.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from bot.core.tokens import TokenSpan, atomic_tokens

MIN_LIMIT = 20
FENCE = "```"

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_LINE_BREAK = re.compile(r"\n")
# A sentence ends at terminal punctuation, then any closing quotes or brackets, then a space.
# CJK full stops need no space after them.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+")
_WHITESPACE = re.compile(r"\s")
_LANGUAGE_TAG = re.compile(r"[\w+#.-]*")
_BLANK_LINES = re.compile(r"(?:[^\S\n]*\n)+")
_NON_WHITESPACE = re.compile(r"\S")


@dataclass(frozen=True)
class _Cut:
    """End of one part, which is `text[start:end] + close`. The next part begins at `resume`.

    Inside a fenced code block `close` ends the fence and `reopen` (the fence's opening line)
    starts the next part, so both parts render as code.
    """

    end: int
    resume: int
    close: str = ""
    reopen: str = ""


@dataclass(frozen=True)
class _Fence:
    """A fenced code block longer than the limit, which may be cut between its lines."""

    body_start: int
    body_end: int
    header: str  # the opening line to repeat, "```py\n" or "```\n"


def split_message(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` characters, cutting at the most natural break.

    Cuts prefer, in order: paragraph breaks, line breaks, sentence ends, whitespace, then any
    character outside a protected token. A token such as a URL or mention is cut only when it is
    longer than `limit` by itself. A fenced code block longer than `limit` is cut between lines,
    closed at the end of one part and reopened with its language tag at the start of the next.
    Leading and trailing blank lines of each part are dropped, and so are parts left empty.
    Text of at most `limit` characters comes back unchanged as the only part.

    Raises ValueError when `limit` is below 20.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} characters, got {limit}")
    if len(text) <= limit:
        return [text]

    parts: list[str] = []
    spans = atomic_tokens(text)
    start = _skip_blank_lines(text, 0)
    while len(text) - start > limit:
        cut = _choose_cut(text, start, limit, spans)
        part = text[start : cut.end] + cut.close if cut.close else text[start : cut.end].rstrip()
        if part.strip():
            parts.append(part)
        if cut.reopen:
            # The reopened fence changes the text, so its tokens are scanned again.
            text = cut.reopen + text[cut.resume :]
            spans = atomic_tokens(text)
            start = 0
        else:
            start = _skip_blank_lines(text, cut.resume)

    last = text[start:].rstrip()
    if last.strip():
        parts.append(last)
    return parts


def _choose_cut(text: str, start: int, limit: int, spans: list[TokenSpan]) -> _Cut:
    """Pick the rightmost cut within `limit` of `start`, of the best kind that `text` offers.

    Positions are indices into `text`, and the part being built is `text[start:cut.end]`.
    """
    window = _spans_from(spans, start, start + limit)
    blocked = _blocked_positions(window, start, limit)
    first = _skip_whitespace(text, start)
    fences = [_parse_fence(text, span) for span in window if _is_long_fence(span, limit)]
    fence_lines = [cut for fence in fences for cut in _fence_line_cuts(text, fence, start, limit)]

    def allowed(position: int) -> bool:
        return first < position <= start + limit and not blocked[position - start]

    # NOTE: emphasis pairs such as **bold words** are not kept together, so a cut inside one
    # leaves an unmatched marker in each part. A spoiler longer than `limit` is cut without
    # closing and reopening its "||" markers.
    kinds: tuple[tuple[re.Pattern[str], bool, list[_Cut]], ...] = (
        (_PARAGRAPH_BREAK, False, []),
        (_LINE_BREAK, False, fence_lines),
        (_SENTENCE_END, True, []),
        (_WHITESPACE, False, []),
    )
    for pattern, cut_after, fence_cuts in kinds:
        positions = [
            match.end() if cut_after else match.start()
            for match in _matches_in_window(pattern, text, start, limit)
        ]
        plain = [position for position in positions if allowed(position)]
        best_fence_cut = max(fence_cuts, key=lambda cut: cut.end, default=None)
        if best_fence_cut is not None and best_fence_cut.end > max(plain, default=-1):
            return best_fence_cut
        if plain:
            return _plain_cut(text, max(plain))

    return _last_resort_cut(text, start, limit, blocked, fences)


def _spans_from(spans: list[TokenSpan], start: int, stop: int) -> list[TokenSpan]:
    """Return the spans that end after `start` and begin before `stop`."""
    # Spans never overlap, so their ends are sorted as well as their starts.
    first = bisect.bisect_right(spans, start, key=lambda span: span.end)
    window: list[TokenSpan] = []
    for span in spans[first:]:
        if span.start >= stop:
            break
        window.append(span)
    return window


def _blocked_positions(spans: list[TokenSpan], start: int, limit: int) -> bytearray:
    """Mark each offset from `start` up to `limit` that lies strictly inside a token."""
    blocked = bytearray(limit + 1)
    for span in spans:
        inner_start = max(span.start + 1, start) - start
        inner_end = min(span.end - start, limit + 1)
        if inner_start < inner_end:
            blocked[inner_start:inner_end] = b"\x01" * (inner_end - inner_start)
    return blocked


def _matches_in_window(
    pattern: re.Pattern[str], text: str, start: int, limit: int
) -> list[re.Match[str]]:
    """Return the matches of `pattern` from `start` that begin at most `limit` characters on."""
    matches: list[re.Match[str]] = []
    for match in pattern.finditer(text, start):
        if match.start() > start + limit:
            break
        matches.append(match)
    return matches


def _plain_cut(text: str, position: int) -> _Cut:
    """Cut at `position` and resume after the whitespace there, keeping the next indentation."""
    gap = _skip_whitespace(text, position)
    whitespace = text[position:gap]
    if "\n" in whitespace:
        return _Cut(position, position + whitespace.rindex("\n") + 1)
    return _Cut(position, gap)


def _skip_blank_lines(text: str, position: int) -> int:
    """Return the start of the first line at or after `position` that is not blank."""
    match = _BLANK_LINES.match(text, position)
    return match.end() if match else position


def _skip_whitespace(text: str, position: int) -> int:
    """Return the index of the first non-whitespace character at or after `position`."""
    match = _NON_WHITESPACE.search(text, position)
    return match.start() if match else len(text)


def _is_long_fence(span: TokenSpan, limit: int) -> bool:
    return span.kind == "fence" and span.end - span.start > limit


def _parse_fence(text: str, span: TokenSpan) -> _Fence:
    """Find the body of a fenced block and the opening line that reopens it."""
    newline = text.find("\n", span.start, span.end)
    first_line = text[span.start + len(FENCE) : newline] if newline != -1 else ""
    if newline != -1 and _LANGUAGE_TAG.fullmatch(first_line):
        header = f"{FENCE}{first_line}\n"
        body_start = newline + 1
    else:
        # No language tag: the first line is code and belongs to the body.
        header = f"{FENCE}\n"
        body_start = span.start + len(FENCE)
    closed = span.end - span.start >= 2 * len(FENCE) and text.endswith(FENCE, 0, span.end)
    body_end = span.end - len(FENCE) if closed else span.end
    return _Fence(body_start, max(body_start, body_end), header)


def _fence_line_cuts(text: str, fence: _Fence, start: int, limit: int) -> list[_Cut]:
    """List cuts after a line break inside a long fence that leave code on both sides."""
    code_start = _skip_whitespace(text, max(fence.body_start, start))
    code_end = fence.body_start + len(text[fence.body_start : fence.body_end].rstrip())
    # A part ends with the closing fence, so it may hold at most `limit - 3` characters before it.
    stop = min(code_end, start + limit - len(FENCE) + 1)
    return [
        _Cut(position, position, close=FENCE, reopen=fence.header)
        for position in range(code_start + 1, stop)
        if text[position - 1] == "\n"
    ]


def _last_resort_cut(
    text: str, start: int, limit: int, blocked: bytearray, fences: list[_Fence]
) -> _Cut:
    """Cut inside a word, else inside a fence's line, else inside a token that fills the limit."""
    first = _skip_whitespace(text, start)
    for position in range(start + limit, first, -1):
        if not blocked[position - start] and not _joins_previous(text[position]):
            return _Cut(position, position)

    # Leave room to close the fence on a line of its own.
    position = start + limit - len(FENCE) - 1
    for fence in fences:
        if fence.body_start < position < fence.body_end:
            return _Cut(position, position, close="\n" + FENCE, reopen=fence.header)

    position = start + limit
    while position > first + 1 and _joins_previous(text[position]):
        position -= 1
    return _Cut(position, position)


def _joins_previous(character: str) -> bool:
    """Tell whether `character` attaches to the one before it (a combining mark or joiner)."""
    if unicodedata.combining(character):
        return True
    return character in "\u200d\ufe0e\ufe0f\u20e3" or "\U0001f3fb" <= character <= "\U0001f3ff"
