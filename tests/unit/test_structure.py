"""Structural, binding and reference checks against the official R4 definitions (fhirconv.validate.structure).

The expected severities and locations follow HAPI FHIR's validator 8.8 (checked with tests/support/hapi_validator.py
on the same inputs); where this check deliberately differs, the test says so.
"""

from __future__ import annotations

import copy
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhirconv.validate.issues import Issue
from fhirconv.validate.reader import read_fhir
from fhirconv.validate.structure import check_resource
from tests.support.r4_package import r4_resources

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SEED_BUNDLE = SAMPLES / "anti-mda5-dermatomyositis.json"

Json = dict[str, Any]
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
PATIENT_URL = "urn:uuid:11111111-1111-4111-8111-111111111111"


def errors(resource: Json, location: str | None = None) -> list[tuple[str, str]]:
    """(location, message) of the errors and fatals."""
    issues = check_resource(resource, location or str(resource.get("resourceType")))
    return [(i.location, i.message) for i in issues if i.is_error]


def only_error(resource: Json) -> tuple[str, str]:
    found = errors(resource)
    assert len(found) == 1, found
    return found[0]


def observation(**members: Any) -> Json:
    data: Json = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}}
    data.update(members)
    return data


def condition(clinical_status: Json) -> Json:
    return {"resourceType": "Condition", "id": "c1", "clinicalStatus": clinical_status, "subject": {"display": "p"}}


def read(path: Path) -> Json:
    return read_fhir(path.read_bytes(), str(path))[0]


# -- no false errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", sorted(p.name for p in SAMPLES.glob("*.json")) + sorted(p.name for p in SAMPLES.glob("*.xml"))
)
def test_samples_have_no_issues(name: str) -> None:
    assert check_resource(read(SAMPLES / name), "Bundle") == []


PACKAGE_RESOURCES = [
    "StructureDefinition-Patient.json",
    "StructureDefinition-Observation.json",
    "StructureDefinition-Bundle.json",
    "StructureDefinition-Questionnaire.json",
    "StructureDefinition-vitalsigns.json",
    "StructureDefinition-bp.json",
    "StructureDefinition-Extension.json",
    "StructureDefinition-patient-birthTime.json",
    "StructureDefinition-SimpleQuantity.json",
    "StructureDefinition-dateTime.json",
    "ValueSet-observation-status.json",
    "ValueSet-administrative-gender.json",
    "ValueSet-condition-clinical.json",
    "ValueSet-sibling-relationship-codes.json",
    "ValueSet-ucum-units.json",
    "CodeSystem-observation-status.json",
    "CodeSystem-condition-clinical.json",
    "CodeSystem-v3-RoleCode.json",
    "CodeSystem-example-supplement.json",
    "ConceptMap-example2.json",
    "ConceptMap-cm-administrative-gender-v2.json",
    "NamingSystem-example.json",
    "NamingSystem-example-id.json",
    "OperationDefinition-Patient-everything.json",
    "OperationDefinition-ValueSet-expand.json",
    "SearchParameter-Patient-identifier.json",
    "SearchParameter-Patient-deceased.json",
    "CompartmentDefinition-patient.json",
    "CompartmentDefinition-example.json",
    "CapabilityStatement-base.json",
    "CapabilityStatement-phr.json",
    "CapabilityStatement-base2.json",
]


def test_official_package_resources_have_no_errors() -> None:
    resources = r4_resources(PACKAGE_RESOURCES)
    assert sorted(resources) == sorted(PACKAGE_RESOURCES)
    for name, resource in resources.items():
        assert errors(resource) == [], name


def test_official_package_defects_found_as_hapi_finds_them() -> None:
    # HAPI 8.8 reports exactly these on these files of the package itself
    resources = r4_resources(["CapabilityStatement-example.json", "CodeSystem-v2-0550.json"])
    found = errors(resources["CapabilityStatement-example.json"])
    assert [loc for loc, _ in found] == [
        "CapabilityStatement.url",
        "CapabilityStatement.messaging[0].supportedMessage[0].definition",
    ]
    assert "lower case" in found[0][1] and "must be absolute" in found[1][1]
    codes = errors(resources["CodeSystem-v2-0550.json"])
    assert [loc for loc, _ in codes] == [f"CodeSystem.concept[{n}].code" for n in (74, 208, 444, 445)]


# -- elements, cardinality, JSON kinds ---------------------------------------------------------------------------


