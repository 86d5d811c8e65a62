"""Typed access to the generated FHIR R4 (4.0.1) definitions index, ``fhirconv/data/r4-index.json.gz``.

The index is generated from the official ``hl7.fhir.r4.core`` 4.0.1 package by ``scripts/generate_r4_index.py``
(never edit it by hand). It holds, for every resource and data type StructureDefinition, the snapshot's elements
(:class:`ElementDef`: path, cardinality, types with Reference/canonical targets, contentReference, fixed/pattern,
binding, constraints), the primitive types' JSON kind and regex (:class:`PrimitiveDef`) and, for every value set
bound with strength ``required`` anywhere in R4, its codes by system (:class:`ValueSetCodes`).

Use::

    from fhirconv.validate.r4index import children, element, load_index

    status = element("Observation", "Observation.status")     # ElementDef; status.binding.value_set, .min, .max
    for child in children("Observation", "Observation.component"):
        ...
    for constraint in status.constraints:                     # Constraint(key, severity, human, expression, source)
        ...
    index = load_index()                                      # cached; index.type("Quantity"), index.value_set(url)

Constraints (FHIRPath invariants) are attached to the element that declares them in the snapshot: a resource's
own invariants and the inherited ``dom-*`` ones are on its root element (``element("Patient", "Patient")``), data
type invariants on the data type's root (``element("Quantity", "Quantity")``), and ``ele-1`` on every element.
``TypeDef.constraints()`` lists every (element, constraint) pair of one type.

Paths are the StructureDefinition paths (``Observation.value[x]``, ``Observation.component.code``); elements of a
data type (``Observation.code.coding``) are found under the data type (``children("CodeableConcept",
"CodeableConcept")``). ``children`` follows contentReference (``Questionnaire.item.item`` -> the children of
``Questionnaire.item``). For walking JSON, :meth:`TypeDef.members` maps each JSON property name of an element's
children (choice types expanded: ``valueQuantity``) to the element and the chosen type.

Types are built lazily, one at a time, on first use; the whole file is read once per process.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "Binding",
    "Constraint",
    "ElementDef",
    "FixedValue",
    "Member",
    "PrimitiveDef",
    "R4Index",
    "TypeDef",
    "TypeRef",
    "ValueSetCodes",
    "children",
    "element",
    "load_index",
]

INDEX_RESOURCE = "r4-index.json.gz"
# Types whose children are defined inline in the StructureDefinition that uses them.
INLINE_TYPES = frozenset({"BackboneElement", "Element"})


@dataclass(frozen=True)
class Constraint:
    """A FHIRPath invariant: ``key`` (``obs-6``), ``severity`` (error/warning), ``human``, ``expression``, and
    ``source`` (the URL of the StructureDefinition that defined it)."""

    key: str
    severity: str
    human: str
    expression: str
    source: str


@dataclass(frozen=True)
class TypeRef:
    """One allowed type of an element: ``code`` (``Quantity``, ``string``, ``Reference``...); for Reference and
    canonical, ``targets`` are the allowed target types (``Patient``, ``Group``; ``Resource`` means any), taken
    from the target profiles; ``profiles`` are the profiles the type must conform to (``SimpleQuantity``)."""

    code: str
    targets: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Binding:
    """``strength`` is required / extensible / preferred / example; ``value_set`` is the URL without version."""

    strength: str
    value_set: str


@dataclass(frozen=True)
class FixedValue:
    """A ``fixed[x]`` or ``pattern[x]`` value: the type suffix (``Uri``, ``CodeableConcept``) and the JSON value."""

    type: str
    value: Any


@dataclass(frozen=True)
class ElementDef:
    """One snapshot element. ``max`` is None for ``*``."""

    path: str
    min: int
    max: int | None
    types: tuple[TypeRef, ...] = ()
    content_reference: str | None = None  # the referenced path, without "#"
    binding: Binding | None = None
    fixed: FixedValue | None = None
    pattern: FixedValue | None = None
    constraints: tuple[Constraint, ...] = ()
    is_modifier: bool = False
    is_summary: bool = False

    @property
    def name(self) -> str:
        """The last path segment as in the definition (``value[x]``)."""
        return self.path.rsplit(".", 1)[-1]

    @property
    def is_choice(self) -> bool:
        return self.path.endswith("[x]")

    @property
    def repeats(self) -> bool:
        """True when the element may occur more than once (a JSON array)."""
        return self.max is None or self.max > 1

    def json_names(self) -> dict[str, TypeRef | None]:
        """JSON property names of this element -> the type chosen by that name (None for contentReference)."""
        if not self.is_choice:
            return {self.name: self.types[0] if len(self.types) == 1 else None}
        stem = self.name[:-3]
        return {stem + ref.code[0].upper() + ref.code[1:]: ref for ref in self.types}


@dataclass(frozen=True)
class Member:
    """A JSON property of an object: its element, and the type it carries (the chosen one for a choice)."""

    element: ElementDef
    type: TypeRef | None


@dataclass(frozen=True)
class PrimitiveDef:
    """A primitive type: ``json`` is "string", "number" or "boolean"; ``regex`` the official value regex, compiled
    with ``re.ASCII`` so that ``\\s`` and ``\\S`` mean what they mean in Java (and so in HAPI's validator)."""

    name: str
    json: str
    regex: re.Pattern[str] | None


@dataclass(frozen=True)
class ValueSetCodes:
    """The codes of a value set by system, or why it could not be expanded offline (``unexpandable``)."""

    url: str
    codes: dict[str, frozenset[str]]
    unexpandable: str | None = None

    def contains(self, system: str | None, code: str) -> bool:
        """``system`` None means any system (for ``code`` elements)."""
        if system is None:
            return any(code in codes for codes in self.codes.values())
        return code in self.codes.get(system, frozenset())

    @property
    def systems(self) -> frozenset[str]:
        return frozenset(self.codes)


@dataclass(frozen=True)
class TypeDef:
    """A resource or data type: its snapshot elements and precomputed lookups."""

    name: str
    kind: str  # resource / complex-type / primitive-type
    url: str
    abstract: bool
    base: str | None
    elements: tuple[ElementDef, ...]
    by_path: dict[str, ElementDef] = field(repr=False, compare=False)
    child_map: dict[str, tuple[ElementDef, ...]] = field(repr=False, compare=False)
    _members: dict[str, dict[str, Member]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def root(self) -> ElementDef:
        return self.elements[0]

    def element(self, path: str) -> ElementDef | None:
        return self.by_path.get(path)

    def resolve(self, path: str) -> str:
        """The path whose children define ``path``'s content (follows contentReference)."""
        found = self.by_path.get(path)
        if found is not None and found.content_reference is not None:
            return found.content_reference
        return path

    def children(self, path: str) -> tuple[ElementDef, ...]:
        return self.child_map.get(self.resolve(path), ())

    def members(self, path: str) -> dict[str, Member]:
        """JSON property name -> Member, for the children of ``path`` (cached)."""
        path = self.resolve(path)
        found = self._members.get(path)
        if found is None:
            found = {}
            for child in self.child_map.get(path, ()):
                for name, ref in child.json_names().items():
                    found[name] = Member(child, ref)
            self._members[path] = found
        return found

    def constraints(self) -> list[tuple[ElementDef, Constraint]]:
        return [(e, c) for e in self.elements for c in e.constraints]


class R4Index:
    """The whole index. Prefer :func:`load_index` (cached)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.fhir_version: str = str(data["fhirVersion"])
        self._constraints = [Constraint(*row) for row in data["constraints"]]
        self._raw_types: dict[str, dict[str, Any]] = data["types"]
        self._types: dict[str, TypeDef] = {}
        self.primitives: dict[str, PrimitiveDef] = {
            name: PrimitiveDef(name, p["json"], re.compile(p["regex"], re.ASCII) if "regex" in p else None)
            for name, p in data["primitives"].items()
        }
        self.profiles: dict[str, str] = dict(data["profiles"])
        self._raw_value_sets: dict[str, dict[str, Any]] = data["valueSets"]
        self._value_sets: dict[str, ValueSetCodes] = {}
        self.resource_types: frozenset[str] = frozenset(
            name for name, raw in self._raw_types.items() if raw["kind"] == "resource" and not raw.get("abstract")
        )
        self.abstract_resource_types: frozenset[str] = frozenset(
            name for name, raw in self._raw_types.items() if raw["kind"] == "resource" and raw.get("abstract")
        )

    @property
    def type_names(self) -> frozenset[str]:
        return frozenset(self._raw_types)

    def has_type(self, name: str) -> bool:
        return name in self._raw_types

    def type(self, name: str) -> TypeDef:
        """The type named ``name``; KeyError if R4 has no such type."""
        found = self._types.get(name)
        if found is None:
            found = self._build_type(name, self._raw_types[name])
            self._types[name] = found
        return found

    def base_of(self, name: str) -> str | None:
        """The base type of ``name`` (``Quantity`` for ``Age``), read without building the type."""
        raw = self._raw_types.get(name)
        return raw.get("base") if raw is not None else None

    def is_primitive(self, name: str) -> bool:
        return name in self.primitives

    def value_set(self, url: str) -> ValueSetCodes | None:
        """A required-bound value set's codes (None when no required binding uses ``url``)."""
        url = url.split("|")[0]
        found = self._value_sets.get(url)
        if found is None:
            raw = self._raw_value_sets.get(url)
            if raw is None:
                return None
            found = ValueSetCodes(
                url,
                {system: frozenset(codes) for system, codes in raw.get("codes", {}).items()},
                raw.get("unexpandable"),
            )
            self._value_sets[url] = found
        return found

    def _build_type(self, name: str, raw: dict[str, Any]) -> TypeDef:
        elements = tuple(self._element(e) for e in raw["elements"])
        by_path = {e.path: e for e in elements}
        child_lists: dict[str, list[ElementDef]] = {}
        for e in elements[1:]:
            child_lists.setdefault(e.path.rsplit(".", 1)[0], []).append(e)
        return TypeDef(
            name=name,
            kind=str(raw["kind"]),
            url=str(raw["url"]),
            abstract=bool(raw.get("abstract", False)),
            base=raw.get("base"),
            elements=elements,
            by_path=by_path,
            child_map={path: tuple(items) for path, items in child_lists.items()},
        )

    def _element(self, raw: dict[str, Any]) -> ElementDef:
        binding = raw.get("binding")
        fixed = raw.get("fixed")
        pattern = raw.get("pattern")
        reference = raw.get("contentReference")
        max_text = str(raw.get("max", "*"))
        return ElementDef(
            path=str(raw["path"]),
            min=int(raw.get("min", 0)),
            max=None if max_text == "*" else int(max_text),
            types=tuple(
                TypeRef(str(t["code"]), tuple(t.get("targets", ())), tuple(t.get("profiles", ())))
                for t in raw.get("types", ())
            ),
            content_reference=str(reference).split("#", 1)[-1] if reference else None,
            binding=Binding(str(binding["strength"]), str(binding["valueSet"])) if binding else None,
            fixed=FixedValue(str(fixed["type"]), fixed["value"]) if fixed else None,
            pattern=FixedValue(str(pattern["type"]), pattern["value"]) if pattern else None,
            constraints=tuple(self._constraints[i] for i in raw.get("constraints", ())),
            is_modifier=bool(raw.get("isModifier", False)),
            is_summary=bool(raw.get("isSummary", False)),
        )


@cache
def load_index() -> R4Index:
    """The packaged index, read once per process."""
    raw = resources.files("fhirconv.data").joinpath(INDEX_RESOURCE).read_bytes()
    return R4Index(json.loads(gzip.decompress(raw)))


def element(type_name: str, path: str) -> ElementDef | None:
    """The element at ``path`` (a StructureDefinition path) of ``type_name``; None if there is none."""
    index = load_index()
    if not index.has_type(type_name):
        return None
    return index.type(type_name).element(path)


def children(type_name: str, path: str) -> tuple[ElementDef, ...]:
    """The direct children of ``path`` in ``type_name``'s definition, following contentReference.

    For an element whose type is a data type (``Observation.code``), the children are the data type's own
    (``children("CodeableConcept", "CodeableConcept")``); this returns them too, with the data type's paths.
    """
    index = load_index()
    if not index.has_type(type_name):
        return ()
    typedef = index.type(type_name)
    found = typedef.children(path)
    if found:
        return found
    target = typedef.element(path)
    if target is not None and len(target.types) == 1:
        code = target.types[0].code
        if code not in INLINE_TYPES and index.has_type(code) and not index.is_primitive(code):
            datatype = index.type(code)
            return datatype.children(datatype.root.path)
    return ()
