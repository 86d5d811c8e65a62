"""What each CLI command does, on top of the library. Kept apart from argument parsing so it stays readable."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from fhirconv.errors import BundleReadError, FhirconvError, InputError, Location, ValidationFailed
from fhirconv.terminology import Terminology

if TYPE_CHECKING:
    from fhirconv.validate import ProfileSet

# Each command imports what it needs when it runs: the fhir.resources models that conversion builds with take most
# of a second to import, and `validate`, `mappings` and `schema` have no use for them.


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "convert":
        return convert(args, out, err)
    if args.command == "validate":
        return validate(args, out)
    if args.command == "mappings":
        return mappings(args, out)
    if args.command == "push":
        return push(args, out, err)
    if args.command == "schema":
        from fhirconv.casefile.models import CaseFile

        out.write(json.dumps(CaseFile.model_json_schema(), indent=2, ensure_ascii=False) + "\n")
        return 0
    raise AssertionError(args.command)


def _terminology(args: argparse.Namespace) -> Terminology:
    return Terminology.load(args.mappings)


def _profiles(args: argparse.Namespace) -> ProfileSet | None:
    from fhirconv.validate import ProfileSet

    folders: list[Path] = getattr(args, "profile_dir", None) or []
    return ProfileSet.load(folders) if folders else None


def convert(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from fhirconv.convert import convert_case, load_case
    from fhirconv.serialize import render_data, to_data, write_atomic
    from fhirconv.validate import has_errors, summary, validate_data

    terminology = _terminology(args)
    if args.push and args.bundle_type != "transaction":
        raise InputError("--push needs a transaction bundle", hint="drop --bundle-type collection")
    if not args.case.is_file():
        raise FhirconvError("no such file", location=Location(file=str(args.case)), hint="check the path")
    case, document = load_case(args.case)
    result = convert_case(
        case,
        terminology,
        index_date=args.index_date,
        bundle_type=args.bundle_type,
        allow_unmapped=args.allow_unmapped,
        document=document,
    )
    data = to_data(result.bundle)
    if not args.no_validate:
        issues = validate_data([data], terminology, profiles=_profiles(args))
        if has_errors(issues):
            for issue in issues:
                if issue.is_error:
                    err.write(f"{issue.render()}\n")
            raise ValidationFailed(
                f"the bundle has validation errors ({summary(issues)}); nothing was written",
                issues,
                location=Location(file=str(args.case)),
            )
    content = render_data(data, args.format)
    for unmapped in result.report.unmapped:
        hint = f" (closest: {', '.join(unmapped.suggestions)})" if unmapped.suggestions else ""
        err.write(f"fhirconv: note: {args.case}: {unmapped.field}: {unmapped.term!r} kept as text only{hint}\n")
    if args.output is None:
        sys.stdout.flush()
        binary = getattr(out, "buffer", None)
        if binary is not None:
            binary.write(content)
            binary.flush()
        else:
            out.write(content.decode("utf-8"))
    else:
        write_atomic(args.output, content)
        count = len(result.resources)
        err.write(f"fhirconv: wrote {args.output} ({count} resources, {args.bundle_type} bundle, {args.format})\n")
    if args.push:
        from fhirconv.pushing import client, push_one

        with client(args, args.push, err) as fhir:
            # Pushed messages go to stderr when the bundle itself went to stdout.
            push_one(args, fhir, data, str(args.case), err if args.output is None else out)
    return 0


def push(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from fhirconv.pushing import push_all
    from fhirconv.validate import read_fhir

    bundles = []
    for path in args.bundles:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise BundleReadError(exc.strerror or "cannot read the file", location=Location(file=str(path))) from None
        resources = read_fhir(raw, str(path))
        if len(resources) != 1:
            raise BundleReadError(
                "NDJSON cannot be pushed as a transaction",
                location=Location(file=str(path)),
                hint="convert with --format json or xml",
            )
        bundles.append((path, resources[0]))
    return push_all(args, bundles, out, err)


def validate(args: argparse.Namespace, out: TextIO) -> int:
    from fhirconv.validate import has_errors, operation_outcome, read_fhir, summary, validate_data

    path: Path = args.bundle
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleReadError(exc.strerror or "cannot read the file", location=Location(file=str(path))) from None
    terminology = _terminology(args)
    issues = validate_data(read_fhir(raw, str(path)), terminology, profiles=_profiles(args))
    if args.format == "json":
        out.write(json.dumps(operation_outcome(issues), indent=2, ensure_ascii=False) + "\n")
    else:
        for issue in issues:
            out.write(issue.render() + "\n")
        out.write(f"{path}: {summary(issues)}\n")
    return 1 if has_errors(issues) else 0


def mappings(args: argparse.Namespace, out: TextIO) -> int:
    from fhirconv.terminology.check import check_tables

    terminology = _terminology(args)
    if args.action == "list":
        for concept in sorted(terminology.concepts, key=lambda c: (c.kind, c.key)):
            if args.kind and concept.kind != args.kind:
                continue
            codes = ", ".join(f"{_short(c.system)} {c.code}" for c in concept.codings) or "text only"
            kind = f"{concept.kind}/{concept.category}" if concept.category else concept.kind
            out.write(f"{kind:<28} {concept.key:<40} {codes}\n")
        return 0
    if args.action == "show":
        concept = terminology.concept(args.term)
        out.write(f"{concept.key} ({concept.kind}{', ' + concept.category if concept.category else ''})\n")
        out.write(f"  text: {concept.text}\n")
        if concept.synonyms:
            out.write(f"  synonyms: {', '.join(concept.synonyms)}\n")
        if concept.unit:
            out.write(f"  unit: {concept.unit}\n")
        for coding in concept.codings:
            out.write(f"  {coding.system} {coding.code} {coding.display!r}\n    checked against: {coding.source}\n")
        if not concept.codings:
            out.write("  no checked code: emitted as text only\n")
        out.write(f"  defined at: {concept.origin}\n")
        return 0
    problems = check_tables(terminology)
    for problem in problems:
        out.write(problem + "\n")
    codings = sum(len(c.codings) for c in terminology.concepts)
    out.write(
        f"{len(terminology.tables.files)} tables, {len(terminology.concepts)} concepts, {codings} codings, "
        f"{sum(len(u.written) for u in terminology.tables.units)} unit spellings: {len(problems)} problem(s)\n"
    )
    return 1 if problems else 0


_SHORT = {
    "http://snomed.info/sct": "SNOMED",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://www.whocc.no/atc": "ATC",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
}


def _short(system: str) -> str:
    return _SHORT.get(system, system)
