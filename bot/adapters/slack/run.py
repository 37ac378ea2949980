"""`parley slack`: run the Slack adapter in Socket Mode or behind an HTTP endpoint.

Socket Mode (development) opens a WebSocket to Slack with the app-level token and needs
no public address. HTTP mode (production) serves the Events API, the slash command and
interactivity on ``/slack/events`` at SLACK_PORT, so several replicas can sit behind a
load balancer. Both also drain the outbox, where workers leave the copies of edited
messages.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack.app import build_slack
from bot.adapters.slack.config import Mode, SlackConfig
from bot.adapters.slack.sender import PLATFORM
from bot.core.conversation import Parley
from bot.core.ports import Sender
from bot.core.store import Store
from bot.jobs import OutboxDrainer
from config.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Every interface, so that a load balancer or another container can reach the endpoint.
DEFAULT_HOST = "0.0.0.0"
# Seconds aiohttp waits for requests in progress when the server stops.
SHUTDOWN_TIMEOUT_S = 5.0


class SlackRuntime(Protocol):
    """The parts of `bot.runtime.Runtime` the Slack adapter uses."""

    parley: Parley
    store: Store


def build_web_app(app: AsyncApp, *, events: bool = True) -> web.Application:
    """Create the aiohttp application: the Slack endpoint (unless `events` is False, as in
    Socket Mode), the OAuth install pages when OAuth is configured, and a health check."""
    web_app = web.Application()

    async def dispatch(request: web.Request) -> web.Response:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app.router.add_get(HEALTH_PATH, health)
    if events:
        web_app.router.add_post(EVENTS_PATH, dispatch)

    flow = app.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_installation(await to_bolt_request(request))
            )

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_callback(await to_bolt_request(request))
            )

        web_app.router.add_get(flow.install_path, install)
        web_app.router.add_get(flow.redirect_uri_path, oauth_redirect)
    return web_app


# How long shutdown waits for the outbox drainer's last blocking read, in seconds.
STOP_DRAIN_TIMEOUT_S = 5.0


async def run_slack(
    runtime: SlackRuntime,
    settings: Settings,
    *,
    mode: Mode,
    host: str = DEFAULT_HOST,
    other_senders: Mapping[str, Sender] | None = None,
) -> None:
    """Run the Slack adapter until cancelled; raises SlackConfigError before starting
    anything when a setting that `mode` needs is missing.

    `host` is where the HTTP server listens (HTTP mode, and the OAuth pages in Socket
    Mode). `other_senders` reach other platforms' channels in bridged link groups.
    """
    config = SlackConfig.from_settings(settings)
    config.check(mode)
    _silence_sdk_debug()
    bot = build_slack(
        config,
        runtime.parley,
        runtime.store,
        process_before_response=False,
        other_senders=other_senders,
    )
    drainer = OutboxDrainer(runtime.store, runtime.parley, PLATFORM, bot.sender, _consumer_name())

    async with AsyncExitStack() as stack:
        draining = asyncio.create_task(drainer.run(), name="slack-outbox")
        stack.push_async_callback(_stop_draining, drainer, draining)

        serve_web = mode == "http" or bot.app.oauth_flow is not None
        if serve_web:
            runner = web.AppRunner(
                build_web_app(bot.app, events=mode == "http"), shutdown_timeout=SHUTDOWN_TIMEOUT_S
            )
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, host, config.port).start()
            log.info("slack: HTTP server listening on %s:%d", host, config.port)

        if mode == "socket":
            handler = AsyncSocketModeHandler(bot.app, app_token=config.app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]  # untyped in Bolt 1.30
            stack.push_async_callback(handler.close_async)
            log.info("slack: Socket Mode connected")

        workspaces = "OAuth installs" if config.multi_workspace else "one workspace"
        log.info("slack adapter started in %s mode (%s)", mode, workspaces)
        try:
            await asyncio.Event().wait()
        finally:
            log.info("slack adapter stopping")


async def _stop_draining(drainer: OutboxDrainer, task: asyncio.Task[None]) -> None:
    # The flag ends the loop even when redis-py swallows the cancel of a blocking read.
    drainer.stop()
    task.cancel()
    await asyncio.wait({task}, timeout=STOP_DRAIN_TIMEOUT_S)


def _silence_sdk_debug() -> None:
    """Keep slack_sdk's DEBUG records off, even with PARLEY_LOG_LEVEL=DEBUG: they hold
    request and response bodies, which carry OAuth codes, refresh tokens and new tokens."""
    sdk = logging.getLogger("slack_sdk")
    if sdk.getEffectiveLevel() < logging.INFO:
        sdk.setLevel(logging.INFO)


def _consumer_name() -> str:
    """Name this process in the outbox consumer group: host and process id."""
    return f"slack-{socket.gethostname()}-{os.getpid()}"