def test_unknown_elements_are_reported_on_their_parent() -> None:
    assert only_error(observation(foo=1)) == ("Observation", "unknown element 'foo' in Observation")
    assert only_error(observation(code={"text": "x", "bar": True})) == (
        "Observation.code",
        "unknown element 'bar' in CodeableConcept",
    )
    location, message = only_error(observation(_foo={"id": "x"}))
    assert location == "Observation" and "'_foo'" in message
    # '_' only goes with primitives
    location, message = only_error(observation(_code={"id": "x"}))
    assert location == "Observation" and "'_code'" in message
    # and a primitive's extension object has no value
    assert only_error(observation(_status={"value": "final"})) == (
        "Observation.status",
        "unknown element 'value' in code",
    )


def test_primitive_extensions_are_accepted() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "_gender": {"extension": [{"url": "http://example.org/e", "valueString": "x"}]},
        "name": [{"given": ["A", None], "_given": [None, {"id": "g2"}]}],
    }
    assert errors(patient) == []
    patient["name"][0] = {"given": ["A"], "_given": {"id": "g"}}
    assert only_error(patient) == ("Patient.name[0].given", "_given must be a JSON array, like given")


def test_cardinality() -> None:
    data = observation()
    del data["status"]
    assert only_error(data) == ("Observation", "Observation.status: minimum required = 1, but only found 0")
    assert only_error(observation(extension=[{"valueString": "x"}])) == (
        "Observation.extension[0]",
        "Extension.url: minimum required = 1, but only found 0",
    )
    # a primitive present only through its extensions counts
    data = observation(_status={"extension": [{"url": "http://example.org/e", "valueString": "x"}]})
    del data["status"]
    assert errors(data) == []


def test_arrays_exactly_where_max_is_above_one() -> None:
    assert only_error(observation(status=["final"])) == (
        "Observation.status",
        "Observation.status has max 1: it must be a single value, not an array",
    )
    assert only_error(observation(identifier={"value": "x"})) == (
        "Observation.identifier",
        "Observation.identifier can repeat: it must be a JSON array, not an object",
    )
    assert only_error(observation(identifier=[])) == (
        "Observation.identifier",
        "the array is empty (leave the element out instead)",
    )


@pytest.mark.parametrize(
    ("members", "location", "message"),
    [
        ({"valueInteger": "5"}, "Observation.value.ofType(integer)", "an integer must be a JSON number, not a string"),
        ({"valueString": 5}, "Observation.value.ofType(string)", "a string must be a JSON string, not a number"),
        (
            {"valueBoolean": "true"},
            "Observation.value.ofType(boolean)",
            "a boolean must be a JSON boolean, not a string",
        ),
        ({"status": {"value": "final"}}, "Observation.status", "a code must be a JSON string, not an object"),
        ({"code": "x"}, "Observation.code", "Observation.code must be a JSON object, not a string"),
        (
            {"valueQuantity": {"value": "1.5"}},
            "Observation.value.ofType(Quantity).value",
            "a decimal must be a JSON number, not a string",
        ),
        (
            {"valueQuantity": {}},
            "Observation.value.ofType(Quantity)",
            "the object has no content (leave the element out instead)",
        ),
        (
            {"valueString": None},
            "Observation.value.ofType(string)",
            "null is not a value (leave the element out instead)",
        ),
        (
            {"valueString": ""},
            "Observation.value.ofType(string)",
            "the value cannot be empty (leave the element out instead)",
        ),
    ],
)
def test_json_kinds(members: Json, location: str, message: str) -> None:
    assert only_error(observation(**members)) == (location, message)


def test_choice_types() -> None:
    assert only_error(observation(valueString="a", valueBoolean=True)) == (
        "Observation",
        "Observation.value[x] may have only one type, but has 2: valueString, valueBoolean",
    )
    assert only_error(observation(valueFoo="a")) == ("Observation", "unknown element 'valueFoo' in Observation")
    assert errors(observation(valueCodeableConcept={"text": "positive"})) == []


