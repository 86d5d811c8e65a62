"""Patient, and the social-history observations the case states about the patient (smoking, exposures, age)."""

from __future__ import annotations

from decimal import Decimal

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext, codeable_concept
from fhirconv.casefile.models import Age
from fhirconv.casefile.quantities import parse_number

_AGE_UNITS = {"years": "a", "months": "mo", "weeks": "wk", "days": "d"}


def build_patient(ctx: BuildContext) -> list[Built]:
    spec = ctx.case.patient
    patient = Patient(
        **ctx.identity("Patient", "patient"),
        gender=spec.sex,
        deceasedDateTime=ctx.when(("patient", "deceased", "at")) if spec.deceased else None,
    )
    built = [Built("patient", patient)]
    if spec.age is not None:
        built.append(_age(ctx, spec.age))
    if spec.smoking is not None:
        built.extend(_smoking(ctx))
    for index, exposure in enumerate(spec.exposures):
        path = ("patient", "exposures", index)
        key = exposure.id or f"patient.exposure-{index + 1}"
        concept = ctx.resolve(exposure.term, ["observation"], (*path, "term"))
        built.append(
            Built(
                key,
                Observation(
                    **ctx.identity("Observation", key),
                    status="final",
                    category=[ctx.fhir_concept("observation-category", concept.category or "social-history")],
                    code=codeable_concept(concept.codings, concept.text),
                    subject=ctx.patient_reference(),
                    effectiveDateTime=ctx.when((*path, "at")),
                    valueBoolean=not exposure.absent,
                    note=[{"text": exposure.note}] if exposure.note else None,
                ),
            )
        )
    return built


def _age(ctx: BuildContext, age: Age | Decimal | int) -> Built:
    value, unit = (age.value, age.unit) if isinstance(age, Age) else (age, "years")
    ucum = _AGE_UNITS[unit]
    return Built(
        "patient.age",
        Observation(
            **ctx.identity("Observation", "patient.age"),
            status="final",
            code=ctx.codeable("age", ["observation"], ("patient", "age")),
            subject=ctx.patient_reference(),
            effectiveDateTime=ctx.timeline.index.fhir(),
            valueQuantity=ctx.quantity(parse_number(value), None, ("patient", "age"), default_ucum=ucum),
        ),
    )


def _smoking(ctx: BuildContext) -> list[Built]:
    smoking = ctx.case.patient.smoking
    assert smoking is not None
    path = ("patient", "smoking")
    when = ctx.when((*path, "at"))
    category = [ctx.fhir_concept("observation-category", "social-history")]
    status = Observation(
        **ctx.identity("Observation", "patient.smoking-status"),
        status="final",
        category=category,
        code=ctx.codeable("smoking-status", ["observation"], path),
        subject=ctx.patient_reference(),
        effectiveDateTime=when,
        valueCodeableConcept=ctx.qualifier(smoking.status, "value", (*path, "status")),
    )
    built = [Built("patient.smoking-status", status)]
    if smoking.pack_years is not None:
        concept = ctx.resolve("pack-years", ["observation"], (*path, "pack_years"))
        built.append(
            Built(
                "patient.pack-years",
                Observation(
                    **ctx.identity("Observation", "patient.pack-years"),
                    status="final",
                    category=category,
                    code=codeable_concept(concept.codings, concept.text),
                    subject=ctx.patient_reference(),
                    effectiveDateTime=when,
                    valueQuantity=ctx.quantity(
                        parse_number(smoking.pack_years), None, (*path, "pack_years"), default_ucum=concept.unit
                    ),
                ),
            )
        )
    return built
