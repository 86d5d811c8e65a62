"""Python side of the offline HAPI FHIR R4 validator harness (tests/java/validator).

Typical use::

    from tests.support.hapi_validator import HapiValidator, hapi_available

    if hapi_available():
        with HapiValidator() as hapi:
            assert hapi.errors("out/bundle.json") == []

    with HapiValidator(profile_dirs=[Path("tests/profiles")]) as hapi:   # also checks against those profiles
        ...

One JVM is started (through ``tests/java/validator/run.sh``, which builds the Maven module on first use) and kept
for every ``validate`` call; start-up takes 10-20 s on 2 cores (plus about a minute for the first build), a small
bundle then takes under 100 ms.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = [
    "RUN_SH",
    "HapiIssue",
    "HapiValidator",
    "HapiValidatorError",
    "hapi_available",
]

RUN_SH: Path = Path(__file__).resolve().parent.parent / "java" / "validator" / "run.sh"

#: Severities that make a file invalid.
ERROR_SEVERITIES: frozenset[str] = frozenset({"error", "fatal"})


def hapi_available() -> bool:
    """True when ``java`` and ``mvn`` are both on PATH (all the harness needs besides Maven Central)."""
    return shutil.which("java") is not None and shutil.which("mvn") is not None


@dataclass(frozen=True)
class HapiIssue:
    """One message of HAPI's validator about one file.

    ``severity`` is "fatal", "error", "warning" or "information"; ``location`` is HAPI's FHIRPath-like
    location (e.g. ``Bundle.entry[0].resource/*Observation/o1*/.status``); ``line``/``col`` point into the
    file; ``message_id`` is the validator's message id, or "HARNESS_*" for the harness's own failures
    (unreadable file, content neither JSON nor XML, exception inside the validator).
    """

    severity: str
    location: str | None
    message: str
    line: int | None = None
    col: int | None = None
    message_id: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity in ERROR_SEVERITIES

    def __str__(self) -> str:
        where = self.location or "?"
        if self.line is not None:
            where += f" (line {self.line}, col {self.col})"
        return f"{self.severity.upper()} {where}: {self.message} [{self.message_id}]"

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> HapiIssue:
        return cls(
            severity=str(obj.get("severity") or "information"),
            location=obj.get("location"),
            message=str(obj.get("message") or ""),
            line=obj.get("line"),
            col=obj.get("col"),
            message_id=obj.get("messageId"),
        )


class HapiValidatorError(RuntimeError):
    """The harness could not be built or started, died, or did not answer in time."""


_EOF = object()


class HapiValidator:
    """A long-lived HAPI FHIR R4 validator process (stdin mode of ``ValidatorMain``).

    ``startup_timeout`` covers the first Maven build (downloads from Maven Central) plus JVM start and warm-up;
    ``file_timeout`` is per ``validate`` call. ``profile_dirs``: folders whose StructureDefinitions, ValueSets and
    CodeSystems (``.json``, or Bundles of them) join the validation support chain (``run.sh --profile-dir DIR``),
    so that resources declaring those profiles are checked against them. Thread-safe: calls are serialised.
    """

    def __init__(
        self,
        *,
        startup_timeout: float = 1200.0,
        file_timeout: float = 120.0,
        run_sh: Path = RUN_SH,
        log_path: Path | None = None,
        profile_dirs: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        self.startup_timeout = startup_timeout
        self.profile_dirs = [str(Path(d).resolve()) for d in profile_dirs]
        self.file_timeout = file_timeout
        self.run_sh = run_sh
        self.log_path = log_path
        # start to validator ready, as measured inside the JVM
        self.startup_millis: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[object] = queue.Queue()
        self._stderr_tail: deque[str] = deque(maxlen=60)
        self._stderr_file: IO[str] | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Builds the harness if needed, starts the JVM and waits until it is ready."""
        if self._proc is not None:
            return
        if not hapi_available():
            raise HapiValidatorError("java and/or mvn not on PATH")
        if not self.run_sh.is_file():
            raise HapiValidatorError(f"harness script not found: {self.run_sh}")
        try:
            self._start()
        except BaseException:
            # a failed or interrupted start leaves nothing running (the JVM/mvn group is ours alone)
            self._kill()
            self.close()
            raise

    def _start(self) -> None:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._stderr_file = self.log_path.open("a", encoding="utf-8")
        self._proc = subprocess.Popen(
            ["bash", str(self.run_sh), "--ready", *(arg for d in self.profile_dirs for arg in ("--profile-dir", d))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group, so close() can end mvn/java without touching others
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self._proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), daemon=True),
        ]
        for t in self._threads:
            t.start()
        obj = self._next_object(
            self.startup_timeout,
            "start-up (Maven build on first use, JVM start, warm-up)",
        )
        if obj.get("ready") is not True:
            self._kill()
            raise HapiValidatorError(f"unexpected first line from harness: {obj!r}{self._stderr_text()}")
        self.startup_millis = obj.get("startupMillis")

    def close(self) -> None:
        """Ends the JVM (EOF on stdin, then a kill of its process group if it lingers)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None and not proc.stdin.closed:
                    proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._kill_proc(proc)
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    # -- validation ------------------------------------------------------------------------------------------------

    def validate(self, path: str | os.PathLike[str]) -> list[HapiIssue]:
        """Every issue HAPI reports for the FHIR R4 resource (JSON or XML) in ``path``."""
        abs_path = str(Path(path).resolve())
        if "\n" in abs_path or "\r" in abs_path:
            raise ValueError(f"path contains a line break: {abs_path!r}")
        with self._lock:
            proc = self._proc
            if proc is None:
                raise HapiValidatorError("validator not started (use it as a context manager or call start())")
            if proc.poll() is not None:
                raise HapiValidatorError(f"validator process exited with {proc.returncode}{self._stderr_text()}")
            assert proc.stdin is not None
            try:
                proc.stdin.write(abs_path.encode("utf-8") + b"\n")
                proc.stdin.flush()
            except OSError as e:
                raise HapiValidatorError(f"cannot write to validator: {e}{self._stderr_text()}") from e
            obj = self._next_object(self.file_timeout, f"validating {abs_path}")
        if obj.get("file") != abs_path:
            raise HapiValidatorError(f"answer for {obj.get('file')!r} while waiting for {abs_path!r}")
        return [HapiIssue.from_json(i) for i in obj.get("issues", [])]

    def errors(self, path: str | os.PathLike[str]) -> list[HapiIssue]:
        """Issues of severity error or fatal only."""
        return [i for i in self.validate(path) if i.is_error]

    def validate_text(self, text: str, suffix: str = ".json") -> list[HapiIssue]:
        """Validates resource text by way of a temporary file (``suffix`` ".json" or ".xml")."""
        fd, name = tempfile.mkstemp(suffix=suffix, prefix="hapi-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return self.validate(name)
        finally:
            os.unlink(name)

    # -- internals -------------------------------------------------------------------------------------------------

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._lines.put(raw.decode("utf-8", errors="replace"))
        self._lines.put(_EOF)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace")
            self._stderr_tail.append(line.rstrip("\n"))
            if self._stderr_file is not None:
                self._stderr_file.write(line)
                self._stderr_file.flush()

    def _next_object(self, timeout: float, what: str) -> dict[str, Any]:
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            self._kill()
            raise HapiValidatorError(f"no answer within {timeout:.0f} s during {what}{self._stderr_text()}") from None
        if item is _EOF:
            code = self._proc.wait(timeout=10) if self._proc is not None else None
            self._proc = None
            for t in self._threads:  # let the stderr reader catch up, so the message shows why
                t.join(timeout=5)
            raise HapiValidatorError(f"validator exited (code {code}) during {what}{self._stderr_text()}")
        assert isinstance(item, str)
        try:
            obj = json.loads(item)
        except json.JSONDecodeError as e:
            self._kill()
            raise HapiValidatorError(f"not JSON on harness stdout: {item!r}{self._stderr_text()}") from e
        if not isinstance(obj, dict):
            self._kill()
            raise HapiValidatorError(f"unexpected line on harness stdout: {item!r}")
        return obj

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            self._kill_proc(proc)

    @staticmethod
    def _kill_proc(proc: subprocess.Popen[bytes]) -> None:
        # the group this Popen created (start_new_session), nothing else
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def _stderr_text(self) -> str:
        if not self._stderr_tail:
            return ""
        return "\n--- harness stderr (last lines) ---\n" + "\n".join(self._stderr_tail)
