"""Case file -> FHIR R4 bundle: the library entry point the CLI and other programs call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from fhirconv.builders import (
    BuildContext,
    Built,
    RunReport,
    build_case_list,
    build_conditions,
    build_encounters,
    build_medications,
    build_observations,
    build_patient,
    build_procedures,
    build_provenance,
)
from fhirconv.bundle import BundleType, assemble
from fhirconv.casefile.loader import LoadedDocument, load_case_document
from fhirconv.casefile.models import CaseFile
from fhirconv.casefile.resolution import Timeline
from fhirconv.casefile.schema_errors import schema_error
from fhirconv.errors import FhirconvError
from fhirconv.terminology import Terminology


@dataclass(frozen=True)
class ConversionResult:
    bundle: Bundle
    resources: tuple[Built, ...]
    report: RunReport


def read_case(stream: IO[bytes], source: str) -> tuple[CaseFile, LoadedDocument]:
    """Read and check a case file; every error names ``source``, the line and the field."""
    document = load_case_document(stream, source)
    try:
        case = CaseFile.model_validate(document.data)
    except ValidationError as exc:
        raise schema_error(exc, document) from None
    return case, document


def load_case(path: Path) -> tuple[CaseFile, LoadedDocument]:
    with path.open("rb") as stream:
        return read_case(stream, str(path))


def convert_case(
    case: CaseFile,
    terminology: Terminology,
    *,
    index_date: str | None = None,
    bundle_type: BundleType = "transaction",
    allow_unmapped: bool = False,
    document: LoadedDocument | None = None,
) -> ConversionResult:
    """Build the bundle of ``case``. With ``document``, errors are placed at their file line."""
    try:
        timeline = Timeline(case, index_date)
        timeline.resolve_all()
        ctx = BuildContext(case, terminology, timeline, allow_unmapped=allow_unmapped)
        built: list[Built] = []
        built.extend(build_patient(ctx))
        built.extend(build_conditions(ctx))
        built.extend(build_observations(ctx))
        built.extend(build_medications(ctx))
        built.extend(build_procedures(ctx))
        built.extend(build_encounters(ctx))
        built.append(build_case_list(ctx, built))
        built.append(build_provenance(ctx, built))
    except FhirconvError as exc:
        raise (document.place(exc) if document is not None else exc) from None
    bundle = assemble(built, ctx.ids, bundle_type)
    return ConversionResult(bundle=bundle, resources=tuple(built), report=ctx.report)
