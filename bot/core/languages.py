"""Language codes Parley accepts (ISO 639-1) and the flag emoji that stand for them."""

from __future__ import annotations

from lingua import Language

from bot.core.errors import UserError

SUPPORTED: frozenset[str] = frozenset(
    language.iso_code_639_1.name.lower() for language in Language.all()
)

# A flag names a country, not a language: each maps to the language most of its people
# would expect when they react with it.
_COUNTRY_LANGUAGE = {
    "ar": "es",
    "at": "de",
    "au": "en",
    "be": "fr",
    "bo": "es",
    "br": "pt",
    "ca": "en",
    "ch": "de",
    "cl": "es",
    "cn": "zh",
    "co": "es",
    "cu": "es",
    "cz": "cs",
    "de": "de",
    "dk": "da",
    "ec": "es",
    "eg": "ar",
    "es": "es",
    "fi": "fi",
    "fr": "fr",
    "gb": "en",
    "gr": "el",
    "hk": "zh",
    "hr": "hr",
    "hu": "hu",
    "id": "id",
    "ie": "en",
    "il": "he",
    "in": "hi",
    "ir": "fa",
    "it": "it",
    "jp": "ja",
    "kr": "ko",
    "mx": "es",
    "my": "ms",
    "nl": "nl",
    "no": "nb",
    "nz": "en",
    "pe": "es",
    "ph": "tl",
    "pk": "ur",
    "pl": "pl",
    "pt": "pt",
    "py": "es",
    "ro": "ro",
    "rs": "sr",
    "ru": "ru",
    "sa": "ar",
    "se": "sv",
    "sk": "sk",
    "th": "th",
    "tr": "tr",
    "tw": "zh",
    "ua": "uk",
    "us": "en",
    "uy": "es",
    "ve": "es",
    "vn": "vi",
    "za": "en",
}
# Slack names some flags by country code alone and others as flag-xx.
_SLACK_FLAG_NAMES = {
    "jp": "jp",
    "kr": "kr",
    "de": "de",
    "cn": "cn",
    "us": "us",
    "es": "es",
    "fr": "fr",
    "it": "it",
    "ru": "ru",
    "gb": "gb",
    "uk": "gb",
}
_REGIONAL_A = 0x1F1E6


def parse_language(value: str) -> str:
    """Return the ISO 639-1 code in `value`; raises UserError for anything else."""
    code = value.strip().lower().replace("_", "-").split("-")[0]
    if code not in SUPPORTED:
        raise UserError("error.language", value=value[:20])
    return code


def parse_languages(value: str) -> tuple[str, ...]:
    """Parse a space- or comma-separated list of language codes, keeping order, without repeats."""
    codes: list[str] = []
    for item in value.replace(",", " ").split():
        code = parse_language(item)
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def flag_language(emoji: str) -> str | None:
    """Return the language a flag reaction requests (Unicode flag or Slack name), or None."""
    country = _flag_country(emoji.strip())
    if country is None:
        return None
    return _COUNTRY_LANGUAGE.get(country)


def _flag_country(emoji: str) -> str | None:
    if len(emoji) == 2 and all(0 <= ord(char) - _REGIONAL_A < 26 for char in emoji):
        return "".join(chr(ord(char) - _REGIONAL_A + ord("a")) for char in emoji)
    name = emoji.strip(":").lower()
    if name.startswith("flag-") and len(name) == 7:
        return name[5:]
    return _SLACK_FLAG_NAMES.get(name)
