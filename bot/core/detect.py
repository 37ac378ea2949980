"""Language detection for chat messages: lingua for a space's languages, langdetect otherwise."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Collection, Sequence

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
from lingua import LanguageDetector as LinguaDetector

logger = logging.getLogger(__name__)

# Thresholds on confidence values, which run from 0 to 1 and sum to 1 over the candidates.
# They also apply to langdetect's probabilities, where they seldom matter because langdetect
# usually puts almost all probability on one language. Both were chosen on lines 0-249 of the
# word-pairs test data for en, es, fr, de and pt, in candidate sets of 2, 3 and 5 languages.
# bench/detect.py scores them on both halves.
#
# A prior language within PRIOR_MARGIN of the best one wins. A wider margin helps authors who
# write in a prior language and hurts those who do not. 0.2 came within 0.3 points of the best
# accuracy whether one message in ten, five or three came from outside the author's prior.
PRIOR_MARGIN = 0.20
# Below MIN_GAP between the best two, lingua's best guess was right 46% of the time, against
# about 65% for gaps from 0.02 to 0.2, so only those near-ties become unknown.
MIN_GAP = 0.02

LANGDETECT_SEED = 0

# lingua 2.1.1 shares loaded models between detectors: a second detector's first call took
# under 1 ms against 0.7 s for the first. So a cached detector saves only the rebuild per message,
# and the bound keeps spaces with unusual language sets from piling up detectors.
_DETECTOR_CACHE_SIZE = 32

# Parts of a chat message that carry no evidence of its language. Code goes first so that a URL
# or mention inside code is removed with it.
_NON_LANGUAGE = re.compile(
    r"""
      ```.*?```                              # fenced code block
    | `[^`\n]*`                              # inline code
    | <(?:@[!&]?|\#|!|/|a?:|t:)[^<>\n]*>     # Discord and Slack mentions, custom emoji, timestamps
    | <(?:https?|mailto):[^<>\n]*>           # Slack link, with or without a label
    | https?://\S+ | www\.\S+                # bare URL
    | :[a-z0-9_+-]+:                         # emoji shortcode such as :thumbsup:
    | (?<!\w)@[\w.-]+                        # typed mention such as @here or @maria
    | &(?:amp|lt|gt);                        # Slack's escapes for &, < and >
    """,
    re.VERBOSE | re.DOTALL | re.IGNORECASE,
)

Ranking = list[tuple[str, float]]


class LanguageDetector:
    """Detects the language of chat messages, returning ISO 639-1 codes or None for unknown."""

    def __init__(self, *, min_letters: int = 3) -> None:
        if min_letters < 1:
            raise ValueError(f"min_letters must be at least 1, got {min_letters}")
        self.min_letters = min_letters

    def detect(
        self,
        text: str,
        candidates: Sequence[str] | None = None,
        prior: Sequence[str] = (),
    ) -> str | None:
        """Return the language of `text` as a lowercase ISO 639-1 code, or None when unsure.

        `candidates` are the languages configured where the message was posted. With two or
        more, the result is one of them. With none, the result may be any language that
        langdetect has a profile for. `prior` lists languages known for the author, such as
        their native and target languages. A prior language wins when its confidence is
        within PRIOR_MARGIN of the best one. Their order is not used, because lingua's
        confidence picked better than the order did when the author wrote in their second
        language.

        Returns None when the text has fewer than `min_letters` letters outside mentions,
        URLs, code and emoji, or when the best two languages are nearly tied and no prior
        language is among them. Raises ValueError when a candidate is not an ISO 639-1 code
        that lingua supports.
        """
        languages = frozenset(_to_lingua_language(code) for code in candidates or ())
        text = strip_non_language(text)
        if count_letters(text) < self.min_letters:
            return None

        # NOTE: one candidate is returned without checking the text. lingua 2.1.1 built for a
        # single language only checks characters, and it gave English "a naïve idea" confidence
        # 0 but "the piñata broke" confidence 1, so it is no reliable check.
        if len(languages) == 1:
            return _iso_code(next(iter(languages)))

        if languages:
            ranking = _rank_with_lingua(text, languages)
        else:
            ranking = _rank_with_langdetect(text)
        return _choose(ranking, {code.strip().lower() for code in prior})


def strip_non_language(text: str) -> str:
    """Return `text` without code, mentions, URLs, emoji shortcodes and Slack escapes."""
    return _NON_LANGUAGE.sub(" ", text)


def count_letters(text: str) -> int:
    """Return the number of letters in `text`. Digits, punctuation and emoji are not letters."""
    return sum(1 for character in text if character.isalpha())


def _choose(ranking: Ranking, prior: Collection[str]) -> str | None:
    """Pick the language from a best-first ranking, letting the prior decide near-ties."""
    if not ranking or ranking[0][1] <= 0.0:
        return None
    best_code, best = ranking[0]

    for code, confidence in ranking:
        if best - confidence > PRIOR_MARGIN:
            break
        if code in prior:
            return code

    if len(ranking) == 1:
        return best_code
    runner_up_code, runner_up = ranking[1]
    if best - runner_up < MIN_GAP:
        logger.debug(
            "language detection: %s and %s nearly tied (%.3f, %.3f), returning unknown",
            best_code,
            runner_up_code,
            best,
            runner_up,
        )
        return None
    return best_code


def _to_lingua_language(code: str) -> Language:
    """Return lingua's language for an ISO 639-1 code, raising ValueError if lingua has none."""
    try:
        iso_code = IsoCode639_1.from_str(code.strip().lower())
    except ValueError:
        raise ValueError(
            f"unknown language code {code!r}: expected an ISO 639-1 code that lingua"
            " supports, such as 'en' or 'pt'"
        ) from None
    return Language.from_iso_code_639_1(iso_code)


def _iso_code(language: Language) -> str:
    return language.iso_code_639_1.name.lower()


def _rank_with_lingua(text: str, languages: frozenset[Language]) -> Ranking:
    values = _lingua_detector(languages).compute_language_confidence_values(text)
    return [(_iso_code(value.language), value.value) for value in values]


@functools.lru_cache(maxsize=_DETECTOR_CACHE_SIZE)
def _lingua_detector(languages: frozenset[Language]) -> LinguaDetector:
    """Build a lingua detector restricted to `languages`. Its models load on its first call."""
    logger.debug(
        "language detection: building lingua detector for %s", sorted(map(_iso_code, languages))
    )
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _rank_with_langdetect(text: str) -> Ranking:
    detector = _langdetect_factory().create()
    detector.append(text)
    try:
        results = detector.get_probabilities()
    except LangDetectException:
        # langdetect raises when the text has no letters it models, such as emoji or symbols.
        return []

    # langdetect distinguishes Simplified and Traditional Chinese ("zh-cn", "zh-tw"), but
    # ISO 639-1 has only "zh".
    probabilities: dict[str, float] = {}
    for result in results:
        code = str(result.lang).split("-")[0]
        probabilities[code] = probabilities.get(code, 0.0) + float(result.prob)
    return sorted(probabilities.items(), key=lambda item: item[1], reverse=True)


_langdetect_lock = threading.Lock()
_langdetect_loaded: DetectorFactory | None = None


def _langdetect_factory() -> DetectorFactory:
    """Return a langdetect factory with its profiles loaded and its own fixed seed.

    langdetect samples n-grams at random, so unseeded results vary between calls. Setting
    the seed on a private factory leaves the global `DetectorFactory.seed` and the module's
    shared factory untouched for other code in the process.
    """
    global _langdetect_loaded
    with _langdetect_lock:
        if _langdetect_loaded is None:
            logger.info("language detection: loading langdetect profiles")
            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.set_seed(LANGDETECT_SEED)
            _langdetect_loaded = factory
        return _langdetect_loaded
