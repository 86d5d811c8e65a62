"""Agreement of ``fhirconv validate`` with HAPI's FhirInstanceValidator, defect class by defect class.

``python -m tests.agreement.agreement`` runs HAPI (``tests/support/hapi_validator.py``) and fhirconv's
``validate_data`` over the corpus and the outside set and prints a markdown table: per class the files, the files
HAPI finds errors in, the files fhirconv finds errors in, how many verdicts agree, recall (of HAPI's error files,
the share fhirconv flags too), precision (of fhirconv's error files, the share HAPI flags too) and, for defect
files, how many fhirconv errors sit at the manifest's expected location.

A file's verdict is "error" when it has at least one issue of severity error or fatal. HAPI's verdicts are written to
``tests/agreement/hapi-verdicts.json`` (keyed by the SHA-256 of the file's bytes) as a report artefact only;
``--cached`` reuses them for files whose bytes did not change, for a quick look. The integration test
(``tests/integration/test_agreement.py``) never reads that file: it runs HAPI for real.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.agreement.corpus import (
    CLASSES,
    DEFECT_CLASSES,
    ROOT,
    VALID,
    VERDICTS,
    Case,
    OutsideFile,
    load_cases,
    load_outside,
    location_matches,
)

OUTSIDE_VALID = "outside (HAPI-valid)"
OUTSIDE_INVALID = "outside (HAPI-invalid, for information)"


@dataclass
class FileResult:
    path: Path
    group: str  # defect class, "valid", or one of the outside groups
    expected_location: str | None
    hapi_errors: list[str]  # rendered "location: message [id]"
    hapi_locations: list[str | None]
    fhirconv_errors: list[str]
    fhirconv_locations: list[str]
    fhirconv_crashed: bool = False
    description: str = ""
    built_as: str | None = None

    @property
    def rel(self) -> str:
        return str(self.path.relative_to(ROOT)) if self.path.is_relative_to(ROOT) else str(self.path)

    @property
    def hapi_flags(self) -> bool:
        return bool(self.hapi_errors)

    @property
    def fhirconv_flags(self) -> bool:
        return bool(self.fhirconv_errors)

    @property
    def agrees(self) -> bool:
        return self.hapi_flags == self.fhirconv_flags

    @property
    def hapi_located(self) -> bool:
        return any(location_matches(loc, self.expected_location) for loc in self.hapi_locations)

    @property
    def fhirconv_located(self) -> bool:
        return any(location_matches(loc, self.expected_location) for loc in self.fhirconv_locations)


@dataclass
class Row:
    group: str
    files: int = 0
    hapi: int = 0
    fhirconv: int = 0
    both: int = 0
    agree: int = 0
    located: int = 0  # defect files with a fhirconv error at the expected location
    locatable: int = 0  # defect files (with an expected location)
    crashed: int = 0
    missed: list[str] = field(default_factory=list)  # HAPI error, fhirconv none
    extra: list[str] = field(default_factory=list)  # fhirconv error, HAPI none
    unlocated: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.both / self.hapi if self.hapi else None

    @property
    def precision(self) -> float | None:
        return self.both / self.fhirconv if self.fhirconv else None

    @property
    def perfect(self) -> bool:
        """No missed and no extra error file (a class where neither side flags anything is perfect)."""
        return not self.missed and not self.extra


@dataclass
class Report:
    results: list[FileResult]
    hapi_run: int
    hapi_cached: int

    def rows(self) -> list[Row]:
        order = [*CLASSES, OUTSIDE_VALID, OUTSIDE_INVALID]
        rows = {g: Row(g) for g in order}
        for r in self.results:
            row = rows.setdefault(r.group, Row(r.group))
            row.files += 1
            row.hapi += r.hapi_flags
            row.fhirconv += r.fhirconv_flags
            row.both += r.hapi_flags and r.fhirconv_flags
            row.agree += r.agrees
            row.crashed += r.fhirconv_crashed
            if r.hapi_flags and not r.fhirconv_flags:
                row.missed.append(r.rel)
            if r.fhirconv_flags and not r.hapi_flags:
                row.extra.append(r.rel)
            if r.expected_location is not None:
                row.locatable += 1
                row.located += r.fhirconv_located
                if not r.fhirconv_located:
                    row.unlocated.append(r.rel)
        return [rows[g] for g in rows if rows[g].files or g in DEFECT_CLASSES]

    def row(self, group: str) -> Row:
        return next(r for r in self.rows() if r.group == group)

    def total(self, groups: Iterable[str]) -> Row:
        wanted = set(groups)
        total = Row("all corpus")
        for row in self.rows():
            if row.group not in wanted:
                continue
            for name in ("files", "hapi", "fhirconv", "both", "agree", "located", "locatable", "crashed"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.missed += row.missed
            total.extra += row.extra
            total.unlocated += row.unlocated
        return total

    def _subset(self, name: str, group: str, built_as: str) -> Row:
        row = Row(name)
        for r in self.results:
            if r.group == group and r.built_as == built_as:
                row.files += 1
                row.hapi += r.hapi_flags
                row.fhirconv += r.fhirconv_flags
                row.both += r.hapi_flags and r.fhirconv_flags
                row.agree += r.agrees
                row.crashed += r.fhirconv_crashed
        return row

    def markdown(self, *, details: bool = True) -> str:
        def pct(value: float | None) -> str:
            return "—" if value is None else f"{100 * value:.0f}%"

        lines = [
            "| class | files | HAPI-error files | fhirconv-error files | agreement | recall | precision | located | fhirconv crashes |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rows = self.rows()
        corpus_rows = [r for r in rows if r.group in CLASSES]
        other_rows = [r for r in rows if r.group not in CLASSES]
        origins = sorted({r.built_as for r in self.results if r.group == VALID and r.built_as})
        breakdown = [self._subset(f"{VALID}, built as {o} (not an error for HAPI)", VALID, o) for o in origins]
        for row in [*corpus_rows, *breakdown, self.total(CLASSES), *other_rows]:
            located = f"{row.located}/{row.locatable}" if row.locatable else "—"
            name = f"**{row.group}**" if row.group == "all corpus" else row.group
            lines.append(
                f"| {name} | {row.files} | {row.hapi} | {row.fhirconv} | {row.agree}/{row.files} "
                f"({pct(row.agree / row.files if row.files else None)}) | {pct(row.recall)} | {pct(row.precision)} "
                f"| {located} | {row.crashed} |"
            )
        lines.append("")
        lines.append(
            f"HAPI verdicts: {self.hapi_run} run now, {self.hapi_cached} from {VERDICTS.relative_to(ROOT)}. "
            "recall = files both flag / files HAPI flags; precision = files both flag / files fhirconv flags "
            "(— where the denominator is 0); located = defect files with a fhirconv error at the expected location."
        )
        if details:
            lines.extend(self._details())
        return "\n".join(lines)

    def _details(self) -> list[str]:
        out: list[str] = []
        by_rel = {r.rel: r for r in self.results}
        for row in self.rows():
            if row.group == OUTSIDE_INVALID:
                continue
            problems = [("missed (HAPI error, no fhirconv error)", row.missed),
                        ("extra (fhirconv error, no HAPI error)", row.extra),
                        ("not at the expected location", [f for f in row.unlocated if f not in row.missed])]
            if not any(files for _, files in problems):
                continue
            out.append("")
            out.append(f"### {row.group}")
            for title, files in problems:
                for rel in files:
                    r = by_rel[rel]
                    first_hapi = r.hapi_errors[0] if r.hapi_errors else "-"
                    first_ours = r.fhirconv_errors[0] if r.fhirconv_errors else "-"
                    out.append(f"- {title}: `{rel}` ({r.description}; expected at `{r.expected_location}`)")
                    out.append(f"  - HAPI: {first_hapi}")
                    out.append(f"  - fhirconv: {first_ours}")
        return out


# -- running the validators --------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_HAPI_COMMENT = re.compile(r"/\*.*?\*/")


def _render_hapi(issue: Any) -> str:
    where = _HAPI_COMMENT.sub("", issue.location or "?")
    return f"{where}: {issue.message} [{issue.message_id}]"


def hapi_verdicts(
    paths: Sequence[Path], hapi: Any, cache: dict[str, Any] | None = None
) -> tuple[dict[Path, list[tuple[str | None, str]]], int]:
    """HAPI's errors (location, rendered) per file, running ``hapi`` for every file not in ``cache``."""
    out: dict[Path, list[tuple[str | None, str]]] = {}
    ran = 0
    for path in paths:
        cached = (cache or {}).get(_sha256(path))
        if cached is not None:
            out[path] = [(e["location"], e["text"]) for e in cached["errors"]]
            continue
        if hapi is None:
            raise RuntimeError(f"no HAPI validator to run on {path}")
        ran += 1
        out[path] = [(i.location, _render_hapi(i)) for i in hapi.errors(path)]
    return out, ran


