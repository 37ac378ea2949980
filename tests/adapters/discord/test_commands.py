"""Slash commands and the "Translate" message command on Discord."""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.discord.commands import (
    build_commands,
    build_tree,
    fit,
    language_choices,
    message_id_of,
)
from bot.adapters.discord.start import ShardOptions, build_client
from bot.core import i18n
from bot.core.commands import CommandSpec
from bot.core.conversation import Parley
from bot.core.store import Store
from bot.learning_setup import wire_learning
from tests.adapters.discord import gateway
from tests.adapters.discord.conftest import Harness
from tests.adapters.discord.fake_discord import body_text, dumps

COMMANDS = rf"/applications/{gateway.APPLICATION_ID}/commands"
FOLLOWUP = rf"/webhooks/{gateway.APPLICATION_ID}/interaction-token-(\d+)"
CALLBACK = r"/interactions/(\d+)/[^/]+/callback"
LOCALES = ("es-ES", "fr", "de", "pt-BR", "ja")
TEXT = "Hello everyone, who is coming to the meeting tomorrow?"


async def synced(harness: Harness) -> dict[str, Any]:
    await harness.adapter.register_commands()
    (call,) = harness.fake.calls("PUT", COMMANDS)
    return {command["name"]: command for command in call.body}


async def test_sync_localizes_descriptions(harness: Harness) -> None:
    commands = await synced(harness)

    translate = commands["translate"]
    for locale in LOCALES:
        assert locale in translate["description_localizations"]
    assert translate["description_localizations"]["es-ES"] == i18n.t("help.translate", "es")
    assert "en-US" not in translate["description_localizations"]


async def test_sync_localizes_menu_name(harness: Harness) -> None:
    commands = await synced(harness)

    menu = commands["Translate"]
    assert menu["type"] == 3
    assert menu["name_localizations"] == {
        "es-ES": "Traducir",
        "es-419": "Traducir",
        "fr": "Traduire",
        "de": "Übersetzen",
        "pt-BR": "Traduzir",
        "ja": "翻訳",
    }


async def test_sync_groups_subcommands(harness: Harness) -> None:
    commands = await synced(harness)

    link = commands["link"]
    subcommands = {option["name"]: option for option in link["options"]}
    assert {"create", "remove"} <= set(subcommands)
    assert subcommands["create"]["options"][0]["name"] == "channels"
    assert subcommands["create"]["options"][0]["type"] == 3
    assert subcommands["create"]["options"][0]["required"] is True
    assert "fr" in subcommands["create"]["description_localizations"]
    assert "fr" in link["description_localizations"]


async def test_sync_admin_permissions(harness: Harness) -> None:
    commands = await synced(harness)

    assert commands["link"]["default_member_permissions"] == 32
    assert commands["usage"]["default_member_permissions"] == 32
    # /glossary list is for everyone, so the group stays visible; the core checks the rest.
    assert commands["glossary"]["default_member_permissions"] is None
    assert commands["language"]["default_member_permissions"] is None
    assert all(command["contexts"] == [0] for command in commands.values())


async def test_sync_option_choices(harness: Harness) -> None:
    commands = await synced(harness)

    (languages, style) = next(
        option["options"]
        for option in commands["channel"]["options"]
        if option["name"] == "languages"
    )
    assert languages["autocomplete"] is True
    assert [choice["value"] for choice in style["choices"]] == ["reply", "thread"]
    assert "es-ES" in style["description_localizations"]


async def test_sync_descriptions_fit(harness: Harness) -> None:
    commands = await synced(harness)

    texts: list[str] = []
    pending = list(commands.values())
    while pending:
        item = pending.pop()
        texts.append(item.get("description", "x"))
        texts.extend((item.get("description_localizations") or {}).values())
        pending.extend(item.get("options", []))
    assert all(1 <= len(text) <= 100 for text in texts)


async def test_translate_menu_in_locale(harness: Harness) -> None:
    await harness.link_chats()
    original = gateway.message_create(harness.next_id(), "chat-en", TEXT, by="ben")
    await harness.feed("MESSAGE_CREATE", original)
    interaction_id = harness.next_id()

    menu = gateway.message_command(interaction_id, "chat-en", original, by="ana", locale="es-ES")
    await harness.feed("INTERACTION_CREATE", menu)

    (callback,) = [
        call
        for call in harness.fake.calls("POST", CALLBACK)
        if call.path.split("/")[2] == str(interaction_id)
    ]
    assert callback.body == {"type": 5, "data": {"flags": 64}}
    (reply,) = harness.fake.calls("POST", rf"/webhooks/\d+/interaction-token-{interaction_id}")
    assert body_text(reply) == f"[es] {TEXT}"
    assert reply.body["flags"] == 64
    assert reply.body["allowed_mentions"] == {"parse": []}


