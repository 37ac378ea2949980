"""Tests for the Apertium engine against a real local apertium-apy and small stub servers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from bot.core.errors import EngineError, UnsupportedPairError
from bot.providers.apertium import (
    ApertiumEngine,
    ApyServer,
    ApyServerError,
    apertium_available,
)

pytestmark = [
    pytest.mark.skipif(not apertium_available(), reason="apertium-apy or its modes not installed"),
    # The module-scoped server and engine live on one event loop shared by all tests.
    pytest.mark.asyncio(loop_scope="module"),
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PAIR_LIST = {
    "responseData": [{"sourceLanguage": "eng", "targetLanguage": "spa"}],
    "responseDetails": None,
    "responseStatus": 200,
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def apy_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    log_path = tmp_path_factory.mktemp("apy") / "apertium-apy.log"
    async with ApyServer(log_path=log_path) as base_url:
        yield base_url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(apy_url: str) -> AsyncIterator[ApertiumEngine]:
    apertium = ApertiumEngine(apy_url)
    yield apertium
    await apertium.close()


@asynccontextmanager
async def stub_server(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """Serve `routes` (path to handler, any method) on a free 127.0.0.1 port."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def pair_list(request: web.Request) -> web.Response:
    return web.json_response(PAIR_LIST)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def listening_addresses(port: int) -> set[str]:
    """Return the local addresses (hex, as in /proc/net/tcp*) that listen on `port`."""
    addresses = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            listening = fields[3] == "0A"
            if listening and int(port_hex, 16) == port:
                addresses.add(address)
    return addresses


async def test_translate_en_es(engine: ApertiumEngine) -> None:
    text = "Today the weather is very good."
    translated = await engine.translate_text(text, "en", "es")
    assert translated
    assert translated != text
    assert "hoy" in translated.lower()


async def test_placeholders_survive(engine: ApertiumEngine) -> None:
    translated = await engine.translate_text("Hello ⟦0⟧, look at ⟦1⟧ today.", "en", "es")
    assert translated.count("⟦0⟧") == 1
    assert translated.count("⟦1⟧") == 1


async def test_unknown_words_unmarked(engine: ApertiumEngine) -> None:
    translated = await engine.translate_text("The xyzzyq is red.", "en", "es")
    assert "xyzzyq" in translated
    assert "*" not in translated


async def test_outer_whitespace_kept(engine: ApertiumEngine) -> None:
    translated = await engine.translate_text("I see the house.\n", "en", "es")
    assert not translated.startswith(" ")
    assert translated.endswith(".\n")


async def test_pivot_en_fr(engine: ApertiumEngine) -> None:
    translated = await engine.translate_text("The house is red.", "en", "fr")
    assert await engine.route("en", "fr") == ["en", "es", "fr"]
    assert "maison" in translated.lower()


async def test_pivot_fr_en(engine: ApertiumEngine) -> None:
    translated = await engine.translate_text("La maison est rouge.", "fr", "en")
    assert await engine.route("fr", "en") == ["fr", "es", "en"]
    assert "house" in translated.lower()


async def test_pairs_direct_only(engine: ApertiumEngine) -> None:
    pairs = await engine.pairs()
    assert ("en", "es") in pairs
    assert ("es", "fr") in pairs
    assert ("en", "fr") not in pairs


async def test_pairs_skip_variants(engine: ApertiumEngine) -> None:
    pairs = await engine.pairs()
    codes = {code for pair in pairs for code in pair}
    assert all("_" not in code for code in codes)
    assert "eng|cat_valencia" in await engine.variants("en", "ca")


async def test_supports_routes(engine: ApertiumEngine) -> None:
    assert await engine.supports("en", "es")
    assert await engine.supports("en", "fr")
    assert not await engine.supports("ja", "ko")


async def test_unsupported_pair_raises(engine: ApertiumEngine) -> None:
    with pytest.raises(UnsupportedPairError) as caught:
        await engine.translate_text("こんにちは", "ja", "ko")
    assert caught.value.source == "ja"
    assert caught.value.target == "ko"


async def test_same_language_unchanged(engine: ApertiumEngine) -> None:
    assert await engine.translate_text("Hello there", "en", "en") == "Hello there"
    assert await engine.translate_text("  ", "en", "es") == "  "


async def test_server_listens_on_loopback(apy_url: str) -> None:
    port = int(apy_url.rsplit(":", 1)[1])
    addresses = listening_addresses(port)
    if not addresses:
        pytest.skip("/proc/net/tcp does not list the server")
    # 0100007F is 127.0.0.1 in the little-endian hex of /proc/net/tcp.
    assert addresses == {"0100007F"}


async def test_dead_server_raises_promptly() -> None:
    engine = ApertiumEngine(f"http://127.0.0.1:{closed_port()}", timeout=5.0)
    started = time.monotonic()
    with pytest.raises(EngineError, match="failed"):
        await engine.translate_text("Hello", "en", "es")
    await engine.close()
    assert time.monotonic() - started < 2.0


