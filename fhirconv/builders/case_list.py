"""List: the case as a whole. Its title, the notes the case file holds that no clinical resource has a place for
(the case note, named events, notes on the death and on stays), and an entry for every resource of the case."""

from __future__ import annotations

from collections.abc import Sequence

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.list import List, ListEntry

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext

KEY = "case.list"


def build_case_list(ctx: BuildContext, members: Sequence[Built]) -> Built:
    case = ctx.case
    meta = case.case
    notes = [meta.note] if meta.note else []
    source_facts = [f"Source report language: {meta.language}."]
    if meta.source.published:
        source_facts.append(f"Published: {meta.source.published}.")
    notes.append(" ".join(source_facts))
    for index, event in enumerate(case.events):
        if event.text:
            notes.append(f"{event.id} ({ctx.when(('events', index, 'at'))}): {event.text}")
    if case.patient.deceased is not None and case.patient.deceased.note:
        notes.append(f"Death: {case.patient.deceased.note}")
    for stay in case.stays:
        if stay.note:
            notes.append(f"{stay.id}: {stay.note}")
    recorded = ctx.recorded()
    resource = List(
        **ctx.identity("List", KEY),
        status="current",
        mode="snapshot",
        title=meta.title,
        code=CodeableConcept(text="Clinical case report"),
        subject=ctx.patient_reference(),
        date=f"{recorded}T00:00:00Z",
        note=[Annotation(text=text) for text in notes],
        entry=[ListEntry(item=ctx.reference(m.resource_type, m.key)) for m in members],
    )
    return Built(KEY, resource)
