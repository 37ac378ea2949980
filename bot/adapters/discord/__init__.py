"""The Discord adapter: `run_discord(runtime, settings)` runs Parley as a Discord bot.

Requires discord.py==2.7.* (built and tested with 2.7.1); docs/discord.md says which
behaviour of that series the adapter and its tests rely on.
"""

from __future__ import annotations

from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.start import open_sender, run_discord

__all__ = ["DiscordAdapter", "open_sender", "run_discord"]
