"""Python side of the HAPI FHIR JPA server harness (tests/java/server).

Typical use::

    from tests.support.hapi_server import HapiServer, free_port, hapi_server_available

    if hapi_server_available():
        with HapiServer() as server:          # builds on first use, then starts on a free port
            response = server.post_bundle(bundle)
            assert response.status_code == 200
            assert server.count("Patient") == 1
            server.expunge_all()

The server is a real HAPI FHIR 8.8.0 JPA server (R4, H2 in memory) on 127.0.0.1 only, started by
``tests/java/server/hapi-server.sh``. The first build downloads ~300 MB from Maven Central (1-2 min); start-up
then takes 30-60 s on 2 cores, so start it once per test module or session and wipe it with ``expunge_all``.
One server per checkout at a time: the script keeps its pid in ``tests/java/server/target/server.pid``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests

__all__ = [
    "DEFAULT_START_TIMEOUT",
    "SERVER_DIR",
    "SERVER_SH",
    "HapiServer",
    "HapiServerError",
    "free_port",
    "hapi_server_available",
    "missing_tools",
]

SERVER_DIR: Path = Path(__file__).resolve().parent.parent / "java" / "server"
SERVER_SH: Path = SERVER_DIR / "hapi-server.sh"
DEFAULT_START_TIMEOUT: float = 300.0
FHIR_JSON = "application/fhir+json"


class HapiServerError(RuntimeError):
    """The harness server could not be built, started or stopped, or answered an admin call unexpectedly."""


def missing_tools() -> list[str]:
    """Names of the programs the harness needs (java, mvn) that are not on PATH."""
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def hapi_server_available() -> bool:
    """True when java and mvn are on PATH, so the harness server can be built and run."""
    return not missing_tools()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class HapiServer:
    """Starts, queries, wipes and stops the harness HAPI FHIR server.

    ``start`` and ``stop`` run ``hapi-server.sh``; the admin helpers (``count``, ``expunge_all``,
    ``post_bundle``) talk to the running server with ``requests``.
    """

    def __init__(
        self,
        *,
        script: Path = SERVER_SH,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        request_timeout: float = 120.0,
    ) -> None:
        self.script = script
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self.base_url: str | None = None
        self._session = requests.Session()
        self._session.headers.update({"Accept": FHIR_JSON})

    # -- life cycle -------------------------------------------------------------------------------------------

    def start(self, port: int | None = None) -> str:
        """Build if needed, start the server on 127.0.0.1:``port`` (a free one if None); return its base URL.

        Blocks until ``GET [base]/metadata`` answers 200. Raises HapiServerError, with the script's output and
        the tail of the server log, when the build or the start-up fails.
        """
        if self.base_url is not None:
            raise HapiServerError(f"already started at {self.base_url}")
        if port is None:
            port = free_port()
        # The script waits up to HAPI_START_TIMEOUT for metadata; the build before it has its own budget.
        env = {**os.environ, "HAPI_START_TIMEOUT": str(int(self.start_timeout))}
        result = self._run("start", str(port), env=env, timeout=self.start_timeout + 900.0)
        lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        if result.returncode != 0 or not lines or not lines[-1].startswith("http"):
            raise HapiServerError(
                f"hapi-server.sh start {port} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        self.base_url = lines[-1].rstrip("/")
        return self.base_url

    def stop(self) -> None:
        """Stop the server (SIGTERM, waiting for it to exit). Does nothing if it is not running."""
        self.base_url = None
        result = self._run("stop", timeout=60.0)
        if result.returncode != 0:
            raise HapiServerError(f"hapi-server.sh stop failed (exit {result.returncode}):\n{result.stderr}")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._session.close()

    # -- talking to the server --------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8123/fhir``; raises if the server is not started."""
        if self.base_url is None:
            raise HapiServerError("the server is not started")
        return self.base_url

    def post_bundle(self, bundle: dict[str, Any] | str | bytes) -> requests.Response:
        """POST a transaction or batch bundle (a dict, or JSON text) to the base URL; returns the raw response."""
        data = bundle if isinstance(bundle, (str, bytes)) else _json_bytes(bundle)
        return self._session.post(
            self.base,
            data=data,
            headers={"Content-Type": f"{FHIR_JSON}; charset=utf-8"},
            timeout=self.request_timeout,
        )

    def count(self, resource_type: str) -> int:
        """Number of current (not deleted) resources of a type, via ``GET [type]?_summary=count``."""
        response = self._session.get(
            f"{self.base}/{resource_type}", params={"_summary": "count"}, timeout=self.request_timeout
        )
        _check(response, f"count {resource_type}")
        total = response.json().get("total")
        if not isinstance(total, int):
            raise HapiServerError(f"count {resource_type}: no total in {response.text[:500]}")
        return total

    def expunge_all(self) -> int:
        """Wipe every resource and its history: ``POST [base]/$expunge`` with expungeEverything=true.

        Returns the ``count`` that the server reports back.
        """
        parameters = {
            "resourceType": "Parameters",
            "parameter": [{"name": "expungeEverything", "valueBoolean": True}],
        }
        response = self._session.post(
            f"{self.base}/$expunge",
            data=_json_bytes(parameters),
            headers={"Content-Type": f"{FHIR_JSON}; charset=utf-8"},
            timeout=self.request_timeout,
        )
        _check(response, "$expunge")
        for parameter in response.json().get("parameter", []):
            if parameter.get("name") == "count" and isinstance(parameter.get("valueInteger"), int):
                return int(parameter["valueInteger"])
        return 0

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the server log (target/server.log), for failure messages."""
        log = self.script.parent / "target" / "server.log"
        try:
            return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- internals --------------------------------------------------------------------------------------------

    def _run(self, *args: str, env: dict[str, str] | None = None, timeout: float) -> subprocess.CompletedProcess[str]:
        if not hapi_server_available():
            raise HapiServerError(f"the HAPI server harness needs {', '.join(missing_tools())} on PATH")
        try:
            return subprocess.run(
                ["bash", str(self.script), *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise HapiServerError(f"hapi-server.sh {' '.join(args)} timed out after {timeout:.0f} s") from error


def _json_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode("utf-8")


def _check(response: requests.Response, what: str) -> None:
    if response.status_code != 200:
        raise HapiServerError(f"{what}: HTTP {response.status_code}: {response.text[:1000]}")
