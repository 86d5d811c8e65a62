"""The agreement corpus is in sync with its generator, deterministic, and described by its manifests (no HAPI)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.agreement.corpus import (
    CORPUS,
    DEFECT_CLASSES,
    OUTSIDE,
    VALID,
    load_cases,
    load_outside,
    location_matches,
    normalize_location,
)
from tests.agreement.make_corpus import build_corpus


def test_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build_corpus(first)
    build_corpus(second)
    written = sorted(p.name for p in first.glob("*.json"))
    assert written == sorted(p.name for p in second.glob("*.json"))
    committed = sorted(p.name for p in CORPUS.glob("*.json"))
    assert written == committed, "run: python -m tests.agreement.make_corpus"
    for name in written:
        data = (first / name).read_bytes()
        assert data == (second / name).read_bytes(), f"{name} differs between two runs"
        assert data == (CORPUS / name).read_bytes(), f"{name} is stale: run python -m tests.agreement.make_corpus"


def test_manifest_describes_every_file() -> None:
    cases = load_cases()
    files = {p.name for p in CORPUS.glob("*.json")} - {"manifest.json"}
    assert {c.file for c in cases} == files
    assert len(cases) >= 100
    for case in cases:
        assert re.fullmatch(rf"{re.escape(case.defect_class)}--\d\d\.json", case.file), case.file
        assert case.description
        assert (case.expected_location is None) == (case.defect_class == VALID), case.file
        json.loads(case.path.read_text("utf-8"))
    for defect_class in DEFECT_CLASSES:
        assert sum(c.defect_class == defect_class for c in cases) >= 10, defect_class
    assert sum(c.defect_class == VALID for c in cases) >= 10


def test_outside_manifest() -> None:
    outside = load_outside()
    assert len(outside) >= 50
    listed = {o.file for o in outside}
    on_disk = {str(p.relative_to(OUTSIDE)) for p in OUTSIDE.rglob("*.json")} - {"manifest.json"}
    assert listed == on_disk
    for o in outside:
        assert o.valid == (not o.hapi_errors), o.file
        assert o.valid == (not o.file.startswith("hapi-invalid/")), o.file
        assert json.loads(o.path.read_text("utf-8"))["resourceType"] == o.resource_type
    assert sum(o.valid for o in outside) >= 40
    kinds = {o.kind for o in outside if o.valid}
    assert {"CodeSystem", "ValueSet", "SearchParameter", "OperationDefinition", "example"} <= kinds


def test_locations_compare_across_spellings() -> None:
    hapi = "Bundle.entry[1].resource/*Observation/o1*/.value.ofType(Quantity)"
    assert normalize_location(hapi) == "Bundle.entry[1].resource.value"
    assert normalize_location("Bundle.entry[1].resource.value[x].value") == "Bundle.entry[1].resource.value.value"
    assert location_matches(hapi, "Bundle.entry[1].resource.valueQuantity.code")  # the parent of the code
    assert location_matches("Bundle.entry[1].resource.valueQuantity.code", "Bundle.entry[1].resource.valueQuantity")
    assert location_matches("Bundle.entry[1].resource", "Bundle.entry[1].resource.status")  # missing: at the parent
    assert location_matches("Bundle", "Bundle.entry[3]")  # a Bundle invariant about an entry
    assert not location_matches("Bundle", "Bundle.entry[1].resource.status")
    assert not location_matches("Bundle.entry[2].resource.status", "Bundle.entry[1].resource.status")
    assert not location_matches("", "Bundle.type")
