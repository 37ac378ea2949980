"""Learner commands: profile, placement, XP, leaderboard and league, with localized replies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core import i18n
from bot.core.commands import CommandHandler, CommandSpec
from bot.core.errors import UserError
from bot.core.events import Command
from bot.core.languages import parse_language
from bot.core.learning.leagues import TIERS, BoardEntry
from bot.core.learning.linking import LINK_CODE_TTL_S
from bot.core.learning.placement import LETTERS, PlacementResult, Question
from bot.core.learning.profile import Profile

if TYPE_CHECKING:
    from bot.core.learning import Learning

# Option names are shared with the adapters' command trees, which attach choices and
# descriptions by name. `style` there means the reply style of a channel, so the correction
# style is set with `correction`, and the link code is `link_code` rather than `code`.
PROFILE_OPTIONS = ("native", "targets", "timezone", "day_start", "correction", "goal", "interests")

LEARNING_SPECS = (
    CommandSpec("profile show", (), (), False, "learning.help.profile_show"),
    CommandSpec("profile set", PROFILE_OPTIONS, (), False, "learning.help.profile_set"),
    CommandSpec("profile link", ("link_code",), (), False, "learning.help.profile_link"),
    CommandSpec(
        "placement start", ("language",), ("language",), False, "learning.help.placement_start"
    ),
    CommandSpec(
        "placement answer", ("choice",), ("choice",), False, "learning.help.placement_answer"
    ),
    CommandSpec("xp", (), (), False, "learning.help.xp"),
    CommandSpec("leaderboard", ("period",), (), False, "learning.help.leaderboard"),
    CommandSpec("league", (), (), False, "learning.help.league"),
)


def register_learning_commands(handler: CommandHandler, learning: Learning) -> None:
    """Add the learner commands to `handler`; replies use the caller's locale."""
    commands = LearningCommands(learning)
    handlers = {
        "profile show": commands.profile_show,
        "profile set": commands.profile_set,
        "profile link": commands.profile_link,
        "placement start": commands.placement_start,
        "placement answer": commands.placement_answer,
        "xp": commands.xp,
        "leaderboard": commands.leaderboard,
        "league": commands.league,
    }
    for spec in LEARNING_SPECS:
        handler.add(spec, handlers[spec.name])


