"""Apertium engine: a client for apertium-apy's HTTP API and a manager for a local apertium-apy."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import aiohttp

from bot.core.errors import (
    EngineError,
    EngineUnavailableError,
    ParleyError,
    UnsupportedPairError,
)
from bot.core.ports import EngineRequest, EngineResult
from bot.providers.per_target import translate_per_target

logger = logging.getLogger(__name__)

MODES_DIR: Final = Path("/usr/share/apertium/modes")
APY_EXECUTABLE: Final = "apertium-apy"
DEBIAN_PACKAGES: Final = (
    "apertium-apy apertium-eng-spa apertium-fr-es apertium-es-pt apertium-eng-cat"
)

# Pivot languages to try, in order, when no direct pair exists. Spanish is in every
# Debian pair listed above except eng-cat, and English is the next most common hub.
PIVOT_PREFERENCE: Final = ("es", "en")

# ISO 639-1 codes (Parley) to the ISO 639-3 codes apertium-apy uses, for the languages
# of released Apertium pairs. Asturian has no ISO 639-1 code, so Parley uses "ast" too.
ISO1_TO_ISO3: Final[dict[str, str]] = {
    "af": "afr",
    "an": "arg",
    "ar": "ara",
    "ast": "ast",
    "be": "bel",
    "bg": "bul",
    "br": "bre",
    "ca": "cat",
    "cs": "ces",
    "cy": "cym",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "eo": "epo",
    "es": "spa",
    "eu": "eus",
    "fr": "fra",
    "ga": "gle",
    "gl": "glg",
    "hi": "hin",
    "id": "ind",
    "is": "isl",
    "it": "ita",
    "kk": "kaz",
    "mk": "mkd",
    "ms": "msa",
    "mt": "mlt",
    "nb": "nob",
    "nl": "nld",
    "nn": "nno",
    "oc": "oci",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sc": "srd",
    "sh": "hbs",
    "sk": "slk",
    "sl": "slv",
    "sv": "swe",
    "tr": "tur",
    "tt": "tat",
    "uk": "ukr",
    "ur": "urd",
}
ISO3_TO_ISO1: Final[dict[str, str]] = {iso3: iso1 for iso1, iso3 in ISO1_TO_ISO3.items()}

_EXCERPT_CHARS = 200
_LOG_TAIL_CHARS = 1000
_READY_POLL_SECONDS = 0.05

# apertium-apy 0.11.7 has no option for the listen address: it calls tornado's
# HTTPServer.bind(port), which listens on every interface. This launcher runs APY's own
# entry point in its own interpreter after replacing the bind_sockets function that
# tornado.tcpserver uses, so the server listens on 127.0.0.1 only. APY's log still
# contains its fixed line "Serving on all interfaces".
# NOTE: checked with apertium-apy 0.11.7 and tornado 6.2 only. A tornado that binds
# without tornado.tcpserver.bind_sockets would listen on every interface again.
_LOOPBACK_LAUNCHER: Final = """\
import sys
from importlib.metadata import entry_points

import tornado.tcpserver

_bind_sockets = tornado.tcpserver.bind_sockets


def _bind_loopback(port, address=None, *args, **kwargs):
    return _bind_sockets(port, "127.0.0.1", *args, **kwargs)


