"""Glossary terms for engines that have no glossary of their own: each term is protected
like a token, and its placeholder restores to the space's translation of the term."""

from __future__ import annotations

import re

from bot.core.ports import GlossaryTerm
from bot.core.tokens import ProtectedText, placeholder

_PLACEHOLDER_SPLIT = re.compile(r"(⟦\d+⟧)")


def protect_terms(protected: ProtectedText, terms: tuple[GlossaryTerm, ...]) -> ProtectedText:
    """Replace whole-word, case-insensitive matches of each term with a new placeholder.

    Longer terms go first, so "pull request" wins over "request".
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

    # Terms are matched only between placeholders: a term such as "0" must not match the
    # digits inside "⟦0⟧".
    pieces = _PLACEHOLDER_SPLIT.split(protected.text)
    text = "".join(
        piece if index % 2 else pattern.sub(substitute, piece) for index, piece in enumerate(pieces)
    )
    return ProtectedText(text, tuple(tokens))