async def test_http_500_raises() -> None:
    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text="pipeline crashed")

    async with stub_server({"/listPairs": pair_list, "/translate": fail}) as url:
        engine = ApertiumEngine(url)
        with pytest.raises(EngineError) as caught:
            await engine.translate_text("Hello", "en", "es")
        await engine.close()
    assert "HTTP 500" in str(caught.value)
    assert "en-es" in str(caught.value)
    assert "pipeline crashed" in str(caught.value)


async def test_malformed_json_raises() -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="{not json", content_type="application/json")

    async with stub_server({"/listPairs": pair_list, "/translate": garbage}) as url:
        engine = ApertiumEngine(url)
        with pytest.raises(EngineError, match="invalid JSON"):
            await engine.translate_text("Hello", "en", "es")
        await engine.close()


async def test_error_status_raises() -> None:
    async def reject(request: web.Request) -> web.Response:
        return web.json_response({"responseData": None, "responseStatus": 400})

    async with stub_server({"/listPairs": pair_list, "/translate": reject}) as url:
        engine = ApertiumEngine(url)
        with pytest.raises(EngineError, match="responseStatus"):
            await engine.translate_text("Hello", "en", "es")
        await engine.close()


async def test_missing_text_raises() -> None:
    async def empty(request: web.Request) -> web.Response:
        return web.json_response({"responseData": {}, "responseStatus": 200})

    async with stub_server({"/listPairs": pair_list, "/translate": empty}) as url:
        engine = ApertiumEngine(url)
        with pytest.raises(EngineError, match="no translatedText"):
            await engine.translate_text("Hello", "en", "es")
        await engine.close()


async def test_bad_pair_list_raises() -> None:
    async def no_list(request: web.Request) -> web.Response:
        return web.json_response({"responseData": "nothing", "responseStatus": 200})

    async with stub_server({"/listPairs": no_list}) as url:
        engine = ApertiumEngine(url)
        with pytest.raises(EngineError, match="invalid"):
            await engine.pairs()
        await engine.close()


async def test_timeout_raises() -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response(PAIR_LIST)

    async with stub_server({"/listPairs": stall}) as url:
        engine = ApertiumEngine(url, timeout=0.2)
        with pytest.raises(EngineError, match="timed out"):
            await engine.pairs()
        await engine.close()
        # Let the stalled handler finish, so the stub server shuts down at once.
        release.set()


async def test_failed_listing_retried() -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=503, text="starting")
        return web.json_response(PAIR_LIST)

    async with stub_server({"/listPairs": flaky}) as url:
        engine = ApertiumEngine(url)
        with pytest.raises(EngineError):
            await engine.pairs()
        pairs = await engine.pairs()
        await engine.pairs()
        await engine.close()
    assert pairs == {("en", "es")}
    assert calls == 2


async def test_apy_server_stops(tmp_path: Path) -> None:
    server = ApyServer(log_path=tmp_path / "apy.log")
    async with server as url:
        engine = ApertiumEngine(url)
        assert await engine.pairs()
        await engine.close()
    engine = ApertiumEngine(url)
    with pytest.raises(EngineError):
        await engine.pairs()
    await engine.close()
    assert (tmp_path / "apy.log").stat().st_size > 0


async def test_apy_server_missing_executable(tmp_path: Path) -> None:
    server = ApyServer(log_path=tmp_path / "apy.log", executable="no-such-apertium-apy")
    with pytest.raises(ApyServerError, match="apertium-apy apertium-eng-spa"):
        await server.start()


async def test_apy_server_missing_modes(tmp_path: Path) -> None:
    server = ApyServer(tmp_path / "no-modes", log_path=tmp_path / "apy.log")
    with pytest.raises(ApyServerError, match="apertium-apy apertium-eng-spa"):
        await server.start()


async def test_apy_server_port_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr("bot.providers.apertium._free_loopback_port", lambda: port)
        server = ApyServer(log_path=tmp_path / "apy.log")
        with pytest.raises(ApyServerError, match="exited with status"):
            await server.start()


async def test_apy_server_start_timeout(tmp_path: Path) -> None:
    server = ApyServer(log_path=tmp_path / "apy.log", start_timeout=0.01)
    with pytest.raises(ApyServerError, match="did not respond"):
        await server.start()
    with pytest.raises(ApyServerError, match="not running"):
        _ = server.base_url


@pytest.mark.asyncio(loop_scope="module")
async def test_generation_marks_removed(engine: ApertiumEngine) -> None:
    # Through apertium-apy, "such a dedicated team" came back as "#un equipo tan dedicado".
    text = "It's wonderful to work with such a dedicated team, who are so committed."

    translated = await engine.translate_text(text, "en", "es")

    assert "#" not in translated
    assert "equipo" in translated
