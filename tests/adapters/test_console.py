"""The console chat: typed lines become events, and Parley's actions are printed."""

from __future__ import annotations

import io
from types import SimpleNamespace

from bot.adapters.console.repl import Console
from bot.core.conversation import Parley
from bot.core.store import Store


async def run_lines(parley: Parley, store: Store, lines: list[str]) -> str:
    screen = io.StringIO()
    console = Console(SimpleNamespace(parley=parley, store=store), screen)  # type: ignore[arg-type]
    await console.run(io.StringIO("\n".join(lines) + "\n"))
    return screen.getvalue()


async def test_linked_conversation(parley: Parley, store: Store) -> None:
    output = await run_lines(
        parley,
        store,
        [
            "/link create chat-en:en chat-es:es",
            ":channel chat-es",
            ":user ana",
            "Mañana vamos a la playa con toda la familia.",
            ":view",
        ],
    )

    assert "Linked: #chat-en:en #chat-es:es" in output
    assert "#chat-en Ana (en): [en] Mañana vamos a la playa" in output
    assert "#chat-en (discord, en)" in output


async def test_member_cannot_set_up(parley: Parley, store: Store) -> None:
    output = await run_lines(parley, store, [":user ben", "/channel languages en es"])

    assert "Only server or workspace admins" in output


async def test_edit_delete_and_react(parley: Parley, store: Store) -> None:
    output = await run_lines(
        parley,
        store,
        [
            "/channel languages en es",
            "Tomorrow we are going to the beach with the whole family.",
            ":edit m2 Tomorrow we are going to the mountains instead.",
            ":react m2 🇫🇷",
            ":delete m2",
        ],
    )

    assert "edited (es): [es] Tomorrow we are going to the mountains" in output
    assert "(thread m2) Parley (fr): [fr] Tomorrow we are going to the mountains" in output
    assert output.count("deleted") == 2


async def test_unknown_command_explained(parley: Parley, store: Store) -> None:
    output = await run_lines(parley, store, ["/frobnicate"])

    assert "Unknown command `frobnicate`" in output


async def test_view_thread_style(parley: Parley, store: Store) -> None:
    output = await run_lines(
        parley,
        store,
        [
            "/channel languages en es style=thread",
            "Tomorrow we are going to the beach with the whole family.",
            ":view",
        ],
    )
    spanish_view = output.split("as a reader of es sees it")[1]

    assert "[untranslated]" not in spanish_view
    assert "Alice: [es] Tomorrow we are going to the beach" in spanish_view
    assert "on request" not in spanish_view


async def test_bad_control_shows_usage(parley: Parley, store: Store) -> None:
    output = await run_lines(parley, store, [":edit m1", ":platform teams", ":delete nosuch"])

    assert "usage: :edit ID TEXT" in output
    assert "usage: :platform discord|slack" in output
    assert "(no effect: unknown message" in output
