"""Glossary terms for engines that have no glossary of their own: each term is protected
like a token, and its placeholder restores to the space's translation of the term."""

from __future__ import annotations

import re

from bot.core.ports import GlossaryTerm
from bot.core.tokens import ProtectedText, placeholder


def protect_terms(protected: ProtectedText, terms: tuple[GlossaryTerm, ...]) -> ProtectedText:
    """Replace whole-word, case-insensitive matches of each term with a new placeholder.

    Longer terms go first, so "pull request" wins over "request". Text already inside a
    placeholder is never matched, because placeholders hold only digits.
    """
    if not terms:
        return protected
    ordered = sorted(terms, key=lambda term: len(term.source), reverse=True)
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(term.source)}(?!\w)" for term in ordered if term.source),
        re.IGNORECASE,
    )
    translations = {term.source.casefold(): term.target for term in ordered}
    tokens = list(protected.tokens)

    def substitute(match: re.Match[str]) -> str:
        tokens.append(translations[match.group(0).casefold()])
        return placeholder(len(tokens) - 1)

    text = pattern.sub(substitute, protected.text)
    return ProtectedText(text, tuple(tokens))
