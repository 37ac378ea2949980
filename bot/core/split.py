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
# Language tags longer than this are not repeated when a long fence is reopened, because a tag
# that fills most of the limit would be copied into every part and leave room for little code.
# Real tags ("python", "objective-c") are far shorter.
MAX_REOPENED_TAG = 32

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_LINE_BREAK = re.compile(r"\n")
# A sentence ends at terminal punctuation, then any closing quotes or brackets, then a space.
# CJK full stops need no space after them. The lookbehind lets a match start only where a run
# of terminal punctuation starts: without it a run of n dots with no space after it was matched
# again from each dot, in n²/2 steps.
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+")
_WHITESPACE = re.compile(r"\s")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]*")
_LANGUAGE_TAG = re.compile(r"[\w+#.-]*")
_BLANK_LINES = re.compile(r"(?:[^\S\n]*\n)+")
_NON_WHITESPACE = re.compile(r"\S")

# Break patterns from the most to the least natural, each with whether the cut goes after the
# match (True) or before it.
_BREAKS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (_PARAGRAPH_BREAK, False),
    (_LINE_BREAK, False),
    (_SENTENCE_END, True),
    (_WHITESPACE, False),
)

# Tokens that a cut may enter when they are longer than the limit, by closing them at the end of
# one part and opening them again at the start of the next.
_CONTAINER_KINDS = ("fence", "code", "spoiler")


@dataclass(frozen=True)
class _Cut:
    """End of one part, which is `text[start:end] + close`. The next part begins at `resume`.

    Inside a container (a fenced code block, code span or spoiler) `close` ends the container
    and `reopen` starts it again at the beginning of the next part, so both parts render alike.
    """

    end: int
    resume: int
    close: str = ""
    reopen: str = ""


@dataclass(frozen=True)
class _Container:
    """A fence, code span or spoiler longer than the limit, which may be cut inside its body.

    The body is `text[body_start:body_end]`, between the opening and the closing markers.
    `nested` lists the tokens found inside the body (a mention inside a spoiler, say), in text
    order, which a cut should not split either.
    """

    kind: str
    body_start: int
    body_end: int
    opener: str  # what starts the next part: "```py\n", "```\n", "``", "`" or "||"
    closer: str  # what ends the cut part: "```", "``", "`" or "||"
    nested: list[TokenSpan]


