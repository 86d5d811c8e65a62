"""Procedure, with its findings as a result Observation that is part of it."""

from __future__ import annotations

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.procedure import Procedure

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext, codeable_concept
from fhirconv.casefile.models import ProcedureSpec
from fhirconv.terminology.codes import LOINC

REASON_TYPES = ("Condition", "Observation", "Procedure")


def build_procedures(ctx: BuildContext) -> list[Built]:
    built: list[Built] = []
    for index, spec in enumerate(ctx.case.procedures):
        built.extend(_procedure(ctx, spec, ("procedures", index)))
    return built


def _procedure(ctx: BuildContext, spec: ProcedureSpec, path: tuple[str | int, ...]) -> list[Built]:
    concept = ctx.resolve(spec.term, ["procedure"], (*path, "term"))
    at = ctx.when((*path, "at"))
    start, end = ctx.when((*path, "start")), ctx.when((*path, "end"))
    body_sites = [ctx.body_site(site, (*path, "body_site", i)) for i, site in enumerate(spec.body_site)] or None
    procedure = Procedure(
        **ctx.identity("Procedure", spec.id),
        status=spec.status,
        code=codeable_concept(concept.codings, spec.text or concept.text),
        subject=ctx.patient_reference(),
        performedDateTime=at,
        performedPeriod=Period(start=start, end=end) if start or end else None,
        reasonReference=[
            ctx.reference_to(item, REASON_TYPES, (*path, "reason", i)) for i, item in enumerate(spec.reason)
        ]
        or None,
        bodySite=body_sites,
        note=[{"text": spec.note}] if spec.note else None,
    )
    built = [Built(spec.id, procedure)]
    if spec.findings:
        # The report's own words for the result; an imaging concept's LOINC report code names it when there is one.
        loinc = tuple(c for c in concept.codings if c.system == LOINC)
        key = f"{spec.id}.findings"
        built.append(
            Built(
                key,
                Observation(
                    **ctx.identity("Observation", key),
                    status="final",
                    partOf=[ctx.reference("Procedure", spec.id)],
                    category=[ctx.fhir_concept("observation-category", "imaging" if loinc else "procedure")],
                    code=codeable_concept(loinc, f"{spec.text or concept.text}: findings"),
                    subject=ctx.patient_reference(),
                    effectiveDateTime=at or start,
                    bodySite=body_sites[0] if body_sites and len(body_sites) == 1 else None,
                    valueString=spec.findings,
                ),
            )
        )
    return built
