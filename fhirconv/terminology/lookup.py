"""The terminology: find a concept by key or synonym (English or French), suggest near misses, map units to UCUM."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fhirconv.errors import Location, MappingError, QuantityError, UnknownTermError
from fhirconv.terminology.normalize import normalize
from fhirconv.terminology.tables import (
    Coding,
    Concept,
    FhirSystem,
    Tables,
    UnitEntry,
    bundled_mappings_dir,
    read_tables,
)


@dataclass(frozen=True)
class Unit:
    """A unit as written and its UCUM code."""

    written: str
    ucum: str


class Terminology:
    """Lookups over a set of tables. Build it with :meth:`load` (bundled tables plus the user's folders)."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._by_name: dict[str, dict[str, Concept]] = {}
        self._by_key: dict[str, Concept] = {}
        self._displays: dict[tuple[str, str], set[str]] = {}
        self._units_exact: dict[str, UnitEntry] = {}
        self._units_folded: dict[str, list[UnitEntry]] = {}
        self._systems: dict[str, FhirSystem] = {}
        self._system_urls: dict[str, FhirSystem] = {}
        self._index()

    @classmethod
    def load(cls, extra_folders: Sequence[Path] = ()) -> Terminology:
        return cls(read_tables([bundled_mappings_dir(), *extra_folders]))

    # -- indexing -------------------------------------------------------------------------------------------------

    def _index(self) -> None:
        for concept in self.tables.concepts:
            if concept.key in self._by_key:
                raise MappingError(
                    f"the key {concept.key!r} is defined twice (first at {self._by_key[concept.key].origin})",
                    hint="rename one of them",
                ).with_location(_origin_location(concept.origin))
            self._by_key[concept.key] = concept
            for name in dict.fromkeys(normalize(n) for n in concept.names):
                # Names are unique within a kind: where a term stands in a case file says which kind it is.
                same_kind = self._by_name.setdefault(name, {})
                other = same_kind.get(concept.kind)
                if other is not None and other.key != concept.key:
                    raise MappingError(
                        f"the name {name!r} of {concept.key!r} also names the {concept.kind} {other.key!r} "
                        f"({other.origin})",
                        hint="a synonym must name one concept of a kind only",
                    ).with_location(_origin_location(concept.origin))
                same_kind[concept.kind] = concept
            for coding in concept.codings:
                self._displays.setdefault((coding.system, coding.code), set()).add(coding.display)
        for unit in self.tables.units:
            for written in unit.written:
                if written in self._units_exact and self._units_exact[written].ucum != unit.ucum:
                    raise MappingError(
                        f"the unit {written!r} maps to {self._units_exact[written].ucum!r} and to {unit.ucum!r}",
                        hint="a written unit must have one UCUM code",
                    ).with_location(_origin_location(unit.origin))
                self._units_exact[written] = unit
                self._units_folded.setdefault(written.casefold(), []).append(unit)
        for system in self.tables.systems:
            self._systems[system.name] = system
            self._system_urls[system.url] = system
            for code in system.codes:
                self._displays.setdefault((system.url, code.code), set()).add(code.display)

    # -- concepts ------------------------------------------------------------------------------------------------

    @property
    def concepts(self) -> list[Concept]:
        return self.tables.concepts

    def find_all(self, term: str) -> list[Concept]:
        """Every concept named ``term`` (by key, text or synonym), one per kind at most."""
        by_key = self._by_key.get(term)
        found = list(self._by_name.get(normalize(term), {}).values())
        if by_key is not None:
            found = [by_key, *(c for c in found if c.key != by_key.key)]
        return found

    def find(self, term: str, kinds: Iterable[str] | None = None) -> Concept | None:
        """The concept named ``term`` among ``kinds`` (in that order of preference), or ``None``."""
        found = self.find_all(term)
        if kinds is None:
            return found[0] if found else None
        for kind in kinds:
            for concept in found:
                if concept.kind == kind:
                    return concept
        return None

    def concept(self, term: str, kinds: Iterable[str] | None = None) -> Concept:
        """The concept named ``term``; an :class:`UnknownTermError` with suggestions when there is none."""
        wanted = list(kinds) if kinds is not None else None
        found = self.find(term, wanted)
        if found is not None:
            return found
        suggestions = self.suggest(term, set(wanted) if wanted is not None else None)
        other = self.find(term)
        if other is not None and wanted is not None:
            raise UnknownTermError(
                term,
                suggestions,
                message=f"{term!r} is {article(other.kind)} ({other.key}), "
                f"not {' or '.join(article(k) for k in wanted)}",
                hint=f"use {article(wanted[0])} term here" + (f": {', '.join(suggestions)}?" if suggestions else ""),
            )
        raise UnknownTermError(term, suggestions)

    def suggest(self, term: str, kinds: set[str] | None = None, limit: int = 3) -> list[str]:
        names: dict[str, list[Concept]] = {}
        for name, by_kind in self._by_name.items():
            matching = [c for c in by_kind.values() if kinds is None or c.kind in kinds]
            if matching:
                names[name] = matching
        close = difflib.get_close_matches(normalize(term), list(names), n=limit * 4, cutoff=0.6)
        keys: list[str] = []
        for name in close:
            for concept in names[name]:
                if concept.key not in keys:
                    keys.append(concept.key)
        return keys[:limit]

    # -- codes ---------------------------------------------------------------------------------------------------

    def displays(self, system: str, code: str) -> set[str] | None:
        """The displays the tables give for a code, or ``None`` when the tables do not know it."""
        return self._displays.get((system, code))

    def knows_system(self, system: str) -> bool:
        return system in self._system_urls or any(s == system for s, _ in self._displays)

    def fhir_coding(self, system_name: str, word: str) -> Coding:
        """A coding of an HL7 code system the builders use, by code or alias (``'high'`` -> ``H``)."""
        system = self._systems.get(system_name)
        if system is None:
            raise MappingError(f"no code system {system_name!r} in the tables", hint="check mappings/fhir-codes.yaml")
        for code in system.codes:
            if word == code.code or word in code.aliases:
                return Coding(system.url, code.code, code.display, system.source)
        raise MappingError(f"{word!r} is not a code of {system_name}", hint="check mappings/fhir-codes.yaml")

    # -- units ---------------------------------------------------------------------------------------------------

    def unit(self, written: str) -> Unit:
        """The UCUM code of a unit as written: the units table first, then the text itself if it is valid UCUM."""
        from fhirconv.ucum import is_valid_ucum

        text = written.strip()
        entry = self._units_exact.get(text)
        if entry is None:
            folded = self._units_folded.get(text.casefold(), [])
            if len({e.ucum for e in folded}) == 1:
                entry = folded[0]
        if entry is not None:
            return Unit(text, entry.ucum)
        if is_valid_ucum(text):
            return Unit(text, text)
        close = difflib.get_close_matches(text, list(self._units_exact), n=3, cutoff=0.5)
        raise QuantityError(
            f"the unit {text!r} is neither in the units table nor valid UCUM",
            hint=("did you mean " + ", ".join(repr(c) for c in close) + "? " if close else "")
            + "add it to a units table passed with --mappings",
        )


def _origin_location(origin: str) -> Location:
    file, _, line = origin.rpartition(":")
    return Location(file=file or None, line=int(line) if line.isdigit() else None)


def article(word: str) -> str:
    """'an observation', 'a condition'."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