# -- primitive formats -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "location", "fragment"),
    [
        ({"effectiveDateTime": "2019-02-30"}, "Observation.effective.ofType(dateTime)", "2019-02 has no day 30"),
        ({"effectiveDateTime": "2019-02-29"}, "Observation.effective.ofType(dateTime)", "2019-02 has no day 29"),
        ({"effectiveDateTime": "2019-01-01T10:00:00"}, "Observation.effective.ofType(dateTime)", "needs a time zone"),
        (
            {"effectiveDateTime": "2019-01-01T10:00:00+15:00"},
            "Observation.effective.ofType(dateTime)",
            "not a valid dateTime",
        ),
        ({"issued": "2019-01-01T10:00:00"}, "Observation.issued", "needs a time zone"),
        ({"issued": "2019-01-01"}, "Observation.issued", "not a valid instant"),
        ({"valueTime": "25:00:00"}, "Observation.value.ofType(time)", "not a valid time"),
        ({"valueInteger": 1.5}, "Observation.value.ofType(integer)", "not a valid integer"),
        ({"valueInteger": 3_000_000_000}, "Observation.value.ofType(integer)", "32-bit"),
        ({"id": "a_b"}, "Observation.id", "invalid resource id"),
        ({"id": "a" * 65}, "Observation.id", "longer than 64"),
        ({"implicitRules": "http://a b"}, "Observation.implicitRules", "cannot contain whitespace"),
        ({"status": " final"}, "Observation.status", "whitespace"),
        ({"text": {"status": "generated", "div": "<p>x</p>"}}, "Observation.text.div", "XHTML namespace"),
        (
            {"text": {"status": "generated", "div": "<div xmlns='http://www.w3.org/1999/xhtml'>x"}},
            "Observation.text.div",
            "not well-formed",
        ),
    ],
)
def test_primitive_formats(members: Json, location: str, fragment: str) -> None:
    found = errors(observation(**members))
    assert any(loc == location and fragment in message for loc, message in found), found


def test_valid_primitive_edge_cases() -> None:
    for value in ("2019", "2019-02", "2020-02-29", "2019-01-01T10:00:60Z", "2019-01-01T10:00:00.123+14:00"):
        assert errors(observation(effectiveDateTime=value)) == [], value
    assert errors(observation(valueQuantity={"value": Decimal("1E+3")})) == []
    assert errors(observation(valueQuantity={"value": 1.5})) == []
    assert errors(observation(valueInteger=Decimal("2"))) == []
    narrative = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>'}
    assert errors(observation(text=narrative)) == []


# -- resource types ----------------------------------------------------------------------------------------------


def test_resource_types() -> None:
    assert errors({"resourceType": "Foo", "id": "x"}) == [("Foo", "unknown resource type 'Foo'")]
    assert errors({"resourceType": "DomainResource", "id": "x"}) == [
        ("DomainResource", "DomainResource is an abstract type: a resource must have a concrete resourceType")
    ]
    contained = observation(contained=[{"resourceType": "Patient", "id": "p1", "foo": 1}], subject={"reference": "#p1"})
    assert only_error(contained) == ("Observation.contained[0]", "unknown element 'foo' in Patient")
    missing = observation(contained=[{"id": "x"}])
    assert only_error(missing) == ("Observation.contained[0]", "the resource has no resourceType")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": PATIENT_URL, "resource": {"resourceType": "Bar"}}],
    }
    assert only_error(bundle) == ("Bundle.entry[0].resource", "unknown resource type 'Bar'")


# -- required bindings -------------------------------------------------------------------------------------------


def test_required_binding_on_code() -> None:
    location, message = only_error(observation(status="bogus"))
    assert location == "Observation.status"
    assert message.startswith(
        "the code 'bogus' is not in the value set http://hl7.org/fhir/ValueSet/observation-status"
    )
    location, message = only_error({"resourceType": "Patient", "id": "p", "gender": "M"})
    assert location == "Patient.gender" and "female, male, other, unknown" in message
    # extensible and preferred bindings are never errors (Observation.category is preferred)
    category = [{"coding": [{"system": "http://example.org", "code": "x"}]}]
    assert errors(observation(category=category)) == []


def test_required_binding_on_codeable_concept_mirrors_hapi() -> None:
    right = {"system": CLINICAL, "code": "active"}
    assert check_resource(condition({"coding": [right]}), "Condition") == []
    # no coding in the value set: an error (HAPI: "None of the codings provided are in the value set")
    location, message = only_error(condition({"coding": [{"system": "http://snomed.info/sct", "code": "55561003"}]}))
    assert location == "Condition.clinicalStatus" and message.startswith(
        "none of the codings (http://snomed.info/sct|55561003)"
    )
    assert only_error(condition({"coding": [{"code": "active"}]}))[1].startswith(
        "none of the codings ((no system)|active)"
    )
    # a wrong code of the bound system: an error, even next to a right one (as HAPI)
    wrong = {"system": CLINICAL, "code": "nope"}
    assert only_error(condition({"coding": [wrong]}))[0] == "Condition.clinicalStatus.coding[0]"
    assert only_error(condition({"coding": [right, wrong]}))[0] == "Condition.clinicalStatus.coding[1]"
    # text only: an error (HAPI: "No code provided, and a code is required from the value set")
    assert only_error(condition({"text": "active"})) == (
        "Condition.clinicalStatus",
        "no code, and a code from the value set http://hl7.org/fhir/ValueSet/condition-clinical is required",
    )
    # a right coding plus one of another system satisfies the binding: a warning here, an error in HAPI 8.8
    mixed = condition({"coding": [{"system": "http://snomed.info/sct", "code": "55561003"}, right]})
    issues = check_resource(mixed, "Condition")
    assert [(i.severity, i.location) for i in issues] == [("warning", "Condition.clinicalStatus")]


