from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirconv.errors import MappingError, QuantityError, UnknownTermError
from fhirconv.terminology import Terminology
from fhirconv.terminology.check import check_tables
from fhirconv.terminology.tables import bundled_mappings_dir, compile_tables, compiled_path, read_tables


def test_lookup_by_key_english_and_french_synonyms_ignoring_case_and_accents(terminology: Terminology) -> None:
    assert terminology.concept("creatine-kinase", ["observation"]).key == "creatine-kinase"
    assert terminology.concept("CK", ["observation"]).key == "creatine-kinase"
    assert terminology.concept("HÉMOGLOBINE", ["observation"]).key == "haemoglobin"
    assert terminology.concept("oedeme des paupieres", ["condition"]).key == "eyelid-oedema"
    assert terminology.concept("Œdème des paupières", ["condition"]).key == "eyelid-oedema"


def test_the_seed_codes_are_the_checked_ones(terminology: Terminology) -> None:
    ck = terminology.concept("creatine-kinase")
    assert [(c.code, c.display) for c in ck.codings] == [
        ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma")
    ]
    dysphonia = terminology.concept("dysphonia", ["condition"])
    assert "55929007" not in {c.code for c in dysphonia.codings}  # 'Feeling irritable': a known wrong code
    ivig = terminology.concept("ivig", ["medication"])
    assert "5657" not in {c.code for c in ivig.codings}  # RxCUI 5657 is ifosfamide
    assert terminology.concept("gottron-papules", ["condition"]).codings == ()


def test_unknown_terms_come_with_the_closest_keys(terminology: Terminology) -> None:
    with pytest.raises(UnknownTermError) as caught:
        terminology.concept("creatine kinaze", ["observation"])
    assert caught.value.suggestions[0] == "creatine-kinase"
    assert "closest known terms: creatine-kinase" in caught.value.one_line()


def test_a_term_of_another_kind_is_named_as_such(terminology: Terminology) -> None:
    with pytest.raises(UnknownTermError, match="is a medication"):
        terminology.concept("ruxolitinib", ["condition"])


@pytest.mark.parametrize(
    ("written", "ucum"),
    [("UI/L", "U/L"), ("G/L", "10*9/L"), ("mmHg", "mm[Hg]"), ("mg/jour", "mg/d"), ("mmol/L", "mmol/L"), ("%", "%")],
)
def test_units_as_written_map_to_ucum(terminology: Terminology, written: str, ucum: str) -> None:
    unit = terminology.unit(written)
    assert (unit.written, unit.ucum) == (written, ucum)


def test_an_unknown_unit_is_an_error_with_a_suggestion(terminology: Terminology) -> None:
    with pytest.raises(QuantityError, match="neither in the units table nor valid UCUM"):
        terminology.unit("mg/dayz")


def test_bundled_tables_pass_their_own_check(terminology: Terminology) -> None:
    assert check_tables(terminology) == []


def test_coverage_of_the_tables(terminology: Terminology) -> None:
    def coded(kind: str, *systems: str, categories: set[str] | None = None) -> int:
        return sum(
            1
            for c in terminology.concepts
            if c.kind == kind
            and (categories is None or c.category in categories)
            and all(any(x.system == s for x in c.codings) for s in systems)
        )

    assert coded("observation", "http://loinc.org", categories={"laboratory", "vital-signs"}) >= 150
    assert coded("medication", "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.whocc.no/atc") >= 100
    assert coded("condition", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10") >= 100
    assert coded("procedure", "http://snomed.info/sct") >= 40


def test_the_compiled_image_is_in_sync_with_the_yaml() -> None:
    image = json.loads(compiled_path().read_text("utf-8"))
    fresh = json.loads(json.dumps(compile_tables(bundled_mappings_dir())))
    assert image == fresh, "the tables changed: run python scripts/compile_mappings.py"


def test_user_tables_add_concepts(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text(
        "concepts:\n"
        "  - key: my-score\n    kind: observation\n    category: survey\n    text: My score\n"
        "    synonyms: [mon score]\n    codings: []\n",
        encoding="utf-8",
    )
    terminology = Terminology.load([tmp_path])
    assert terminology.concept("mon score").key == "my-score"


def test_a_user_table_redefining_a_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(
        "concepts:\n  - key: creatine-kinase\n    kind: observation\n    text: CK again\n", encoding="utf-8"
    )
    with pytest.raises(MappingError, match="defined twice") as caught:
        Terminology.load([tmp_path])
    assert caught.value.location.file == str(tmp_path / "dup.yaml")


def test_a_malformed_table_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "concepts:\n  - key: x\n    kind: observation\n    colour: red\n", encoding="utf-8"
    )
    with pytest.raises(MappingError, match="unknown field 'colour'") as caught:
        read_tables([tmp_path])
    assert caught.value.location.line == 4


def test_check_finds_malformed_codes_and_units(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "concepts:\n"
        "  - key: bad-lab\n    kind: observation\n    unit: mmHg\n    codings:\n"
        "      - {system: 'http://loinc.org', code: '2157-5', display: CK, source: test}\n"
        "  - key: bad-condition\n    kind: condition\n    codings:\n"
        "      - {system: 'http://snomed.info/sct', code: '396230007', display: DM, source: test}\n",
        encoding="utf-8",
    )
    problems = check_tables(Terminology(read_tables([tmp_path])))
    assert any("'mmHg' is not valid UCUM" in p for p in problems)
    assert any("'2157-5' is not a well-formed code" in p for p in problems)
    assert any("'396230007' is not a well-formed code" in p for p in problems)


def test_every_source_can_be_looked_up(terminology: Terminology) -> None:
    """A source is an address, an owner/repo:path, or the project's checked seed table: something a reviewer can open."""
    import re

    citable = re.compile(r"https?://\S+|[\w.-]+/[\w.-]+:\S+|seed-case-codes\.yaml")
    vague = [
        f"{concept.key} {coding.code}: {coding.source}"
        for concept in terminology.concepts
        for coding in concept.codings
        if not citable.search(coding.source)
    ]
    assert vague == []
