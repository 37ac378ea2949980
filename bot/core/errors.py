"""Parley's exception tree: one root, and a user-facing branch whose text is safe to post."""

from __future__ import annotations


class ParleyError(Exception):
    """Root of every error Parley raises on purpose."""


class UserError(ParleyError):
    """An error whose message is written for the user and is safe to post in chat.

    `key` names the localized message in the locale catalogs; `params` fill its placeholders.
    """

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class TokenMismatchError(ParleyError):
    """A translation lost, duplicated or damaged a protected token."""


class EngineError(ParleyError):
    """A translation engine failed to return a usable translation."""


class UnsupportedPairError(EngineError):
    """The engine has no route from the source language to the target language."""

    def __init__(self, engine: str, source: str, target: str) -> None:
        super().__init__(f"{engine} cannot translate {source} to {target}")
        self.engine = engine
        self.source = source
        self.target = target


class EngineUnavailableError(EngineError):
    """The engine cannot serve requests for now: timeout, 5xx, rate limit or used-up quota.

    `retry_after` is the number of seconds the provider requested, when it sent one.
    `quota` is True when the account's quota is used up (DeepL's 456).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, quota: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.quota = quota