async def test_translate_menu_unset_channel(harness: Harness) -> None:
    original = gateway.message_create(harness.next_id(), "general", TEXT, by="ben")
    await harness.feed("MESSAGE_CREATE", original)
    interaction_id = harness.next_id()

    menu = gateway.message_command(interaction_id, "general", original, by="ana", locale="fr")
    await harness.feed("INTERACTION_CREATE", menu)

    (reply,) = harness.fake.calls("POST", rf"/webhooks/\d+/interaction-token-{interaction_id}")
    assert body_text(reply) == f"[fr] {TEXT}"
    assert reply.body["flags"] == 64


async def test_member_refused_admin_command(harness: Harness) -> None:
    interaction_id = harness.next_id()
    command = gateway.slash_command(
        interaction_id,
        "chat-es",
        "channel languages",
        {"languages": "es en"},
        by="ana",
        locale="es-ES",
    )

    await harness.feed("INTERACTION_CREATE", command)

    (reply,) = harness.fake.calls("POST", rf"/webhooks/\d+/interaction-token-{interaction_id}")
    assert body_text(reply) == i18n.t("error.admin_only", "es", name="channel languages")
    assert reply.body["flags"] == 64


async def test_admin_command_runs(harness: Harness) -> None:
    await harness.link_chats()

    replies = harness.fake.calls("POST", FOLLOWUP)
    assert len(replies) == 1, dumps(harness.fake.requests)
    assert body_text(replies[0]).startswith("Linked:")


async def test_language_autocomplete(harness: Harness) -> None:
    interaction_id = harness.next_id()
    interaction = gateway.slash_command(
        interaction_id, "chat-en", "channel languages", {"languages": "en es f"}
    )
    interaction["type"] = 4
    interaction["data"]["options"][0]["options"][0]["focused"] = True

    await harness.feed("INTERACTION_CREATE", interaction)

    (callback,) = harness.fake.calls("POST", CALLBACK)
    assert callback.body["type"] == 8
    values = [choice["value"] for choice in callback.body["data"]["choices"]]
    assert "en es fr" in values
    assert all(value.startswith("en es f") for value in values)


def test_language_choices_single() -> None:
    values = [choice.value for choice in language_choices("P", multiple=False)]

    assert values[0] == "pa"
    assert "pt" in values
    assert all(value.startswith("p") for value in values)


def test_language_choices_skip_chosen() -> None:
    values = [choice.value for choice in language_choices("fr, e", multiple=True)]

    assert "fr en" in values
    assert "fr es" in values
    assert all(value.startswith("fr e") for value in values)


def test_language_choices_limit() -> None:
    assert len(language_choices("", multiple=True)) == 25


def test_message_link_to_id() -> None:
    link = "https://discord.com/channels/1100000000000000001/1100000000000000011/123456789"

    assert message_id_of(link) == "123456789"
    assert message_id_of(" 123456789 ") == " 123456789 "


def test_fit_cuts_at_word() -> None:
    text = "one two three four five"

    assert fit(text, 12) == "one two…"
    assert fit(text, 100) == text


async def _run(*_: Any) -> None:
    return None


def test_command_and_group_flattened() -> None:
    specs = [
        CommandSpec("review", (), (), False, "help.help"),
        CommandSpec("review rate", ("rating",), ("rating",), False, "help.help"),
        CommandSpec("link create", ("channels",), ("channels",), True, "help.link_create"),
    ]

    built = build_commands(specs, _run)

    assert [command.name for command in built] == ["review", "review-rate", "link"]


def test_three_word_name_rejected() -> None:
    specs = [CommandSpec("a b c", (), (), False, "help.help")]

    with pytest.raises(ValueError, match="has 3 words"):
        build_commands(specs, _run)


def test_option_keyword_renamed() -> None:
    spec = CommandSpec("budget set", ("from", "dry-run"), (), True, "help.budget_set")

    (group,) = build_commands([spec], _run)

    (command,) = group.commands
    assert [parameter.display_name for parameter in command.parameters] == ["from", "dry-run"]


def test_tree_with_learning_commands(parley: Parley, store: Store, detector: Any) -> None:
    wire_learning(parley, store, parley.translator, detector, parley.translator.engines)
    client = build_client(ShardOptions())

    tree = build_tree(client, _run)

    names = {command.name for command in tree.get_commands()}
    assert {"review", "review-rate", "profile", "translate", "Translate"} <= names
    assert len(names) <= 100
