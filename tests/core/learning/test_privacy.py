"""Privacy: opt-outs, retention, `about`, data export and erasure across linked accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fsrs import Rating

from bot.core.conversation import Parley
from bot.core.errors import UserError
from bot.core.events import Author
from bot.core.learning.privacy import Privacy, PrivacyCommands, Subject, is_third_party
from bot.core.learning.review import Reviews
from bot.core.space_store import SpaceStore
from bot.core.store import Copy, MessageRef, Store, StoredMessage
from tests.chat import Chat
from tests.fakes import FakeEngine

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
LEARNER = "discord:u-ana"


class RemoteEngine(FakeEngine):
    """A fake engine that stands for a hosted service: text sent to it leaves Parley."""

    third_party = True


class PaidEngine(RemoteEngine):
    name = "paidfake"
    paid = True
    model = "big-model-1"


@pytest.fixture
def spaces(store: Store) -> SpaceStore:
    return SpaceStore(store, ("fake",))


@pytest.fixture
def privacy(store: Store, spaces: SpaceStore) -> Privacy:
    engines = {"fake": RemoteEngine(), "paidfake": PaidEngine()}
    return Privacy(store, spaces, engines, clock=lambda: NOW)


@pytest.fixture
def reviews(store: Store) -> Reviews:
    return Reviews(store, clock=lambda: NOW)


# Opt-outs.


async def test_default_allows_third_party(privacy: Privacy) -> None:
    assert await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ana")


async def test_user_optout_blocks(privacy: Privacy) -> None:
    await privacy.set_user_optout("discord", "u-ana", True)

    assert not await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ana")
    assert await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ben")
    assert await privacy.may_send_to_third_party("slack", "s1", "c1", "u-ana")


async def test_user_optin_restores(privacy: Privacy) -> None:
    await privacy.set_user_optout("discord", "u-ana", True)

    await privacy.set_user_optout("discord", "u-ana", False)

    assert await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ana")


async def test_channel_optout_blocks_everyone(privacy: Privacy) -> None:
    await privacy.set_channel_optout("discord", "s1", "c1", True)

    assert not await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ana")
    assert not await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ben")
    assert await privacy.may_send_to_third_party("discord", "s1", "c2", "u-ana")
    assert await privacy.may_send_to_third_party("discord", "s2", "c1", "u-ana")


def test_third_party_classification() -> None:
    local = FakeEngine()

    assert not is_third_party(local)
    assert is_third_party(RemoteEngine())
    assert is_third_party(PaidEngine())


# Retention and about.


async def test_retention_sets_ttl(privacy: Privacy, store: Store) -> None:
    assert await privacy.retention_s("discord", "s1") == store.message_ttl_s

    await privacy.set_retention("discord", "s1", 3)

    assert await privacy.retention_s("discord", "s1") == 3 * 86400
    assert await privacy.retention_s("discord", "s2") == store.message_ttl_s


async def test_about_one_day_retention(privacy: Privacy) -> None:
    await privacy.set_retention("discord", "s1", 1)

    text = await privacy.about("discord", "s1", "u-ana", "de")

    assert "Nachrichten 1 Tag lang" in text


async def test_retention_out_of_range(privacy: Privacy) -> None:
    with pytest.raises(UserError) as caught:
        await privacy.set_retention("discord", "s1", 400)
    assert caught.value.key == "error.retention"


async def test_about_lists_engines_and_storage(privacy: Privacy, spaces: SpaceStore) -> None:
    await spaces.set_engines("discord", "s1", ("paidfake", "fake"))
    await privacy.set_retention("discord", "s1", 2)

    text = await privacy.about("discord", "s1", "u-ana", "en")

    assert "paidfake (big-model-1) is a third-party service; fake is" in text
    assert "message text for 2 days" in text
    assert "translations for 1 hour." in text
    assert "/privacy optout keeps them away" in text


# Data under two linked accounts, shared indexes, and another learner who must stay.


async def _populate(store: Store, reviews: Reviews) -> None:
    redis = store.redis
    # Ana's learner id is her Discord account; her Slack account is linked to it.
    await redis.set(store.key("learner-of", "slack", "U-ANA"), LEARNER)
    await redis.sadd(store.key("learner", LEARNER, "accounts"), "discord:u-ana", "slack:U-ANA")
    await redis.hset(store.key("learner", LEARNER, "profile"), mapping={"timezone": "UTC"})
    await redis.set(store.key("learner", LEARNER, "placement"), '{"step":1}')
    await redis.xadd(store.key("learner", LEARNER, "events"), {"kind": "review"})
    await reviews.save_card(LEARNER, "hola", "hello", "es")
    await reviews.show_next(LEARNER)
    await reviews.reveal(LEARNER)
    await reviews.rate(LEARNER, Rating.Good)
    await reviews.set_reminders(LEARNER, 9)
    await store.set_reading_language("discord", "u-ana", "en")
    await store.set_reading_language("slack", "U-ANA", "en")

    # Leaderboards and leagues hold learner ids as members and fields.
    for space in ("s1", "s2"):
        board = store.key("learn", "board", "discord", space, "all")
        await redis.zadd(board, {LEARNER: 40, "discord:u-ben": 10})
    await redis.hset(
        store.key("learn", "league", "discord", "s1", "2025-W11", "member"),
        mapping={LEARNER: "0.1", "discord:u-ben": "0.1"},
    )
    await redis.sadd(store.key("learn", "league-spaces", "2025-W11"), "discord:s1")

    # Messages on both platforms, with a copy map and the engines' context list.
    spaces = SpaceStore(store, ("fake",))
    for platform, user, text in (
        ("discord", "u-ana", "Hola a todos, me llamo Ana"),
        ("slack", "U-ANA", "Ana writes from Slack"),
        ("discord", "u-ben", "Ben keeps his message"),
    ):
        ref = MessageRef(platform, "s1", "c1", f"m-{user}")
        await store.save_message(StoredMessage(ref, user, user, None, text, "es", 0))
        await store.record_copy(ref, Copy(platform, "s1", "c2", "en", (f"p-{user}",)))
        await spaces.remember(platform, "s1", "c1", text, user)

    # Ben is another learner whose data must survive.
    await reviews.save_card("discord:u-ben", "adiós", "bye", "es")


async def test_subject_follows_links(privacy: Privacy, store: Store, reviews: Reviews) -> None:
    await _populate(store, reviews)

    from_slack = await privacy.subject("slack", "U-ANA")
    from_discord = await privacy.subject("discord", "u-ana")

    assert from_slack == Subject(LEARNER, (("discord", "u-ana"), ("slack", "U-ANA")))
    assert from_discord == from_slack


async def test_export_holds_every_type(privacy: Privacy, store: Store, reviews: Reviews) -> None:
    await _populate(store, reviews)

    attachment = await privacy.export("slack", "U-ANA")

    document = json.loads(attachment.data)
    types = {item["type"] for item in document["keys"]}
    assert types == {"hash", "string", "list", "set", "zset", "stream"}
    assert attachment.file_name == "parley-data-20250310.json"
    assert document["learner"] == LEARNER


async def test_export_holds_messages_and_entries(
    privacy: Privacy, store: Store, reviews: Reviews
) -> None:
    await _populate(store, reviews)

    document = json.loads((await privacy.export("discord", "u-ana")).data)

    by_key = {item["key"]: item for item in document["keys"]}
    texts = {item["value"]["text"] for key, item in by_key.items() if ":msg:" in key}
    assert texts == {"Hola a todos, me llamo Ana", "Ana writes from Slack"}
    cards = by_key[store.key("learner", LEARNER, "cards")]
    assert "hola" in next(iter(cards["value"].values()))
    entries = {(entry["key"], entry["item"]): entry["value"] for entry in document["entries"]}
    assert entries[(store.key("learn", "board", "discord", "s1", "all"), LEARNER)] == 40
    assert entries[(store.key("reminders"), LEARNER)] == "9"
    assert not any("u-ben" in key for key in by_key)


async def _keys(store: Store) -> list[str]:
    return sorted([key async for key in store.redis.scan_iter(match=f"{store.prefix}:*")])


async def test_forget_leaves_nothing(privacy: Privacy, store: Store, reviews: Reviews) -> None:
    await _populate(store, reviews)

    report = await privacy.forget("slack", "U-ANA")

    assert report.remaining == 0
    assert report.deleted_keys > 0
    keys = await _keys(store)
    assert [key for key in keys if "u-ana" in key or "U-ANA" in key] == []
    for space in ("s1", "s2"):
        board = store.key("learn", "board", "discord", space, "all")
        assert await store.redis.zscore(board, LEARNER) is None
    league = store.key("learn", "league", "discord", "s1", "2025-W11", "member")
    assert not await store.redis.hexists(league, LEARNER)
    assert not await store.redis.hexists(store.key("reminders"), LEARNER)


async def test_forget_removes_messages(privacy: Privacy, store: Store, reviews: Reviews) -> None:
    await _populate(store, reviews)

    await privacy.forget("discord", "u-ana")

    for platform, user in (("discord", "u-ana"), ("slack", "U-ANA")):
        ref = MessageRef(platform, "s1", "c1", f"m-{user}")
        assert await store.load_message(ref) is None
        assert await store.copies_of(ref) == []
        copy = MessageRef(platform, "s1", "c2", f"p-{user}")
        assert await store.original_of(copy) is None
    recent = await SpaceStore(store, ("fake",)).context("discord", "s1", "c1")
    assert "Hola a todos, me llamo Ana" not in recent


async def test_forget_keeps_other_learner(privacy: Privacy, store: Store, reviews: Reviews) -> None:
    await _populate(store, reviews)

    await privacy.forget("discord", "u-ana")

    ben = MessageRef("discord", "s1", "c1", "m-u-ben")
    assert (await store.load_message(ben)) is not None
    assert len(await reviews.cards("discord:u-ben")) == 1
    board = store.key("learn", "board", "discord", "s1", "all")
    assert await store.redis.zscore(board, "discord:u-ben") == 10
    recent = await SpaceStore(store, ("fake",)).context("discord", "s1", "c1")
    assert "Ben keeps his message" in recent


async def test_forget_finds_unindexed_message(
    privacy: Privacy, store: Store, reviews: Reviews
) -> None:
    ref = MessageRef("discord", "s1", "c1", "m-old")
    await store.save_message(StoredMessage(ref, "u-ana", "Ana", None, "old text", "en", 0))
    await store.redis.delete(store.key("user", "discord", "u-ana", "msgs"))

    report = await privacy.forget("discord", "u-ana")

    assert report.remaining == 0
    assert await store.load_message(ref) is None


async def test_references_count_leftovers(privacy: Privacy, store: Store) -> None:
    await store.redis.zadd(store.key("some", "board"), {LEARNER: 1})
    await store.redis.set(store.key("learner", LEARNER, "xp"), "5")

    found = await privacy.references(await privacy.subject("discord", "u-ana"))

    assert [(ref.key, ref.kind) for ref in found] == [
        (store.key("learner", LEARNER, "xp"), "key"),
        (store.key("some", "board"), "member"),
    ]


async def test_similar_ids_not_matched(privacy: Privacy, store: Store) -> None:
    await store.redis.set(store.key("learner", "discord:u-anabel", "xp"), "5")
    await store.redis.set(store.key("user", "discord", "u-ana2"), "x")

    found = await privacy.references(await privacy.subject("discord", "u-ana"))

    assert found == []


# Commands.


@pytest.fixture
def chat(parley: Parley, privacy: Privacy) -> Chat:
    PrivacyCommands(privacy).register(parley.commands)
    return Chat(parley)


ANA = Author("u-ana", "Ana")


async def test_optout_command(chat: Chat, privacy: Privacy) -> None:
    replies = await chat.command("c1", "privacy optout", author=ANA)

    assert "will not be sent" in replies[0].text
    assert not await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ana")


async def test_channel_optout_needs_admin(chat: Chat, privacy: Privacy) -> None:
    rejected = await chat.command("c1", "privacy channel-optout", author=ANA)
    await chat.command("c1", "privacy channel-optout")

    assert "admins" in rejected[0].text
    assert not await privacy.may_send_to_third_party("discord", "s1", "c1", "u-ben")


async def test_forget_command_asks_to_confirm(chat: Chat, store: Store, reviews: Reviews) -> None:
    await reviews.save_card(LEARNER, "hola", "hello", "es")

    prompt = await chat.command("c1", "privacy forget", author=ANA)
    done = await chat.command("c1", "privacy forget", author=ANA, confirm="confirm")

    assert "/privacy forget confirm" in prompt[0].text
    assert "found 0 references left" in done[0].text
    assert await reviews.cards(LEARNER) == []


async def test_retention_command(chat: Chat, privacy: Privacy) -> None:
    set_reply = await chat.command("c1", "privacy retention", days="14")
    reset_reply = await chat.command("c1", "privacy retention", days="0")
    bad_reply = await chat.command("c1", "privacy retention", days="two")

    assert "14 days" in set_reply[0].text
    assert "default period" in reset_reply[0].text
    assert "`two`" in bad_reply[0].text


async def test_about_command(chat: Chat) -> None:
    replies = await chat.command("c1", "about", author=ANA)

    assert "fake is a third-party service" in replies[0].text
