"""`parley console`: a local chat in the terminal running the whole core.

Lines starting with ``:`` control the console (who you are, where you are); lines starting
with ``/`` are Parley commands; anything else is a message in the current channel.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from bot.adapters.console.replay import mirror_user_action, note_language
from bot.adapters.console.sender import RecordingSender
from bot.adapters.console.views import render_views
from bot.core import i18n
from bot.core.actions import Action, ActionKind
from bot.core.commands import parse_command_text
from bot.core.errors import UserError
from bot.core.events import (
    Author,
    Command,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    Place,
    ReactionAdded,
)
from bot.jobs import OutboxDrainer
from bot.runtime import Runtime

HELP = """console controls:
  :user NAME [admin]      switch to user NAME (add "admin" to run set-up commands)
  :channel NAME           switch channel        :platform discord|slack   switch flavour
  :locale CODE            your interface language (en, es, fr, de, pt-BR, ja)
  :edit ID TEXT           edit message ID       :delete ID    delete message ID
  :react ID EMOJI         react to message ID (a flag asks for a translation)
  :view                   show every channel as its readers see it
  :quit                   leave
Parley commands start with /, e.g. /link create chat-en:en chat-es:es, or /help.
Anything else is a message in the current channel."""

JOB_WAIT_S = 30.0


@dataclass
class ConsoleState:
    user: str = "alice"
    admin: bool = True
    channel: str = "general"
    platform: str = "discord"
    space: str = "console"
    locale: str = "en"

    def place(self) -> Place:
        return Place(self.platform, self.space, self.channel)

    def author(self) -> Author:
        return Author(self.user, self.user.capitalize(), is_admin=self.admin, locale=self.locale)


class EchoSender(RecordingSender):
    """Records actions and prints each one as a chat line."""

    def __init__(self, screen: TextIO) -> None:
        super().__init__()
        self.screen = screen

    async def send(self, action: Action) -> str | None:
        new_id = await super().send(action)
        self.screen.write(describe(action, new_id) + "\n")
        return new_id


def describe(action: Action, new_id: str | None) -> str:
    """Return one readable line for an action."""
    where = f"#{action.channel}" + (f" (thread {action.thread})" if action.thread else "")
    if action.kind == ActionKind.POST:
        reply = f" ↪{action.target}" if action.target else ""
        return (
            f"  [{new_id}] {where}{reply} {action.display_name} ({action.language}): {action.text}"
        )
    if action.kind == ActionKind.EDIT:
        return f"  [{action.target}] {where} edited ({action.language}): {action.text}"
    if action.kind == ActionKind.DELETE:
        return f"  [{action.target}] {where} deleted"
    return f"  (only you) {action.text}"


class Console:
    """Turns typed lines into events for the core and prints what the core does."""

    def __init__(self, runtime: Runtime, screen: TextIO) -> None:
        self.runtime = runtime
        self.screen = screen
        self.state = ConsoleState()
        self.sender = EchoSender(screen)
        self.numbers = itertools.count(1)
        self.drainers: dict[str, OutboxDrainer] = {}

    async def run(self, stdin: TextIO) -> None:
        """Read lines until end of input or :quit."""
        self.screen.write(HELP + "\n")
        while True:
            self.screen.write(f"{self.state.user}@{self.state.platform}#{self.state.channel}> ")
            self.screen.flush()
            line = stdin.readline()
            if not line or line.strip() == ":quit":
                return
            await self.handle_line(line.rstrip("\n"))

    async def handle_line(self, line: str) -> None:
        if not line.strip():
            return
        if line.strip() == ":view":
            self.screen.write(await render_views(self.sender.record, self.runtime.store))
            return
        try:
            event = self._event(line)
        except UserError as error:
            self.screen.write("  " + i18n.t(error.key, self.state.locale, **error.params) + "\n")
            return
        except ValueError as error:
            self.screen.write(f"  {error}\n")
            return
        if event is None:
            return

        mirror_user_action(self.sender.record, event)
        outcome = await self.runtime.parley.handle(event, self.sender)
        if not outcome.actions and not outcome.jobs and not isinstance(event, MessageCreated):
            self.screen.write("  (no effect: unknown message, or nothing to change)\n")
        await note_language(self.sender.record, self.runtime.store, event)
        if outcome.jobs:
            platform = event.place.platform
            if platform not in self.drainers:
                self.drainers[platform] = OutboxDrainer(
                    self.runtime.store, self.runtime.parley, platform, self.sender, "console"
                )
            try:
                await self.drainers[platform].wait_for(outcome.jobs, JOB_WAIT_S)
            except TimeoutError as error:
                self.screen.write(f"  {error}\n")

    def _event(self, line: str) -> Event | None:
        state = self.state
        event_id = f"console-{next(self.numbers)}"
        if line.startswith("/"):
            name, options = parse_command_text(line)
            return Command(event_id, state.place(), state.author(), name, options)
        if line.startswith(":"):
            return self._control(event_id, line[1:].split(maxsplit=2))

        message_id = f"m{event_id.rsplit('-', 1)[1]}"
        self.screen.write(f"  [{message_id}] #{state.channel} {state.author().name}: {line}\n")
        return MessageCreated(event_id, state.place(), state.author(), message_id, line)

    def _control(self, event_id: str, words: list[str]) -> Event | None:
        state = self.state
        name, args = (words[0], words[1:]) if words else ("help", [])
        usage = _USAGE.get(name)
        if usage is None:
            raise ValueError(f"unknown control :{name}\n{HELP}")
        if not _USAGE_CHECK[name](args):
            raise ValueError(f"usage: {usage}")

        if name == "edit":
            return MessageEdited(event_id, state.place(), state.author(), args[0], args[1])
        if name == "delete":
            return MessageDeleted(event_id, state.place(), args[0])
        if name == "react":
            return ReactionAdded(event_id, state.place(), state.author(), args[0], args[1])
        if name == "user":
            state.user = args[0]
            state.admin = args[1:] == ["admin"]
        elif name == "channel":
            state.channel = args[0].lstrip("#")
        elif name == "platform":
            state.platform = args[0]
        elif name == "locale":
            state.locale = args[0]
        else:
            self.screen.write(HELP + "\n")
            return None
        admin = " (admin)" if state.admin else ""
        self.screen.write(
            f"  you are {state.user}{admin} in #{state.channel} on {state.platform}, "
            f"locale {state.locale}\n"
        )
        return None


# Console controls, how to write each, and a check of its arguments.
_USAGE = {
    "help": ":help",
    "user": ":user NAME [admin]",
    "channel": ":channel NAME",
    "platform": ":platform discord|slack",
    "locale": ":locale CODE",
    "edit": ":edit ID TEXT",
    "delete": ":delete ID",
    "react": ":react ID EMOJI",
}
_USAGE_CHECK: dict[str, Callable[[list[str]], bool]] = {
    "help": lambda args: True,
    "user": lambda args: len(args) == 1 or args[1:] == ["admin"],
    "channel": lambda args: len(args) == 1,
    "platform": lambda args: args in (["discord"], ["slack"]),
    "locale": lambda args: len(args) == 1,
    "edit": lambda args: len(args) == 2,
    "delete": lambda args: len(args) == 1,
    "react": lambda args: len(args) == 2,
}


async def run_console(
    runtime: Runtime, stdin: TextIO = sys.stdin, screen: TextIO = sys.stdout
) -> None:
    await Console(runtime, screen).run(stdin)
