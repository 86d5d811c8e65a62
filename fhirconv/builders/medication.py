"""MedicationStatement: the drug, its course (start, end or stop with reason), route, dose phases and indications."""

from __future__ import annotations

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.period import Period

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext, codeable_concept
from fhirconv.builders.dosage import build_dosage
from fhirconv.casefile.models import MedicationSpec

REASON_TYPES = ("Condition", "Observation")


def build_medications(ctx: BuildContext) -> list[Built]:
    return [_statement(ctx, spec, ("medications", index)) for index, spec in enumerate(ctx.case.medications)]


def _status(spec: MedicationSpec) -> str:
    if spec.status is not None:
        return spec.status
    if spec.stopped is not None:
        return "stopped"
    return "completed" if spec.end is not None else "unknown"


def _statement(ctx: BuildContext, spec: MedicationSpec, path: tuple[str | int, ...]) -> Built:
    concept = ctx.resolve(spec.term, ["medication"], (*path, "term"))
    route = ctx.qualifier(spec.route, "route", (*path, "route")) if spec.route is not None else None
    start = ctx.when((*path, "start"))
    end = ctx.when((*path, "stopped", "at")) if spec.stopped is not None else ctx.when((*path, "end"))
    several = len(spec.dosage) > 1
    statement = MedicationStatement(
        **ctx.identity("MedicationStatement", spec.id),
        status=_status(spec),
        statusReason=[CodeableConcept(text=spec.stopped.reason)] if spec.stopped and spec.stopped.reason else None,
        medicationCodeableConcept=codeable_concept(concept.codings, spec.text or concept.text),
        subject=ctx.patient_reference(),
        effectivePeriod=Period(start=start, end=end) if start or end else None,
        reasonReference=[
            ctx.reference_to(item, REASON_TYPES, (*path, "reason", i)) for i, item in enumerate(spec.reason)
        ]
        or None,
        note=[{"text": spec.note}] if spec.note else None,
        dosage=[
            build_dosage(ctx, dose, (*path, "dosage", k), k + 1 if several else None, route)
            for k, dose in enumerate(spec.dosage)
        ]
        or ([Dosage(route=route)] if route is not None else None),
    )
    return Built(spec.id, statement)
