"""Resolve every time of a case file against the index date and against each other.

Each time field becomes a slot with its field path; anchors name slots (an element's start or end). Resolution is
memoised and detects cycles, so the order of items in the file does not matter except for "later".
"""

from __future__ import annotations

from dataclasses import dataclass

from fhirconv.casefile.loader import FieldPath
from fhirconv.casefile.models import CaseFile, ObservationSpec
from fhirconv.casefile.timeline import AnchorRef, PartialDate, TimeExpression, parse_date, parse_time, resolve
from fhirconv.errors import FhirconvError, Location, TimeExpressionError, render_path


@dataclass(frozen=True)
class _Slot:
    path: FieldPath
    text: str
    previous: FieldPath | None  # the slot "later" counts from


class Timeline:
    """All times of one case, resolved lazily; ``date(path)`` gives the date of the time at ``path``."""

    def __init__(self, case: CaseFile, index_date: str | None = None) -> None:
        self._index_event = case.case.index_event
        index_text = index_date if index_date is not None else case.case.index_date
        try:
            self._index = parse_date(index_text)
        except TimeExpressionError as exc:
            if index_date is not None:
                raise exc.with_location(Location(field="--index-date")) from None
            raise exc.at_path(("case", "index_date")) from None
        self._slots: dict[FieldPath, _Slot] = {}
        self._anchors: dict[str, dict[str, FieldPath]] = {}
        self._resolved: dict[FieldPath, PartialDate] = {}
        self._parsed: dict[FieldPath, TimeExpression] = {}
        self._visiting: list[FieldPath] = []
        self._collect(case)

    @property
    def index(self) -> PartialDate:
        return self._index

    def resolve_all(self) -> None:
        """Resolve every slot so that any error surfaces before output is built."""
        for path in self._slots:
            self.date(path)

    def has(self, path: FieldPath) -> bool:
        return path in self._slots

    def date(self, path: FieldPath) -> PartialDate:
        if path in self._resolved:
            return self._resolved[path]
        slot = self._slots[path]
        if path in self._visiting:
            cycle = " -> ".join(render_path(p) for p in [*self._visiting[self._visiting.index(path) :], path])
            raise TimeExpressionError(
                f"times refer to each other in a circle: {cycle}",
                hint="anchor one of them to a date or to the index",
            ).at_path(path)
        self._visiting.append(path)
        try:
            expression = self._parse(slot)
            previous = self.date(slot.previous) if expression.later and slot.previous is not None else None
            try:
                value = resolve(expression, self._anchor_date, previous)
            except FhirconvError as exc:
                raise exc.at_path(path) from None
            except (OverflowError, ValueError):
                raise TimeExpressionError(f"{slot.text!r} falls outside the calendar").at_path(path) from None
        finally:
            self._visiting.pop()
        self._resolved[path] = value
        return value

    def _parse(self, slot: _Slot) -> TimeExpression:
        if slot.path not in self._parsed:
            try:
                self._parsed[slot.path] = parse_time(slot.text)
            except FhirconvError as exc:
                raise exc.at_path(slot.path) from None
        return self._parsed[slot.path]

    def _anchor_date(self, anchor: AnchorRef) -> PartialDate:
        if anchor.name in {"index", self._index_event}:
            return self._index
        edges = self._anchors.get(anchor.name)
        if edges is None:
            known = sorted({"index", self._index_event, *self._anchors})
            raise TimeExpressionError(
                f"unknown anchor {anchor.name!r}",
                hint=f"use 'index', '{self._index_event}', or the id of an event or element ({', '.join(known[:8])}"
                + (", ..." if len(known) > 8 else "")
                + ")",
            )
        path = edges.get(anchor.edge)
        if path is None:
            raise TimeExpressionError(
                f"{anchor.name!r} has no {anchor.edge} time", hint=f"give {anchor.name!r} a {anchor.edge} time first"
            )
        return self.date(path)

    # -- collecting slots -------------------------------------------------------------------------------------

    def _add(self, path: FieldPath, text: str | None, previous: FieldPath | None) -> FieldPath | None:
        if text is None:
            return None
        self._slots[path] = _Slot(path, text, previous)
        return path

    def _name(self, element_id: str | None, path: FieldPath, start: FieldPath | None, end: FieldPath | None) -> None:
        if element_id is None:
            return
        if element_id in self._anchors or element_id in {"index", self._index_event}:
            reserved = element_id in {"index", self._index_event, "death"}
            raise TimeExpressionError(
                f"the id {element_id!r} is {'reserved' if reserved else 'used twice'}",
                hint="every id in a case file must be unique; 'index', 'death' and the index event's name are taken",
            ).at_path((*path, "id"))
        edges: dict[str, FieldPath] = {}
        if start is not None:
            edges["start"] = start
        if end is not None:
            edges["end"] = end
        elif start is not None:
            edges["end"] = start
        self._anchors[element_id] = edges

    def _collect(self, case: CaseFile) -> None:
        # The death is named first, so that an element that also calls itself "death" is the one reported.
        if case.patient.deceased is not None:
            death = self._add(("patient", "deceased", "at"), case.patient.deceased.at, None)
            self._name("death", ("patient", "deceased"), death, None)
        previous: FieldPath | None = None
        for i, event in enumerate(case.events):
            path = ("events", i)
            previous = self._add((*path, "at"), event.at, previous)
            self._name(event.id, path, previous, None)
        patient = case.patient
        if patient.smoking is not None:
            self._add(("patient", "smoking", "at"), patient.smoking.at, None)
        previous = None
        for i, exposure in enumerate(patient.exposures):
            start = self._add(("patient", "exposures", i, "at"), exposure.at, previous)
            self._name(exposure.id, ("patient", "exposures", i), start, None)
            previous = start
        previous = None
        for i, condition in enumerate(case.conditions):
            path = ("conditions", i)
            start = self._add((*path, "onset"), condition.onset, previous)
            end = self._add((*path, "abatement"), condition.abatement, start)
            self._add((*path, "recorded"), condition.recorded, start)
            self._name(condition.id, path, start, end)
            previous = start or previous
        self._collect_observations(case.observations, ("observations",))
        previous = None
        for i, medication in enumerate(case.medications):
            path = ("medications", i)
            start = self._add((*path, "start"), medication.start, previous)
            end = self._add((*path, "end"), medication.end, start)
            if medication.stopped is not None:
                end = self._add((*path, "stopped", "at"), medication.stopped.at, start)
            phase_previous = start
            for k, dose in enumerate(medication.dosage):
                phase_start = self._add((*path, "dosage", k, "start"), dose.start, phase_previous)
                self._add((*path, "dosage", k, "end"), dose.end, phase_start or phase_previous)
                phase_previous = phase_start or phase_previous
            self._name(medication.id, path, start, end)
            previous = start or previous
        previous = None
        for i, procedure in enumerate(case.procedures):
            path = ("procedures", i)
            start = self._add((*path, "at"), procedure.at, previous) or self._add(
                (*path, "start"), procedure.start, previous
            )
            end = self._add((*path, "end"), procedure.end, start)
            self._name(procedure.id, path, start, end)
            previous = start or previous
        previous = None
        for i, stay in enumerate(case.stays):
            path = ("stays", i)
            start = self._add((*path, "start"), stay.start, previous)
            end = self._add((*path, "end"), stay.end, start)
            self._name(stay.id, path, start, end)
            previous = start or previous

    def _collect_observations(self, observations: list[ObservationSpec], base: FieldPath) -> None:
        previous: FieldPath | None = None
        for i, observation in enumerate(observations):
            path = (*base, i)
            start = self._add((*path, "at"), observation.at, previous)
            self._name(observation.id, path, start, None)
            self._collect_observations(observation.members, (*path, "members"))
            previous = start
