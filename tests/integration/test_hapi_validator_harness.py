"""The offline HAPI FHIR R4 validator harness finds real errors and passes valid resources.

Needs java and mvn on PATH; the first run builds tests/java/validator (HAPI FHIR 8.8.0 from Maven Central).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.hapi_validator import HapiIssue, HapiValidator, hapi_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not hapi_available(), reason="HAPI validator harness needs java and mvn on PATH"),
]

VALID_PATIENT = {
    "resourceType": "Patient",
    "id": "pat1",
    "name": [{"family": "Doe", "given": ["Jane"]}],
    "gender": "female",
    "birthDate": "1980-05-01",
}

BOGUS_BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": "urn:uuid:5d2a4c7e-8a3b-4f0e-9c1d-2b3a4c5d6e7f",
            "resource": {
                "resourceType": "Observation",
                "status": "bogus",
                "code": {"text": "Leukocytes"},
                "valueQuantity": {
                    "value": 7.5,
                    "unit": "G/L",
                    "system": "http://unitsofmeasure.org",
                    "code": "G/L",
                },
            },
        }
    ],
}


@pytest.fixture(scope="module")
def hapi() -> Iterator[HapiValidator]:
    with HapiValidator() as validator:
        yield validator


def _write(folder: Path, name: str, resource: Mapping[str, object]) -> Path:
    path = folder / name
    path.write_text(json.dumps(resource, indent=2), encoding="utf-8")
    return path


def _describe(issues: list[HapiIssue]) -> str:
    return "\n".join(str(i) for i in issues)


def test_valid_patient_has_no_errors(hapi: HapiValidator, tmp_path: Path) -> None:
    path = _write(tmp_path, "patient.json", VALID_PATIENT)
    issues = hapi.validate(path)
    assert hapi.errors(path) == [], _describe(issues)
    # the harness's own failures (unreadable file, exception) would be "fatal"; none here
    assert not any((i.message_id or "").startswith("HARNESS_") for i in issues), _describe(issues)


def test_bundle_with_bogus_observation_status_has_errors(hapi: HapiValidator, tmp_path: Path) -> None:
    path = _write(tmp_path, "bundle.json", BOGUS_BUNDLE)
    errors = hapi.errors(path)
    assert errors, "expected validator errors for Observation.status 'bogus'"
    status_errors = [e for e in errors if (e.location or "").endswith(".status")]
    assert status_errors, _describe(errors)
    assert any("bogus" in e.message for e in status_errors), _describe(errors)
    assert all(e.line is not None and e.col is not None for e in status_errors), _describe(errors)


def test_xml_input_is_validated(hapi: HapiValidator, tmp_path: Path) -> None:
    good = tmp_path / "patient.xml"
    good.write_text(
        '<Patient xmlns="http://hl7.org/fhir"><id value="px"/><gender value="female"/></Patient>',
        encoding="utf-8",
    )
    bad = tmp_path / "bad-patient.xml"
    bad.write_text(
        '<Patient xmlns="http://hl7.org/fhir"><gender value="bogus"/></Patient>',
        encoding="utf-8",
    )
    assert hapi.errors(good) == [], _describe(hapi.validate(good))
    assert hapi.errors(bad), "expected an error for Patient.gender 'bogus'"


def test_ucum_units_are_checked_offline(hapi: HapiValidator, tmp_path: Path) -> None:
    # "G/L" (gauss per litre) is valid UCUM syntax, so the bundle above is flagged for its status only;
    # an unparseable unit proves that UCUM codes are really checked without a terminology server.
    bundle = json.loads(json.dumps(BOGUS_BUNDLE))
    observation = bundle["entry"][0]["resource"]
    observation["status"] = "final"
    observation["valueQuantity"]["code"] = "GG/LL"
    errors = hapi.errors(_write(tmp_path, "ucum.json", bundle))
    assert any("GG/LL" in e.message for e in errors), _describe(errors)


def test_missing_file_is_a_harness_fatal(hapi: HapiValidator, tmp_path: Path) -> None:
    errors = hapi.errors(tmp_path / "does-not-exist.json")
    assert [e.message_id for e in errors] == ["HARNESS_IO"]


def test_official_r4_xsd_loads_in_lxml() -> None:
    etree = pytest.importorskip("lxml.etree")
    from tests.support.r4_xsd import r4_xsd_dir

    folder = r4_xsd_dir()
    schema = etree.XMLSchema(file=str(folder / "fhir-single.xsd"))
    ok = etree.fromstring(b'<Patient xmlns="http://hl7.org/fhir"><id value="p"/><gender value="male"/></Patient>')
    wrong_order = etree.fromstring(
        b'<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><id value="p"/></Patient>'
    )
    assert schema.validate(ok), schema.error_log
    assert not schema.validate(wrong_order)
