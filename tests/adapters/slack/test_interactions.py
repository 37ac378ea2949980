"""The /parley command, the "Translate" message shortcut and the App Home tab."""

from __future__ import annotations

from tests.adapters.slack.driver import SlackDriver

SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."


async def test_command_acknowledged_empty(driver: SlackDriver) -> None:
    response = await driver.command("C1", "UMOD", "help")

    assert response.status == 200
    assert response.body == ""


async def test_command_reply_ephemeral(driver: SlackDriver) -> None:
    await driver.command("C1", "UANA", "language set fr")

    reply = driver.fake.responses[0]
    assert reply["response_type"] == "ephemeral"
    assert reply["_name"] == "command-1"


async def test_command_reply_in_user_locale(driver: SlackDriver) -> None:
    # Ana's Slack locale is es-ES.
    await driver.command("C1", "UANA", "language set fr")

    assert driver.replies("command-1") == ["Tu idioma de lectura ahora es fr."]


async def test_member_cannot_link(driver: SlackDriver) -> None:
    await driver.command("C1", "UBEN", "link create <#C1|chat-en>:en <#C2|chat-es>:es")

    assert driver.replies("command-1") == [
        "Seuls les administrateurs du serveur ou de l'espace de travail peuvent utiliser "
        "/link create."
    ]


async def test_unknown_subcommand_explained(driver: SlackDriver) -> None:
    await driver.command("C1", "UMOD", "dance now")

    assert driver.replies("command-1") == ["Unknown command `dance now`. Try /help."]


async def test_empty_command_shows_help(driver: SlackDriver) -> None:
    await driver.command("C1", "UMOD", "")

    assert driver.replies("command-1")[0].startswith("Parley commands:")


async def test_shortcut_translates_in_locale(driver: SlackDriver) -> None:
    await driver.command("C3", "UMOD", "channel languages en es")
    ts = await driver.say("C3", "UANA", SPANISH)

    # Ben's Slack locale is fr-FR and he set no reading language.
    response = await driver.shortcut(
        "C3", "UBEN", {"type": "message", "user": "UANA", "text": SPANISH, "ts": ts}
    )

    assert response.status == 200
    assert driver.replies("shortcut-") == [f"[fr] {SPANISH}"]
    assert driver.fake.responses[-1]["response_type"] == "ephemeral"


async def test_shortcut_uses_reading_language(driver: SlackDriver) -> None:
    await driver.command("C1", "UBEN", "language set de")

    message = {"type": "message", "user": "UANA", "text": SPANISH, "ts": "1700000000.000500"}
    await driver.shortcut("C9", "UBEN", message)

    assert driver.replies("shortcut-") == [f"[de] {SPANISH}"]


async def test_reply_falls_back_to_ephemeral(driver: SlackDriver) -> None:
    driver.fake.respond_status = 404

    await driver.command("C1", "UMOD", "language set fr")

    ephemeral = driver.fake.calls_to("chat.postEphemeral")
    assert [call.params["user"] for call in ephemeral] == ["UMOD"]
    assert ephemeral[0].params["text"] == "Your reading language is now fr."


async def test_home_shows_reading_language(driver: SlackDriver) -> None:
    await driver.command("C1", "UANA", "language set fr")
    await driver.command("C3", "UMOD", "channel languages en es")
    driver.fake.channels["C4"] = {"id": "C4", "is_private": True, "is_archived": False}
    await driver.command("C4", "UMOD", "channel languages en fr")

    await driver.event({"type": "app_home_opened", "user": "UANA", "channel": "D1", "tab": "home"})

    published = driver.fake.calls_to("views.publish")
    assert len(published) == 1
    assert published[0].params["user_id"] == "UANA"
    texts = [
        block["text"]["text"] for block in published[0].params["view"]["blocks"] if "text" in block
    ]
    assert "Tu idioma de lectura: *fr*. Cámbialo con `/parley language set <código>`." in texts
    assert "<#C3>: multilingüe, en es" in texts
    assert not any("C4" in text for text in texts)


async def test_home_messages_tab_ignored(driver: SlackDriver) -> None:
    await driver.event(
        {"type": "app_home_opened", "user": "UANA", "channel": "D1", "tab": "messages"}
    )

    assert driver.fake.calls_to("views.publish") == []


async def test_command_file_sent_to_dm(driver: SlackDriver) -> None:
    from bot.core.actions import Attachment
    from bot.core.commands import COMMAND_SPECS, CommandReply, CommandSpec
    from bot.core.events import Command

    async def export(command: Command) -> CommandReply:
        return CommandReply("Your file.", "en", Attachment("deck.csv", b"front,back\n", "text/csv"))

    driver.bot.adapter.parley.commands.add(
        CommandSpec("testexport", (), (), False, "help.help"), export
    )

    try:
        await driver.command("C1", "UANA", "testexport")
    finally:
        # The command table is shared by every core in the process.
        COMMAND_SPECS.pop("testexport")

    (upload,) = driver.fake.uploads.values()
    assert driver.replies("command-1") == ["Your file."]
    assert upload.data == b"front,back\n"
    assert upload.channel is not None
