"""What every builder needs: the case, the terminology, the resolved timeline, ids, and the run report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding as FhirCoding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference

from fhirconv.casefile.loader import FieldPath
from fhirconv.casefile.models import BodySite, CaseFile, InlineTerm, Term
from fhirconv.casefile.quantities import Amount
from fhirconv.casefile.resolution import Timeline
from fhirconv.casefile.timeline import Precision, parse_date
from fhirconv.errors import CaseSchemaError, FhirconvError, TimeExpressionError, UnknownTermError
from fhirconv.ids import ResourceIds
from fhirconv.terminology import Coding, Terminology
from fhirconv.terminology.codes import UCUM, code_shape_ok
from fhirconv.terminology.lookup import article


@dataclass(frozen=True)
class UnmappedTerm:
    """A term the tables do not know, kept as text because the user allowed it."""

    term: str
    field: str
    suggestions: tuple[str, ...]


@dataclass
class RunReport:
    """What a conversion wants the user to know besides the bundle."""

    unmapped: list[UnmappedTerm] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ResolvedConcept:
    text: str
    codings: tuple[Coding, ...]
    category: str | None = None
    unit: str | None = None


class BuildContext:
    def __init__(
        self,
        case: CaseFile,
        terminology: Terminology,
        timeline: Timeline,
        *,
        allow_unmapped: bool = False,
    ) -> None:
        self.case = case
        self.terminology = terminology
        self.timeline = timeline
        self.ids = ResourceIds(case.case.id)
        self.allow_unmapped = allow_unmapped
        self.report = RunReport()
        self._elements: dict[str, str] = {}
        self._collect_ids()

    # -- element ids --------------------------------------------------------------------------------------------

    def _collect_ids(self) -> None:
        case = self.case

        def add(element_id: str | None, resource_type: str) -> None:
            if element_id is not None:
                self._elements[element_id] = resource_type

        for condition in case.conditions:
            add(condition.id, "Condition")
        stack = list(case.observations)
        while stack:
            observation = stack.pop()
            add(observation.id, "Observation")
            stack.extend(observation.members)
        for medication in case.medications:
            add(medication.id, "MedicationStatement")
        for procedure in case.procedures:
            add(procedure.id, "Procedure")
        for stay in case.stays:
            add(stay.id, "Encounter")
        for exposure in case.patient.exposures:
            add(exposure.id, "Observation")

    def reference_to(self, element_id: str, allowed: Sequence[str], path: FieldPath) -> Reference:
        resource_type = self._elements.get(element_id)
        if resource_type is None:
            raise CaseSchemaError(
                f"no element has the id {element_id!r}",
                hint="refer to the id of a condition, observation, medication, procedure or stay",
            ).at_path(path)
        if resource_type not in allowed:
            raise CaseSchemaError(
                f"{element_id!r} becomes {article(resource_type)}, which cannot be referred to here",
                hint=f"refer to {' or '.join(article(a) for a in allowed)}",
            ).at_path(path)
        return self.reference(resource_type, element_id)

    def reference(self, resource_type: str, key: str) -> Reference:
        return Reference(reference=self.ids.full_url(resource_type, key))

    def patient_reference(self) -> Reference:
        return self.reference("Patient", "patient")

    def identity(self, resource_type: str, key: str) -> dict[str, object]:
        """The id and identifier every resource gets."""
        return {
            "id": self.ids.uuid(resource_type, key),
            "identifier": [
                Identifier(
                    system=self.ids.identifier_system,
                    value=self.ids.identifier_value(resource_type, key),
                )
            ],
        }

    # -- time -------------------------------------------------------------------------------------------------

    def recorded(self) -> str:
        """case.recorded, which must be a full date: it dates the List and the Provenance."""
        text = self.case.case.recorded
        try:
            recorded = parse_date(text)
        except FhirconvError as exc:
            raise exc.at_path(("case", "recorded")) from None
        if recorded.precision is not Precision.DAY:
            raise TimeExpressionError(
                f"{text!r} must be a full date", hint="write case.recorded as YYYY-MM-DD"
            ).at_path(("case", "recorded"))
        return recorded.fhir()

    def when(self, path: FieldPath) -> str | None:
        return self.timeline.date(path).fhir() if self.timeline.has(path) else None

    # -- terms --------------------------------------------------------------------------------------------------

    def resolve(
        self, term: Term, kinds: Iterable[str], path: FieldPath, category: str | None = None
    ) -> ResolvedConcept:
        """The concept of ``term`` among ``kinds``; for qualifiers, ``category`` says which kind of qualifier."""
        if isinstance(term, InlineTerm):
            return self._inline(term, path)
        try:
            concept = self.terminology.concept(term, kinds)
            if category is not None and concept.category != category:
                raise CaseSchemaError(
                    f"{term!r} is {article(concept.category or 'qualifier')} ({concept.key}), not {article(category)}",
                    hint=f"use {article(category)} term here; 'fhirconv mappings list --kind qualifier' lists them",
                ).at_path(path)
        except UnknownTermError as exc:
            if not self.allow_unmapped or self.terminology.find(term) is not None:
                raise exc.at_path(path) from None
            from fhirconv.errors import render_path

            self.report.unmapped.append(UnmappedTerm(term, render_path(path), tuple(exc.suggestions)))
            return ResolvedConcept(text=term, codings=())
        return ResolvedConcept(concept.text, concept.codings, concept.category, concept.unit)

    def _inline(self, term: InlineTerm, path: FieldPath) -> ResolvedConcept:
        codings: list[Coding] = []
        for index, coding in enumerate(term.codings):
            if not coding.system.startswith(("http://", "https://", "urn:")):
                raise CaseSchemaError(
                    f"the system {coding.system!r} is not a URI", hint="e.g. http://snomed.info/sct"
                ).at_path((*path, "codings", index, "system"))
            if not code_shape_ok(coding.system, coding.code):
                raise CaseSchemaError(
                    f"{coding.code!r} is not a well-formed code of {coding.system}", hint="check the code"
                ).at_path((*path, "codings", index, "code"))
            codings.append(Coding(coding.system, coding.code, coding.display, coding.source))
        self.report.inline.append(term.text)
        return ResolvedConcept(term.text, tuple(codings))

    def codeable(self, term: Term, kinds: Iterable[str], path: FieldPath, text: str | None = None) -> CodeableConcept:
        concept = self.resolve(term, kinds, path)
        return codeable_concept(concept.codings, text or concept.text)

    def qualifier(self, term: Term, category: str, path: FieldPath) -> CodeableConcept:
        """A route, specimen, method, severity or result value, checked to be of that category."""
        concept = self.resolve(term, ["qualifier"], path, category)
        return codeable_concept(concept.codings, concept.text)

    def body_site(self, site: Term | BodySite, path: FieldPath) -> CodeableConcept:
        if not isinstance(site, BodySite):
            return self.qualifier(site, "body-site", path)
        concept = self.resolve(site.term, ["qualifier"], (*path, "term"), "body-site")
        # Laterality stays in the text: a pre-coordinated site code would need checking we have not done.
        if site.laterality == "bilateral":
            text = f"{concept.text}, bilateral"
        elif site.laterality:
            text = f"{site.laterality.capitalize()} {concept.text[:1].lower()}{concept.text[1:]}"
        else:
            text = concept.text
        return codeable_concept(concept.codings, text)

    def fhir_concept(self, system_name: str, word: str) -> CodeableConcept:
        coding = self.terminology.fhir_coding(system_name, word)
        return CodeableConcept(coding=[FhirCoding(system=coding.system, code=coding.code, display=coding.display)])

    def fhir_code(self, system_name: str, word: str) -> FhirCoding:
        coding = self.terminology.fhir_coding(system_name, word)
        return FhirCoding(system=coding.system, code=coding.code, display=coding.display)

    # -- quantities ---------------------------------------------------------------------------------------------

    def quantity(
        self, value: Decimal, written_unit: str | None, path: FieldPath, default_ucum: str | None = None
    ) -> Quantity:
        if written_unit is None:
            if default_ucum is None:
                return Quantity(value=value)
            return Quantity(value=value, unit=default_ucum, system=UCUM, code=default_ucum)
        try:
            unit = self.terminology.unit(written_unit)
        except FhirconvError as exc:
            raise exc.at_path(path) from None
        return Quantity(value=value, unit=unit.written, system=UCUM, code=unit.ucum)

    def amount_quantity(self, amount: Amount, path: FieldPath) -> Quantity:
        return self.quantity(amount.value, amount.unit, path)


def codeable_concept(codings: Sequence[Coding], text: str) -> CodeableConcept:
    return CodeableConcept(
        coding=[FhirCoding(system=c.system, code=c.code, display=c.display) for c in codings] or None,
        text=text,
    )
