"""Actions: what the core asks an adapter to do. Adapters turn them into platform calls."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class ActionKind(StrEnum):
    POST = "post"
    EDIT = "edit"
    DELETE = "delete"
    DM = "dm"
    EPHEMERAL = "ephemeral"


@dataclass(frozen=True)
class Action:
    """One thing to send.

    `origin` is the id of the message this action was made for (None for command replies
    that answer no message). `target` is the message to edit or delete, or the message to
    reply under for a post. `user` is the recipient of a DM or an ephemeral reply.
    `may_mention` is False on every action the core emits: adapters must send with mentions
    disabled. `language` is the language of `text`.
    """

    kind: ActionKind
    platform: str
    space: str
    channel: str
    text: str
    origin: str | None = None
    target: str | None = None
    thread: str | None = None
    user: str | None = None
    display_name: str = "Parley"
    avatar_url: str | None = None
    language: str | None = None
    may_mention: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        fields = dict(data)
        fields["kind"] = ActionKind(fields["kind"])
        return cls(**fields)
