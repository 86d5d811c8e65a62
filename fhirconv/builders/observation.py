"""Observation: measurements with units and reference ranges, coded and text results, panels and components."""

from __future__ import annotations

from decimal import Decimal

from fhir.resources.R4B.observation import Observation, ObservationComponent, ObservationReferenceRange
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.specimen import Specimen, SpecimenCollection

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext, ResolvedConcept, codeable_concept
from fhirconv.casefile.loader import FieldPath
from fhirconv.casefile.models import Component, ObservationSpec
from fhirconv.casefile.quantities import is_number, parse_number, parse_range
from fhirconv.errors import FhirconvError

RESULT_SOURCES = ("Observation",)


def build_observations(ctx: BuildContext) -> list[Built]:
    built: list[Built] = []
    for index, spec in enumerate(ctx.case.observations):
        built.extend(_observation(ctx, spec, ("observations", index), None))
    return built


def _value(
    ctx: BuildContext,
    value: Decimal | int | str | None,
    unit: str | None,
    concept: ResolvedConcept,
    path: FieldPath,
) -> dict[str, object]:
    if value is None:
        if unit is not None:
            raise FhirconvError("a unit is given without a value", hint="add the value or remove the unit").at_path(
                (*path, "unit")
            )
        return {}
    if is_number(value):
        try:
            number = parse_number(value)
        except FhirconvError as exc:
            raise exc.at_path((*path, "value")) from None
        return {"valueQuantity": ctx.quantity(number, unit, (*path, "unit"), default_ucum=concept.unit)}
    assert isinstance(value, str)
    if unit is not None:
        raise FhirconvError(f"{value!r} is not a number but a unit is given", hint="write the value as digits").at_path(
            (*path, "value")
        )
    result = ctx.resolve(value, ["qualifier"], (*path, "value"), "value")
    return {"valueCodeableConcept": codeable_concept(result.codings, result.text)}


def _reference_range(
    ctx: BuildContext, text: str, unit: str | None, concept: ResolvedConcept, path: FieldPath
) -> ObservationReferenceRange:
    try:
        written = parse_range(text)
    except FhirconvError as exc:
        raise exc.at_path(path) from None
    range_unit = written.unit or unit

    def bound(value: Decimal | None) -> Quantity | None:
        if value is None:
            return None
        return ctx.quantity(value, range_unit, path, default_ucum=concept.unit)

    return ObservationReferenceRange(low=bound(written.low), high=bound(written.high), text=written.text)


def _component(ctx: BuildContext, component: Component, path: FieldPath) -> ObservationComponent:
    concept = ctx.resolve(component.term, ["observation"], (*path, "term"))
    fields: dict[str, object] = _value(ctx, component.value, component.unit, concept, path)
    if component.text is not None:
        fields["valueString"] = component.text
    return ObservationComponent(
        code=codeable_concept(concept.codings, concept.text),
        interpretation=[ctx.fhir_concept("observation-interpretation", component.interpretation)]
        if component.interpretation
        else None,
        referenceRange=[
            _reference_range(ctx, component.reference_range, component.unit, concept, (*path, "reference_range"))
        ]
        if component.reference_range
        else None,
        **fields,
    )


def _observation(ctx: BuildContext, spec: ObservationSpec, path: FieldPath, panel_category: str | None) -> list[Built]:
    concept = ctx.resolve(spec.term, ["observation"], (*path, "term"))
    category = spec.category or concept.category or panel_category
    fields = _value(ctx, spec.value, spec.unit, concept, path)
    if spec.result_text is not None:
        fields["valueString"] = spec.result_text
    built: list[Built] = []
    members: list[Built] = []
    for index, member in enumerate(spec.members):
        member_built = _observation(ctx, member, (*path, "members", index), category)
        members.append(member_built[0])
        built.extend(member_built)
    specimen = None
    if spec.specimen is not None:
        specimen_key = f"{spec.id}.specimen"
        built.append(
            Built(
                specimen_key,
                Specimen(
                    **ctx.identity("Specimen", specimen_key),
                    type=ctx.qualifier(spec.specimen, "specimen", (*path, "specimen")),
                    subject=ctx.patient_reference(),
                    collection=SpecimenCollection(collectedDateTime=ctx.when((*path, "at"))),
                ),
            )
        )
        specimen = ctx.reference("Specimen", specimen_key)
    observation = Observation(
        **ctx.identity("Observation", spec.id),
        status="final",
        partOf=[ctx.reference_to(spec.part_of, ["Procedure"], (*path, "part_of"))] if spec.part_of else None,
        category=[ctx.fhir_concept("observation-category", category)] if category else None,
        code=codeable_concept(concept.codings, spec.label or concept.text),
        subject=ctx.patient_reference(),
        effectiveDateTime=ctx.when((*path, "at")),
        interpretation=[ctx.fhir_concept("observation-interpretation", spec.interpretation)]
        if spec.interpretation
        else None,
        note=[{"text": spec.note}] if spec.note else None,
        bodySite=ctx.body_site(spec.body_site, (*path, "body_site")) if spec.body_site is not None else None,
        method=ctx.qualifier(spec.method, "method", (*path, "method")) if spec.method is not None else None,
        specimen=specimen,
        referenceRange=[_reference_range(ctx, spec.reference_range, spec.unit, concept, (*path, "reference_range"))]
        if spec.reference_range
        else None,
        hasMember=[ctx.reference("Observation", m.key) for m in members] or None,
        derivedFrom=[
            ctx.reference_to(item, RESULT_SOURCES, (*path, "derived_from", i))
            for i, item in enumerate(spec.derived_from)
        ]
        or None,
        component=[_component(ctx, c, (*path, "components", i)) for i, c in enumerate(spec.components)] or None,
        **fields,
    )
    return [Built(spec.id, observation), *built]
