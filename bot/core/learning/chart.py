"""The progress chart: a PNG of the last days' XP, streak and reviews, with a text summary
that gives the same numbers in sentences for screen readers.

`render_png` and `summary_text` take a plain `ProgressSeries`, so they do not depend on
how XP and streaks are stored. `load_progress` builds one from Redis keys (see there).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

from bot.core import i18n
from bot.core.store import Store

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
# Okabe-Ito colours, which stay distinct for the common kinds of colour blindness.
_XP_COLOUR = "#0072B2"
_STREAK_COLOUR = "#D55E00"
_REVIEW_COLOUR = "#009E73"


@dataclass(frozen=True)
class ProgressSeries:
    """Daily numbers for the chart, oldest day first; every series has one value per day.

    `days` are the learner's local dates. `streak` is the streak length at the end of each
    day. `level` is a level estimate such as "es B1", or None when unknown.
    """

    days: tuple[date, ...]
    xp: tuple[int, ...]
    streak: tuple[int, ...]
    reviews: tuple[int, ...]
    level: str | None = None

    def __post_init__(self) -> None:
        lengths = {len(self.days), len(self.xp), len(self.streak), len(self.reviews)}
        if len(lengths) != 1 or not self.days:
            raise ValueError(
                f"series lengths differ or are empty: days={len(self.days)} xp={len(self.xp)} "
                f"streak={len(self.streak)} reviews={len(self.reviews)}"
            )


def streak_series(
    first_day: int, last_day: int, practised: set[int], frozen: set[int]
) -> list[int]:
    """Return the streak length at the end of each day number from `first_day` to `last_day`.

    A practised day adds one to the streak, a day bridged by a freeze keeps it, and any
    other day ends it, as the XP ledger counts streaks.
    """
    lengths: list[int] = []
    current = 0
    for day in range(first_day, last_day + 1):
        if day in practised:
            current += 1
        elif day not in frozen:
            current = 0
        lengths.append(current)
    return lengths


async def load_progress(
    store: Store, learner: str, now: datetime, *, days: int = DEFAULT_DAYS
) -> ProgressSeries:
    """Read a learner's last `days` days, ending with the day that contains `now`.

    Reads these keys under ``{prefix}:learner:{learner}``, as the XP ledger writes them:

    - ``:profile`` hash, fields ``timezone`` (IANA name, default UTC) and ``day_start``
      (the hour a learner's day begins, default 0). A day is numbered by the ordinal of
      the local date of (time − day_start hours), as the ledger numbers them.
    - ``:days`` hash: day number → XP earned that day (missing is 0).
    - ``:practice`` and ``:frozen`` sets: day numbers practised, and bridged by a freeze.
    - ``:targets`` hash: language → level estimate on the ledger's 1.0-7.0 scale, where
      the whole part 1 to 6 is the CEFR band A1 to C2 (empty while unknown).
    - ``:revlog`` list (see `bot.core.learning.review`): reviews, counted per day number.
    """

    def key(*parts: str) -> str:
        return store.key("learner", learner, *parts)

    profile = await store.redis.hmget(key("profile"), ["timezone", "day_start"])
    zone = _zone(None if profile[0] is None else _text(profile[0]))
    day_start = int(_text(profile[1])) if profile[1] else 0

    def day_of(moment: datetime) -> int:
        return (moment.astimezone(zone) - timedelta(hours=day_start)).date().toordinal()

    today = day_of(now)
    window = list(range(today - days + 1, today + 1))
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hmget(key("days"), [str(day) for day in window])
        pipe.smembers(key("practice"))
        pipe.smembers(key("frozen"))
        pipe.hgetall(key("targets"))
        pipe.lrange(key("revlog"), 0, -1)
        xp_raw, practice_raw, frozen_raw, targets_raw, log_raw = await pipe.execute()

    practised = {int(_text(day)) for day in practice_raw}
    frozen = {int(_text(day)) for day in frozen_raw}
    first = min(practised | frozen | {window[0]})
    streak = streak_series(first, today, practised, frozen)[-days:]

    reviews = dict.fromkeys(window, 0)
    for item in log_raw:
        seconds = json.loads(_text(item))[2]
        day = day_of(datetime.fromtimestamp(seconds, UTC))
        if day in reviews:
            reviews[day] += 1

    return ProgressSeries(
        days=tuple(date.fromordinal(day) for day in window),
        xp=tuple(int(_text(value)) if value else 0 for value in xp_raw),
        streak=tuple(streak),
        reviews=tuple(reviews[day] for day in window),
        level=_levels(targets_raw),
    )


def _levels(targets: dict[bytes | str, bytes | str]) -> str | None:
    """Return "es B1, fr A2" for the targets with an estimate, or None when none has one."""
    levels = []
    for language, estimate in sorted((_text(k), _text(v)) for k, v in targets.items()):
        if estimate:
            band = min(max(int(float(estimate)), 1), len(CEFR_LEVELS)) - 1
            levels.append(f"{language} {CEFR_LEVELS[band]}")
    return ", ".join(levels) or None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@cache
def _chart_font() -> FT2Font:
    # The default FontProperties is the font the chart's text uses (rcParams font.family).
    return FT2Font(font_manager.findfont(font_manager.FontProperties()))


_LABEL_KEYS = ("chart.xp", "chart.streak", "chart.reviews", "chart.days", "chart.title")


def chart_locale(locale: str | None) -> str:
    """Return the locale to label the chart in: `locale`, or English when the installed
    default font lacks a glyph of its labels (Japanese, where no CJK font is installed),
    because matplotlib would draw empty boxes in their place."""
    resolved = i18n.resolve_locale(locale)
    sample = "".join(i18n.t(key, resolved, days=30, level="A1") for key in _LABEL_KEYS)
    font = _chart_font()
    if all(font.get_char_index(ord(char)) for char in sample if not char.isspace()):
        return resolved
    log.debug("chart font lacks glyphs for locale %s; labelling in English", resolved)
    return i18n.DEFAULT_LOCALE


def render_png(series: ProgressSeries, locale: str | None = "en") -> bytes:
    """Draw the chart and return it as PNG bytes (800 × 500 pixels).

    Top panel: XP per day as bars, with the streak as a line on a second axis. Bottom
    panel: reviews per day. The title gives the period and the level estimate. Uses the
    Agg canvas directly, so no display or global pyplot state is involved.
    """
    label_locale = chart_locale(locale)
    labels = {key: i18n.t(key, label_locale) for key in _LABEL_KEYS if key != "chart.title"}
    figure = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    xp_axes, review_axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    positions = list(range(len(series.days)))

    xp_axes.bar(positions, series.xp, color=_XP_COLOUR, label=labels["chart.xp"])
    xp_axes.set_ylabel(labels["chart.xp"])
    xp_axes.set_ylim(bottom=0)
    xp_axes.grid(axis="y", alpha=0.3)
    streak_axes = xp_axes.twinx()
    streak_axes.plot(
        positions,
        series.streak,
        color=_STREAK_COLOUR,
        marker="o",
        markersize=3,
        linewidth=2,
        label=labels["chart.streak"],
    )
    streak_axes.set_ylabel(labels["chart.streak"])
    streak_axes.set_ylim(bottom=0, top=max(max(series.streak), 1) * 1.15)
    streak_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    bars, bar_labels = xp_axes.get_legend_handles_labels()
    lines, line_labels = streak_axes.get_legend_handles_labels()
    # Below the panels, so that the legend never covers a bar or the title.
    figure.legend(bars + lines, bar_labels + line_labels, loc="outside lower center", ncols=2)

    review_axes.bar(positions, series.reviews, color=_REVIEW_COLOUR)
    review_axes.set_ylabel(labels["chart.reviews"])
    review_axes.set_ylim(bottom=0)
    review_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    review_axes.grid(axis="y", alpha=0.3)
    # A label every 5 days keeps 30 dates legible at this width.
    ticks = positions[::-5][::-1]
    review_axes.set_xticks(ticks, [series.days[index].strftime("%m-%d") for index in ticks])
    review_axes.set_xlabel(labels["chart.days"])

    figure.suptitle(
        i18n.t("chart.title", label_locale, days=len(series.days), level=series.level or "-")
    )

    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()


def summary_text(series: ProgressSeries, locale: str | None = "en") -> str:
    """Return the chart's numbers as sentences in `locale`, for screen readers."""
    days = len(series.days)
    total_xp = sum(series.xp)
    sentences = []
    if total_xp:
        best = max(range(days), key=lambda index: (series.xp[index], index))
        sentences.append(
            i18n.t(
                "chart.summary_xp",
                locale,
                days=days,
                xp=total_xp,
                active=sum(1 for amount in series.xp if amount > 0),
                best_day=series.days[best].isoformat(),
                best_xp=series.xp[best],
            )
        )
    else:
        sentences.append(i18n.t("chart.summary_no_xp", locale, days=days))
    sentences.append(
        i18n.t("chart.summary_streak", locale, streak=series.streak[-1], longest=max(series.streak))
    )
    total_reviews = sum(series.reviews)
    sentences.append(
        i18n.t(
            "chart.summary_reviews",
            locale,
            reviews=total_reviews,
            average=f"{total_reviews / days:.1f}",
        )
    )
    if series.level:
        sentences.append(i18n.t("chart.summary_level", locale, level=series.level))
    # Japanese sentences end with a full stop and take no space after it.
    return "".join(
        sentence if index == 0 or sentences[index - 1].endswith("。") else " " + sentence
        for index, sentence in enumerate(sentences)
    )