def split_message(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` characters, cutting at the most natural break.

    Cuts prefer, in order: paragraph breaks, line breaks, sentence ends, whitespace, then any
    character outside a protected token. A token such as a URL or mention is cut only when it is
    longer than `limit` by itself. A fenced code block longer than `limit` is cut between lines,
    closed at the end of one part and reopened with its language tag at the start of the next.
    A code span or spoiler longer than `limit` is closed and reopened the same way, preferably at
    whitespace, and never inside a token nested in it unless that token alone fills the part.
    Leading and trailing blank lines of each part are dropped, and so are parts left empty.
    Text of at most `limit` characters comes back unchanged as the only part.

    Raises ValueError when `limit` is below 20.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} characters, got {limit}")
    if len(text) <= limit:
        return [text]

    spans = atomic_tokens(text)
    containers = {
        span.start: _parse_container(text, span, limit)
        for span in spans
        if span.kind in _CONTAINER_KINDS and span.end - span.start > limit
    }

    parts: list[str] = []
    # `prefix` reopens a container that the previous cut closed. The text itself is never
    # rebuilt and rescanned, which made a long fence cost time quadratic in its length.
    prefix = ""
    start = _skip_blank_lines(text, 0)
    while len(prefix) + len(text) - start > limit:
        cut = _choose_cut(text, start, limit - len(prefix), spans, containers)
        content = prefix + text[start : cut.end]
        part = content + cut.close if cut.close else content.rstrip()
        if part.strip():
            parts.append(part)
        if cut.reopen:
            prefix, start = cut.reopen, cut.resume
        else:
            prefix, start = "", _skip_blank_lines(text, cut.resume)

    last = (prefix + text[start:]).rstrip()
    if last.strip():
        parts.append(last)
    return parts


def _choose_cut(
    text: str, start: int, window: int, spans: list[TokenSpan], containers: dict[int, _Container]
) -> _Cut:
    """Pick the rightmost cut within `window` of `start`, of the best kind that `text` offers.

    Positions are indices into `text`, and the part being built is `text[start:cut.end]`, plus
    the reopened marker of a container that the previous part closed.
    """
    stop = start + window
    in_window = _spans_from(spans, start, stop)
    blocked = _blocked_positions(in_window, start, window)
    first = _skip_whitespace(text, start)
    open_containers = [containers[span.start] for span in in_window if span.start in containers]
    fences = [container for container in open_containers if container.kind == "fence"]
    inline = [container for container in open_containers if container.kind != "fence"]
    nested_spans = [
        span for container in open_containers for span in _spans_from(container.nested, start, stop)
    ]
    nested = _blocked_positions(nested_spans, start, window)
    fence_lines = [cut for fence in fences for cut in _fence_line_cuts(text, fence, start, window)]
    endpos = _break_search_end(text, stop)

    def allowed(position: int) -> bool:
        return first < position <= stop and not blocked[position - start]

    # NOTE: emphasis pairs such as **bold words** are not kept together, so a cut inside one
    # leaves an unmatched marker in each part.
    for pattern, cut_after in _BREAKS:
        positions = [
            match.end() if cut_after else match.start()
            for match in pattern.finditer(text, start, endpos)
            if match.start() <= stop
        ]
        plain = max((position for position in positions if allowed(position)), default=-1)
        cuts = list(fence_lines) if pattern is _LINE_BREAK else []
        for container in inline:
            cut = _inline_break_cut(text, container, start, window, positions, nested)
            if cut is not None:
                cuts.append(cut)
        # A container cut wins only when it fills the part further than the plain cut.
        best = max(cuts, key=lambda cut: cut.end, default=None)
        if best is not None and best.end > plain:
            return best
        if plain != -1:
            return _plain_cut(text, plain)

    return _last_resort_cut(text, start, window, blocked, nested, open_containers)


def _break_search_end(text: str, stop: int) -> int:
    """Return how far the break patterns must read to find every break that starts by `stop`.

    A sentence end needs the whitespace after it, and a paragraph break that starts by `stop`
    may run through spaces and tabs past it to its second line break. Reading no further keeps
    the cost of a cut proportional to the window instead of to the rest of the text.
    """
    if stop >= len(text):
        return len(text)
    run = _HORIZONTAL_SPACE.match(text, stop + 1)
    end = run.end() if run else stop + 1
    return min(len(text), end + 1)


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


def _parse_container(text: str, span: TokenSpan, limit: int) -> _Container:
    """Find the body of a long fence, code span or spoiler, its markers and its nested tokens."""
    if span.kind == "fence":
        body_start, body_end, opener = _parse_fence(text, span, limit)
        closer = FENCE
    else:
        if span.kind == "code":
            # A code span opens and closes with the same number of backticks, one or two.
            marker = "``" if text.startswith("``", span.start) else "`"
        else:
            marker = "||"
        body_start, body_end = span.start + len(marker), span.end - len(marker)
        opener = closer = marker
    # The body is scanned on its own, as if it were the whole message, because atomic_tokens
    # reports only the outermost token and the container swallowed everything inside it.
    nested = [
        TokenSpan(body_start + inner.start, body_start + inner.end, inner.kind)
        for inner in atomic_tokens(text[body_start:body_end])
    ]
    return _Container(span.kind, body_start, body_end, opener, closer, nested)


def _parse_fence(text: str, span: TokenSpan, limit: int) -> tuple[int, int, str]:
    """Find the body of a fenced block and the opening line that reopens it.

    Returns (body start, body end, opening line). The language tag is left out of the opening
    line when it is longer than MAX_REOPENED_TAG or would take more than half the limit.
    """
    newline = text.find("\n", span.start, span.end)
    first_line = text[span.start + len(FENCE) : newline] if newline != -1 else ""
    if newline != -1 and _LANGUAGE_TAG.fullmatch(first_line):
        tagged = f"{FENCE}{first_line}\n"
        short = len(first_line) <= MAX_REOPENED_TAG and len(tagged) + len(FENCE) <= limit // 2
        header = tagged if short else f"{FENCE}\n"
        body_start = newline + 1
    else:
        # No language tag: the first line is code and belongs to the body.
        header = f"{FENCE}\n"
        body_start = span.start + len(FENCE)
    closed = span.end - span.start >= 2 * len(FENCE) and text.endswith(FENCE, 0, span.end)
    body_end = span.end - len(FENCE) if closed else span.end
    return body_start, max(body_start, body_end), header


def _fence_line_cuts(text: str, fence: _Container, start: int, window: int) -> list[_Cut]:
    """List cuts after a line break inside a long fence that leave code on both sides."""
    code_start = _skip_whitespace(text, max(fence.body_start, start))
    code_end = fence.body_end
    while code_end > fence.body_start and text[code_end - 1].isspace():
        code_end -= 1
    # A part ends with the closing fence, so it may hold at most `window - 3` characters before.
    stop = min(code_end, start + window - len(FENCE) + 1)
    return [
        _Cut(position, position, close=FENCE, reopen=fence.opener)
        for position in range(code_start + 1, stop)
        if text[position - 1] == "\n"
    ]


def _inline_break_cut(
    text: str,
    container: _Container,
    start: int,
    window: int,
    positions: list[int],
    nested: bytearray,
) -> _Cut | None:
    """Pick the rightmost break in `positions` that can cut a long code span or spoiler.

    The whitespace at the break is dropped, as between plain parts. A break is skipped when it
    leaves either side of the body blank, when the closing marker would not fit, or when it
    lies inside a nested token. It is also skipped when a marker character would touch the
    closing or reopening marker, because "|" before "||" reads as "|||".
    """
    lowest = max(container.body_start, start)
    for position in sorted(positions, reverse=True):
        if position <= lowest:
            break
        if position >= container.body_end:
            continue
        end = position
        while end > lowest and text[end - 1].isspace():
            end -= 1
        resume = _skip_whitespace(text, position)
        if end == lowest or resume >= container.body_end:
            continue
        if end - start + len(container.closer) > window or nested[end - start]:
            continue
        if _touches_marker(text, container, end, resume):
            continue
        return _Cut(end, resume, close=container.closer, reopen=container.opener)
    return None


def _touches_marker(text: str, container: _Container, end: int, resume: int) -> bool:
    """Tell whether a cut of a code span or spoiler puts a marker character next to a marker."""
    if container.kind == "fence":
        return False  # a fence is closed on a line of its own
    mark = container.closer[0]
    return text[end - 1] == mark or text[resume] == mark


def _last_resort_cut(
    text: str,
    start: int,
    window: int,
    blocked: bytearray,
    nested: bytearray,
    containers: list[_Container],
) -> _Cut:
    """Cut inside a word, else inside a long container, else inside a token that fills the part.

    Each step avoids splitting a grapheme cluster (a letter and its combining marks, an emoji
    and its modifiers) where the window has a cluster boundary to cut at.
    """
    first = _skip_whitespace(text, start)
    for position in range(start + window, first, -1):
        if not blocked[position - start] and not _joins_previous(text[position]):
            return _Cut(position, position)

    container_cuts = [
        cut
        for container in containers
        if (cut := _container_hard_cut(text, container, start, window, nested)) is not None
    ]
    if container_cuts:
        return max(container_cuts, key=lambda cut: cut.end)

    # No boundary at all, as in a letter followed by thousands of combining marks: cut at the
    # limit, because walking back to the first character would post one character per part.
    for position in range(start + window, first, -1):
        if not _joins_previous(text[position]):
            return _Cut(position, position)
    return _Cut(start + window, start + window)


def _container_hard_cut(
    text: str, container: _Container, start: int, window: int, nested: bytearray
) -> _Cut | None:
    """Cut inside a long container's body where no break fits, closing and reopening it.

    A fence is closed on a new line. The first pass keeps nested tokens and grapheme clusters
    whole. The second pass may split them, for a nested token or a run of combining marks that
    fills the whole window, but it still keeps marker characters apart.
    """
    close = "\n" + FENCE if container.kind == "fence" else container.closer
    lowest = max(container.body_start, start)
    highest = min(start + window - len(close), container.body_end - 1)
    for keep_whole in (True, False):
        for position in range(highest, lowest, -1):
            if keep_whole and (nested[position - start] or _joins_previous(text[position])):
                continue
            if not _touches_marker(text, container, position, position):
                return _Cut(position, position, close=close, reopen=container.opener)
    # NOTE: a body where every character is next to a marker character, such as a spoiler of
    # "a|b|c|…", gets no cut here and is then cut without closing the container.
    return None


def _joins_previous(character: str) -> bool:
    """Tell whether `character` attaches to the one before it (a combining mark or joiner)."""
    if unicodedata.combining(character):
        return True
    return character in "\u200d\ufe0e\ufe0f\u20e3" or "\U0001f3fb" <= character <= "\U0001f3ff"
