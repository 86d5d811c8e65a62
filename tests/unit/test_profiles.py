"""Profiles (meta.profile) checked against the StructureDefinitions of tests/profiles/ (issue 3).

Each case of tests/support/profile_cases.py gives exactly its errors (location and message); HAPI's verdicts on the
same resources are compared in tests/integration/test_profiles_vs_hapi.py.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from fhirconv.cli import main
from fhirconv.errors import InputError
from fhirconv.terminology import Terminology
from fhirconv.validate import Issue, ProfileSet, validate_data
from fhirconv.validate.profiles import check_profiles
from tests.conftest import SEED
from tests.support.profile_cases import (
    BODYWEIGHT,
    CASES,
    CORE_CASES,
    LAB,
    PROFILES,
    UCUM,
    UNKNOWN_PROFILE,
    VITALS,
    Case,
    lab,
    weight,
)

OBSERVATION = "http://hl7.org/fhir/StructureDefinition/Observation"


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return ProfileSet.load([PROFILES])


def _validate(resource: dict[str, Any], terminology: Terminology, profiles: ProfileSet | None) -> list[Issue]:
    return validate_data([copy.deepcopy(resource)], terminology, profiles=profiles)


def _errors(issues: list[Issue]) -> list[tuple[str, str]]:
    return sorted((i.location, i.message) for i in issues if i.is_error)


def _sd(url: str, elements: list[dict[str, Any]], base: str = OBSERVATION, kind: str = "Observation") -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "url": url,
        "name": "Test",
        "status": "draft",
        "kind": "resource",
        "abstract": False,
        "type": kind,
        "baseDefinition": base,
        "derivation": "constraint",
        "differential": {"element": [{"path": kind}, *elements]},
    }


# -- every rule, on conforming and non-conforming resources ---------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_gives_exactly_its_errors(case: Case, terminology: Terminology, profiles: ProfileSet) -> None:
    issues = _validate(case.resource, terminology, profiles)
    assert _errors(issues) == sorted(case.errors)
    others = [i.message for i in issues if not i.is_error]
    for note in case.notes:
        assert note in others
    assert not [i for i in issues if "not checked" in i.message or "was not found" in i.message]


@pytest.mark.parametrize("case", CORE_CASES, ids=lambda c: c.name)
def test_r4_profiles_are_checked_without_a_folder(case: Case, terminology: Terminology) -> None:
    issues = _validate(case.resource, terminology, None)
    assert _errors(issues) == sorted(case.errors)
    assert not [
        i for i in issues if "profile" in i.message and ("not checked" in i.message or "not found" in i.message)
    ]


def test_a_folder_profile_on_an_r4_profile_applies_both(terminology: Terminology) -> None:
    url = "http://example.org/p/my-weight"
    profiles = ProfileSet([_sd(url, [{"path": "Observation.method", "min": 1}], base=BODYWEIGHT)])
    resource = weight(meta={"profile": [url]}, valueQuantity={"value": 1, "unit": "m", "system": UCUM, "code": "m"})
    assert _errors(_validate(resource, terminology, profiles)) == [
        ("Observation", f"Observation.method: minimum required = 1, but only found 0 (profile {url})"),
        (
            "Observation.value.ofType(Quantity).code",
            "the code 'm' is not in the value set http://hl7.org/fhir/ValueSet/ucum-bodyweight (required by profile "
            f"{url})",
        ),
    ]


def test_a_folder_profile_replaces_the_r4_one_with_its_url(terminology: Terminology) -> None:
    mine = _sd(BODYWEIGHT, [{"path": "Observation.method", "min": 1}])
    profiles = ProfileSet([mine])
    assert profiles.structure_definitions[BODYWEIGHT] is mine
    resource = weight(subject=None)  # bodyweight of R4 wants a subject; this one wants a method
    assert _errors(_validate(resource, terminology, profiles)) == [
        ("Observation", f"Observation.method: minimum required = 1, but only found 0 (profile {BODYWEIGHT})")
    ]


def test_the_folder_holds_the_test_profiles(profiles: ProfileSet) -> None:
    assert {LAB, VITALS, BODYWEIGHT} <= set(profiles.structure_definitions)
    lab_profile = profiles.profile(LAB + "|0.1.0")
    assert lab_profile is not None and lab_profile.type == "Observation" and lab_profile.notes == []


def test_a_profile_on_a_profile_applies_both(terminology: Terminology, profiles: ProfileSet) -> None:
    ck = "http://example.org/fhirconv/StructureDefinition/fc-ck-observation"
    resource = lab(
        ck, subject=None, valueQuantity={"value": 1, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    )
    assert [m for _, m in _errors(_validate(resource, terminology, profiles))] == [
        f"Observation.subject: minimum required = 1, but only found 0 (profile {ck})",
        f'Observation.value[x].code: the value must be exactly "U/L" (fixed by profile {ck})',
    ]


# -- profiles that are not available ---------------------------------------------------------------------------------


def test_an_unknown_profile_is_a_warning_naming_it(terminology: Terminology, profiles: ProfileSet) -> None:
    issues = _validate(UNKNOWN_PROFILE.resource, terminology, profiles)
    assert not _errors(issues)
    assert [(i.severity, i.location, i.message) for i in issues if "profile" in i.message] == [
        ("warning", "Observation.meta.profile[0]", UNKNOWN_PROFILE.notes[0])
    ]


def test_without_a_profile_folder_only_r4_profiles_are_checked(terminology: Terminology) -> None:
    resource = weight(subject=None)
    resource["meta"]["profile"] = [BODYWEIGHT, OBSERVATION, LAB]
    issues = _validate(resource, terminology, None)
    assert _errors(issues) == [
        ("Observation", f"Observation.subject: minimum required = 1, but only found 0 (profile {BODYWEIGHT})")
    ]  # R4's own profiles need no folder; the R4 base type itself neither: the structural check is that check
    warned = [(i.severity, i.location, i.message) for i in issues if not i.is_error and "profile" in i.message]
    assert warned == [
        (
            "warning",
            "Observation.meta.profile[2]",
            f"the profile {LAB} was not checked: its StructureDefinition is not available (give its folder "
            "with --profile-dir)",
        )
    ]


def test_r4_profiles_can_be_left_out(terminology: Terminology) -> None:
    issues = check_profiles(weight(subject=None), "Observation", ProfileSet(core=False))
    assert [(i.severity, i.location) for i in issues] == [("warning", "Observation.meta.profile[0]")]
    assert "was not checked" in issues[0].message


def test_a_resource_without_profiles_has_no_profile_issues(terminology: Terminology) -> None:
    assert not _errors(validate_data([lab(meta=None)], terminology))


def test_a_profile_of_another_type(terminology: Terminology) -> None:
    patient_profile = "http://example.org/p/patient"
    profiles = ProfileSet([_sd(patient_profile, [], "http://hl7.org/fhir/StructureDefinition/Patient", "Patient")])
    resource = lab(meta={"profile": [patient_profile, "http://hl7.org/fhir/StructureDefinition/Patient"]})
    assert _errors(_validate(resource, terminology, profiles)) == [
        ("Observation.meta.profile[0]", f"the profile {patient_profile} is for Patient, not Observation"),
        (
            "Observation.meta.profile[1]",
            "the profile http://hl7.org/fhir/StructureDefinition/Patient is for Patient, not Observation",
        ),
    ]


def test_a_base_profile_missing_from_the_folder_is_noted(terminology: Terminology) -> None:
    url = "http://example.org/p/my-weight"
    missing = "http://example.org/p/not-there"
    profiles = ProfileSet([_sd(url, [{"path": "Observation.subject", "min": 1}], base=missing)])
    issues = check_profiles(lab(url, subject=None), "Observation", profiles)
    assert [(i.severity, i.message) for i in issues] == [
        (
            "information",
            f"profile {url}: its base profile {missing} is not available, so only its own rules were checked",
        ),
        ("error", f"Observation.subject: minimum required = 1, but only found 0 (profile {url})"),
    ]


# -- loading ----------------------------------------------------------------------------------------------------------


def test_profiles_load_from_bundles_and_snapshots(tmp_path: Path, terminology: Terminology) -> None:
    vitals = json.loads((PROFILES / "StructureDefinition-vitalsigns.json").read_text("utf-8"))
    del vitals["differential"]  # a snapshot alone is merged the same way
    (tmp_path / "bundle.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": vitals}]}), "utf-8"
    )
    profiles = ProfileSet.load([tmp_path], core=False)
    assert set(profiles.structure_definitions) == {VITALS}
    resource = weight(meta={"profile": [VITALS]}, valueQuantity=None, subject=None)
    assert _errors(_validate(resource, terminology, profiles)) == [
        ("Observation", f"Observation.subject: minimum required = 1, but only found 0 (profile {VITALS})"),
        (
            "Observation",
            "vs-2: If there is no component or hasMember element then either a value[x] or a data absent reason "
            f"must be present. (profile {VITALS})",
        ),
    ]


def test_a_missing_or_broken_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        ProfileSet.load([tmp_path / "nope"])
    (tmp_path / "bad.json").write_text("{", "utf-8")
    with pytest.raises(InputError, match="cannot read a profile file"):
        ProfileSet.load([tmp_path])


# -- value sets --------------------------------------------------------------------------------------------------------


def _bound(value_set: str) -> dict[str, Any]:
    return {"path": "Observation.status", "binding": {"strength": "required", "valueSet": value_set}}


def test_value_sets_by_expansion_filter_or_missing(terminology: Terminology) -> None:
    url = "http://example.org/p/status"
    status_vs = "http://example.org/vs/status"
    expanded = {
        "resourceType": "ValueSet",
        "url": status_vs,
        "status": "draft",
        "expansion": {
            "contains": [{"system": "http://hl7.org/fhir/observation-status", "code": "final"}],
        },
    }
    profiles = ProfileSet([_sd(url, [_bound(status_vs)]), expanded])
    assert _errors(_validate(lab(url, status="amended"), terminology, profiles)) == [
        ("Observation.status", f"the code 'amended' is not in the value set {status_vs} (required by profile {url})")
    ]
    assert not _errors(_validate(lab(url), terminology, profiles))

    filtered = dict(expanded, expansion=None, compose={"include": [{"system": "x", "filter": [{"op": "is-a"}]}]})
    profiles = ProfileSet([_sd(url, [_bound(status_vs)]), filtered])
    issues = check_profiles(lab(url, status="amended"), "Observation", profiles)
    assert [(i.severity, i.location, i.message) for i in issues] == [
        (
            "information",
            "Observation.status",
            f"the value set {status_vs} (required by profile {url}) was not checked: it uses filters",
        )
    ]

    profiles = ProfileSet([_sd(url, [_bound(status_vs)])])
    issues = check_profiles(lab(url), "Observation", profiles)
    assert [(i.severity, i.message) for i in issues] == [
        (
            "warning",
            f"the value set {status_vs} (required by profile {url}) is not available, so the codes bound to it were "
            "not checked",
        )
    ]


# -- slicing -----------------------------------------------------------------------------------------------------------


def test_slicing_that_cannot_be_evaluated_is_reported(terminology: Terminology) -> None:
    url = "http://example.org/p/sliced"
    elements = [
        {"path": "Observation.component", "slicing": {"discriminator": [{"type": "exists", "path": "value"}]}},
        {"path": "Observation.component", "sliceName": "withValue", "min": 1},
    ]
    resource = lab(url, component=[{"code": {"text": "a"}, "valueString": "x"}])
    issues = check_profiles(resource, "Observation", ProfileSet([_sd(url, elements)]))
    assert [(i.severity, i.location, i.message) for i in issues] == [
        (
            "information",
            "Observation",
            "slicing of Observation.component not checked: the discriminator type 'exists' is not supported "
            f"(profile {url})",
        )
    ]


def test_closed_slicing_and_value_discriminator(terminology: Terminology) -> None:
    url = "http://example.org/p/closed"
    elements = [
        {
            "path": "Observation.component",
            "slicing": {"discriminator": [{"type": "value", "path": "code.coding.code"}], "rules": "closed"},
        },
        {"path": "Observation.component", "sliceName": "systolic", "max": "1"},
        {"path": "Observation.component.code.coding.code", "fixedCode": "8480-6"},
        {"path": "Observation.component.value[x]", "type": [{"code": "Quantity"}]},
    ]
    profiles = ProfileSet([_sd(url, elements)])
    component = {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueString": "high"}
    other = {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 80}}
    issues = check_profiles(lab(url, component=[component, other, component]), "Observation", profiles)
    assert sorted((i.location, i.message) for i in issues if i.is_error) == [
        ("Observation", f"Observation.component:systolic: maximum allowed = 1, but found 2 (profile {url})"),
        (
            "Observation.component[0].value.ofType(string)",
            f"Observation.component.value[x]: the type string is not allowed (profile {url} allows only Quantity)",
        ),
        (
            "Observation.component[1]",
            f"Observation.component: the item matches no slice, and the slicing is closed (profile {url})",
        ),
        (
            "Observation.component[2].value.ofType(string)",
            f"Observation.component.value[x]: the type string is not allowed (profile {url} allows only Quantity)",
        ),
    ]


def test_an_unknown_element_of_a_profile_is_noted() -> None:
    url = "http://example.org/p/odd"
    profiles = ProfileSet([_sd(url, [{"path": "Observation.nothing", "min": 1}])])
    issues = check_profiles(lab(url), "Observation", profiles)
    assert [(i.severity, i.location, i.message) for i in issues] == [
        (
            "information",
            "Observation.meta.profile[0]",
            f"profile {url}: element Observation.nothing of the profile was not found in its base, so it was not "
            "checked",
        )
    ]


# -- the command line --------------------------------------------------------------------------------------------------


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_validate_with_profile_dir(tmp_path: Path) -> None:
    target = tmp_path / "obs.json"
    target.write_text(json.dumps(lab(subject=None)), "utf-8")
    code, out, _ = _run("validate", str(target), "--profile-dir", str(PROFILES))
    assert code == 1
    assert (
        f"error       Observation  Observation.subject: minimum required = 1, but only found 0 (profile {LAB})"
        in out.splitlines()
    )
    code, out, _ = _run("validate", str(target))
    assert code == 0
    assert (
        f"warning     Observation.meta.profile[0]  the profile {LAB} was not checked: its StructureDefinition is not "
        "available (give its folder with --profile-dir)" in out.splitlines()
    )
    code, _, err = _run("validate", str(target), "--profile-dir", str(tmp_path / "none"))
    assert code == 1 and "no such folder" in err


def test_cli_validate_checks_r4_profiles_without_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "weight.json"
    target.write_text(json.dumps(weight(category=None)), "utf-8")
    code, out, _ = _run("validate", str(target))
    assert code == 1
    assert (
        f"error       Observation  Observation.category: minimum required = 1, but only found 0 (profile {BODYWEIGHT})"
        in out.splitlines()
    )
    target.write_text(json.dumps(weight()), "utf-8")
    code, out, _ = _run("validate", str(target))
    assert code == 0 and "profile" not in out, out


def test_cli_help_documents_profile_dir() -> None:
    for command in ("validate", "convert"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main([command, "--help"]) == 0
        text = out.getvalue()
        assert "--profile-dir DIR" in text and "--profile-dir profiles/" in text


def test_cli_convert_takes_profile_dir(tmp_path: Path) -> None:
    target = tmp_path / "bundle.json"
    code, _, err = _run("convert", str(SEED), "-o", str(target), "--profile-dir", str(PROFILES))
    assert code == 0, err
    assert target.is_file()
