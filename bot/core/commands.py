"""Set-up and on-demand commands. Names and options match the slash commands adapters register."""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core import i18n
from bot.core.actions import Attachment
from bot.core.engine_commands import EngineCommands
from bot.core.errors import EngineError, UserError
from bot.core.events import Command, Place
from bot.core.languages import parse_language, parse_languages
from bot.core.relay import Relay
from bot.core.store import MessageRef, Store
from bot.core.translate import Author as TextAuthor
from bot.core.translate import SpaceRef, TranslationService

MAX_LINKED_CHANNELS = 10
# How long a code from `link bridge` stays valid, in seconds.
BRIDGE_CODE_TTL_S = 600
STYLES = ("reply", "thread")


CommandFunction = Callable[[Command], Awaitable["str | CommandReply"]]


@dataclass(frozen=True)
class CommandReply:
    """A command's reply: its text, the language of the text, and a file to send with it."""

    text: str
    language: str
    attachment: Attachment | None = None


@dataclass(frozen=True)
class CommandSpec:
    """A command's name, its options in positional order, and whether only admins may run it."""

    name: str
    options: tuple[str, ...]
    required: tuple[str, ...]
    admin: bool
    help_key: str
    # In typed form, this option takes every positional word (a list such as "en es fr").
    rest: str | None = None
    # Options that adapters fill in themselves (a message's text and author), left out of
    # help.
    internal: tuple[str, ...] = ()


COMMAND_SPECS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("help", (), (), False, "help.help"),
        CommandSpec("settings", (), (), False, "help.settings"),
        CommandSpec(
            "channel languages",
            ("languages", "style"),
            ("languages",),
            True,
            "help.channel_languages",
            rest="languages",
        ),
        CommandSpec("channel off", (), (), True, "help.channel_off"),
        CommandSpec(
            "link create", ("channels",), ("channels",), True, "help.link_create", rest="channels"
        ),
        CommandSpec("link remove", (), (), True, "help.link_remove"),
        CommandSpec("language set", ("language",), ("language",), False, "help.language_set"),
        CommandSpec(
            "translate",
            ("message", "language", "text", "author"),
            ("message",),
            False,
            "help.translate",
            internal=("text", "author"),
        ),
        CommandSpec("link bridge", ("language",), ("language",), True, "help.link_bridge"),
        CommandSpec(
            "link join", ("code", "language"), ("code", "language"), True, "help.link_join"
        ),
        CommandSpec("bots allow", ("user",), ("user",), True, "help.bots_allow"),
        CommandSpec("bots deny", ("user",), ("user",), True, "help.bots_deny"),
        CommandSpec(
            "engine set", ("engines",), ("engines",), True, "help.engine_set", rest="engines"
        ),
        CommandSpec("formality set", ("formality",), ("formality",), True, "help.formality_set"),
        CommandSpec("budget set", ("characters", "tokens"), (), True, "help.budget_set"),
        CommandSpec("usage", ("month",), (), True, "help.usage"),
        CommandSpec(
            "glossary add",
            ("source", "target", "term", "translation"),
            ("source", "target", "term", "translation"),
            True,
            "help.glossary_add",
        ),
        CommandSpec(
            "glossary remove",
            ("source", "target", "term"),
            ("source", "target", "term"),
            True,
            "help.glossary_remove",
        ),
        CommandSpec("glossary list", ("source", "target"), (), False, "help.glossary_list"),
    )
}


_OPTION_NAME = re.compile(r"^[a-z_]{2,30}$")


def parse_command_text(text: str) -> tuple[str, dict[str, str]]:
    """Split typed command text (``link create a:en b:es``) into a name and options.

    Words like ``style=thread`` set that option; other words fill the options in order,
    except that a spec's `rest` option takes them all. Raises UserError for an unknown name.
    """
    try:
        # Quotes group words, as in: /glossary add en es "pull request" "solicitud de cambios"
        words = shlex.split(text.strip().lstrip("/"))
    except ValueError:
        raise UserError("error.quotes") from None
    for length in (2, 1):
        spec = COMMAND_SPECS.get(" ".join(words[:length]))
        if spec is not None:
            break
    else:
        raise UserError("error.unknown_command", name=" ".join(words[:2])[:40] or "?")

    options: dict[str, str] = {}
    positional: list[str] = []
    for word in words[length:]:
        name, equals, value = word.partition("=")
        if equals and name in spec.options:
            options[name] = value
        elif equals and _OPTION_NAME.match(name):
            # "foo=bar" names an option; treating it as a value would put it in the wrong
            # place (profile set targets=es:B1 fr once set the native language to fr).
            raise UserError("error.unknown_option", name=spec.name, option=name[:40])
        else:
            positional.append(word)
    if spec.rest is not None:
        if positional:
            options[spec.rest] = " ".join(positional)
        return spec.name, options
    free = [option for option in spec.options if option not in options]
    for option, value in zip(free, positional, strict=False):
        options[option] = value
    if len(positional) > len(free):
        raise UserError(
            "error.extra_words", name=spec.name, words=" ".join(positional[len(free) :])[:60]
        )
    return spec.name, options


