"""Localized strings for every message Parley itself sends to users.

Catalogs are JSON files in ``config/locales`` named by locale (``en.json``, ``pt-BR.json``).
A missing key or locale falls back to English; a missing English key is a bug and raises.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

DEFAULT_LOCALE = "en"


@cache
def _catalog(locale: str) -> dict[str, str]:
    try:
        raw = resources.files("config").joinpath("locales", f"{locale}.json").read_text("utf-8")
    except FileNotFoundError:
        return {}
    catalog: dict[str, str] = json.loads(raw)
    return catalog


@cache
def available_locales() -> tuple[str, ...]:
    folder = resources.files("config").joinpath("locales")
    return tuple(sorted(item.name[:-5] for item in folder.iterdir() if item.name.endswith(".json")))


def resolve_locale(locale: str | None) -> str:
    """Map a platform locale (``es-ES``, ``pt_BR``, ``ja``) to the closest catalog we ship."""
    if not locale:
        return DEFAULT_LOCALE
    wanted = locale.replace("_", "-")
    known = available_locales()
    for candidate in (wanted, wanted.split("-")[0]):
        for name in known:
            if name.lower() == candidate.lower():
                return name
    base = wanted.split("-")[0].lower()
    for name in known:
        if name.split("-")[0].lower() == base:
            return name
    return DEFAULT_LOCALE


def t(key: str, locale: str | None = None, **params: object) -> str:
    """Return the message `key` in `locale`, formatted with `params`."""
    template = _catalog(resolve_locale(locale)).get(key)
    if template is None:
        template = _catalog(DEFAULT_LOCALE)[key]
    return template.format(**params)
