"""The `parley` command: console, replay, demo and worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.runtime import Runtime


def _demo_transcript() -> Path:
    """Find the shipped demo: next to the package in a checkout, else under the working folder."""
    beside_package = Path(__file__).resolve().parent.parent / "demo" / "transcript.jsonl"
    return beside_package if beside_package.exists() else Path("demo") / "transcript.jsonl"


DEMO_TRANSCRIPT = _demo_transcript()

log = logging.getLogger("parley")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parley",
        description="Parley: translated conversation across languages.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("console", help="chat locally in the terminal with the whole core")

    replay = commands.add_parser(
        "replay",
        help="replay a JSON Lines transcript and print actions as JSON Lines",
    )
    replay.add_argument("file", help="transcript path, or - for standard input")
    replay.add_argument(
        "--view",
        action="store_true",
        help="after the actions, print each reader's view on standard error",
    )
    _add_replay_options(replay, space_help="(default: demo)")

    demo = commands.add_parser(
        "demo",
        help="replay the demo transcript offline and print each reader's view",
    )
    demo.add_argument(
        "file",
        nargs="?",
        default=str(DEMO_TRANSCRIPT),
        help="transcript path (default: the shipped demo)",
    )
    demo.add_argument("--actions", action="store_true", help="also print actions as JSON Lines")
    _add_replay_options(
        demo, space_help="(default: a new space per run, so reruns on one Redis start clean)"
    )

    discord = commands.add_parser("discord", help="run the Discord bot (needs DISCORD_TOKEN)")
    discord.add_argument(
        "--no-worker", action="store_true", help="use workers already running on REDIS_URL"
    )

    slack = commands.add_parser(
        "slack", help="run the Slack adapter (Socket Mode; --http for the HTTP endpoint)"
    )
    slack.add_argument(
        "--http", action="store_true", help="serve Slack's HTTP requests on SLACK_PORT"
    )
    slack.add_argument(
        "--no-worker", action="store_true", help="use workers already running on REDIS_URL"
    )

    worker = commands.add_parser("worker", help="run an RQ worker with the scheduler on")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    return parser


def _add_replay_options(parser: argparse.ArgumentParser, *, space_help: str) -> None:
    parser.add_argument(
        "--platform",
        default="discord",
        choices=("discord", "slack"),
        help="platform for lines that name none (default: discord)",
    )
    parser.add_argument(
        "--space",
        default=None,
        help=f"space (guild or workspace) for lines that name none {space_help}",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="do not start a worker process; use workers already running",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"parley: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    if args.command == "worker":
        return _worker(settings, burst=args.burst)
    try:
        return asyncio.run(_run(args, settings))
    except KeyboardInterrupt:
        return 130


def _worker(settings: Settings, *, burst: bool) -> int:
    from bot.jobs import run_worker

    if settings.redis_url is None:
        print(
            "parley worker: REDIS_URL is required so the worker shares the bot's Redis",
            file=sys.stderr,
        )
        return 2
    run_worker(settings.redis_url, settings.queue_name, key_prefix=settings.key_prefix, burst=burst)
    return 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.console.repl import run_console
    from bot.adapters.console.replay import replay
    from bot.adapters.console.views import render_views
    from bot.embedded_redis import EmbeddedRedisError
    from bot.providers.apertium import ApyServerError
    from bot.runtime import Runtime, StartError

    if args.command == "discord":
        from bot.adapters.discord.start import discord_token
        from bot.runtime import StartError as DiscordStartError

        try:
            discord_token(settings)
        except DiscordStartError as error:
            print(f"parley discord: {error}", file=sys.stderr)
            return 2

    if args.command == "slack":
        from bot.adapters.slack.config import SlackConfig, SlackConfigError

        try:
            SlackConfig.from_settings(settings).check("http" if args.http else "socket")
        except SlackConfigError as error:
            print(error, file=sys.stderr)
            return 2

    spawn = not getattr(args, "no_worker", False)
    try:
        runtime = await Runtime.start(settings, spawn_worker=spawn)
    except (StartError, EmbeddedRedisError, ApyServerError) as error:
        print(f"parley: could not start: {error}", file=sys.stderr)
        return 1
    try:
        if args.command == "console":
            await run_console(runtime)
            return 0
        if args.command == "discord":
            return await _run_discord(runtime, settings)
        if args.command == "slack":
            return await _run_slack(runtime, settings, http=args.http)

        path = args.file
        try:
            # Bytes, so that one line that is not UTF-8 is reported and skipped, not fatal.
            handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as error:
            print(f"parley {args.command}: cannot read {path}: {error.strerror}", file=sys.stderr)
            return 2
        space = args.space
        if space is None:
            space = f"demo-{uuid.uuid4().hex[:8]}" if args.command == "demo" else "demo"
        with handle:
            show_actions = args.command == "replay" or args.actions
            result = await replay(
                handle,
                runtime.parley,
                runtime.store,
                out=sys.stdout if show_actions else None,
                platform=args.platform,
                space=space,
            )
        if args.command == "demo" or args.view:
            stream = sys.stderr if args.command == "replay" else sys.stdout
            stream.write(await render_views(result.record, runtime.store))
        return 1 if result.errors else 0
    finally:
        await runtime.close()


async def _run_discord(runtime: Runtime, settings: Settings) -> int:
    """Run the Discord bot; with Slack settings too, bridged Slack channels get copies."""
    from bot.adapters.discord.start import run_discord
    from bot.runtime import StartError as DiscordStartError

    other_senders = {}
    if settings.slack_bot_token is not None or settings.slack_client_secret is not None:
        from bot.adapters.slack.app import build_slack
        from bot.adapters.slack.config import SlackConfig

        # Copies for bridged Slack channels are posted with Slack's Web API; Slack's own
        # events are received by `parley slack`.
        slack = build_slack(SlackConfig.from_settings(settings), runtime.parley, runtime.store)
        other_senders["slack"] = slack.slack_sender
    try:
        await run_discord(runtime, settings, other_senders=other_senders or None)
    except DiscordStartError as error:
        print(f"parley discord: {error}", file=sys.stderr)
        return 1
    return 0


async def _run_slack(runtime: Runtime, settings: Settings, *, http: bool) -> int:
    """Run the Slack app; with DISCORD_TOKEN set, bridged Discord channels get copies too."""
    from bot.adapters.slack.run import run_slack

    other_senders = {}
    if settings.discord_token is not None:
        from bot.adapters.discord.start import open_sender
        from bot.runtime import StartError as DiscordStartError

        try:
            other_senders["discord"] = await open_sender(settings, runtime.store)
        except DiscordStartError as error:
            print(f"parley slack: Discord bridge unavailable: {error}", file=sys.stderr)
    try:
        await run_slack(
            runtime,
            settings,
            mode="http" if http else "socket",
            other_senders=other_senders or None,
        )
    finally:
        discord_sender = other_senders.get("discord")
        if discord_sender is not None:
            await discord_sender.client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
