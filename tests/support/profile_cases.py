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
    # where HAPI's validator puts its errors when that differs from fhirconv (same verdict); None: the same places
    hapi_errors: tuple[str, ...] | None = None


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

# -- R4's own profiles, checked without any folder (HAPI uses its own copy of them) --------------------------------

SD = "http://hl7.org/fhir/StructureDefinition/"
CHOLESTEROL_DISPLAY = "Cholesterol [Moles/\u200bvolume] in Serum or Plasma"  # sic: the profile fixes this display


def _changed(resource: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def ucum(value: float, code: str, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit or code, "system": UCUM, "code": code}


def vital(profile: str, code: str, display: str, value: dict[str, Any] | None, **changes: Any) -> dict[str, Any]:
    """An Observation declaring the R4 vital-signs profile ``profile`` (vitalsigns, heartrate, ...)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "v1",
        "meta": {"profile": [SD + profile]},
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-03-01",
    }
    if value is not None:
        resource["valueQuantity"] = value
    return _changed(resource, changes)


def _bp_component(code: str, display: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": {"coding": [{"system": LOINC, "code": code, "display": display}]}, "valueQuantity": value}


SYSTOLIC = _bp_component("8480-6", "Systolic blood pressure", ucum(120, "mm[Hg]", "mmHg"))
DIASTOLIC = _bp_component("8462-4", "Diastolic blood pressure", ucum(80, "mm[Hg]", "mmHg"))


def bp(**changes: Any) -> dict[str, Any]:
    """An Observation conforming to the R4 bp profile (systolic and diastolic components)."""
    resource = vital("bp", "85354-9", "Blood pressure panel with all children optional", None)
    resource["component"] = [copy.deepcopy(SYSTOLIC), copy.deepcopy(DIASTOLIC)]
    return _changed(resource, changes)


def cholesterol(**changes: Any) -> dict[str, Any]:
    """An Observation conforming to the R4 cholesterol profile (fixed code, unit and reference range)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "c1",
        "meta": {"profile": [SD + "cholesterol"]},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "35200-5", "display": CHOLESTEROL_DISPLAY}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-03-01",
        "valueQuantity": ucum(5.1, "mmol/L"),
        "referenceRange": [{"high": {"value": 4.5}}],
    }
    return _changed(resource, changes)


