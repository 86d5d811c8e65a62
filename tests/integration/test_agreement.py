"""fhirconv's validator agrees with HAPI's FhirInstanceValidator, defect class by defect class (issue 3).

HAPI runs for real here, over every file of tests/agreement/corpus and tests/agreement/outside (the verdict cache
tests/agreement/hapi-verdicts.json is a report artefact and is not read). For every class: every file HAPI finds an
error in, fhirconv finds an error in too (recall 100%), and fhirconv finds no error in a file HAPI finds none in
(precision 100%); fhirconv's error sits at the manifest's expected location; the official example and conformance
resources HAPI accepts get no fhirconv error. ``python -m tests.agreement.agreement`` prints the same comparison as
a table.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agreement.agreement import OUTSIDE_INVALID, OUTSIDE_VALID, FileResult, Report, Row, run
from tests.agreement.corpus import CLASSES, DEFECT_CLASSES
from tests.support.hapi_validator import HapiValidator, hapi_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not hapi_available(), reason="HAPI's validator needs java and mvn on PATH"),
]


@pytest.fixture(scope="module")
def report() -> Iterator[Report]:
    with HapiValidator() as hapi:
        result = run(hapi, cache=None)  # HAPI for real, every file
    assert result.hapi_cached == 0
    yield result


def _show(results: list[FileResult], limit: int = 25) -> str:
    lines = []
    for r in results[:limit]:
        lines.append(f"{r.rel} [{r.group}] {r.description} (expected at {r.expected_location})")
        lines.append(f"    HAPI:     {r.hapi_errors[:3] or '-'}")
        lines.append(f"    fhirconv: {r.fhirconv_errors[:3] or '-'}")
    if len(results) > limit:
        lines.append(f"... and {len(results) - limit} more")
    return "\n".join(lines)


def _group(report: Report, group: str) -> list[FileResult]:
    return [r for r in report.results if r.group == group]


# -- the corpus is what it says, by HAPI's standard ------------------------------------------------------------


def test_hapi_flags_every_defect_file_at_its_expected_location(report: Report) -> None:
    defects = [r for r in report.results if r.group in DEFECT_CLASSES]
    assert len(defects) >= 100
    not_flagged = [r for r in defects if not r.hapi_flags]
    assert not not_flagged, "HAPI finds no error in these defect files:\n" + _show(not_flagged)
    elsewhere = [r for r in defects if not r.hapi_located]
    assert not elsewhere, "HAPI flags these files, but not at the expected location:\n" + _show(elsewhere)


def test_hapi_finds_no_error_in_the_controls(report: Report) -> None:
    flagged = [r for r in _group(report, "valid") if r.hapi_flags]
    assert not flagged, "HAPI finds errors in these controls:\n" + _show(flagged)


def test_outside_files_keep_their_hapi_verdict(report: Report) -> None:
    valid = _group(report, OUTSIDE_VALID)
    assert len(valid) >= 40
    now_flagged = [r for r in valid if r.hapi_flags]
    assert not now_flagged, "outside files recorded as valid, now flagged by HAPI:\n" + _show(now_flagged)
    now_clean = [r for r in _group(report, OUTSIDE_INVALID) if not r.hapi_flags]
    assert not now_clean, "outside files recorded as HAPI-invalid, now clean:\n" + _show(now_clean)


# -- fhirconv agrees -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", CLASSES)
def test_recall_and_precision_are_100_percent(report: Report, group: str) -> None:
    row: Row = report.row(group)
    assert row.files > 0
    by_rel = {r.rel: r for r in report.results}
    crashed = [r for r in _group(report, group) if r.fhirconv_crashed]
    assert not crashed, "fhirconv's validator crashed on:\n" + _show(crashed)
    problems = []
    if row.missed:
        problems.append(
            f"recall {row.both}/{row.hapi}: HAPI finds errors that fhirconv does not find in:\n"
            + _show([by_rel[f] for f in row.missed])
        )
    if row.extra:
        problems.append(
            f"precision {row.both}/{row.fhirconv}: fhirconv finds errors where HAPI finds none in:\n"
            + _show([by_rel[f] for f in row.extra])
        )
    assert not problems, f"{group}: " + "\n".join(problems)


@pytest.mark.parametrize("group", DEFECT_CLASSES)
def test_fhirconv_errors_are_at_the_expected_location(report: Report, group: str) -> None:
    unlocated = [r for r in _group(report, group) if r.fhirconv_flags and not r.fhirconv_located]
    assert not unlocated, f"{group}: fhirconv's errors are elsewhere than expected in:\n" + _show(unlocated)


def test_no_fhirconv_error_on_the_outside_valid_set(report: Report) -> None:
    valid = _group(report, OUTSIDE_VALID)
    flagged = [r for r in valid if r.fhirconv_flags or r.fhirconv_crashed]
    assert not flagged, (
        f"fhirconv finds errors in {len(flagged)} of {len(valid)} official resources HAPI accepts:\n" + _show(flagged)
    )
