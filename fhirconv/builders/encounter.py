"""Encounter: a stay (hospital admission, continuous-care unit) with its class, period and reasons."""

from __future__ import annotations

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.encounter import Encounter, EncounterHospitalization
from fhir.resources.R4B.period import Period

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext, codeable_concept

REASON_TYPES = ("Condition", "Procedure", "Observation")


def build_encounters(ctx: BuildContext) -> list[Built]:
    built: list[Built] = []
    for index, spec in enumerate(ctx.case.stays):
        path = ("stays", index)
        concept = ctx.resolve(spec.term, ["encounter", "procedure"], (*path, "term"))
        encounter = Encounter(
            **ctx.identity("Encounter", spec.id),
            status=spec.status,
            class_fhir=ctx.fhir_code("encounter-class", spec.setting),
            type=[codeable_concept(concept.codings, spec.text or concept.text)],
            subject=ctx.patient_reference(),
            period=Period(start=ctx.when((*path, "start")), end=ctx.when((*path, "end"))),
            hospitalization=EncounterHospitalization(dischargeDisposition=CodeableConcept(text=spec.discharge))
            if spec.discharge
            else None,
            reasonReference=[
                ctx.reference_to(item, REASON_TYPES, (*path, "reason", i)) for i, item in enumerate(spec.reason)
            ]
            or None,
        )
        built.append(Built(spec.id, encounter))
    return built
