"""Small resources that declare a profile of tests/profiles/ and conform to it, or break one of its rules.

Shared by tests/unit/test_profiles.py (fhirconv's exact issues) and tests/integration/test_profiles_vs_hapi.py
(HAPI's validator with ``--profile-dir tests/profiles``: an error exactly where fhirconv finds one). ``errors`` are
the (location, message) pairs of every error fhirconv reports for the resource; empty for a conforming one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILES = Path(__file__).resolve().parent.parent / "profiles"

BASE = "http://example.org/fhirconv"
LAB = f"{BASE}/StructureDefinition/fc-lab-observation"
CK = f"{BASE}/StructureDefinition/fc-ck-observation"
VITALS = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
BODYWEIGHT = "http://hl7.org/fhir/StructureDefinition/bodyweight"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
METHOD = f"{BASE}/CodeSystem/fc-method"


@dataclass(frozen=True)
class Case:
    name: str
    resource: dict[str, Any]
    errors: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())  # information/warning messages fhirconv must give too


def lab(profile: str = LAB, **changes: Any) -> dict[str, Any]:
    """An Observation conforming to fc-lab-observation (and fc-ck-observation); ``changes`` replace (None: drop)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "ck1",
        "meta": {"profile": [profile]},
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}],
        "code": {
            "coding": [
                {
                    "system": LOINC,
                    "code": "2157-6",
                    "display": "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma",
                }
            ],
            "text": "CK",
        },
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-03-01",
        "valueQuantity": {"value": 250, "unit": "U/L", "system": UCUM, "code": "U/L"},
        "interpretation": [{"coding": [{"system": V3, "code": "H"}]}],
        "method": {"coding": [{"system": METHOD, "code": "enzymatic"}]},
    }
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def weight(**changes: Any) -> dict[str, Any]:
    """An Observation conforming to the R4 bodyweight (and so vitalsigns) profile."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "w1",
        "meta": {"profile": [BODYWEIGHT]},
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-03-01",
        "valueQuantity": {"value": 61.5, "unit": "kg", "system": UCUM, "code": "kg"},
    }
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def _quantity(**changes: Any) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": 250, "unit": "U/L", "system": UCUM, "code": "U/L"}
    for key, value in changes.items():
        if value is None:
            quantity.pop(key, None)
        else:
            quantity[key] = value
    return quantity


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    entries = []
    for number, resource in enumerate(resources):
        one = copy.deepcopy(resource)
        full_url = one.pop("_fullUrl", None)
        if full_url is None:
            one["id"] = f"{one['id']}-{number}"
            full_url = f"http://example.org/fhir/{one['resourceType']}/{one['id']}"
        entries.append({"fullUrl": full_url, "resource": one})
    return {"resourceType": "Bundle", "id": "b1", "type": "collection", "entry": entries}


GROUP: dict[str, Any] = {
    "resourceType": "Group",
    "id": "g1",
    "type": "person",
    "actual": True,
    "_fullUrl": "urn:uuid:7f3c0a52-8d1e-4d7e-9a39-2a1d2f0a7c11",
}

_VS1 = "if Observation.effective[x] is dateTime and has a value then that value shall be precise to the day"
_BY_LAB = f"(profile {LAB})"
_BY_CK = f"(profile {CK})"
_BY_VITALS = f"(profile {VITALS})"
_BY_WEIGHT = f"(profile {BODYWEIGHT})"

CASES: list[Case] = [
    # -- conforming ---------------------------------------------------------------------------------------------
    Case("lab-ok", lab()),
    Case("lab-ok-nested-method-code", lab(method={"coding": [{"system": METHOD, "code": "elisa"}]})),
    Case(
        "lab-ok-extra-category",
        lab(
            category=[
                {"coding": [{"system": CATEGORY, "code": "social-history"}]},
                {"coding": [{"system": CATEGORY, "code": "laboratory"}], "text": "Lab"},
            ]
        ),
    ),
    Case("lab-ok-preliminary-without-effective", lab(status="preliminary", effectiveDateTime=None)),
    Case("ck-ok", lab(CK)),
    Case("bodyweight-ok", weight()),
    Case("bodyweight-ok-pounds", weight(valueQuantity={"value": 135, "unit": "lb", "system": UCUM, "code": "[lb_av]"})),
    Case("bundle-ok", _bundle(lab(), weight())),
    # -- cardinality --------------------------------------------------------------------------------------------
    Case(
        "lab-no-subject",
        lab(subject=None),
        (("Observation", f"Observation.subject: minimum required = 1, but only found 0 {_BY_LAB}"),),
    ),
    Case(
        "lab-two-interpretations",
        lab(interpretation=[{"coding": [{"system": V3, "code": "H"}]}, {"coding": [{"system": V3, "code": "N"}]}]),
        (("Observation", f"Observation.interpretation: maximum allowed = 1, but found 2 {_BY_LAB}"),),
    ),
    Case(
        "lab-no-unit-system",
        lab(valueQuantity=_quantity(system=None, code=None)),
        (
            (
                "Observation.value.ofType(Quantity)",
                f"Observation.value[x].system: minimum required = 1, but only found 0 {_BY_LAB}",
            ),
        ),
    ),
    # -- types ----------------------------------------------------------------------------------------------------
    Case(
        "lab-value-string",
        lab(valueQuantity=None, valueString="250 U/L"),
        (
            (
                "Observation.value.ofType(string)",
                f"Observation.value[x]: the type string is not allowed (profile {LAB} allows only Quantity)",
            ),
        ),
    ),
    Case(
        "lab-subject-group-in-bundle",
        _bundle(lab(subject={"reference": "urn:uuid:7f3c0a52-8d1e-4d7e-9a39-2a1d2f0a7c11"}), GROUP),
        (
            (
                "Bundle.entry[0].resource.subject",
                "Observation.subject: urn:uuid:7f3c0a52-8d1e-4d7e-9a39-2a1d2f0a7c11 points to a Group, but profile "
                f"{LAB} allows only Patient",
            ),
        ),
    ),
    # an unresolved reference: only its literal type tells, which HAPI does not check (a warning here)
    Case(
        "lab-subject-group-unresolved",
        lab(subject={"reference": "Group/g1"}),
        notes=(f"Observation.subject: Group/g1 points to a Group, but profile {LAB} allows only Patient",),
    ),
    # -- fixed and pattern ----------------------------------------------------------------------------------------
    Case(
        "lab-unit-system-not-ucum",
        lab(valueQuantity=_quantity(system="http://example.org/units")),
        (
            (
                "Observation.value.ofType(Quantity).system",
                f'Observation.value[x].system: the value must be exactly "{UCUM}" (fixed by profile {LAB})',
            ),
        ),
    ),
    Case(
        "lab-code-not-ck",
        lab(
            code={
                "coding": [
                    {"system": LOINC, "code": "2160-0", "display": "Creatinine [Mass/volume] in Serum or Plasma"}
                ]
            }
        ),
        (
            (
                "Observation.code",
                f'Observation.code: the value must match the pattern {{"coding": [{{"system": "{LOINC}", "code": "2157-6"}}]}} ({_BY_LAB[1:-1]})',
            ),
        ),
    ),
    # -- required bindings to the folder's value sets -------------------------------------------------------------
    Case(
        "lab-interpretation-not-in-value-set",
        lab(interpretation=[{"coding": [{"system": V3, "code": "A"}]}]),
        (
            (
                "Observation.interpretation[0]",
                f"none of the codings ({V3}|A) is in the value set {BASE}/ValueSet/fc-interpretation (required by profile {LAB})",
            ),
        ),
    ),
    Case(
        "lab-method-not-in-code-system",
        lab(method={"coding": [{"system": METHOD, "code": "spectro"}]}),
        (
            (
                "Observation.method",
                f"none of the codings ({METHOD}|spectro) is in the value set {BASE}/ValueSet/fc-method (required by profile {LAB})",
            ),
        ),
    ),
    # -- slicing --------------------------------------------------------------------------------------------------
    Case(
        "lab-no-laboratory-category",
        lab(category=[{"coding": [{"system": CATEGORY, "code": "social-history"}]}]),
        (("Observation", f"Observation.category:lab: minimum required = 1, but only found 0 {_BY_LAB}"),),
    ),
    Case(
        "lab-two-laboratory-categories",
        lab(
            category=[
                {"coding": [{"system": CATEGORY, "code": "laboratory"}]},
                {"coding": [{"system": CATEGORY, "code": "laboratory"}], "text": "again"},
            ]
        ),
        (("Observation", f"Observation.category:lab: maximum allowed = 1, but found 2 {_BY_LAB}"),),
    ),
    # -- the profile's constraint -----------------------------------------------------------------------------------
    Case(
        "lab-final-without-effective",
        lab(effectiveDateTime=None),
        (("Observation", f"fc-1: A final result has an effective time {_BY_LAB}"),),
    ),
    # -- a profile on a profile: both apply ---------------------------------------------------------------------------
    Case(
        "ck-unit-not-u-per-l",
        lab(CK, valueQuantity=_quantity(unit="µkat/L", code="ukat/L")),
        (
            (
                "Observation.value.ofType(Quantity).code",
                f'Observation.value[x].code: the value must be exactly "U/L" (fixed by profile {CK})',
            ),
        ),
    ),
    Case(
        "ck-no-subject",
        lab(CK, subject=None),
        (("Observation", f"Observation.subject: minimum required = 1, but only found 0 {_BY_CK}"),),
    ),
    Case(
        "ck-with-component",
        lab(CK, component=[{"code": {"text": "part"}, "valueQuantity": _quantity()}]),
        (("Observation", f"Observation.component: maximum allowed = 0, but found 1 {_BY_CK}"),),
    ),
    # -- the R4 vital-signs profiles (slices on category and code.coding, value discriminators) ---------------------
    Case(
        "bodyweight-wrong-loinc",
        weight(code={"coding": [{"system": LOINC, "code": "8302-2", "display": "Body height"}]}),
        (
            (
                "Observation.code",
                f"Observation.code.coding:BodyWeightCode: minimum required = 1, but only found 0 {_BY_WEIGHT}",
            ),
        ),
    ),
    Case(
        "bodyweight-not-vital-signs",
        weight(category=[{"coding": [{"system": CATEGORY, "code": "exam"}]}]),
        (("Observation", f"Observation.category:VSCat: minimum required = 1, but only found 0 {_BY_WEIGHT}"),),
    ),
    Case(
        "bodyweight-unit-not-weight",
        weight(valueQuantity={"value": 61.5, "unit": "m", "system": UCUM, "code": "m"}),
        (
            (
                "Observation.value.ofType(Quantity).code",
                f"the code 'm' is not in the value set http://hl7.org/fhir/ValueSet/ucum-bodyweight (required by profile {BODYWEIGHT})",
            ),
        ),
    ),
    Case(
        "bodyweight-no-subject",
        weight(subject=None),
        (("Observation", f"Observation.subject: minimum required = 1, but only found 0 {_BY_WEIGHT}"),),
    ),
    Case(
        "vitalsigns-no-value",
        weight(meta={"profile": [VITALS]}, valueQuantity=None),
        (
            (
                "Observation",
                "vs-2: If there is no component or hasMember element then either a value[x] or a data absent reason "
                f"must be present. {_BY_VITALS}",
            ),
        ),
    ),
    Case(
        "vitalsigns-effective-period",
        weight(meta={"profile": [VITALS]}, effectiveDateTime=None, effectivePeriod={"start": "2021-03-01"}),
        # vs-1 is "($this as dateTime).toString().length() >= 8": empty on a Period, which HAPI counts as a failure
        (("Observation.effective.ofType(Period)", f"vs-1: {_VS1} {_BY_VITALS}"),),
    ),
    Case(
        "vitalsigns-effective-year-only",
        weight(meta={"profile": [VITALS]}, effectiveDateTime="2021"),
        (("Observation.effective.ofType(dateTime)", f"vs-1: {_VS1} {_BY_VITALS}"),),
    ),
    Case(
        "bundle-one-bad-entry",
        _bundle(lab(), lab(subject=None)),
        (("Bundle.entry[1].resource", f"Observation.subject: minimum required = 1, but only found 0 {_BY_LAB}"),),
    ),
]

# HAPI's validator reports a declared profile it cannot find as an error (Validation_VAL_Profile_Unknown); fhirconv
# warns that the profile was not checked, by design.
UNKNOWN_PROFILE = Case(
    "unknown-profile",
    lab("http://example.org/fhirconv/StructureDefinition/not-there"),
    notes=(
        "the profile http://example.org/fhirconv/StructureDefinition/not-there was not checked: its "
        "StructureDefinition is not available (give its folder with --profile-dir)",
    ),
)

CASES_BY_NAME = {case.name: case for case in CASES}
