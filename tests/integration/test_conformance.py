"""Conformance of every sample output: zero errors from HAPI's FhirInstanceValidator (R4, offline), and the XML
output valid against the official R4 XSD."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from fhirconv.convert import convert_case, load_case
from fhirconv.serialize import render
from fhirconv.terminology import Terminology
from tests.conftest import SAMPLES, java_tools_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not java_tools_available(), reason="Java and Maven are needed for HAPI's validator and the XSD"),
]

CASES = sorted(SAMPLES.glob("*.yaml"))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, terminology: Terminology) -> dict[tuple[str, str, str], Path]:
    folder = tmp_path_factory.mktemp("conformance")
    written = {}
    for case in CASES:
        loaded, document = load_case(case)
        for bundle_type in ("transaction", "collection"):
            bundle = convert_case(loaded, terminology, bundle_type=bundle_type, document=document).bundle  # type: ignore[arg-type]
            for output_format in ("json", "xml"):
                path = folder / f"{case.stem}-{bundle_type}.{output_format}"
                path.write_bytes(render(bundle, output_format))  # type: ignore[arg-type]
                written[(case.stem, bundle_type, output_format)] = path
    return written


@pytest.mark.parametrize("case", [c.stem for c in CASES])
@pytest.mark.parametrize("bundle_type", ["transaction", "collection"])
@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_hapi_validator_reports_no_error(
    hapi_validator: object, outputs: dict[tuple[str, str, str], Path], case: str, bundle_type: str, output_format: str
) -> None:
    path = outputs[(case, bundle_type, output_format)]
    errors = hapi_validator.errors(str(path))  # type: ignore[attr-defined]
    assert errors == [], "\n".join(str(e) for e in errors)


def test_hapi_validator_does_flag_a_broken_bundle(
    hapi_validator: object, outputs: dict[tuple[str, str, str], Path], tmp_path: Path
) -> None:
    """The check above can fail: a status outside its required value set is an error for HAPI."""
    text = (
        outputs[(CASES[0].stem, "transaction", "json")]
        .read_text("utf-8")
        .replace('"status": "final"', '"status": "done"', 1)
    )
    broken = tmp_path / "broken.json"
    broken.write_text(text, "utf-8")
    assert hapi_validator.errors(str(broken))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def r4_schema() -> etree.XMLSchema:
    from tests.support.r4_xsd import r4_xsd_dir

    return etree.XMLSchema(file=str(r4_xsd_dir() / "fhir-single.xsd"))


# The official 4.0.1 fhir-single.xsd types MedicationStatement.status with the Medication.status code list
# (active | inactive | entered-in-error): two value sets share the name "MedicationStatusCodes" and the schema
# generator kept one. The StructureDefinition binds medication-statement-status, which HAPI's validator checks.
MEDICATION_STATEMENT_STATUS = {
    "active",
    "completed",
    "entered-in-error",
    "intended",
    "stopped",
    "on-hold",
    "unknown",
    "not-taken",
}


def _is_known_xsd_erratum(document: etree._ElementTree, error: etree._LogEntry) -> bool:
    found = document.xpath(error.path)
    if not found:
        return False
    element = found[0]
    parent = element.getparent()
    return (
        etree.QName(element).localname == "status"
        and parent is not None
        and etree.QName(parent).localname == "MedicationStatement"
        and element.get("value") in MEDICATION_STATEMENT_STATUS
    )


def xsd_errors(schema: etree.XMLSchema, document: etree._ElementTree) -> list[str]:
    schema.validate(document)
    return [str(e) for e in schema.error_log if not _is_known_xsd_erratum(document, e)]


@pytest.mark.parametrize("case", [c.stem for c in CASES])
@pytest.mark.parametrize("bundle_type", ["transaction", "collection"])
def test_xml_output_is_valid_against_the_r4_xsd(
    r4_schema: etree.XMLSchema, outputs: dict[tuple[str, str, str], Path], case: str, bundle_type: str
) -> None:
    document = etree.parse(str(outputs[(case, bundle_type, "xml")]))
    assert xsd_errors(r4_schema, document) == []


def test_the_xsd_check_can_fail(r4_schema: etree.XMLSchema, outputs: dict[tuple[str, str, str], Path]) -> None:
    document = etree.parse(str(outputs[(CASES[0].stem, "transaction", "xml")]))
    first_entry = document.getroot().find("{http://hl7.org/fhir}entry")
    assert first_entry is not None
    etree.SubElement(first_entry, "{http://hl7.org/fhir}colour").set("value", "blue")
    assert len(xsd_errors(r4_schema, document)) == 1
