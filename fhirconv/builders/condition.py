"""Condition: a disorder or finding, with its statuses, timing, body sites, severity and evidence."""

from __future__ import annotations

from fhir.resources.R4B.condition import Condition, ConditionEvidence

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext, codeable_concept
from fhirconv.casefile.models import ConditionSpec

EVIDENCE_TYPES = ("Observation", "Procedure", "Condition")


def build_conditions(ctx: BuildContext) -> list[Built]:
    causes_of_death: set[str] = set()
    if ctx.case.patient.deceased is not None:
        for index, cause in enumerate(ctx.case.patient.deceased.causes):
            ctx.reference_to(cause, ["Condition"], ("patient", "deceased", "causes", index))
            causes_of_death.add(cause)
    return [
        _condition(ctx, spec, ("conditions", index), spec.id in causes_of_death)
        for index, spec in enumerate(ctx.case.conditions)
    ]


def _clinical_status(spec: ConditionSpec) -> str:
    if spec.clinical_status is not None:
        return spec.clinical_status
    if spec.history:
        return "inactive"
    return "resolved" if spec.abatement is not None else "active"


def _condition(ctx: BuildContext, spec: ConditionSpec, path: tuple[str | int, ...], cause_of_death: bool) -> Built:
    concept = ctx.resolve(spec.term, ["condition"], (*path, "term"))
    category = spec.category or concept.category or ("problem-list-item" if spec.history else "encounter-diagnosis")
    notes = [{"text": spec.note}] if spec.note else []
    if cause_of_death:
        notes.append({"text": "Cause of death."})
    evidence = [
        ConditionEvidence(detail=[ctx.reference_to(item, EVIDENCE_TYPES, (*path, "evidence", i))])
        for i, item in enumerate(spec.evidence)
    ]
    condition = Condition(
        **ctx.identity("Condition", spec.id),
        clinicalStatus=ctx.fhir_concept("condition-clinical", _clinical_status(spec)),
        verificationStatus=ctx.fhir_concept("condition-ver-status", spec.verification_status),
        category=[ctx.fhir_concept("condition-category", category)],
        severity=ctx.qualifier(spec.severity, "severity", (*path, "severity")) if spec.severity else None,
        code=codeable_concept(concept.codings, spec.text or concept.text),
        bodySite=[ctx.body_site(site, (*path, "body_site", i)) for i, site in enumerate(spec.body_site)] or None,
        subject=ctx.patient_reference(),
        onsetDateTime=ctx.when((*path, "onset")),
        abatementDateTime=ctx.when((*path, "abatement")),
        recordedDate=ctx.when((*path, "recorded")),
        evidence=evidence or None,
        note=notes or None,
    )
    return Built(spec.id, condition)
