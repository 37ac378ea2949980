"""Slash commands and the "Translate" message command, built from the core's COMMAND_SPECS.

A two-word command such as "link create" becomes the subcommand `create` of the group
`/link`; one-word commands are top-level. Every option is a string option, as in the core.
Names stay English unless a catalog has a `command.<name>` key (spaces written as `_`);
descriptions come from the catalogs' `help.*`, `group.*` and `option.*` keys.
"""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice, TranslationContextLocation, locale_str

from bot.core import i18n
from bot.core.commands import COMMAND_SPECS, STYLES, CommandSpec
from bot.core.engine_commands import FORMALITIES
from bot.core.languages import SUPPORTED

# Runs one command for an interaction: (interaction, command name, options given).
CommandRunner = Callable[[discord.Interaction, str, dict[str, str]], Awaitable[None]]

# Discord's limits on application commands.
MAX_DESCRIPTION = 100
MAX_NAME = 32
MAX_CHOICES = 25
MAX_CHOICE_VALUE = 100

MENU_NAME = "Translate"
MENU_NAME_KEY = "command.menu_translate"
# Options that take language codes, and those among them that take a list of codes.
LANGUAGE_OPTIONS = frozenset({"language", "languages", "native", "source", "target"})
CHOICES: dict[str, tuple[str, ...]] = {"style": STYLES, "formality": tuple(FORMALITIES)}
ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)
# Options the adapter fills and users never type. The "Translate" message command passes
# the message's text, which the core uses when it has not stored that message.
ADAPTER_OPTIONS: dict[str, frozenset[str]] = {"translate": frozenset({"text", "author"})}

# A message link, as Discord's "Copy Message Link" gives it; the core wants the bare id.
_MESSAGE_LINK = re.compile(r"^https://(?:\w+\.)?discord(?:app)?\.com/channels/\d+/\d+/(\d+)$")


def build_tree(client: discord.Client, run: CommandRunner) -> app_commands.CommandTree[Any]:
    """Create the client's command tree with every core command, usable in servers only."""
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(
        client, allowed_contexts=app_commands.AppCommandContext(guild=True)
    )
    for command in build_commands(COMMAND_SPECS.values(), run):
        tree.add_command(command)
    tree.add_command(build_translate_menu(run))
    return tree


def build_commands(
    specs: Iterable[CommandSpec], run: CommandRunner
) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """Turn command specs into top-level commands and groups of subcommands.

    Discord lets a top-level name be a command or a group, not both. When the core has
    both ("review" and "review rate"), the bare command keeps its name and the others
    become top-level commands joined with a hyphen (`/review-rate`). Raises ValueError for
    a name of more than two words.
    """
    singles: list[tuple[str, CommandSpec]] = []
    groups: dict[str, list[CommandSpec]] = {}
    for spec in specs:
        words = spec.name.split()
        if len(words) == 1:
            singles.append((spec.name, spec))
        elif len(words) == 2:
            groups.setdefault(words[0], []).append(spec)
        else:
            raise ValueError(
                f"command {spec.name!r} has {len(words)} words; Discord commands built here "
                "have 1 or 2"
            )
    for word in sorted({name for name, _ in singles} & set(groups)):
        singles.extend((spec.name.replace(" ", "-"), spec) for spec in groups.pop(word))

    built: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    for name, spec in singles:
        command = _slash_command(spec, name, run)
        if spec.admin:
            command.default_permissions = ADMIN_PERMISSIONS
        built.append(command)
    for word, members in groups.items():
        built.append(_group(word, members, run))
    return built


def _group(word: str, members: list[CommandSpec], run: CommandRunner) -> app_commands.Group:
    group = app_commands.Group(
        name=_name(word),
        description=_description(f"group.{word}", fallback=word),
        # Discord sets default permissions per top-level command only, so a group is hidden
        # from members only when all its subcommands are for admins. The core checks the
        # caller of each subcommand anyway.
        default_permissions=ADMIN_PERMISSIONS if all(spec.admin for spec in members) else None,
    )
    for spec in members:
        group.add_command(_slash_command(spec, spec.name.split()[1], run, parent=group))
    return group


def build_translate_menu(run: CommandRunner) -> app_commands.ContextMenu:
    """Create the "Translate" message command: the core's /translate on that message."""

    async def translate_message(interaction: discord.Interaction, message: discord.Message) -> None:
        options = {"message": str(message.id)}
        if message.content:
            options["text"] = message.content
            # The author's id lets the core honour their opt-out from third-party engines.
            options["author"] = str(message.author.id)
        await run(interaction, "translate", options)

    return app_commands.ContextMenu(
        name=locale_str(MENU_NAME, key=MENU_NAME_KEY), callback=translate_message
    )


def _slash_command(
    spec: CommandSpec,
    name: str,
    run: CommandRunner,
    *,
    parent: app_commands.Group | None = None,
) -> app_commands.Command[Any, ..., None]:
    callback = _callback(spec, run)
    return app_commands.Command(
        name=_name(name, key=f"command.{spec.name.replace(' ', '_')}"),
        description=_description(spec.help_key, fallback=spec.name),
        callback=callback,
        parent=parent,
    )


