"""The generated R4 definitions index: in sync with its generator and the official package, and key facts right."""

from __future__ import annotations

import gzip
from pathlib import Path

from fhirconv.validate.r4index import children, element, load_index
from tests.support.r4_package import r4_generator, r4_wheel

ROOT = Path(__file__).resolve().parents[2]
INDEX = ROOT / "fhirconv" / "data" / "r4-index.json.gz"


def test_generated_index_is_in_sync_with_the_generator() -> None:
    wheel = r4_wheel()
    generated = r4_generator().generate(wheel)
    assert gzip.decompress(generated) == gzip.decompress(INDEX.read_bytes()), (
        "fhirconv/data/r4-index.json.gz is out of date: run python scripts/generate_r4_index.py"
    )
    assert generated == INDEX.read_bytes(), "same content but different gzip bytes: regenerate the file"


def test_index_is_small() -> None:
    assert INDEX.stat().st_size < 3_000_000


def test_observation_status_is_bound_to_the_eight_observation_status_codes() -> None:
    status = element("Observation", "Observation.status")
    assert status is not None
    assert (status.min, status.max) == (1, 1)
    assert [t.code for t in status.types] == ["code"]
    assert status.binding is not None and status.binding.strength == "required"
    assert status.binding.value_set == "http://hl7.org/fhir/ValueSet/observation-status"
    value_set = load_index().value_set(status.binding.value_set)
    assert value_set is not None and value_set.unexpandable is None
    assert value_set.codes == {
        "http://hl7.org/fhir/observation-status": frozenset(
            {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
        )
    }


def test_patient_gender() -> None:
    gender = element("Patient", "Patient.gender")
    assert gender is not None and (gender.min, gender.max) == (0, 1)
    assert gender.binding is not None and gender.binding.strength == "required"
    value_set = load_index().value_set(gender.binding.value_set)
    assert value_set is not None
    assert value_set.codes == {
        "http://hl7.org/fhir/administrative-gender": frozenset({"male", "female", "other", "unknown"})
    }


def test_bundle_entry_full_url_is_an_optional_single_uri() -> None:
    full_url = element("Bundle", "Bundle.entry.fullUrl")
    assert full_url is not None
    assert (full_url.min, full_url.max, [t.code for t in full_url.types]) == (0, 1, ["uri"])
    assert "Bundle.entry.fullUrl" in [e.path for e in children("Bundle", "Bundle.entry")]


def test_observation_value_choice_types() -> None:
    value = element("Observation", "Observation.value[x]")
    assert value is not None and value.is_choice
    assert [t.code for t in value.types] == [
        "Quantity", "CodeableConcept", "string", "boolean", "integer", "Range", "Ratio", "SampledData", "time",
        "dateTime", "Period",
    ]  # fmt: skip
    names = load_index().type("Observation").members("Observation")
    assert names["valueQuantity"].element is value and names["valueQuantity"].type == value.types[0]
    assert "valueFoo" not in names


def test_reference_targets_and_content_references() -> None:
    subject = element("Observation", "Observation.subject")
    assert subject is not None
    assert subject.types[0].code == "Reference"
    assert subject.types[0].targets == ("Patient", "Group", "Device", "Location")
    item = element("Questionnaire", "Questionnaire.item.item")
    assert item is not None and item.content_reference == "Questionnaire.item"
    assert [e.name for e in children("Questionnaire", "Questionnaire.item.item")][:3] == [
        "id",
        "extension",
        "modifierExtension",
    ]
    assert [e.path for e in children("Observation", "Observation.code")][:3] == [
        "CodeableConcept.id", "CodeableConcept.extension", "CodeableConcept.coding"
    ]  # fmt: skip


def test_constraints_primitives_and_unexpandable_value_sets() -> None:
    root = element("Observation", "Observation")
    assert root is not None
    keys = {c.key: c for c in root.constraints}
    assert {"dom-2", "dom-3", "dom-4", "dom-5", "dom-6", "obs-6", "obs-7"} <= set(keys)
    assert keys["obs-6"].severity == "error" and keys["obs-6"].expression.startswith("dataAbsentReason.empty()")
    assert keys["dom-6"].severity == "warning"
    index = load_index()
    date = index.primitives["date"]
    assert date.json == "string" and date.regex is not None and date.regex.fullmatch("2019-02")
    assert index.primitives["decimal"].json == "number" and index.primitives["boolean"].json == "boolean"
    mimetypes = index.value_set("http://hl7.org/fhir/ValueSet/mimetypes|4.0.1")
    assert mimetypes is not None and mimetypes.unexpandable and "urn:ietf:bcp:13" in mimetypes.unexpandable
    # is-a filters on hierarchical code systems are expanded
    siblings = index.value_set("http://hl7.org/fhir/ValueSet/sibling-relationship-codes")
    assert siblings is not None and siblings.unexpandable is None
    assert {"SIB", "BRO", "SIS", "TWIN"} <= siblings.codes["http://terminology.hl7.org/CodeSystem/v3-RoleCode"]
    assert "resource" in index.type("Bundle").members("Bundle.entry")
    assert index.resource_types >= {"Patient", "Observation", "Bundle"} and "DomainResource" not in index.resource_types