def test_value_sets_that_cannot_be_expanded_are_said_so() -> None:
    attachment = {"contentType": "text/plain", "data": "aGVsbG8="}
    media = {"resourceType": "Media", "id": "m", "status": "completed", "content": attachment}
    issues = check_resource(media, "Media")
    assert [(i.severity, i.location) for i in issues] == [("information", "Media.content.contentType")]
    assert "urn:ietf:bcp:13" in issues[0].message


# -- references and bundles --------------------------------------------------------------------------------------


def test_contained_references() -> None:
    ok = observation(contained=[{"resourceType": "Patient", "id": "p1"}], subject={"reference": "#p1"})
    assert errors(ok) == []
    assert only_error(observation(subject={"reference": "#nope"})) == (
        "Observation.subject",
        "#nope does not resolve: the resource has no contained resource with id 'nope'",
    )
    wrong_type = observation(contained=[{"resourceType": "Medication", "id": "m1"}], subject={"reference": "#m1"})
    assert only_error(wrong_type) == (
        "Observation.subject",
        "#m1 points to a Medication, but the element allows only Patient, Group, Device, Location",
    )
    assert only_error(observation(subject={"reference": "not a ref"}))[0] == "Observation.subject"
    assert only_error(observation(subject={"reference": "Foo/1"})) == (
        "Observation.subject",
        "Foo/1: Foo is not a resource type",
    )


def entry(resource: Json, full_url: str | None = None) -> Json:
    found: Json = {"fullUrl": full_url or f"urn:uuid:{resource['id']}", "resource": resource}
    found["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    return found


def uuid(n: int) -> str:
    return f"{n:08d}-1111-4111-8111-111111111111"


def test_bundle_references_and_rules() -> None:
    patient = {"resourceType": "Patient", "id": uuid(1)}
    cond = {"resourceType": "Condition", "id": uuid(2), "subject": {"reference": f"urn:uuid:{uuid(1)}"}}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(patient),
            entry(cond),
            entry(observation(id=uuid(3), subject={"reference": f"urn:uuid:{uuid(9)}"})),
            entry(observation(id=uuid(4), subject={"reference": f"urn:uuid:{uuid(2)}"})),
            entry(observation(id=uuid(5), subject={"reference": f"Patient/{uuid(1)}"})),
            entry(observation(id=uuid(6), subject={"reference": "Patient/elsewhere"})),
            entry({"resourceType": "Patient", "id": "def"}, "http://example.org/fhir/Patient/abc"),
            {"resource": observation(id="nofull", subject={"reference": "Patient/def"})},
        ],
    }
    issues = check_resource(bundle, "Bundle")
    found = {(i.severity, i.location): i.message for i in issues}
    assert found == {
        # a warning, as in HAPI 8.8
        ("warning", "Bundle.entry[2].resource.subject"): f"urn:uuid:{uuid(9)} does not resolve inside the bundle: "
        "no entry has this fullUrl",
        ("error", "Bundle.entry[3].resource.subject"): f"urn:uuid:{uuid(2)} points to a Condition, but the element "
        "allows only Patient, Group, Device, Location",
        ("warning", "Bundle.entry[5].resource.subject"): "Patient/elsewhere does not resolve inside the bundle "
        "(it may refer to a resource on the server)",
        ("error", "Bundle.entry[6].fullUrl"): "the fullUrl 'http://example.org/fhir/Patient/abc' looks like a "
        "RESTful server URL, so it must end with the resource's type and id (/Patient/def)",
        ("error", "Bundle.entry[7]"): "the entry has a resource but no fullUrl",
        ("error", "Bundle.entry[7].resource.subject"): "Patient/def is relative, but its entry has no fullUrl to "
        "resolve it from",
    }
    duplicated = copy.deepcopy(bundle)
    duplicated["entry"] = [entry(patient), entry(patient), entry(cond)]
    assert errors(duplicated) == [
        ("Bundle.entry[1].fullUrl", f"duplicate fullUrl 'urn:uuid:{uuid(1)}' (entries 0, 1)"),
        ("Bundle.entry[2].resource.subject", f"urn:uuid:{uuid(1)} matches several entries (0, 1)"),
    ]


