"""Shared fixtures: the bundled terminology, the samples, a case-file writer, and the HAPI validator (integration)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fhirconv.terminology import Terminology

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SEED = SAMPLES / "anti-mda5-dermatomyositis.yaml"


@pytest.fixture(scope="session")
def terminology() -> Terminology:
    return Terminology.load()


@pytest.fixture
def write_case(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a case file from text and return its path."""

    def write(text: str, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


MINIMAL_CASE = """\
format: fhirconv-case/1
case:
  id: test-case
  title: A test case
  language: en
  source:
    citation: Doe J. A case. J Test. 2020;1:1.
    doi: 10.1000/test.1
  index_date: 2020-03-10
  recorded: 2026-01-01
patient:
  sex: male
  age: 45
"""


@pytest.fixture
def minimal_case() -> str:
    return MINIMAL_CASE


def java_tools_available() -> bool:
    return shutil.which("java") is not None and shutil.which("mvn") is not None


@pytest.fixture(scope="session")
def hapi_validator() -> Iterator[object]:
    if not java_tools_available():
        pytest.skip("Java and Maven are needed to run HAPI's validator")
    from tests.support.hapi_validator import HapiValidator

    with HapiValidator() as validator:
        yield validator


@pytest.fixture(scope="session")
def hapi_server() -> Iterator[object]:
    """One real HAPI FHIR JPA server (R4, H2 in memory, 127.0.0.1) for the whole test run."""
    if not java_tools_available():
        pytest.skip("Java and Maven are needed to run the HAPI FHIR server")
    from tests.support.hapi_server import HapiServer

    with HapiServer() as server:
        yield server