tornado.tcpserver.bind_sockets = _bind_loopback
(entry_point,) = entry_points(group="console_scripts", name="apertium-apy")
sys.argv[0] = "apertium-apy"
sys.exit(entry_point.load()())
"""


_GENERATION_MARK = re.compile(r"#(?=\w)")


class ApertiumEngine:
    """Translation engine backed by an apertium-apy server, with one-pivot routing."""

    name = "apertium"
    # Each target is its own HTTP call; one request may carry several, run concurrently.
    max_targets = 16
    paid = False
    uses_glossary = False
    third_party = False

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Create an engine for the apertium-apy at `base_url`, with `timeout` seconds a request."""
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._langpairs: dict[tuple[str, str], str] | None = None
        self._variants: dict[tuple[str, str], list[str]] = {}
        self._catalog_lock = asyncio.Lock()

    async def translate(self, request: EngineRequest) -> EngineResult:
        """Translate the request into each target; a target with no route fails on its own.

        Apertium has no context, formality or glossary support, so those fields are ignored.
        Raises `EngineError` when every target failed for a reason other than a missing route.
        """
        result = await translate_per_target(request, self.translate_text)
        if result.blocking and not result.translations:
            raise result.blocking[0]
        return EngineResult(result.translations, failures=result.failures)

    async def translate_text(self, text: str, source: str, target: str) -> str:
        """Translate `text` from `source` to `target`, directly or through one pivot language.

        Returns `text` unchanged when the languages are equal or the text is blank.
        Raises `UnsupportedPairError` when no route exists and `EngineError` on server failure.
        """
        if source == target or not text.strip():
            return text

        route = await self.route(source, target)
        translated = text
        for hop_source, hop_target in itertools.pairwise(route):
            translated = await self._translate_hop(translated, hop_source, hop_target)

        # Apertium drops words such as a leading "I" and leaves their blanks behind, so
        # restore the outer whitespace of the input instead.
        leading = text[: len(text) - len(text.lstrip())]
        trailing = text[len(text.rstrip()) :]
        return f"{leading}{translated.strip()}{trailing}"

    async def supports(self, source: str, target: str) -> bool:
        """Return whether a direct or one-pivot route exists.

        Raises `EngineError` when the server cannot list its pairs.
        """
        if source == target:
            return True
        try:
            await self.route(source, target)
        except UnsupportedPairError:
            return False
        return True

    async def route(self, source: str, target: str) -> list[str]:
        """Return the languages a translation passes through, `source` first and `target` last.

        Prefers a direct pair, then a pivot through Spanish, English, or any other language.
        Raises `UnsupportedPairError` when neither a direct pair nor a one-pivot route exists.
        """
        pairs = await self.pairs()
        if (source, target) in pairs:
            return [source, target]

        pivots = {
            middle for first, middle in pairs if first == source and (middle, target) in pairs
        }
        for pivot in [*PIVOT_PREFERENCE, *sorted(pivots)]:
            if pivot in pivots:
                return [source, pivot, target]
        raise UnsupportedPairError(self.name, source, target)

    async def pairs(self) -> set[tuple[str, str]]:
        """Return the direct (source, target) pairs of the server, fetching them once."""
        langpairs = await self._load_catalog()
        return set(langpairs)

    async def variants(self, source: str, target: str) -> list[str]:
        """Return the APY langpair codes of variant modes for a pair, such as "eng|cat_valencia"."""
        await self._load_catalog()
        return list(self._variants.get((source, target), []))

    async def close(self) -> None:
        """Close the HTTP session if this engine created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def _load_catalog(self) -> dict[tuple[str, str], str]:
        """Fetch GET /listPairs on first use. A failed fetch is retried on the next call."""
        async with self._catalog_lock:
            if self._langpairs is None:
                action = "Apertium pair listing"
                payload = await self._fetch_json("/listPairs", action)
                try:
                    self._langpairs, self._variants = _parse_pair_list(payload)
                except ValueError as exc:
                    raise self._failure(
                        f"{action} from {self._base_url} is invalid: {exc}"
                    ) from exc
                logger.info(
                    "Apertium server %s offers %d pairs and %d variant modes",
                    self._base_url,
                    len(self._langpairs),
                    sum(len(codes) for codes in self._variants.values()),
                )
            return self._langpairs

    async def _translate_hop(self, text: str, source: str, target: str) -> str:
        langpairs = await self._load_catalog()
        langpair = langpairs[(source, target)]
        action = f"Apertium translation {source}-{target} ({langpair})"
        form = {
            "q": text,
            "langpair": langpair,
            # Without this, APY prefixes every unknown word with "*".
            "markUnknown": "no",
            # The default format is HTML, which reorders "<...>" as tags and decodes entities.
            "format": "txt",
        }
        payload = await self._fetch_json("/translate", action, form=form)

        data = payload.get("responseData")
        translated = data.get("translatedText") if isinstance(data, dict) else None
        if not isinstance(translated, str):
            raise self._failure(f"{action} returned no translatedText: {_excerpt(payload)}")
        if "#" not in text:
            # Apertium prefixes "#" to a word its generator could not inflect; the word itself
            # is right, and readers should not see the mark.
            translated = _GENERATION_MARK.sub("", translated)
        return translated

    async def _fetch_json(
        self, path: str, action: str, *, form: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST `form` to `path` (GET when None) and return the JSON body of a 200 response."""
        session = self._client_session()
        url = f"{self._base_url}{path}"
        try:
            if form is None:
                request = session.get(url, timeout=self._timeout)
            else:
                # Form data, because chat messages can exceed the URL length servers accept.
                request = session.post(url, data=form, timeout=self._timeout)
            async with request as response:
                status = response.status
                body = (await response.read()).decode("utf-8", errors="replace")
        except TimeoutError:
            raise self._failure(
                f"{action} timed out after {self._timeout.total:g} s at {url}", unavailable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise self._failure(f"{action} failed at {url}: {exc}", unavailable=True) from exc

        if status != 200:
            raise self._failure(
                f"{action} failed at {url}: HTTP {status}: {_excerpt(body)}",
                unavailable=status >= 500 or status == 429,
            )
        try:
            payload = json.loads(body)
        except ValueError:
            raise self._failure(
                f"{action} returned invalid JSON from {url}: {_excerpt(body)}"
            ) from None
        if not isinstance(payload, dict) or payload.get("responseStatus") != 200:
            raise self._failure(f"{action} failed at {url}: {_excerpt(body)}")
        return payload

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def _failure(self, message: str, *, unavailable: bool = False) -> EngineError:
        """Log and build the error; `unavailable` marks failures worth trying another engine."""
        logger.warning("%s", message)
        return EngineUnavailableError(message) if unavailable else EngineError(message)


def _parse_pair_list(
    payload: dict[str, Any],
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[str]]]:
    """Split /listPairs into plain pairs (ISO 639-1 pair to APY langpair) and variant modes."""
    langpairs: dict[tuple[str, str], str] = {}
    variants: dict[tuple[str, str], list[str]] = {}
    entries = payload.get("responseData")
    if not isinstance(entries, list):
        raise ValueError(f"responseData is not a list: {_excerpt(payload)}")

    for entry in entries:
        if not isinstance(entry, dict):
            continue
        source = entry.get("sourceLanguage")
        target = entry.get("targetLanguage")
        if not isinstance(source, str) or not isinstance(target, str):
            continue

        # A variant mode names its target (rarely its source) as "cat_valencia" or "por_BR".
        source_base, _, source_variant = source.partition("_")
        target_base, _, target_variant = target.partition("_")
        pair = (
            ISO3_TO_ISO1.get(source_base, source_base),
            ISO3_TO_ISO1.get(target_base, target_base),
        )
        langpair = f"{source}|{target}"
        if source_variant or target_variant:
            variants.setdefault(pair, []).append(langpair)
        else:
            langpairs[pair] = langpair

    for codes in variants.values():
        codes.sort()
    return langpairs, variants


