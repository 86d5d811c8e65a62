"""Golden files: every sample converts to exactly its expected outputs, on every run, in any process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fhirconv.convert import convert_case, load_case
from fhirconv.serialize import render
from fhirconv.terminology import Terminology
from tests.conftest import ROOT, SAMPLES

CASES = sorted(p for p in SAMPLES.glob("*.yaml"))


def expected_path(case: Path, output_format: str) -> Path:
    return case.with_suffix(f".{output_format}")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_sample_matches_its_golden_file(case: Path, output_format: str, terminology: Terminology) -> None:
    loaded, document = load_case(case)
    produced = render(convert_case(loaded, terminology, document=document).bundle, output_format)  # type: ignore[arg-type]
    golden = expected_path(case, output_format)
    assert golden.exists(), f"missing golden file: fhirconv convert {case} --format {output_format} -o {golden}"
    assert produced == golden.read_bytes(), (
        f"{case.name} no longer converts to {golden.name}; if the change is intended, regenerate it with "
        f"'fhirconv convert {case.relative_to(ROOT)} --format {output_format} -o {golden.relative_to(ROOT)}' "
        "and review the diff"
    )


def test_output_is_byte_identical_across_processes(tmp_path: Path) -> None:
    case = SAMPLES / "anti-mda5-dermatomyositis.yaml"
    outputs = []
    for seed in ("0", "12345"):
        target = tmp_path / f"bundle-{seed}.json"
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "fhirconv", "convert", str(case), "-o", str(target)],
            check=True,
            capture_output=True,
            env=environment,
        )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]


def test_seed_bundle_holds_every_checked_code(terminology: Terminology) -> None:
    """The concepts of the seed case appear with the codes of shared/reference/seed-case-codes.yaml."""
    produced = (SAMPLES / "anti-mda5-dermatomyositis.json").read_text("utf-8")
    expected_codes = [
        "396230008",
        "M33.1",
        "233703007",
        "J84.9",
        "2157-6",
        "9279-1",
        "59408-5",
        "24336-0",
        "2744-1",
        "2703-7",
        "2019-8",
        "58410-2",
        "718-7",
        "6690-2",
        "777-3",
        "82424-3",
        "72166-2",
        "8517006",
        "8664-5",
        "49563000",
        "247471006",
        "46742003",
        "40739000",
        "R13",
        "R49.0",
        "E87.3",
        "J98.6",
        "59282003",
        "I26.9",
        "94147001",
        "254632001",
        "C34.9",
        "94381002",
        "C78.7",
        "59927004",
        "K72.9",
        "131148009",
        "R58",
        "J96.9",
        "B00.5",
        "6902",
        "H02AB04",
        "3002",
        "L01AA01",
        "1193326",
        "L01EJ01",
        "J06BA02",
        "4179",
        "L01CB01",
        "40048",
        "L01XA02",
        "169069000",
        "24627-2",
        "367336001",
        "398162007",
        "10828004",
        "30525-0",
        "U/L",
        "10*9/L",
        "mm[Hg]",
        "[pH]",
        "mg/kg",
        "mg/m2",
        "mg/d",
        "{score}",
        "{pack-years}",
        "g/L",
        "/min",
    ]
    missing = [code for code in expected_codes if f'"{code}"' not in produced]
    assert missing == []
    for wrong in ("55929007", "5657", "238935002"):
        assert f'"{wrong}"' not in produced
