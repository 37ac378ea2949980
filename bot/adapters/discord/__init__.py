"""The Discord adapter: `run_discord(runtime, settings)` runs Parley as a Discord bot.

It is built on discord.py 2.7 (see docs/discord.md for why that version is pinned).
"""

from __future__ import annotations

from bot.adapters.discord.client import DiscordAdapter, run_discord

__all__ = ["DiscordAdapter", "run_discord"]