def device_metric(**changes: Any) -> dict[str, Any]:
    """An Observation conforming to the R4 devicemetricobservation profile."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "d1",
        "meta": {"profile": [SD + "devicemetricobservation"]},
        "status": "final",
        "code": {"text": "infusion rate"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-03-01T10:00:00Z",
        "device": {"reference": "DeviceMetric/m1"},
        "valueQuantity": ucum(5, "mL/h"),
    }
    return _changed(resource, changes)


def shareable_value_set(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ValueSet",
        "id": "vs1",
        "meta": {"profile": [SD + "shareablevalueset"]},
        "url": "http://example.org/fhirconv/ValueSet/colours",
        "version": "1.0.0",
        "name": "Colours",
        "status": "draft",
        "experimental": True,
        "publisher": "fhirconv tests",
        "description": "Some colours.",
        "compose": {"include": [{"system": "http://example.org/fhirconv/CodeSystem/colours"}]},
    }
    return _changed(resource, changes)


def actual_group(profile: str = "actualgroup", **changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "id": "g1",
        "meta": {"profile": [SD + profile]},
        "type": "person",
        "actual": True,
    }
    return _changed(resource, changes)


_PANEL = "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel"

CORE_CASES: list[Case] = [
    # -- conforming ---------------------------------------------------------------------------------------------
    Case("core-bodyweight-ok", weight()),
    Case("core-heartrate-ok", vital("heartrate", "8867-4", "Heart rate", ucum(72, "/min", "beats/minute"))),
    Case("core-resprate-ok", vital("resprate", "9279-1", "Respiratory rate", ucum(16, "/min", "breaths/minute"))),
    Case("core-oxygensat-ok", vital("oxygensat", "2708-6", "Oxygen saturation in Arterial blood", ucum(98, "%"))),
    Case("core-bodytemp-ok", vital("bodytemp", "8310-5", "Body temperature", ucum(37.2, "Cel", "C"))),
    Case("core-bodyheight-ok", vital("bodyheight", "8302-2", "Body height", ucum(172, "cm"))),
    Case("core-headcircum-ok", vital("headcircum", "9843-4", "Head Occipital-frontal circumference", ucum(35, "cm"))),
    Case("core-bmi-ok", vital("bmi", "39156-5", "Body mass index (BMI) [Ratio]", ucum(22.5, "kg/m2"))),
    Case("core-bp-ok", bp()),
    Case(
        "core-vitalspanel-ok",
        vital("vitalspanel", "85353-1", _PANEL, None, hasMember=[{"reference": "Observation/w1"}]),
    ),
    Case("core-cholesterol-ok", cholesterol()),
    Case(
        "core-ldlcholesterol-ok",
        cholesterol(
            meta={"profile": [SD + "ldlcholesterol"]},
            code={"coding": [{"system": LOINC, "code": "18262-6", "display": "LDL Cholesterol (Calc)"}]},
            valueQuantity=ucum(2.5, "mmol/L"),
            referenceRange=[{"high": {"value": 3.0}}],
        ),
    ),
    Case("core-devicemetricobservation-ok", device_metric()),
    Case("core-shareablevalueset-ok", shareable_value_set()),
    Case("core-actualgroup-ok", actual_group()),
    Case("core-groupdefinition-ok", actual_group("groupdefinition", actual=False)),
    Case("core-bundle-ok", _bundle(weight(), bp(), cholesterol())),
    # -- cardinality --------------------------------------------------------------------------------------------
    Case(
        "core-bodyweight-no-subject",
        weight(subject=None),
        errors=(
            ("Observation", f"Observation.subject: minimum required = 1, but only found 0 (profile {SD}bodyweight)"),
        ),
    ),
    Case(
        "core-bp-no-diastolic",
        bp(component=[copy.deepcopy(SYSTOLIC)]),
        errors=(
            ("Observation", f"Observation.component: minimum required = 2, but only found 1 (profile {SD}bp)"),
            (
                "Observation",
                f"Observation.component:DiastolicBP: minimum required = 1, but only found 0 (profile {SD}bp)",
            ),
        ),
    ),
    Case(
        "core-cholesterol-no-reference-range",
        cholesterol(referenceRange=None),
        errors=(
            (
                "Observation",
                f"Observation.referenceRange: minimum required = 1, but only found 0 (profile {SD}cholesterol)",
            ),
        ),
    ),
    Case(
        "core-devicemetricobservation-no-device",
        device_metric(device=None),
        errors=(
            (
                "Observation",
                f"Observation.device: minimum required = 1, but only found 0 (profile {SD}devicemetricobservation)",
            ),
        ),
    ),
    Case(
        "core-devicemetricobservation-issued",
        device_metric(issued="2021-03-01T10:00:00Z"),
        errors=(
            (
                "Observation",
                f"Observation.issued: maximum allowed = 0, but found 1 (profile {SD}devicemetricobservation)",
            ),
        ),
    ),
    Case(
        "core-shareablevalueset-no-publisher",
        shareable_value_set(publisher=None),
        errors=(
            ("ValueSet", f"ValueSet.publisher: minimum required = 1, but only found 0 (profile {SD}shareablevalueset)"),
        ),
    ),
    Case(
        "core-actualgroup-characteristic",
        actual_group(characteristic=[{"code": {"text": "smoker"}, "valueBoolean": True, "exclude": False}]),
        errors=(("Group", f"Group.characteristic: maximum allowed = 0, but found 1 (profile {SD}actualgroup)"),),
    ),
    Case(
        "core-vitalspanel-no-members",
        vital("vitalspanel", "85353-1", _PANEL, None, dataAbsentReason={"text": "-"}),
        errors=(
            ("Observation", f"Observation.hasMember: minimum required = 1, but only found 0 (profile {SD}vitalspanel)"),
        ),
    ),
    Case(
        "core-cholesterol-comparator",
        cholesterol(valueQuantity={**ucum(5.1, "mmol/L"), "comparator": ">"}),
        errors=(
            (
                "Observation.value.ofType(Quantity)",
                f"Observation.value[x].comparator: maximum allowed = 0, but found 1 (profile {SD}cholesterol)",
            ),
        ),
    ),
    # -- types ----------------------------------------------------------------------------------------------------
    Case(
        "core-bodyweight-value-string",
        weight(valueQuantity=None, valueString="61.5 kg"),
        errors=(
            (
                "Observation.value.ofType(string)",
                f"Observation.value[x]: the type string is not allowed (profile {SD}bodyweight allows only Quantity)",
            ),
        ),
    ),
    Case(
        "core-bp-with-value",
        bp(valueQuantity=ucum(120, "mm[Hg]", "mmHg")),
        errors=(
            (
                "Observation.value.ofType(Quantity)",
                f"Observation.value[x]:valueQuantity: maximum allowed = 0, but found 1 (profile {SD}bp)",
            ),
        ),
    ),
    # HAPI cannot tell the type of a valueBoolean the profile does not list, and says so on the resource
    Case(
        "core-devicemetricobservation-boolean",
        device_metric(valueQuantity=None, valueBoolean=True),
        hapi_errors=("Observation",),
        errors=(
            (
                "Observation.value.ofType(boolean)",
                f"Observation.value[x]: the type boolean is not allowed (profile {SD}devicemetricobservation allows only CodeableConcept, Period, Quantity, Range, Ratio, SampledData, dateTime, string, time)",
            ),
        ),
    ),
    Case(
        "core-bodyweight-subject-group-in-bundle",
        _bundle(weight(subject={"reference": "urn:uuid:7f3c0a52-8d1e-4d7e-9a39-2a1d2f0a7c11"}), GROUP),
        errors=(
            (
                "Bundle.entry[0].resource.subject",
                f"Observation.subject: urn:uuid:7f3c0a52-8d1e-4d7e-9a39-2a1d2f0a7c11 points to a Group, but profile {SD}bodyweight allows only Patient",
            ),
        ),
    ),
    # -- fixed and pattern values ---------------------------------------------------------------------------------
    Case(
        "core-heartrate-unit-per-second",
        vital("heartrate", "8867-4", "Heart rate", ucum(72, "/s")),
        errors=(
            (
                "Observation.value.ofType(Quantity).code",
                f'Observation.value[x].code: the value must be exactly "/min" (fixed by profile {SD}heartrate)',
            ),
        ),
    ),
    Case(
        "core-heartrate-no-unit",
        vital("heartrate", "8867-4", "Heart rate", {"value": 72}),
        errors=(
            (
                "Observation.value.ofType(Quantity)",
                f"Observation.value[x].code: minimum required = 1, but only found 0 (profile {SD}heartrate)",
            ),
            (
                "Observation.value.ofType(Quantity)",
                f"Observation.value[x].system: minimum required = 1, but only found 0 (profile {SD}heartrate)",
            ),
            (
                "Observation.value.ofType(Quantity)",
                f"Observation.value[x].unit: minimum required = 1, but only found 0 (profile {SD}heartrate)",
            ),
        ),
    ),
    Case(
        "core-bmi-unit-wrong",
        vital("bmi", "39156-5", "Body mass index (BMI) [Ratio]", ucum(22.5, "g/m2")),
        errors=(
            (
                "Observation.value.ofType(Quantity).code",
                f'Observation.value[x].code: the value must be exactly "kg/m2" (fixed by profile {SD}bmi)',
            ),
        ),
    ),
    Case(
        "core-cholesterol-mg-per-dl",
        cholesterol(valueQuantity=ucum(200, "mg/dL")),
        errors=(
            (
                "Observation.value.ofType(Quantity).code",
                f'Observation.value[x].code: the value must be exactly "mmol/L" (fixed by profile {SD}cholesterol)',
            ),
            (
                "Observation.value.ofType(Quantity).unit",
                f'Observation.value[x].unit: the value must be exactly "mmol/L" (fixed by profile {SD}cholesterol)',
            ),
        ),
    ),
    Case(
        "core-cholesterol-other-high",
        cholesterol(referenceRange=[{"high": {"value": 5.0}}]),
        errors=(
            (
                "Observation.referenceRange[0].high.value",
                f'Observation.referenceRange.high: value must be exactly 4.5 (fixed by profile {SD}cholesterol)',
            ),
        ),
    ),
    Case(
        "core-cholesterol-high-with-unit",
        cholesterol(referenceRange=[{"high": {"value": 4.5, "unit": "mmol/L"}}]),
        errors=(
            (
                "Observation.referenceRange[0].high.unit",
                f"Observation.referenceRange.high: unit is present, and the fixed value has none (fixed by profile {SD}cholesterol)",
            ),
        ),
    ),
    Case(
        "core-cholesterol-display-missing",
        cholesterol(code={"coding": [{"system": LOINC, "code": "35200-5"}]}),
        errors=(
            (
                "Observation.code.coding.display",
                f'Observation.code: display is missing, and the fixed value has "Cholesterol [Moles/\u200bvolume] in Serum or Plasma" (fixed by profile {SD}cholesterol)',
            ),
        ),
    ),
    Case(
        "core-hdlcholesterol-other-display",
        cholesterol(
            meta={"profile": [SD + "hdlcholesterol"]},
            code={"coding": [{"system": LOINC, "code": "2085-9", "display": "Cholesterol in HDL"}]},
            referenceRange=[{"low": {"value": 1.55}}],
        ),
        errors=(
            (
                "Observation.code.coding.display",
                f'Observation.code: display must be exactly "HDL Cholesterol" (fixed by profile {SD}hdlcholesterol)',
            ),
            (
                "Observation.referenceRange[0].low.value",
                f'Observation.referenceRange.low: value must be exactly 1.5 (fixed by profile {SD}hdlcholesterol)',
            ),
        ),
    ),
    Case(
        "core-actualgroup-not-actual",
        actual_group(actual=False),
        errors=(("Group.actual", f"Group.actual: the value must be exactly true (fixed by profile {SD}actualgroup)"),),
    ),
    Case(
        "core-groupdefinition-actual",
        actual_group("groupdefinition"),
        errors=(
            ("Group.actual", f"Group.actual: the value must be exactly false (fixed by profile {SD}groupdefinition)"),
        ),
    ),
    # -- required bindings ----------------------------------------------------------------------------------------
    Case(
        "core-bodyweight-unit-metres",
        weight(valueQuantity=ucum(61.5, "m")),
        errors=(
            (
                "Observation.value.ofType(Quantity).code",
                f"the code 'm' is not in the value set http://hl7.org/fhir/ValueSet/ucum-bodyweight (required by profile {SD}bodyweight)",
            ),
        ),
    ),
    Case(
        "core-bodytemp-kelvin",
        vital("bodytemp", "8310-5", "Body temperature", ucum(310, "K")),
        errors=(
            (
                "Observation.value.ofType(Quantity).code",
                f"the code 'K' is not in the value set http://hl7.org/fhir/ValueSet/ucum-bodytemp (required by profile {SD}bodytemp)",
            ),
        ),
    ),
    Case(
        "core-bodyheight-metres",
        vital("bodyheight", "8302-2", "Body height", ucum(1.72, "m")),
        errors=(
            (
                "Observation.value.ofType(Quantity).code",
                f"the code 'm' is not in the value set http://hl7.org/fhir/ValueSet/ucum-bodylength (required by profile {SD}bodyheight)",
            ),
        ),
    ),
    Case(
        "core-bp-diastolic-in-kpa",
        bp(component=[copy.deepcopy(SYSTOLIC), {**DIASTOLIC, "valueQuantity": ucum(10.7, "kPa")}]),
        errors=(
            (
                "Observation.component[1].value.ofType(Quantity)",
                f"http://unitsofmeasure.org|kPa is not in the value set http://hl7.org/fhir/ValueSet/ucum-vitals-common (required by profile {SD}bp)",
            ),
            (
                "Observation.component[1].value.ofType(Quantity).code",
                f'Observation.component.value[x].code: the value must be exactly "mm[Hg]" (fixed by profile {SD}bp)',
            ),
        ),
    ),
    Case(
        "core-ldlcholesterol-other-code",
        cholesterol(
            meta={"profile": [SD + "ldlcholesterol"]},
            code={"coding": [{"system": LOINC, "code": "2089-1", "display": "Cholesterol in LDL"}]},
            referenceRange=[{"high": {"value": 3.0}}],
        ),
        errors=(
            (
                "Observation.code",
                f"none of the codings (http://loinc.org|2089-1) is in the value set http://hl7.org/fhir/ValueSet/ldlcholesterol-codes (required by profile {SD}ldlcholesterol)",
            ),
        ),
    ),
    # -- slicing --------------------------------------------------------------------------------------------------
    Case(
        "core-bodyweight-no-category",
        weight(category=None),
        errors=(
            ("Observation", f"Observation.category: minimum required = 1, but only found 0 (profile {SD}bodyweight)"),
            (
                "Observation",
                f"Observation.category:VSCat: minimum required = 1, but only found 0 (profile {SD}bodyweight)",
            ),
        ),
    ),
    Case(
        "core-bodyweight-category-exam",
        weight(category=[{"coding": [{"system": CATEGORY, "code": "exam"}]}]),
        errors=(
            (
                "Observation",
                f"Observation.category:VSCat: minimum required = 1, but only found 0 (profile {SD}bodyweight)",
            ),
        ),
    ),
    Case(
        "core-oxygensat-pulse-oximetry-code",
        vital("oxygensat", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", ucum(98, "%")),
        errors=(
            (
                "Observation.code",
                f"Observation.code.coding:OxygenSatCode: minimum required = 1, but only found 0 (profile {SD}oxygensat)",
            ),
        ),
    ),
    # -- constraints ----------------------------------------------------------------------------------------------
    Case(
        "core-vitalsigns-period",
        vital(
            "vitalsigns",
            "29463-7",
            "Body weight",
            ucum(61.5, "kg"),
            effectiveDateTime=None,
            effectivePeriod={"start": "2021-03-01"},
        ),
        errors=(
            (
                "Observation.effective.ofType(Period)",
                f"vs-1: if Observation.effective[x] is dateTime and has a value then that value shall be precise to the day (profile {SD}vitalsigns)",
            ),
        ),
    ),
    Case(
        "core-vitalsigns-component-without-value",
        vital("vitalsigns", "29463-7", "Body weight", ucum(61.5, "kg"), component=[{"code": {"text": "part"}}]),
        errors=(
            (
                "Observation.component[0]",
                f"vs-3: If there is no a value a data absent reason must be present (profile {SD}vitalsigns)",
            ),
        ),
    ),
    Case(
        "core-bodyweight-no-value",
        weight(valueQuantity=None),
        errors=(
            (
                "Observation",
                f"vs-2: If there is no component or hasMember element then either a value[x] or a data absent reason must be present. (profile {SD}bodyweight)",
            ),
        ),
    ),
    # -- a profile of another resource type -----------------------------------------------------------------------
    Case(
        "core-lipidprofile-on-a-group",
        actual_group("lipidprofile"),
        hapi_errors=("Group",),
        errors=(("Group.meta.profile[0]", f"the profile {SD}lipidprofile is for DiagnosticReport, not Group"),),
    ),
]

CASES_BY_NAME = {case.name: case for case in [*CASES, *CORE_CASES]}