def _excerpt(body: object) -> str:
    text = body if isinstance(body, str) else repr(body)
    text = " ".join(text.split())
    if len(text) > _EXCERPT_CHARS:
        return text[:_EXCERPT_CHARS] + "..."
    return text


class ApyServerError(ParleyError):
    """A local apertium-apy could not be started."""


class ApyServer:
    """A local apertium-apy subprocess listening on a free port of 127.0.0.1.

    Use `start()` and `stop()`, or `async with ApyServer() as base_url:`.
    """

    def __init__(
        self,
        modes_dir: Path | None = None,
        *,
        log_path: Path | None = None,
        executable: str = APY_EXECUTABLE,
        start_timeout: float = 15.0,
        stop_grace: float = 5.0,
    ) -> None:
        """Prepare a server for the pair modes in `modes_dir` (default /usr/share/apertium/modes).

        APY's stdout and stderr are appended to `log_path`. Without one, `start()` creates a
        temporary file, which a clean `stop()` removes and a failed start keeps for debugging.
        `start_timeout` and `stop_grace` are in seconds.
        """
        self.modes_dir = modes_dir if modes_dir is not None else MODES_DIR
        self.log_path = log_path
        self._executable = executable
        self._start_timeout = start_timeout
        self._stop_grace = stop_grace
        self._process: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None
        self._base_url: str | None = None
        self._temporary_log = False

    @property
    def base_url(self) -> str:
        """URL of the running server, such as http://127.0.0.1:41234."""
        if self._base_url is None:
            raise ApyServerError("apertium-apy is not running. Call start() first.")
        return self._base_url

    async def start(self) -> str:
        """Start apertium-apy and return its base URL once GET /listPairs succeeds."""
        if self._process is not None:
            raise ApyServerError(f"apertium-apy is already running at {self._base_url}")

        port = _free_loopback_port()
        command = self._command(port)
        base_url = f"http://127.0.0.1:{port}"
        self._temporary_log = self.log_path is None
        log_path = self.log_path if self.log_path is not None else _new_temp_log()
        self.log_path = log_path
        self._log_file = log_path.open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                *command,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                env=_utf8_environment(),
                # A session of its own, so stop() can signal APY and its pipeline processes
                # together, and a Ctrl-C in our terminal does not reach them first.
                start_new_session=True,
            )
        except OSError as exc:
            self._temporary_log = False
            await self.stop()
            raise ApyServerError(f"cannot run {command[0]} for apertium-apy: {exc}") from exc
        logger.info(
            "apertium-apy starting at %s (pid %d, log %s)",
            base_url,
            self._process.pid,
            log_path,
        )

        started = time.monotonic()
        try:
            await self._wait_until_ready(base_url, log_path)
        except BaseException:
            self._temporary_log = False
            await self.stop()
            raise
        self._base_url = base_url
        logger.info("apertium-apy ready at %s after %.2f s", base_url, time.monotonic() - started)
        return base_url

    async def stop(self) -> None:
        """Terminate apertium-apy and its pipelines, and kill them after `stop_grace` seconds."""
        process = self._process
        self._process = None
        self._base_url = None
        if process is not None:
            await self._terminate(process)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._temporary_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None
            self._temporary_log = False

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _command(self, port: int) -> list[str]:
        executable = shutil.which(self._executable)
        if executable is None:
            raise ApyServerError(
                f"apertium-apy executable {self._executable!r} not found on PATH. "
                f"Install the Debian packages {DEBIAN_PACKAGES}"
            )
        if not self.modes_dir.is_dir():
            raise ApyServerError(
                f"Apertium modes directory {self.modes_dir} not found. "
                f"Install the Debian packages {DEBIAN_PACKAGES}"
            )

        interpreter = _script_interpreter(Path(executable))
        return [
            *interpreter,
            "-c",
            _LOOPBACK_LAUNCHER,
            "--port",
            str(port),
            # One HTTP process, so every request shares the same warm pipelines. More
            # processes would each start their own pipelines on first use.
            "--num-processes",
            "1",
            str(self.modes_dir),
        ]

    async def _wait_until_ready(self, base_url: str, log_path: Path) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._start_timeout
        probe_timeout = aiohttp.ClientTimeout(total=1.0)
        async with aiohttp.ClientSession(timeout=probe_timeout) as session:
            while True:
                if self._process.returncode is not None:
                    raise ApyServerError(
                        f"apertium-apy exited with status {self._process.returncode} before "
                        f"serving {base_url}; log {log_path} ends with: {_log_tail(log_path)}"
                    )
                try:
                    async with session.get(f"{base_url}/listPairs") as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass  # Not listening yet.
                if time.monotonic() >= deadline:
                    raise ApyServerError(
                        f"apertium-apy did not respond to GET {base_url}/listPairs within "
                        f"{self._start_timeout:g} s. See its log {log_path}"
                    )
                await asyncio.sleep(_READY_POLL_SECONDS)

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            _signal_session(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self._stop_grace)
            except TimeoutError:
                logger.warning(
                    "apertium-apy (pid %d) still running %g s after SIGTERM; killing it",
                    process.pid,
                    self._stop_grace,
                )
                _signal_session(process.pid, signal.SIGKILL)
                await process.wait()
        logger.info(
            "apertium-apy stopped (pid %d, exit status %s)", process.pid, process.returncode
        )


