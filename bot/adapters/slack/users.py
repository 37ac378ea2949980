"""Authors from Slack user ids: one users.info call per user, cached in Redis."""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.asyncio import Redis

from bot.adapters.slack.api import API_ERRORS, SlackApi, error_code
from bot.core.events import Author

log = logging.getLogger(__name__)

# Seconds a profile stays cached. A renamed user or a new admin shows up after this long.
PROFILE_TTL_S = 3600


def author_from_user(user: dict[str, Any]) -> Author:
    """Build an Author from a users.info `user` object (requested with include_locale)."""
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or user["id"]
    )
    return Author(
        id=user["id"],
        name=name,
        avatar_url=profile.get("image_72") or None,
        is_bot=bool(user.get("is_bot")),
        # Workspace owners can do everything admins can; Slack reports them separately.
        is_admin=bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")),
        locale=user.get("locale") or "en",
    )


class UserDirectory:
    """Resolves user ids to Authors. The cache key sits under the user's Parley key
    (``{prefix}:user:slack:{user}:profile``) so that erasing a user's data finds it."""

    def __init__(
        self, redis: Redis, prefix: str, api: SlackApi, *, ttl_s: int = PROFILE_TTL_S
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.api = api
        self.ttl_s = ttl_s

    def _key(self, user_id: str) -> str:
        return f"{self.prefix}:user:slack:{user_id}:profile"

    async def author(self, space: str, user_id: str) -> Author:
        """Return the Author for `user_id`.

        A failed lookup returns the bare id, uncached, so that a message is still handled
        while Slack or the token has a problem.
        """
        cached = await self.redis.get(self._key(user_id))
        if cached is not None:
            return Author(**json.loads(cached))

        try:
            token = await self.api.token(space)
            response = await self.api.client.users_info(
                user=user_id, include_locale=True, token=token
            )
        except API_ERRORS as error:
            log.warning(
                "slack users.info for %s in %s failed: %s", user_id, space, error_code(error)
            )
            return Author(id=user_id, name=user_id)

        author = author_from_user(response["user"])
        await self.redis.set(self._key(user_id), json.dumps(author.__dict__), ex=self.ttl_s)
        return author
