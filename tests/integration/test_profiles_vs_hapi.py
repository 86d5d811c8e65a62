"""fhirconv's profile checks agree with HAPI FHIR's validator given the same profiles (issue 3).

HAPI's validator runs with ``--profile-dir tests/profiles`` (tests/java/validator: the folder's StructureDefinitions,
ValueSets and CodeSystems join its validation support chain). For every case of tests/support/profile_cases.py,
fhirconv (with ``ProfileSet.load([tests/profiles])``) finds an error exactly where HAPI does: the same set of error
locations (HAPI's ``/*Type/id*/`` comments removed), so the same verdict per file.

R4's own profiles (vitalsigns, bodyweight, bp, heartrate, ..., cholesterol, devicemetricobservation,
shareablevalueset, actualgroup, ...) are checked by both without any folder: HAPI with its own copy of the core
package (no ``--profile-dir``), fhirconv with ``fhirconv/data/r4-profiles.json.gz``. For every case of ``CORE_CASES``
the verdict per file is the same, and so are the error locations, except where a case names HAPI's own
(``hapi_errors``: the same error, reported elsewhere).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fhirconv.terminology import Terminology
from fhirconv.validate import ProfileSet, validate_data
from tests.support.hapi_validator import HapiIssue, HapiValidator, hapi_available
from tests.support.profile_cases import CASES, CORE_CASES, PROFILES, UNKNOWN_PROFILE, Case

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not hapi_available(), reason="HAPI validator harness needs java and mvn on PATH"),
]

_COMMENT = re.compile(r"/\*.*?\*/")


@pytest.fixture(scope="module")
def hapi() -> Iterator[HapiValidator]:
    with HapiValidator(profile_dirs=[PROFILES]) as validator:
        yield validator


@pytest.fixture(scope="module")
def hapi_core() -> Iterator[HapiValidator]:
    """HAPI's validator with no folder: only its own copy of R4's profiles."""
    with HapiValidator() as validator:
        yield validator


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return ProfileSet.load([PROFILES])


def _hapi_errors(issues: list[HapiIssue]) -> set[str]:
    return {_COMMENT.sub("", i.location or "?") for i in issues if i.is_error}


def _write(case: Case, folder: Path) -> Path:
    path = folder / f"{case.name}.json"
    path.write_text(json.dumps(case.resource, indent=2), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_errors_where_hapi_finds_them(
    case: Case, hapi: HapiValidator, profiles: ProfileSet, terminology: Terminology, tmp_path: Path
) -> None:
    issues = hapi.validate(_write(case, tmp_path))
    hapi_errors = _hapi_errors(issues)
    ours = {i.location for i in validate_data([case.resource], terminology, profiles=profiles) if i.is_error}
    assert hapi_errors == {location for location, _ in case.errors}, [str(i) for i in issues if i.is_error]
    assert ours == hapi_errors


@pytest.mark.parametrize("case", CORE_CASES, ids=lambda c: c.name)
def test_r4_profiles_without_a_folder_agree_with_hapi(
    case: Case, hapi_core: HapiValidator, terminology: Terminology, tmp_path: Path
) -> None:
    issues = hapi_core.validate(_write(case, tmp_path))
    hapi_errors = _hapi_errors(issues)
    ours = {i.location for i in validate_data([case.resource], terminology) if i.is_error}
    assert bool(ours) == bool(hapi_errors), [str(i) for i in issues if i.is_error]
    assert ours == {location for location, _ in case.errors}
    expected = set(case.hapi_errors) if case.hapi_errors is not None else ours
    assert hapi_errors == expected, [str(i) for i in issues if i.is_error]


def test_hapi_applies_its_own_r4_profiles(hapi_core: HapiValidator, tmp_path: Path) -> None:
    """Without a folder HAPI still knows bodyweight (from its core package) and applies it."""
    case = next(c for c in CORE_CASES if c.name == "core-bodyweight-no-subject")
    messages = [i.message for i in hapi_core.validate(_write(case, tmp_path))]
    assert any("(from http://hl7.org/fhir/StructureDefinition/bodyweight" in m for m in messages), messages


def test_hapi_checks_the_profiles_at_all(hapi: HapiValidator, tmp_path: Path) -> None:
    """Without the folder HAPI cannot find the test profiles; with it, it finds and applies them."""
    case = next(c for c in CASES if c.name == "lab-no-subject")
    messages = [i.message for i in hapi.validate(_write(case, tmp_path))]
    assert any("(from http://example.org/fhirconv/StructureDefinition/fc-lab-observation" in m for m in messages)


def test_an_unknown_profile_is_an_error_for_hapi_a_warning_for_fhirconv(
    hapi: HapiValidator, profiles: ProfileSet, terminology: Terminology, tmp_path: Path
) -> None:
    """The one deliberate difference: HAPI's validator fails a resource whose declared profile it cannot find;
    fhirconv warns that the profile was not checked (the resource may conform to it)."""
    issues = hapi.validate(_write(UNKNOWN_PROFILE, tmp_path))
    assert {i.message_id for i in issues if i.is_error} == {"Validation_VAL_Profile_Unknown"}
    ours = validate_data([UNKNOWN_PROFILE.resource], terminology, profiles=profiles)
    assert not [i for i in ours if i.is_error]
    assert [(i.severity, i.location) for i in ours if i.message == UNKNOWN_PROFILE.notes[0]] == [
        ("warning", "Observation.meta.profile[0]")
    ]
