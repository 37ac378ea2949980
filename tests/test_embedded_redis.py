"""The embedded Redis server used when no REDIS_URL is set."""

from __future__ import annotations

import redis

from bot.embedded_redis import EmbeddedRedis


def test_starts_on_loopback_and_stops() -> None:
    server = EmbeddedRedis()
    url = server.start()
    client = redis.Redis.from_url(url)
    try:
        assert url.startswith("redis://127.0.0.1:")
        assert client.ping() is True
        assert client.set("k", "v") is True
    finally:
        client.close()
        server.stop()

    assert server.process is None