def fhirconv_errors(path: Path, terminology: Any) -> tuple[list[tuple[str, str]], bool]:
    """fhirconv's errors (location, rendered) for one file, and whether it crashed (a crash counts as an error)."""
    from fhirconv.errors import FhirconvError
    from fhirconv.validate import read_fhir, validate_data

    try:
        resources = read_fhir(path.read_bytes(), str(path))
    except FhirconvError as exc:  # unreadable input: `fhirconv validate` rejects the file
        return [("", f"read error: {exc}")], False
    try:
        issues = validate_data(resources, terminology)
    except Exception as exc:  # noqa: BLE001 - a crash is a finding, reported per file
        return [("", f"fhirconv crashed: {type(exc).__name__}: {exc}")], True
    return [(i.location, f"{i.location}: {i.message} [{i.code}]") for i in issues if i.is_error], False


def _entries() -> list[tuple[Path, str, str | None, str, str | None]]:
    """(path, group, expected location, description, built as) for every file the report covers."""
    cases: list[Case] = load_cases()
    outside: list[OutsideFile] = load_outside()
    entries = [(c.path, c.defect_class, c.expected_location, c.description, c.built_as) for c in cases]
    entries += [
        (o.path, OUTSIDE_VALID if o.valid else OUTSIDE_INVALID, None, f"{o.kind}: {o.source}", None)
        for o in outside
    ]
    return entries


