"""SlackSender: the core's actions as Slack Web API calls.

Message ids are Slack `ts` values. They are unique only within a channel, which is enough
because the core's message references always carry the channel.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackRequestError

from bot.adapters.slack.api import API_ERRORS, SlackApi, error_code
from bot.core.actions import Action, ActionKind
from bot.core.relay import BOT_NAME

log = logging.getLogger(__name__)

PLATFORM = "slack"
# chat.postMessage truncates text past 40,000 characters but Slack advises 4,000 per
# message; the core splits longer text at this length.
MAX_LENGTH = 4000
# Slack cuts a custom username down past 80 characters.
MAX_USERNAME = 80

# Special mentions that notify a whole channel, the people online in it, or a workspace.
# Slack writes them <!here>, optionally with a label: <!here|here>.
_BROADCAST = re.compile(r"<!(here|channel|everyone)(?:\|[^<>]*)?>")
# User-group mentions (<!subteam^S123|@designers>) notify every member of the group.
_USER_GROUP = re.compile(r"<!subteam\^[A-Za-z0-9]+(?:\|@?(?P<label>[^<>]*))?>")

# files_upload_v2 raises SlackRequestError when the upload URL rejects the bytes (a status
# other than 200) or the file is over the 1 GB limit that slack_sdk 3.48 checks.
UPLOAD_ERRORS = (*API_ERRORS, SlackRequestError)


def neutralise_broadcasts(text: str) -> str:
    """Turn broadcast and user-group mentions into plain text (``<!here>`` → ``@here``).

    Parley never adds such mentions, but a relayed message carries its author's text, and a
    copy must not notify a whole channel a second time. Plain ``@here`` stays inert because
    every post is sent with ``link_names=false``. User mentions (``<@U123>``) are kept:
    Slack has no switch to post them without notifying, and rewriting them would lose the
    link to the person.
    """
    text = _BROADCAST.sub(lambda match: f"@{match[1]}", text)
    return _USER_GROUP.sub(lambda match: f"@{match['label'] or 'group'}", text)


class SlackSender:
    """Carries out the core's actions on Slack with the bot token of each action's space.

    A failed call is logged with its Slack error code and ids, and `send` returns None. One
    unreachable channel must not stop the other copies. Raising would also make Slack
    redeliver the event, which would post the copies already made a second time.

    An ephemeral reply or DM with an attachment is sent as text first, then the file is
    uploaded to the recipient's DM (see `upload_attachment`). Attachments of other actions
    are not sent.
    """

    def __init__(self, api: SlackApi) -> None:
        self.api = api
        self._dm_channels: dict[tuple[str, str], str] = {}

    def max_length(self, platform: str) -> int:
        return MAX_LENGTH

    async def send(self, action: Action) -> str | None:
        try:
            if action.kind == ActionKind.POST:
                return await self._post(action)
            if action.kind == ActionKind.EDIT:
                await self._edit(action)
            elif action.kind == ActionKind.DELETE:
                await self._delete(action)
            elif action.kind == ActionKind.EPHEMERAL:
                await self._ephemeral(action)
            elif action.kind == ActionKind.DM:
                return await self._dm(action)
        except API_ERRORS as error:
            log.warning(
                "slack %s in %s/%s (origin %s) failed: %s",
                action.kind,
                action.space,
                action.channel,
                action.origin,
                error_code(error),
            )
        return None

    async def _post(self, action: Action) -> str:
        token = await self.api.token(action.space)
        relayed = action.display_name != BOT_NAME or action.avatar_url is not None
        response = await self.api.client.chat_postMessage(
            token=token,
            channel=action.channel,
            text=neutralise_broadcasts(action.text),
            # Slack has no inline replies, so a reply becomes a thread reply. Replies to a
            # message inside a thread go under the thread's parent, so `thread` comes first.
            thread_ts=action.thread or action.target,
            # Relays appear under the author's name and picture (scope chat:write.customize).
            username=action.display_name[:MAX_USERNAME] if relayed else None,
            icon_url=action.avatar_url if relayed else None,
            unfurl_links=False,
            unfurl_media=False,
            link_names=False,
        )
        return str(response["ts"])

    async def _edit(self, action: Action) -> None:
        if action.target is None:
            log.warning("slack edit in %s/%s has no target message", action.space, action.channel)
            return
        token = await self.api.token(action.space)
        await self.api.client.chat_update(
            token=token,
            channel=action.channel,
            ts=action.target,
            text=neutralise_broadcasts(action.text),
            link_names=False,
        )

    async def _delete(self, action: Action) -> None:
        if action.target is None:
            log.warning("slack delete in %s/%s has no target message", action.space, action.channel)
            return
        token = await self.api.token(action.space)
        await self.api.client.chat_delete(token=token, channel=action.channel, ts=action.target)

    async def _ephemeral(self, action: Action) -> None:
        if action.user is None:
            log.warning("slack ephemeral in %s/%s has no recipient", action.space, action.channel)
            return
        token = await self.api.token(action.space)
        await self.api.client.chat_postEphemeral(
            token=token,
            channel=action.channel,
            user=action.user,
            text=neutralise_broadcasts(action.text),
            thread_ts=action.thread,
            link_names=False,
        )
        await self.upload_attachment(action)

    async def _dm(self, action: Action) -> str | None:
        if action.user is None:
            log.warning("slack DM in %s has no recipient", action.space)
            return None
        token = await self.api.token(action.space)
        channel = await self._open_dm(token, action.space, action.user)
        response = await self.api.client.chat_postMessage(
            token=token,
            channel=channel,
            text=neutralise_broadcasts(action.text),
            unfurl_links=False,
            unfurl_media=False,
            link_names=False,
        )
        await self.upload_attachment(action)
        return str(response["ts"])

    async def _open_dm(self, token: str, space: str, user: str) -> str:
        """Return the id of the DM channel with `user`, opening it on first use."""
        channel = self._dm_channels.get((space, user))
        if channel is None:
            opened = await self.api.client.conversations_open(token=token, users=user)
            channel = str(opened["channel"]["id"])
            self._dm_channels[(space, user)] = channel
        return channel

    async def upload_attachment(self, action: Action) -> None:
        """Upload `action.attachment`, if any, to the DM of `action.user`.

        Slack cannot attach a file to an ephemeral message, so the DM is the private place
        for it. The upload takes three calls through files_upload_v2:
        files.getUploadURLExternal, a POST of the bytes to the returned URL, and
        files.completeUploadExternal to share the file in the DM (scope files:write).
        A failure is logged, not raised, because the text reply has already been sent.
        """
        attachment = action.attachment
        if attachment is None:
            return
        if action.user is None:
            log.warning(
                "slack upload of %s in %s/%s has no recipient",
                attachment.file_name,
                action.space,
                action.channel,
            )
            return
        try:
            token = await self.api.token(action.space)
            channel = await self._open_dm(token, action.space, action.user)
            await self.api.client.files_upload_v2(
                token=token,
                channel=channel,
                file=attachment.data,
                filename=attachment.file_name,
                title=attachment.file_name,
            )
        except UPLOAD_ERRORS as error:
            log.warning(
                "slack upload of %s (%d bytes) to the DM of %s in %s (origin %s) failed: %s",
                attachment.file_name,
                len(attachment.data),
                action.user,
                action.space,
                action.origin,
                error_code(error),
            )
