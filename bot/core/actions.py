"""Actions: what the core requests of an adapter. Adapters turn them into platform calls."""

from __future__ import annotations

import base64
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
class Attachment:
    """A file sent with an action: its name, content and media type."""

    file_name: str
    data: bytes
    media_type: str


@dataclass(frozen=True)
class Action:
    """One thing to send.

    `origin` is the id of the message this action was made for (None for command replies
    that answer no message). `target` is the message to edit or delete, or the message to
    reply under for a post. `user` is the recipient of a DM or an ephemeral reply.
    `may_mention` is False on every action the core emits: adapters must send with mentions
    disabled. `language` is the language of `text`. `attachment` is a file to send with it
    (a deck export, a data export, a chart).
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
    attachment: Attachment | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the action as JSON-ready data; a file's bytes become base64 text."""
        data = asdict(self)
        data["kind"] = str(self.kind)
        if self.attachment is not None:
            data["attachment"] = {
                "file_name": self.attachment.file_name,
                "media_type": self.attachment.media_type,
                "data": base64.b64encode(self.attachment.data).decode("ascii"),
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        fields = dict(data)
        fields["kind"] = ActionKind(fields["kind"])
        if fields.get("attachment"):
            raw = fields["attachment"]
            fields["attachment"] = Attachment(
                raw["file_name"], base64.b64decode(raw["data"]), raw["media_type"]
            )
        return cls(**fields)