def run(hapi: Any, *, cache: dict[str, Any] | None = None) -> Report:
    """The report; ``hapi`` is a started HapiValidator (None only when every file is in ``cache``)."""
    from fhirconv.terminology import Terminology

    terminology = Terminology.load()
    entries = _entries()
    verdicts, ran = hapi_verdicts([p for p, *_ in entries], hapi, cache)
    results = []
    for path, group, expected, description, built_as in entries:
        ours, crashed = fhirconv_errors(path, terminology)
        theirs = verdicts[path]
        results.append(
            FileResult(
                path=path,
                group=group,
                expected_location=expected,
                hapi_errors=[text for _, text in theirs],
                hapi_locations=[loc for loc, _ in theirs],
                fhirconv_errors=[text for _, text in ours],
                fhirconv_locations=[loc for loc, _ in ours],
                fhirconv_crashed=crashed,
                description=description,
                built_as=built_as,
            )
        )
    return Report(results, hapi_run=ran, hapi_cached=len(entries) - ran)


def write_verdicts(report: Report, hapi_version: str) -> None:
    """The report artefact: HAPI's verdict per file content hash (never read by the test)."""
    data = {
        "about": "HAPI FhirInstanceValidator verdicts (errors and fatals only) per file content SHA-256, written by "
        "python -m tests.agreement.agreement. A report artefact: tests/integration/test_agreement.py runs HAPI itself.",
        "validator": hapi_version,
        "verdicts": {
            _sha256(r.path): {
                "file": r.rel,
                "errors": [{"location": loc, "text": text} for loc, text in zip(r.hapi_locations, r.hapi_errors, strict=True)],
            }
            for r in sorted(report.results, key=lambda r: r.rel)
        },
    }
    VERDICTS.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def hapi_version() -> str:
    pom = (ROOT / "tests" / "java" / "validator" / "pom.xml").read_text("utf-8")
    match = re.search(r"<hapi\.version>([^<]+)</hapi\.version>", pom)
    return f"HAPI FHIR {match.group(1) if match else '?'} FhirInstanceValidator, offline (tests/java/validator)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cached", action="store_true", help=f"reuse HAPI verdicts from {VERDICTS.name} (quick look)")
    parser.add_argument("--no-details", action="store_true", help="the table only, not the disagreeing files")
    parser.add_argument("--json", type=Path, help="also write every file's verdicts to this JSON file")
    args = parser.parse_args(argv)

    from tests.support.hapi_validator import HapiValidator

    cache = None
    if args.cached and VERDICTS.is_file():
        cache = json.loads(VERDICTS.read_text("utf-8"))["verdicts"]
    entries = _entries()
    needs_hapi = cache is None or any(_sha256(p) not in cache for p, *_ in entries)
    if needs_hapi:
        with HapiValidator() as hapi:
            report = run(hapi, cache=cache)
    else:
        report = run(None, cache=cache)
    write_verdicts(report, hapi_version())
    print(report.markdown(details=not args.no_details))
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"file": r.rel, "group": r.group, "expected_location": r.expected_location,
                     "hapi_errors": r.hapi_errors, "fhirconv_errors": r.fhirconv_errors}
                    for r in report.results
                ],
                indent=1,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