def _callback(spec: CommandSpec, run: CommandRunner) -> Callable[..., Coroutine[Any, Any, None]]:
    """Build the command's callback with one keyword parameter per option.

    discord.py reads a command's options from its callback's signature; setting
    `__signature__` declares the spec's options without writing a function per command.
    """
    hidden = ADAPTER_OPTIONS.get(spec.name, frozenset())
    python_names = {_python_name(option): option for option in spec.options if option not in hidden}

    async def callback(interaction: discord.Interaction, **values: str | None) -> None:
        options = {python_names[name]: value for name, value in values.items() if value is not None}
        if "message" in options:
            options["message"] = message_id_of(options["message"])
        await run(interaction, spec.name, options)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for python_name, option in python_names.items():
        required = option in spec.required
        parameters.append(
            inspect.Parameter(
                python_name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=str,
                default=inspect.Parameter.empty if required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]

    renames = {python: option for python, option in python_names.items() if python != option}
    descriptions = {
        python: _description(f"option.{option}", fallback=option)
        for python, option in python_names.items()
    }
    app_commands.describe(**descriptions)(callback)
    if renames:
        app_commands.rename(**renames)(callback)
    choices = {
        python: [Choice(name=value, value=value) for value in CHOICES[option]]
        for python, option in python_names.items()
        if option in CHOICES
    }
    if choices:
        app_commands.choices(**choices)(callback)
    completers = {
        python: _language_completer(multiple=option == spec.rest)
        for python, option in python_names.items()
        if option in LANGUAGE_OPTIONS
    }
    if completers:
        app_commands.autocomplete(**completers)(callback)
    return callback


def _language_completer(
    *, multiple: bool
) -> Callable[[discord.Interaction, str], Coroutine[Any, Any, list[Choice[str]]]]:
    async def complete(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return language_choices(current, multiple=multiple)

    return complete


def language_choices(current: str, *, multiple: bool) -> list[Choice[str]]:
    """Suggest language codes that complete what the user typed so far.

    For a list option ("en es f") the last word is completed and the earlier words stay.
    """
    if multiple:
        words = current.replace(",", " ").split()
        if current.endswith((" ", ",")) or not words:
            chosen, partial = words, ""
        else:
            chosen, partial = words[:-1], words[-1]
    else:
        chosen, partial = [], current.strip()
    partial = partial.lower()
    codes = sorted(code for code in SUPPORTED if code.startswith(partial) and code not in chosen)
    values = [" ".join([*chosen, code]) for code in codes]
    return [Choice(name=value, value=value) for value in values if len(value) <= MAX_CHOICE_VALUE][
        :MAX_CHOICES
    ]


def message_id_of(value: str) -> str:
    """Return the message id in a Discord message link, or `value` unchanged."""
    match = _MESSAGE_LINK.match(value.strip())
    return match[1] if match else value


class CatalogTranslator(app_commands.Translator):
    """Localizes command names and descriptions from Parley's locale catalogs.

    A string is translated only when it was created with a catalog `key` and the locale's
    catalog words it differently from English; Discord shows the English default otherwise.
    """

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        catalog = i18n.resolve_locale(locale.value)
        if not isinstance(key, str) or catalog == i18n.DEFAULT_LOCALE:
            return None
        text = catalog_text(key, catalog)
        if text is None or text == catalog_text(key, i18n.DEFAULT_LOCALE):
            return None
        if context.location in (
            TranslationContextLocation.command_name,
            TranslationContextLocation.group_name,
        ):
            return _valid_name(text, slash=not isinstance(context.data, app_commands.ContextMenu))
        return fit(text, MAX_DESCRIPTION)


def catalog_text(key: str, locale: str) -> str | None:
    """Return the catalog message `key` in `locale` (English when missing), or None when no
    catalog has it."""
    try:
        return i18n.t(key, locale)
    except KeyError:
        return None


def fit(text: str, limit: int) -> str:
    """Shorten `text` to `limit` characters at a word break, ending it with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:") + "…"


def _name(name: str, *, key: str | None = None) -> locale_str:
    return locale_str(name, key=key or f"command.{name}")


def _description(key: str, *, fallback: str) -> locale_str:
    english = catalog_text(key, i18n.DEFAULT_LOCALE) or fallback
    return locale_str(fit(english, MAX_DESCRIPTION), key=key)


def _valid_name(text: str, *, slash: bool) -> str | None:
    """Return `text` if Discord accepts it as a command name, else None (the English name
    is kept). Slash command names are lowercase letters, digits, `-` and `_`."""
    if not 1 <= len(text) <= MAX_NAME:
        return None
    if slash and (text != text.lower() or not all(char.isalnum() or char in "-_" for char in text)):
        return None
    return text


def _python_name(option: str) -> str:
    """Return a Python identifier for an option name; discord.py renames it back."""
    name = re.sub(r"\W", "_", option)
    if not name.isidentifier() or keyword.iskeyword(name):
        name = f"option_{name}"
    return name