class LearningCommands:
    """The command functions. Each resolves the caller's learner first."""

    def __init__(self, learning: Learning) -> None:
        self.learning = learning

    async def _learner(self, command: Command) -> str:
        platform = command.place.platform
        learner = await self.learning.profiles.learner_for(platform, command.author.id)
        await self.learning.profiles.remember_account(
            learner, platform, command.author.id, command.author.name
        )
        return learner

    async def profile_show(self, command: Command) -> str:
        locale = command.author.locale
        profile = await self.learning.profiles.get(await self._learner(command))
        return "\n".join(_profile_lines(profile, locale))

    async def profile_set(self, command: Command) -> str:
        locale = command.author.locale
        options = {name: value for name, value in command.options.items() if value.strip()}
        if not options:
            raise UserError("learning.error.nothing_to_set", options=", ".join(PROFILE_OPTIONS))
        learner = await self._learner(command)
        changed = await self.learning.profiles.update(learner, options)
        profile = await self.learning.profiles.get(learner)
        lines = [i18n.t("learning.profile.updated", locale, options=", ".join(changed))]
        return "\n".join(lines + _profile_lines(profile, locale))

    async def profile_link(self, command: Command) -> str:
        locale = command.author.locale
        platform, user = command.place.platform, command.author.id
        code = command.options.get("link_code", "").strip()
        if not code:
            await self._learner(command)
            new_code = await self.learning.links.create_code(platform, user)
            return i18n.t(
                "learning.link.code", locale, code=new_code, minutes=LINK_CODE_TTL_S // 60
            )
        learner = await self.learning.links.redeem(platform, user, code, command.author.name)
        profile = await self.learning.profiles.get(learner)
        return i18n.t("learning.link.done", locale, accounts=", ".join(profile.accounts))

    async def placement_start(self, command: Command) -> str:
        language = parse_language(command.options["language"])
        question = await self.learning.placement.start(await self._learner(command), language)
        return _question_text(question, command.author.locale)

    async def placement_answer(self, command: Command) -> str:
        locale = command.author.locale
        learner = await self._learner(command)
        outcome = await self.learning.placement.answer(learner, command.options["choice"])
        if isinstance(outcome, PlacementResult):
            return i18n.t(
                "learning.placement.result",
                locale,
                right=outcome.right,
                asked=outcome.asked,
                language=outcome.language,
                level=outcome.level,
            )
        return _question_text(outcome, locale)

    async def xp(self, command: Command) -> str:
        locale = command.author.locale
        summary = await self.learning.xp.summary(await self._learner(command))
        lines = [i18n.t("learning.xp.today", locale, today=summary.today, goal=summary.goal)]
        if summary.today >= summary.goal:
            lines.append(i18n.t("learning.xp.goal_met", locale))
        lines.append(i18n.t("learning.xp.streak", locale, streak=summary.streak, best=summary.best))
        lines.append(
            i18n.t(
                "learning.xp.freezes",
                locale,
                freezes=summary.freezes,
                maximum=self.learning.rules.max_freezes,
            )
        )
        lines.append(i18n.t("learning.xp.total", locale, total=summary.total))
        return "\n".join(lines)

    async def leaderboard(self, command: Command) -> str:
        locale = command.author.locale
        period = command.options.get("period", "").strip().lower() or "week"
        if period not in ("week", "all"):
            raise UserError("learning.error.period", value=period[:20])
        place = command.place
        learner = await self._learner(command)
        leagues = self.learning.leagues
        entries = await leagues.top(place.platform, place.space, period)
        if period == "week":
            lines = [i18n.t("learning.board.week_title", locale, week=leagues.this_week())]
        else:
            lines = [i18n.t("learning.board.all_title", locale)]
        if not entries:
            lines.append(i18n.t("learning.board.empty", locale))
            return "\n".join(lines)
        lines += [_board_line(entry, locale) for entry in entries]
        mine = await leagues.rank(place.platform, place.space, period, learner)
        if mine is None:
            lines.append(i18n.t("learning.board.you_none", locale))
        else:
            lines.append(i18n.t("learning.board.you", locale, rank=mine.rank, xp=mine.xp))
        return "\n".join(lines)

    async def league(self, command: Command) -> str:
        locale = command.author.locale
        place = command.place
        learner = await self._learner(command)
        leagues = self.learning.leagues
        standing = await leagues.standing(place.platform, place.space, learner)
        tier = i18n.t(f"learning.tier.{TIERS[standing.tier]}", locale)
        lines = [i18n.t("learning.league.title", locale, tier=tier, week=leagues.this_week())]
        if standing.last_result is not None:
            lines.append(i18n.t(f"learning.league.last_{standing.last_result}", locale))
        if standing.rank is None:
            lines.append(i18n.t("learning.league.not_joined", locale))
            return "\n".join(lines)
        size = len(standing.cohort)
        if standing.movers:
            lines.append(
                i18n.t(
                    "learning.league.standing",
                    locale,
                    rank=standing.rank,
                    size=size,
                    movers=standing.movers,
                )
            )
        else:
            lines.append(i18n.t("learning.league.no_movers", locale, rank=standing.rank, size=size))
        lines += [_board_line(entry, locale) for entry in standing.cohort]
        return "\n".join(lines)


def _profile_lines(profile: Profile, locale: str) -> list[str]:
    lines = [i18n.t("learning.profile.title", locale)]
    lines.append(i18n.t("learning.profile.native", locale, language=profile.native or "-"))
    if profile.targets:
        unknown = i18n.t("learning.profile.no_level", locale)
        targets = ", ".join(
            f"{target.language} {target.level or unknown}" for target in profile.targets
        )
        lines.append(i18n.t("learning.profile.targets", locale, targets=targets))
    else:
        lines.append(i18n.t("learning.profile.no_targets", locale))
    lines.append(
        i18n.t(
            "learning.profile.time",
            locale,
            timezone=profile.timezone,
            hour=f"{profile.day_start:02d}:00",
        )
    )
    lines.append(i18n.t("learning.profile.style", locale, style=profile.style))
    lines.append(i18n.t("learning.profile.goal", locale, goal=profile.goal))
    if profile.interests:
        lines.append(
            i18n.t("learning.profile.interests", locale, interests=", ".join(profile.interests))
        )
    lines.append(i18n.t("learning.profile.accounts", locale, accounts=", ".join(profile.accounts)))
    return lines


def _question_text(question: Question, locale: str) -> str:
    lines = [
        i18n.t(
            "learning.placement.question",
            locale,
            number=question.number,
            total=question.total,
            language=question.language,
        ),
        question.item.prompt,
    ]
    lines += [
        f"{letter}) {choice}" for letter, choice in zip(LETTERS, question.item.choices, strict=True)
    ]
    lines.append(i18n.t("learning.placement.how", locale))
    return "\n".join(lines)


def _board_line(entry: BoardEntry, locale: str) -> str:
    return i18n.t("learning.board.line", locale, rank=entry.rank, name=entry.name, xp=entry.xp)