def find_modes_dir() -> Path | None:
    """Return the Debian Apertium modes directory if it exists."""
    return MODES_DIR if MODES_DIR.is_dir() else None


def apertium_available() -> bool:
    """Return whether apertium-apy is on PATH and the modes directory exists."""
    return shutil.which(APY_EXECUTABLE) is not None and find_modes_dir() is not None


def _script_interpreter(script: Path) -> list[str]:
    """Return the interpreter command from the shebang line of a Python script."""
    try:
        with script.open("rb") as handle:
            first_line = handle.readline().decode("utf-8", errors="replace").strip()
    except OSError as exc:
        raise ApyServerError(f"cannot read {script}: {exc}") from exc

    if not first_line.startswith("#!") or "python" not in first_line:
        raise ApyServerError(
            f"{script} is not a Python script, so Parley cannot make apertium-apy listen "
            "on 127.0.0.1 only"
        )
    return shlex.split(first_line[2:])


def _free_loopback_port() -> int:
    # NOTE: another process can take the port between this check and APY's bind; start()
    # then fails with the "exited ... before serving" error and can be called again.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _utf8_environment() -> dict[str, str]:
    """Return our environment, with a UTF-8 locale if it lacks one.

    APY exits at startup unless LANG or LC_ALL names a UTF-8 locale.
    """
    environment = dict(os.environ)
    utf8 = re.compile("utf-?8", re.IGNORECASE)
    if not any(utf8.search(environment.get(name, "")) for name in ("LANG", "LC_ALL")):
        environment["LC_ALL"] = "C.UTF-8"
    return environment


def _signal_session(pid: int, signum: signal.Signals) -> None:
    # The APY process leads its own session and process group, so its pgid equals its pid.
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def _log_tail(log_path: Path) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read log: {exc})"
    return text[-_LOG_TAIL_CHARS:].strip() or "(empty)"


def _new_temp_log() -> Path:
    descriptor, name = tempfile.mkstemp(prefix="apertium-apy-", suffix=".log")
    os.close(descriptor)
    return Path(name)
