"""Builders and bundle assembly, through the library API on small case files."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from fhirconv.convert import convert_case, read_case
from fhirconv.errors import FhirconvError, UnknownTermError
from fhirconv.serialize import to_data
from fhirconv.terminology import Terminology
from tests.conftest import MINIMAL_CASE


def convert(text: str, terminology: Terminology, **options: Any) -> dict[str, dict[str, Any]]:
    """Resources of the converted case, keyed by their identifier value (Type/element-id)."""
    case, document = read_case(io.BytesIO(text.encode("utf-8")), "case.yaml")
    result = convert_case(case, terminology, document=document, **options)
    resources = {}
    for entry in to_data(result.bundle)["entry"]:
        resource = entry["resource"]
        key = resource["identifier"][0]["value"] if "identifier" in resource else resource["resourceType"]
        resources[key] = resource
    return resources


def test_patient_and_age(terminology: Terminology) -> None:
    resources = convert(MINIMAL_CASE, terminology)
    assert resources["Patient/patient"]["gender"] == "male"
    assert "birthDate" not in resources["Patient/patient"]  # an age is not a birth date
    age = resources["Observation/patient.age"]
    assert age["valueQuantity"] == {"value": 45, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}
    assert age["effectiveDateTime"] == "2020-03-10"


def test_quantity_keeps_the_unit_as_written_and_its_ucum_code(terminology: Terminology) -> None:
    text = MINIMAL_CASE + (
        "observations:\n"
        "  - id: ck\n    term: CPK\n    at: admission\n    value: 3000\n    unit: UI/L\n"
        "    reference_range: 29-168\n    interpretation: high\n"
        "  - id: leuco\n    term: leucocytes\n    at: 2 days after admission\n    value: 3,8\n    unit: G/L\n"
    )
    resources = convert(text, terminology)
    ck = resources["Observation/ck"]
    assert ck["valueQuantity"] == {"value": 3000, "unit": "UI/L", "system": "http://unitsofmeasure.org", "code": "U/L"}
    assert ck["referenceRange"][0]["low"]["value"] == 29
    assert ck["referenceRange"][0]["high"]["code"] == "U/L"
    assert ck["referenceRange"][0]["text"] == "29-168"
    assert ck["interpretation"][0]["coding"][0]["code"] == "H"
    assert ck["category"][0]["coding"][0]["code"] == "laboratory"
    assert ck["code"]["coding"][0]["code"] == "2157-6"
    leuco = resources["Observation/leuco"]
    assert leuco["valueQuantity"]["code"] == "10*9/L"
    assert str(leuco["valueQuantity"]["value"]) == "3.8"
    assert leuco["effectiveDateTime"] == "2020-03-12"


def test_panels_have_members_and_coded_results(terminology: Terminology) -> None:
    text = MINIMAL_CASE + (
        "observations:\n"
        "  - id: abg\n    term: abg-panel\n    at: index\n    members:\n"
        "      - {id: ph, term: arterial-ph, at: index, value: 7.52}\n"
        "      - {id: po2, term: arterial-po2, at: index, value: 58, unit: mmHg}\n"
        "  - id: mda5\n    term: anti-mda5-antibody\n    at: month 1\n    value: positive\n"
    )
    resources = convert(text, terminology)
    abg = resources["Observation/abg"]
    assert len(abg["hasMember"]) == 2
    assert "valueQuantity" not in abg
    assert resources["Observation/ph"]["valueQuantity"]["code"] == "[pH]"
    assert resources["Observation/po2"]["valueQuantity"]["code"] == "mm[Hg]"
    member_urls = {m["reference"] for m in abg["hasMember"]}
    assert len(member_urls) == 2
    positive = resources["Observation/mda5"]["valueCodeableConcept"]["coding"]
    assert ("http://snomed.info/sct", "10828004") in {(c["system"], c["code"]) for c in positive}
    assert resources["Observation/mda5"]["effectiveDateTime"] == "2020-03"


def test_medication_doses_schedules_courses_and_stop(terminology: Terminology) -> None:
    text = MINIMAL_CASE + (
        "conditions:\n  - {id: dm, term: dermatomyositis, onset: index}\n"
        "medications:\n"
        "  - id: mp\n    term: méthylprednisolone\n    start: index\n    reason: [dm]\n"
        "    dosage:\n      - {dose: 2 mg/kg, equivalent: 100 mg/day}\n"
        "  - id: cyc\n    term: cyclophosphamide\n    start: index\n    status: completed\n"
        "    dosage:\n      - {dose: 700 mg/m2, courses: 6}\n"
        "  - id: rux\n    term: Jakavi\n    start: month 5\n"
        "    stopped: {at: 12 months, reason: chemotherapy started}\n"
        "    dosage:\n      - {dose: 15 mg, schedule: matin et soir}\n"
        "  - id: ivig\n    term: immunoglobulines polyvalentes\n    start: index\n"
        "    dosage:\n      - {schedule: monthly, duration: 6 months}\n"
    )
    resources = convert(text, terminology)
    mp = resources["MedicationStatement/mp"]
    dose, equivalent = mp["dosage"][0]["doseAndRate"]
    assert dose["type"]["coding"][0]["code"] == "ordered"
    assert dose["doseQuantity"]["code"] == "mg/kg"
    assert equivalent["type"]["coding"][0]["code"] == "calculated"
    assert equivalent["rateQuantity"] == {
        "value": 100,
        "unit": "mg/day",
        "system": "http://unitsofmeasure.org",
        "code": "mg/d",
    }
    assert mp["reasonReference"][0]["reference"].startswith("urn:uuid:")
    assert mp["status"] == "unknown"
    cyc = resources["MedicationStatement/cyc"]
    assert cyc["dosage"][0]["timing"]["repeat"]["count"] == 6
    assert cyc["dosage"][0]["doseAndRate"][0]["doseQuantity"]["code"] == "mg/m2"
    rux = resources["MedicationStatement/rux"]
    assert rux["status"] == "stopped"
    assert rux["statusReason"][0]["text"] == "chemotherapy started"
    assert rux["effectivePeriod"] == {"start": "2020-07", "end": "2021-03"}
    assert rux["dosage"][0]["timing"]["repeat"] == {
        "frequency": 2,
        "period": 1,
        "periodUnit": "d",
        "when": ["MORN", "EVE"],
    }
    ivig = resources["MedicationStatement/ivig"]["dosage"][0]
    assert ivig["timing"]["repeat"]["boundsDuration"]["code"] == "mo"
    assert "doseAndRate" not in ivig


def test_conditions_history_evidence_sites_and_causes_of_death(terminology: Terminology) -> None:
    text = MINIMAL_CASE.replace("  age: 45\n", "  age: 45\n  deceased: {at: 12 months, causes: [rf]}\n") + (
        "conditions:\n"
        "  - {id: kuv, term: herpetic-keratouveitis-history, history: true}\n"
        "  - id: pe\n    term: embolie pulmonaire\n    onset: 12 months\n    evidence: [ct]\n"
        "    body_site: [{term: lung, laterality: bilateral}]\n"
        "  - {id: rf, term: respiratory-failure, onset: death, verification_status: confirmed}\n"
        "procedures:\n  - {id: ct, term: scanner thoracique, at: 12 months, findings: Bilateral PE.}\n"
    )
    resources = convert(text, terminology)
    kuv = resources["Condition/kuv"]
    assert kuv["clinicalStatus"]["coding"][0]["code"] == "inactive"
    assert kuv["category"][0]["coding"][0]["code"] == "problem-list-item"
    pe = resources["Condition/pe"]
    assert pe["onsetDateTime"] == "2021-03"
    assert pe["bodySite"][0]["text"] == "Lung structure, bilateral"
    assert pe["evidence"][0]["detail"][0]["reference"].startswith("urn:uuid:")
    assert resources["Condition/rf"]["note"] == [{"text": "Cause of death."}]
    assert resources["Patient/patient"]["deceasedDateTime"] == "2021-03"
    findings = resources["Observation/ct.findings"]
    assert findings["valueString"] == "Bilateral PE."
    assert findings["partOf"][0]["reference"].startswith("urn:uuid:")


def test_every_reference_resolves_to_a_full_url(terminology: Terminology) -> None:
    case, _ = read_case(io.BytesIO((MINIMAL_CASE + "conditions:\n  - {id: a, term: fever}\n").encode()), "c")
    data = to_data(convert_case(case, terminology).bundle)
    full_urls = {entry["fullUrl"] for entry in data["entry"]}
    provenance = data["entry"][-1]["resource"]
    assert provenance["resourceType"] == "Provenance"
    assert {t["reference"] for t in provenance["target"]} == full_urls - {data["entry"][-1]["fullUrl"]}
    for entry in data["entry"]:
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{entry['resource']['resourceType']}/{entry['resource']['id']}",
        }


def test_collection_bundles_have_no_requests(terminology: Terminology) -> None:
    case, _ = read_case(io.BytesIO(MINIMAL_CASE.encode()), "c")
    data = to_data(convert_case(case, terminology, bundle_type="collection").bundle)
    assert data["type"] == "collection"
    assert all("request" not in entry for entry in data["entry"])


def test_ids_depend_only_on_case_and_element(terminology: Terminology) -> None:
    first = convert(MINIMAL_CASE, terminology)
    second = convert(MINIMAL_CASE.replace("age: 45", "age: 46"), terminology)
    assert first["Patient/patient"]["id"] == second["Patient/patient"]["id"]
    other_case = convert(MINIMAL_CASE.replace("id: test-case", "id: other-case"), terminology)
    assert other_case["Patient/patient"]["id"] != first["Patient/patient"]["id"]


def test_index_date_override(terminology: Terminology) -> None:
    resources = convert(MINIMAL_CASE, terminology, index_date="2021-06-01")
    assert resources["Observation/patient.age"]["effectiveDateTime"] == "2021-06-01"


def test_unknown_terms_fail_or_become_text_with_a_report(terminology: Terminology) -> None:
    text = MINIMAL_CASE + "conditions:\n  - {id: x, term: dermatomyosits}\n"
    with pytest.raises(UnknownTermError) as caught:
        convert(text, terminology)
    assert caught.value.location.line == 15
    assert caught.value.suggestions[0] == "dermatomyositis"
    case, document = read_case(io.BytesIO(text.encode()), "case.yaml")
    result = convert_case(case, terminology, allow_unmapped=True, document=document)
    assert [u.term for u in result.report.unmapped] == ["dermatomyosits"]
    condition = to_data(result.bundle)["entry"][2]["resource"]
    assert condition["code"] == {"text": "dermatomyosits"}


def test_inline_codings_are_used_and_checked(terminology: Terminology) -> None:
    good = MINIMAL_CASE + (
        "conditions:\n  - id: x\n    term:\n      text: Something rare\n      codings:\n"
        "        - {system: 'http://snomed.info/sct', code: '396230008', display: Dermatomyositis (disorder), source: me}\n"
    )
    assert convert(good, terminology)["Condition/x"]["code"]["coding"][0]["code"] == "396230008"
    with pytest.raises(FhirconvError, match="not a well-formed code"):
        convert(good.replace("396230008", "396230007"), terminology)


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ("conditions:\n  - {id: x, term: fever, evidence: [nothing]}\n", "no element has the id 'nothing'"),
        ("conditions:\n  - {id: x, term: fever, onset: 3 days after nowhere}\n", "unknown anchor 'nowhere'"),
        ("conditions:\n  - {id: x, term: fever, onset: 2019-02-30}\n", "not a date that exists"),
        (
            "conditions:\n  - {id: x, term: fever, onset: 2 days after y}\n  - {id: y, term: cough, onset: 1 day after x}\n",
            "in a circle",
        ),
        ("observations:\n  - {id: o, term: CK, at: index, value: 3, unit: bananas}\n", "'bananas' is neither"),
        ("observations:\n  - {id: o, term: CK, at: index, value: 3, reference_range: normal}\n", "reference range"),
        ("medications:\n  - {id: m, term: prednisone, dosage: [{dose: 5 mg, schedule: now and then}]}\n", "schedule"),
        ("conditions:\n  - {id: x, term: fever}\n  - {id: x, term: cough}\n", "used twice"),
    ],
)
def test_bad_content_is_located(terminology: Terminology, addition: str, message: str) -> None:
    with pytest.raises(FhirconvError, match=message) as caught:
        convert(MINIMAL_CASE + addition, terminology)
    assert caught.value.location.file == "case.yaml"
    assert caught.value.location.line is not None and caught.value.location.line >= 15


def test_written_forms_authors_use(terminology: Terminology) -> None:
    text = MINIMAL_CASE.replace("  age: 45\n", "  age: '45,5'\n") + (
        "conditions:\n  - {id: x, term: fever, onset: 2015}\n"
        "observations:\n  - {id: o, term: alcohol-use, at: index, value: no}\n"
    )
    resources = convert(text, terminology)
    assert str(resources["Observation/patient.age"]["valueQuantity"]["value"]) == "45.5"
    assert resources["Condition/x"]["onsetDateTime"] == "2015"
    assert resources["Observation/o"]["valueCodeableConcept"]["text"] == "No"  # 'no' is a result, not false


def test_route_without_dosage_and_rates_per_24_hours(terminology: Terminology) -> None:
    text = MINIMAL_CASE + (
        "medications:\n"
        "  - {id: a, term: prednisone, route: oral}\n"
        "  - {id: b, term: prednisone, dosage: [{dose: 60 mg/24h}]}\n"
    )
    resources = convert(text, terminology)
    assert resources["MedicationStatement/a"]["dosage"] == [
        {
            "route": {
                "coding": [{"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral route"}],
                "text": "Oral route",
            }
        }
    ]
    assert resources["MedicationStatement/b"]["dosage"][0]["doseAndRate"][0]["rateQuantity"]["code"] == "mg/(24.h)"


def test_case_list_keeps_the_notes_no_resource_has_a_place_for(terminology: Terminology) -> None:
    text = MINIMAL_CASE.replace("  doi: 10.1000/test.1\n", "  doi: 10.1000/test.1\n    published: 2020\n").replace(
        "  recorded: 2026-01-01\n", "  recorded: 2026-01-01\n  note: Dates are nominal.\n"
    ).replace("  age: 45\n", "  age: 45\n  deceased: {at: 3 months, note: At home.}\n") + (
        "events:\n  - {id: relapse, at: month 2, text: Cutaneous relapse}\n"
        "stays:\n  - {id: s, term: hospital-admission, start: index, discharge: home, note: Short stay.}\n"
    )
    resources = convert(text, terminology)
    case_list = resources["List/case.list"]
    assert case_list["title"] == "A test case"
    assert [n["text"] for n in case_list["note"]] == [
        "Dates are nominal.",
        "Source report language: en. Published: 2020.",
        "relapse (2020-04): Cutaneous relapse",
        "Death: At home.",
        "s: Short stay.",
    ]
    assert len(case_list["entry"]) == len(resources) - 2  # everything but the List and the Provenance
    assert resources["Encounter/s"]["hospitalization"]["dischargeDisposition"] == {"text": "home"}


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        (
            "observations:\n  - {id: o, term: CK, at: index, components: [{term: CK, value: 3, text: x}]}\n",
            "either value or text",
        ),
        (
            "conditions:\n  - {id: x, term: fever, severity: severe, body_site: [intravenous]}\n",
            "is a route (intravenous-route), not a body-site",
        ),
        ("conditions:\n  - {id: x, term: CK}\n", "'CK' is an observation (creatine-kinase), not a condition"),
        ("conditions:\n  - {id: death, term: fever}\n", "the id 'death' is reserved"),
    ],
)
def test_more_bad_content(terminology: Terminology, addition: str, message: str) -> None:
    text = (
        MINIMAL_CASE.replace("  age: 45\n", "  age: 45\n  deceased: {at: 3 months}\n")
        if "death" in addition
        else MINIMAL_CASE
    )
    with pytest.raises(FhirconvError, match=re.escape(message)) as caught:
        convert(text + addition, terminology)
    assert caught.value.location.line is not None


def test_causes_of_death_must_be_conditions(terminology: Terminology) -> None:
    text = MINIMAL_CASE.replace("  age: 45\n", "  age: 45\n  deceased: {at: 3 months, causes: [nothing]}\n")
    with pytest.raises(FhirconvError, match="no element has the id 'nothing'") as caught:
        convert(text, terminology)
    assert caught.value.location.field == "patient.deceased.causes[0]"