def test_restful_full_urls_resolve_relative_references() -> None:
    base = "http://example.org/fhir"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{base}/Patient/p", "resource": {"resourceType": "Patient", "id": "p"}},
            {"fullUrl": f"{base}/Observation/o", "resource": observation(id="o", subject={"reference": "Patient/p"})},
            {
                "fullUrl": f"{base}/Condition/c",
                "resource": {"resourceType": "Condition", "id": "c", "subject": {"reference": f"{base}/Patient/p"}},
            },
        ],
    }
    assert check_resource(bundle, "Bundle") == []


# -- everything at once ------------------------------------------------------------------------------------------


def test_a_bundle_with_many_defects_reports_them_all_in_one_run() -> None:
    bundle = json.loads(SEED_BUNDLE.read_text("utf-8"), parse_float=Decimal)
    entries = bundle["entry"]
    kinds = [e["resource"]["resourceType"] for e in entries]
    observations = [n for n, kind in enumerate(kinds) if kind == "Observation"]
    conditions = [n for n, kind in enumerate(kinds) if kind == "Condition"]
    first, second, third = observations[:3]
    entries[first]["resource"]["status"] = "done"
    entries[first]["resource"]["foo"] = 1
    entries[second]["resource"]["effectiveDateTime"] = "2019-02-30"
    entries[second]["resource"]["valueString"] = "and a second value"
    entries[third]["resource"]["subject"]["reference"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    entries[third]["resource"]["code"]["coding"][0]["system"] = 5
    del entries[conditions[0]]["resource"]["subject"]
    entries[conditions[1]]["resource"]["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": "gone"}]}
    entries[conditions[2]]["resource"]["subject"]["reference"] = entries[first]["fullUrl"]
    entries[0]["resource"]["gender"] = "F"
    issues = check_resource(bundle, "Bundle")
    locations = sorted(i.location for i in issues if i.is_error)
    expected = sorted(
        [
            f"Bundle.entry[{first}].resource.status",
            f"Bundle.entry[{first}].resource",
            f"Bundle.entry[{second}].resource.effective.ofType(dateTime)",
            f"Bundle.entry[{second}].resource",
            f"Bundle.entry[{third}].resource.code.coding[0].system",
            f"Bundle.entry[{conditions[0]}].resource",
            f"Bundle.entry[{conditions[1]}].resource.clinicalStatus.coding[0]",
            f"Bundle.entry[{conditions[2]}].resource.subject",
            "Bundle.entry[0].resource.gender",
        ]
    )
    assert locations == expected, "\n".join(i.render() for i in issues)
    warnings = [i.location for i in issues if i.severity == "warning"]
    assert warnings == [f"Bundle.entry[{third}].resource.subject"]  # the dangling urn:uuid, a warning as in HAPI


def test_speed_on_the_seed_bundle() -> None:
    bundle = read(SEED_BUNDLE)
    check_resource(bundle, "Bundle")  # loads the index and builds the tables of the types used
    best = min(_timed(bundle) for _ in range(3))
    assert best < 0.1, f"validating the 67-resource seed bundle took {best * 1000:.0f} ms"


def _timed(bundle: Json) -> float:
    start = time.perf_counter()
    issues: list[Issue] = check_resource(bundle, "Bundle")
    elapsed = time.perf_counter() - start
    assert issues == []
    return elapsed


@pytest.mark.parametrize(("field", "value"), [("system", {"a": 1}), ("display", ["a"]), ("code", {"x": 1})])
def test_codings_with_values_of_the_wrong_kind_are_reported_not_crashed_on(field: str, value: object) -> None:
    from fhirconv.terminology import Terminology
    from fhirconv.validate import validate_data

    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "59282003"}]},
        "subject": {"display": "x"},
    }
    for coding in (condition["clinicalStatus"]["coding"][0], condition["code"]["coding"][0]):  # type: ignore[index]
        coding[field] = value
    issues = validate_data([condition], Terminology.load())
    assert any(issue.is_error and field in issue.location for issue in issues)
