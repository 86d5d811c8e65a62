"""Small resources that break (or just pass) one R4 error-level invariant each.

Shared by tests/unit/test_invariants.py (our verdicts) and tests/integration/test_invariants_vs_hapi.py (HAPI's).
``fails`` is the set of invariant keys that must fail on the resource; every other error invariant must pass.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


@dataclass(frozen=True)
class Case:
    name: str
    resource: dict[str, Any]
    fails: frozenset[str]


def _obs(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2157-6"}], "text": "CK"},
        "subject": {"reference": "Patient/p1"},
    }
    base.update(extra)
    return base


def _patient(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "gender": "female"}
    base.update(extra)
    return base


def _med_request(dosage: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "prednisone"},
        "subject": {"reference": "Patient/p1"},
        "dosageInstruction": [dosage],
    }
    base.update(extra)
    return base


def _bundle(kind: str, entries: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"resourceType": "Bundle", "id": "b1", "type": kind, "entry": entries}
    base.update(extra)
    return base


_QTY = {"value": 120, "unit": "U/L", "system": UCUM, "code": "U/L"}
_DAR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]}
_PAT_ENTRY = {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": _patient()}

CASES: list[Case] = [
    Case("valid-observation", _obs(valueQuantity=_QTY), frozenset()),
    Case("obs-6-value-and-absent-reason", _obs(valueQuantity=_QTY, dataAbsentReason=_DAR), frozenset({"obs-6"})),
    Case(
        "obs-7-component-repeats-code",
        _obs(
            valueQuantity=_QTY,
            component=[{"code": {"coding": [{"system": LOINC, "code": "2157-6"}]}, "valueQuantity": _QTY}],
        ),
        frozenset({"obs-7"}),
    ),
    Case(
        "obs-7-other-component-code",
        _obs(
            valueQuantity=_QTY,
            component=[{"code": {"coding": [{"system": LOINC, "code": "1920-8"}]}, "valueQuantity": _QTY}],
        ),
        frozenset(),
    ),
    Case(
        "obs-3-reference-range-without-bounds",
        _obs(
            valueQuantity=_QTY,
            referenceRange=[
                {"low": {"value": 20, "unit": "U/L", "system": UCUM, "code": "U/L"}},
                {"type": {"text": "normal"}},
            ],
        ),
        frozenset({"obs-3"}),
    ),
    Case(
        "sqty-1-comparator-in-simple-quantity",
        _obs(
            valueQuantity=_QTY,
            referenceRange=[{"high": {"value": 200, "comparator": "<", "system": UCUM, "code": "U/L"}}],
        ),
        frozenset({"sqty-1"}),
    ),
    Case(
        "qty-3-code-without-system",
        _obs(valueQuantity={"value": 120, "unit": "U/L", "code": "U/L"}),
        frozenset({"qty-3"}),
    ),
    Case(
        "rng-2-low-above-high",
        _obs(
            valueRange={
                "low": {"value": 5, "system": UCUM, "code": "mg"},
                "high": {"value": 2, "system": UCUM, "code": "mg"},
            }
        ),
        frozenset({"rng-2"}),
    ),
    Case(
        "per-1-start-after-end",
        _obs(valueQuantity=_QTY, effectivePeriod={"start": "2021-03-05", "end": "2021-03-01"}),
        frozenset({"per-1"}),
    ),
    Case(
        "per-1-start-before-end",
        _obs(valueQuantity=_QTY, effectivePeriod={"start": "2021-03-01T10:00:00Z", "end": "2021-03-05"}),
        frozenset(),
    ),
    Case(
        "per-1-same-day-open-precision",
        _obs(valueQuantity=_QTY, effectivePeriod={"start": "2021-03-01T10:00:00Z", "end": "2021-03-01"}),
        frozenset({"per-1"}),
    ),
    Case(
        "per-1-start-less-precise",
        _obs(valueQuantity=_QTY, effectivePeriod={"start": "2021-03-01", "end": "2021-03-01T10:00:00Z"}),
        frozenset({"per-1"}),
    ),
    Case(
        "per-1-years-and-months",
        _obs(valueQuantity=_QTY, effectivePeriod={"start": "2021", "end": "2022-05"}),
        frozenset(),
    ),
    Case(
        "per-1-time-zones",
        _obs(valueQuantity=_QTY, effectivePeriod={"start": "2021-03-01T10:00:00+02:00", "end": "2021-03-01T09:00:00Z"}),
        frozenset(),
    ),
    Case(
        "per-1-start-only-extension",
        _obs(
            valueQuantity=_QTY,
            effectivePeriod={
                "_start": {
                    "extension": [
                        {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
                    ]
                },
                "end": "2021-03-01",
            },
        ),
        frozenset(),
    ),
    Case(
        "rng-2-incomparable-units",
        _obs(
            valueRange={
                "low": {"value": 5, "system": UCUM, "code": "mg"},
                "high": {"value": 2, "system": UCUM, "code": "mL"},
            }
        ),
        frozenset({"rng-2"}),
    ),
    Case(
        "txt-empty-narrative",
        _patient(text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"></div>'}),
        frozenset({"txt-2"}),
    ),
    Case(
        "txt-script-in-narrative",
        _patient(
            text={
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script>Jane</div>',
            }
        ),
        frozenset({"txt-1"}),
    ),
    Case(
        "txt-good-narrative",
        _patient(
            text={
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Jane <b>Doe</b></p></div>',
            }
        ),
        frozenset(),
    ),
    Case(
        "dom-5-contained-with-security",
        _obs(
            valueQuantity=_QTY,
            contained=[
                {
                    "resourceType": "Practitioner",
                    "id": "doc",
                    "meta": {
                        "security": [
                            {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
                        ]
                    },
                    "name": [{"family": "House"}],
                }
            ],
            performer=[{"reference": "#doc"}],
        ),
        frozenset({"dom-5"}),
    ),
    Case(
        "sqty-1-dose-with-comparator",
        _med_request(
            {
                "text": "daily",
                "doseAndRate": [{"doseQuantity": {"value": 5, "comparator": ">", "system": UCUM, "code": "mg"}}],
            }
        ),
        frozenset({"sqty-1"}),
    ),
    Case(
        "ctm-1-on-behalf-of-patient",
        _bundle(
            "collection",
            [
                _PAT_ENTRY,
                {
                    "fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333",
                    "resource": {
                        "resourceType": "CareTeam",
                        "id": "ct1",
                        "participant": [
                            {
                                "member": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
                                "onBehalfOf": {"reference": "urn:uuid:44444444-4444-4444-8444-444444444444"},
                            }
                        ],
                    },
                },
                {
                    "fullUrl": "urn:uuid:44444444-4444-4444-8444-444444444444",
                    "resource": {"resourceType": "Organization", "id": "org1", "name": "Clinic"},
                },
            ],
        ),
        frozenset({"ctm-1"}),
    ),
    Case(
        "ref-1-contained-reference-missing",
        _obs(valueQuantity=_QTY, performer=[{"reference": "#nobody"}]),
        frozenset({"ref-1"}),
    ),
    Case(
        "ref-1-reference-without-reference", _obs(valueQuantity=_QTY, performer=[{"display": "Dr House"}]), frozenset()
    ),
    Case(
        "ref-1-contained-reference-ok",
        _obs(
            valueQuantity=_QTY,
            contained=[{"resourceType": "Practitioner", "id": "doc", "name": [{"family": "House"}]}],
            performer=[{"reference": "#doc"}],
        ),
        frozenset(),
    ),
    Case(
        "dom-3-contained-not-referenced",
        _obs(
            valueQuantity=_QTY, contained=[{"resourceType": "Practitioner", "id": "doc", "name": [{"family": "House"}]}]
        ),
        frozenset({"dom-3"}),
    ),
    Case(
        "dom-2-nested-contained",
        _obs(
            valueQuantity=_QTY,
            contained=[
                {
                    "resourceType": "Practitioner",
                    "id": "doc",
                    "contained": [{"resourceType": "Organization", "id": "org", "name": "X"}],
                    "name": [{"family": "House"}],
                }
            ],
            performer=[{"reference": "#doc"}],
        ),
        frozenset({"dom-2", "dom-3"}),
    ),
    Case(
        "dom-4-contained-with-version",
        _obs(
            valueQuantity=_QTY,
            contained=[
                {"resourceType": "Practitioner", "id": "doc", "meta": {"versionId": "2"}, "name": [{"family": "House"}]}
            ],
            performer=[{"reference": "#doc"}],
        ),
        frozenset({"dom-4"}),
    ),
    Case("ele-1-empty-element", _obs(valueQuantity=_QTY, method={}), frozenset({"ele-1"})),
    # HAPI does not report an element whose only content is an id (see invariants._HAPI_EXPRESSIONS)
    Case("ele-1-only-id", _obs(valueQuantity=_QTY, method={"id": "m"}), frozenset()),
    Case("ele-1-primitive-with-only-id", _patient(_gender={"id": "g1"}), frozenset()),
    Case("ext-1-extension-without-value", _patient(extension=[{"url": "http://example.org/x"}]), frozenset({"ext-1"})),
    Case(
        "ext-1-value-and-nested-extension",
        _obs(
            valueQuantity=_QTY,
            extension=[
                {"url": "http://example.org/x", "valueString": "a", "extension": [{"url": "y", "valueString": "b"}]}
            ],
        ),
        frozenset({"ext-1"}),
    ),
    Case(
        "cpt-2-telecom-without-system",
        _patient(telecom=[{"value": "555-1234"}]),
        frozenset({"cpt-2"}),
    ),
    Case(
        "pat-1-contact-without-details",
        _patient(contact=[{"relationship": [{"text": "sister"}]}]),
        frozenset({"pat-1"}),
    ),
    Case(
        "con-4-abated-but-active",
        {
            "resourceType": "Condition",
            "id": "c1",
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "code": {"text": "rash"},
            "subject": {"reference": "Patient/p1"},
            "abatementDateTime": "2021-03-01",
        },
        frozenset({"con-4"}),
    ),
    Case(
        "tim-1-duration-without-unit",
        _med_request({"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "duration": 30}}}),
        frozenset({"tim-1"}),
    ),
    Case(
        "tim-5-negative-period",
        _med_request({"timing": {"repeat": {"frequency": 1, "period": -1, "periodUnit": "d"}}}),
        frozenset({"tim-5"}),
    ),
    Case(
        "tim-9-offset-without-when",
        _med_request({"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "offset": 30}}}),
        frozenset({"tim-9"}),
    ),
    Case(
        "drt-1-duration-code-without-system",
        _med_request(
            {"text": "daily"},
            dispenseRequest={"expectedSupplyDuration": {"value": 30, "unit": "days", "code": "d"}},
        ),
        frozenset({"drt-1", "qty-3"}),
    ),
    Case(
        "age-1-negative-age",
        {
            "resourceType": "Condition",
            "id": "c1",
            "code": {"text": "rash"},
            "subject": {"reference": "Patient/p1"},
            "onsetAge": {"value": -3, "unit": "a", "system": UCUM, "code": "a"},
        },
        frozenset({"age-1"}),
    ),
    Case(
        "mdd-1-handed-over-before-prepared",
        {
            "resourceType": "MedicationDispense",
            "id": "d1",
            "status": "completed",
            "medicationCodeableConcept": {"text": "prednisone"},
            "whenPrepared": "2021-03-05T10:00:00Z",
            "whenHandedOver": "2021-03-01T10:00:00Z",
        },
        frozenset({"mdd-1"}),
    ),
    Case(
        "bdl-7-duplicate-full-url",
        _bundle(
            "collection",
            [_PAT_ENTRY, {"fullUrl": _PAT_ENTRY["fullUrl"], "resource": _patient(id="p2")}],
        ),
        frozenset({"bdl-7"}),
    ),
    Case(
        "bdl-7-same-full-url-other-version",
        _bundle(
            "history",
            [
                {**_PAT_ENTRY, "request": {"method": "PUT", "url": "Patient/p1"}, "response": {"status": "200"}},
                {
                    "fullUrl": _PAT_ENTRY["fullUrl"],
                    "resource": _patient(meta={"versionId": "2"}),
                    "request": {"method": "PUT", "url": "Patient/p1"},
                    "response": {"status": "200"},
                },
            ],
        ),
        frozenset(),
    ),
    Case(
        "bdl-1-total-without-type",
        {"resourceType": "Bundle", "id": "b1", "total": 1, "entry": [_PAT_ENTRY]},
        # an empty result is a failure (as in HAPI): every "type = ..." is empty without a type
        frozenset({"bdl-1", "bdl-3", "bdl-4", "bdl-9", "bdl-10", "bdl-11", "bdl-12"}),
    ),
    # what HAPI's parser cannot read (an array for one value, a value of the wrong JSON kind) is not there
    Case(
        "bdl-type-as-array",
        {
            "resourceType": "Bundle",
            "id": "b1",
            "type": ["collection", "collection"],
            "timestamp": "2019-01-22T10:00:00Z",
            "entry": [_PAT_ENTRY],
        },
        frozenset({"bdl-3", "bdl-4", "bdl-9", "bdl-11", "bdl-12"}),
    ),
    Case("ele-1-quantity-value-not-a-number", _obs(valueQuantity={"value": True}), frozenset({"ele-1"})),
    Case("bdl-8-entry-without-full-url", _bundle("collection", [{"resource": _patient()}]), frozenset()),
    Case("bdl-1-total-on-collection", _bundle("collection", [_PAT_ENTRY], total=1), frozenset({"bdl-1"})),
    Case("bdl-3-transaction-without-request", _bundle("transaction", [_PAT_ENTRY]), frozenset({"bdl-3"})),
    Case(
        "bdl-8-full-url-with-history",
        _bundle("collection", [{"fullUrl": "http://example.org/fhir/Patient/p1/_history/1", "resource": _patient()}]),
        frozenset({"bdl-8"}),
    ),
    Case(
        "bdl-obs-6-inside-entry",
        _bundle(
            "collection",
            [
                _PAT_ENTRY,
                {
                    "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
                    "resource": _obs(
                        valueQuantity=_QTY,
                        dataAbsentReason=_DAR,
                        subject={"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
                    ),
                },
            ],
        ),
        frozenset({"obs-6"}),
    ),
    Case(
        "att-1-data-without-content-type",
        _obs(
            valueQuantity=_QTY,
            derivedFrom=[{"reference": "Media/x"}],
            note=[{"text": "x"}],
            extension=[{"url": "http://example.org/att", "valueAttachment": {"data": "aGVsbG8="}}],
        ),
        frozenset({"att-1"}),
    ),
]


def case(name: str) -> Case:
    for item in CASES:
        if item.name == name:
            return Case(item.name, copy.deepcopy(item.resource), item.fails)
    raise KeyError(name)