# A linked channel is written `channel:language`; the channel may be a Discord `<#id>`,
# a Slack `<#C123|name>`, `#name` or a bare id.
_LINK_ITEM = re.compile(
    r"^(?:<#(?P<marked>[A-Za-z0-9_.-]{1,80})(?:\|[^>]{0,80})?>|#?(?P<plain>[A-Za-z0-9_.-]{1,80}))"
    r":(?P<language>[A-Za-z_-]{2,10})$"
)


class CommandHandler:
    """Runs commands and returns the reply text in the caller's locale."""

    def __init__(self, store: Store, translator: TranslationService, relay: Relay) -> None:
        self.store = store
        self.translator = translator
        self.relay = relay
        self.engines = EngineCommands(translator)
        self._handlers: dict[str, CommandFunction] = {
            "help": self.help,
            "settings": self.settings,
            "channel languages": self.channel_languages,
            "channel off": self.channel_off,
            "link create": self.link_create,
            "link remove": self.link_remove,
            "language set": self.language_set,
            "translate": self.translate,
            "link bridge": self.link_bridge,
            "link join": self.link_join,
            "bots allow": self.bots_allow,
            "bots deny": self.bots_deny,
            "engine set": self.engines.engine_set,
            "formality set": self.engines.formality_set,
            "budget set": self.engines.budget_set,
            "usage": self.engines.usage,
            "glossary add": self.engines.glossary_add,
            "glossary remove": self.engines.glossary_remove,
            "glossary list": self.engines.glossary_list,
        }

    def add(self, spec: CommandSpec, handler: CommandFunction) -> None:
        """Register a command from another part of the core (e.g. learning features).

        The spec joins COMMAND_SPECS, so typed commands and adapters' command trees see it.
        Raises ValueError when the name is taken by a different spec.
        """
        existing = COMMAND_SPECS.get(spec.name)
        if existing is not None and existing != spec:
            raise ValueError(f"command {spec.name!r} is already registered")
        COMMAND_SPECS[spec.name] = spec
        self._handlers[spec.name] = handler

    async def run(self, command: Command) -> CommandReply:
        """Validate and run `command`; raises UserError with a message safe to post."""
        spec = COMMAND_SPECS.get(command.name)
        if spec is None:
            raise UserError("error.unknown_command", name=command.name[:40])
        if spec.admin and not command.author.is_admin:
            raise UserError("error.admin_only", name=command.name)
        unknown = sorted(set(command.options) - set(spec.options))
        if unknown:
            raise UserError("error.unknown_option", name=command.name, option=unknown[0][:40])
        for option in spec.required:
            if not command.options.get(option, "").strip():
                raise UserError("error.missing_option", name=command.name, option=option)
        result = await self._handlers[command.name](command)
        if isinstance(result, CommandReply):
            return result
        return CommandReply(result, i18n.resolve_locale(command.author.locale))

    async def help(self, command: Command) -> str:
        locale = command.author.locale
        lines = [i18n.t("help.title", locale)]
        for spec in COMMAND_SPECS.values():
            usage = " ".join(
                f"<{option}>" if option in spec.required else f"[{option}]"
                for option in spec.options
                if option not in spec.internal
            )
            lines.append(f"/{spec.name} {usage}".rstrip() + " — " + i18n.t(spec.help_key, locale))
        return "\n".join(lines)

    async def settings(self, command: Command) -> str:
        locale = command.author.locale
        place = _channel(command.place)
        config = await self.store.channel_config(place)
        reading = await self.store.reading_language(place.platform, command.author.id)
        lines = []
        if config is None:
            lines.append(i18n.t("settings.none", locale))
        elif config.mode == "multilingual":
            lines.append(
                i18n.t(
                    "settings.multilingual",
                    locale,
                    languages=" ".join(config.languages),
                    style=config.style,
                )
            )
        else:
            members = await self.store.group_members(config.group or "")
            channels = " ".join(
                f"#{key.split(':', 2)[2]}:{lang}" for key, lang in sorted(members.items())
            )
            lines.append(i18n.t("settings.linked", locale, channels=channels))
        lines.append(i18n.t("settings.reading", locale, language=reading or "-"))
        chain = await self.engines.chain(place)
        lines.append(i18n.t("settings.engine", locale, engine=" → ".join(chain)))
        return "\n".join(lines)

    async def channel_languages(self, command: Command) -> str:
        locale = command.author.locale
        place = _channel(command.place)
        languages = parse_languages(command.options["languages"])
        if len(languages) < 2:
            raise UserError("error.two_languages")
        # Every message is posted once per other language, so the list is capped.
        if len(languages) > MAX_LINKED_CHANNELS:
            raise UserError("error.language_count", maximum=MAX_LINKED_CHANNELS)
        style = command.options.get("style", "").strip().lower() or "reply"
        if style not in STYLES:
            raise UserError("error.style", value=style[:20], styles=", ".join(STYLES))
        current = await self.store.channel_config(place)
        if current is not None and current.mode == "linked":
            raise UserError("error.channel_linked")

        # The engine check comes first: if it fails, nothing has been saved.
        note = await self._unsupported_note(place, languages, locale)
        await self.store.set_multilingual(place, languages, style)
        reply = i18n.t("channel.multilingual", locale, languages=" ".join(languages), style=style)
        return reply + note

    async def channel_off(self, command: Command) -> str:
        place = _channel(command.place)
        current = await self.store.channel_config(place)
        if current is None:
            raise UserError("error.channel_not_set")
        if current.mode == "linked":
            raise UserError("error.channel_linked")
        await self.store.clear_channel(place)
        return i18n.t("channel.off", command.author.locale)

    async def link_create(self, command: Command) -> str:
        locale = command.author.locale
        here = _channel(command.place)
        members: dict[str, str] = {}
        for item in command.options["channels"].split():
            match = _LINK_ITEM.match(item)
            if match is None:
                raise UserError("error.link_item", value=item[:60])
            channel_id = match["marked"] or match["plain"]
            channel = Place(here.platform, here.space, channel_id)
            if channel.key() in members:
                raise UserError("error.link_repeat", channel=channel_id)
            members[channel.key()] = parse_language(match["language"])
        if not 2 <= len(members) <= MAX_LINKED_CHANNELS:
            raise UserError("error.link_count", maximum=MAX_LINKED_CHANNELS)
        for channel_key in members:
            platform, space, channel_id = channel_key.split(":", 2)
            existing = await self.store.channel_config(Place(platform, space, channel_id))
            if existing is not None:
                raise UserError("error.link_taken", channel=channel_id)

        group = hashlib.sha256("|".join(sorted(members)).encode()).hexdigest()[:16]
        channels = " ".join(f"#{key.split(':', 2)[2]}:{lang}" for key, lang in members.items())
        languages = tuple(dict.fromkeys(members.values()))
        note = await self._unsupported_note(here, languages, locale)
        await self.store.create_group(group, members)
        return i18n.t("link.created", locale, channels=channels) + note

    async def link_bridge(self, command: Command) -> str:
        """Start linking this channel with one on another platform: returns a one-time code."""
        here = _channel(command.place)
        language = parse_language(command.options["language"])
        config = await self.store.channel_config(here)
        if config is not None and config.mode != "linked":
            raise UserError("error.link_taken", channel=here.channel)
        code = await self.store.create_bridge_code(here.key(), language, BRIDGE_CODE_TTL_S)
        return i18n.t(
            "link.bridge_code", command.author.locale, code=code, minutes=BRIDGE_CODE_TTL_S // 60
        )

    async def link_join(self, command: Command) -> str:
        """Join this channel to the group of the channel that made the code."""
        here = _channel(command.place)
        language = parse_language(command.options["language"])
        offer = await self.store.take_bridge_code(command.options["code"].strip().upper())
        if offer is None:
            raise UserError("error.bridge_code")
        other_key, other_language = offer
        if other_key == here.key():
            raise UserError("error.link_repeat", channel=here.channel)
        if await self.store.channel_config(here) is not None:
            raise UserError("error.link_taken", channel=here.channel)

        platform, space, channel = other_key.split(":", 2)
        other = await self.store.channel_config(Place(platform, space, channel))
        if other is not None and other.group is not None:
            members = await self.store.group_members(other.group)
            group = other.group
        else:
            members = {other_key: other_language}
            group = hashlib.sha256(f"{other_key}|{here.key()}".encode()).hexdigest()[:16]
        if len(members) >= MAX_LINKED_CHANNELS:
            raise UserError("error.link_count", maximum=MAX_LINKED_CHANNELS)
        members[here.key()] = language
        note = await self._unsupported_note(
            here, tuple(dict.fromkeys(members.values())), command.author.locale
        )
        await self.store.create_group(group, members)
        return (
            i18n.t(
                "link.joined",
                command.author.locale,
                channel=f"{platform}:#{channel}",
                language=other_language,
            )
            + note
        )

    async def link_remove(self, command: Command) -> str:
        config = await self.store.channel_config(_channel(command.place))
        if config is None or config.mode != "linked" or config.group is None:
            raise UserError("error.not_linked")
        removed = await self.store.remove_group(config.group)
        return i18n.t("link.removed", command.author.locale, count=len(removed))

    async def language_set(self, command: Command) -> str:
        language = parse_language(command.options["language"])
        await self.store.set_reading_language(command.place.platform, command.author.id, language)
        return i18n.t("language.set", command.author.locale, language=language)

    async def translate(self, command: Command) -> str | CommandReply:
        """Translate a stored message into the given language or the caller's reading language."""
        locale = command.author.locale
        place = _channel(command.place)
        message_id = command.options["message"].strip()
        requested = command.options.get("language", "").strip()
        target = (
            parse_language(requested)
            if requested
            else await self.store.reading_language(place.platform, command.author.id)
            or parse_language(locale)
        )

        reacted = MessageRef.at(place, message_id)
        original = await self.store.original_of(reacted) or reacted
        stored = await self.store.load_message(original)
        # Adapters pass the message's text when they have it (a context-menu command
        # carries the message), so channels without a Parley set-up work too.
        text = stored.text if stored is not None else command.options.get("text", "")
        if not text.strip():
            raise UserError("error.message_not_found", message=message_id[:40])
        known = stored.language if stored is not None else None
        source = known or self.relay.detector.detect(text, None)
        if source is None:
            raise UserError("error.language_unknown")
        if source == target:
            return i18n.t("translate.same", locale, language=target)
        translation = await self.translator.translate(
            text,
            source,
            target,
            self.relay.engine_name,
            space=SpaceRef(place.platform, place.space),
            # Text passed by an adapter comes with its author's id when the adapter has
            # it; without one, the text stays off third-party engines.
            author=TextAuthor(
                stored.author_id if stored else command.options.get("author", "").strip(),
                original.channel,
            ),
        )
        if translation is None:
            return i18n.t("translate.same", locale, language=target)
        if translation.reason == "unsupported":
            raise UserError(
                "error.unsupported", engine=translation.engine, source=source, target=target
            )
        if translation.reason == "failed":
            raise UserError("error.engine_failed", engine=translation.engine)
        return CommandReply(translation.text, target)

    async def bots_allow(self, command: Command) -> str:
        """Let another bot's messages be translated; Parley's own posts never are."""
        bot = _user_id(command.options["user"])
        await self.store.allow_bot(command.place.platform, command.place.space, bot, True)
        return i18n.t("bots.allowed", command.author.locale, user=bot)

    async def bots_deny(self, command: Command) -> str:
        bot = _user_id(command.options["user"])
        await self.store.allow_bot(command.place.platform, command.place.space, bot, False)
        return i18n.t("bots.denied", command.author.locale, user=bot)

    async def _unsupported_note(self, place: Place, languages: tuple[str, ...], locale: str) -> str:
        """Name the language pairs no engine of the space can translate, before it matters."""
        chain = await self.engines.chain(place)
        missing: list[str] = []
        for source in languages:
            for target in languages:
                if source != target and not await self._any_supports(chain, source, target):
                    missing.append(f"{source}→{target}")
        if not missing:
            return ""
        return "\n" + i18n.t(
            "channel.unsupported", locale, engine=" → ".join(chain), pairs=", ".join(missing)
        )

    async def _any_supports(self, chain: tuple[str, ...], source: str, target: str) -> bool:
        failed: str | None = None
        for name in chain:
            engine = self.translator.engine(name)
            try:
                if await engine.supports(source, target):
                    return True
            except EngineError:
                failed = name
        if failed is not None:
            raise UserError("error.engine_failed", engine=failed)
        return False


_USER_ID = re.compile(r"^<?@?!?(?P<id>[A-Za-z0-9_.-]{1,64})(?:\|[^>]*)?>?$")


def _user_id(value: str) -> str:
    """Accept a user as a Discord `<@id>`, a Slack `<@U123|name>`, `@id` or a bare id."""
    match = _USER_ID.match(value.strip())
    if match is None:
        raise UserError("error.user", value=value[:40])
    return match["id"]


def _channel(place: Place) -> Place:
    return Place(place.platform, place.space, place.channel)
