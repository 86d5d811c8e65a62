"""Profiles: a resource that declares ``meta.profile`` is checked against each profile whose StructureDefinition is
available.

A :class:`ProfileSet` holds the StructureDefinitions (profiles: ``derivation`` constraint), ValueSets and
CodeSystems of one or more folders (``fhirconv validate --profile-dir DIR``), read from ``.json`` files holding one
resource or a Bundle of them. :func:`check_profiles` then checks a resource (the entries of a Bundle and contained
resources too) against the profiles it declares:

* cardinality the profile tightens (``min``, ``max``), also of slices and of choice types named by type
  (``Observation.valueQuantity`` max 0);
* type restrictions (``value[x]`` only Quantity) and narrowed Reference targets (the literal ``Type/id`` of a
  reference, or the entry a Bundle resolves it to);
* ``fixed[x]`` (exact match) and ``pattern[x]`` (the instance holds at least the pattern) values;
* required bindings the profile adds or changes, against value sets of the folders (an ``expansion``, or a
  ``compose`` of explicit concepts, whole code systems the folders hold and other such value sets) or of R4;
* the profile's own constraints (FHIRPath, with :class:`fhirconv.validate.invariants.ConstraintRunner`);
* slicing with ``value`` and ``pattern`` discriminators on a path (``coding.code``, ``$this``); the items matching
  each slice are checked against it, slice cardinality counted, closed slicing enforced. A slicing whose
  discriminators cannot be evaluated is reported once as ``information`` ("slicing of X not checked").

Rules the base type already has are left to the structural check (they would be reported twice). A profile with
only a differential is merged over the base type's snapshot from the R4 index, element by element (slices by
``sliceName``); a profile whose ``baseDefinition`` is another profile of the set is merged over that profile's
result, so that both apply. A declared profile that is neither in the set nor an R4 base type gives a warning at
``X.meta.profile[i]`` naming its canonical URL: it was not checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhirconv.errors import InputError, Location
from fhirconv.validate.invariants import ConstraintRunner, Invariant, compile_invariant
from fhirconv.validate.issues import Issue, Severity
from fhirconv.validate.r4index import (
    INLINE_TYPES,
    Binding,
    ElementDef,
    FixedValue,
    R4Index,
    TypeRef,
    ValueSetCodes,
    load_index,
)

__all__ = ["Profile", "ProfileSet", "check_profiles"]

_SD_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
_CODED = frozenset({"code", "Coding", "CodeableConcept", "Quantity"})
_SUPPORTED_DISCRIMINATORS = frozenset({"value", "pattern"})


# -- the element tree of a profile ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slicing:
    discriminators: tuple[tuple[str, str], ...]  # (type, path)
    rules: str  # open / closed / openAtEnd


@dataclass(eq=False)
class Node:
    """One element of a profile: the base element (from the R4 index) and what the profiles made of it.

    ``owner``/``base_path`` say where the base element is defined (``Observation``/``Observation.component``, or
    ``CodeableConcept``/``CodeableConcept.coding`` for an element inside a data type); ``path`` is the profile's
    path (``Observation.code.coding``)."""

    path: str
    owner: str
    base_path: str
    base: ElementDef | None
    min: int
    max: int | None
    types: tuple[TypeRef, ...]
    fixed: FixedValue | None = None
    pattern: FixedValue | None = None
    binding: Binding | None = None
    constraints: tuple[Invariant, ...] = ()
    slicing: Slicing | None = None
    slice_name: str | None = None
    children: dict[str, Node] | None = None  # None: not expanded yet (the profile says nothing below)
    slices: dict[str, Node] = field(default_factory=dict)
    type_slices: dict[str, Node] = field(default_factory=dict)  # a choice's types named in the profile

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def is_choice(self) -> bool:
        return self.path.endswith("[x]")

    @property
    def label(self) -> str:
        return f"{self.path}:{self.slice_name}" if self.slice_name else self.path

    def clone(self) -> Node:
        copy = Node(
            self.path,
            self.owner,
            self.base_path,
            self.base,
            self.min,
            self.max,
            self.types,
            self.fixed,
            self.pattern,
            self.binding,
            self.constraints,
            self.slicing,
            self.slice_name,
        )
        if self.children is not None:
            copy.children = {name: child.clone() for name, child in self.children.items()}
        copy.slices = {name: child.clone() for name, child in self.slices.items()}
        copy.type_slices = {name: child.clone() for name, child in self.type_slices.items()}
        return copy

    def has_rules(self) -> bool:
        """True when this element or one below it has a rule of the profile to check."""
        if (
            self.tightens_min()
            or self.tightens_max()
            or self.restricted_types()
            or self.narrowed_targets()
            or self.fixed is not None
            or self.pattern is not None
            or self.required_binding() is not None
            or self.constraints
            or self.slices
            or self.type_slices
            or self.slice_name is not None
        ):
            return True
        return any(child.has_rules() for child in (self.children or {}).values())

    def tightens_min(self) -> bool:
        return self.min > (self.base.min if self.base is not None else 0)

    def tightens_max(self) -> bool:
        if self.max is None:
            return False
        return self.base is None or self.base.max is None or self.max < self.base.max

    def restricted_types(self) -> frozenset[str] | None:
        """The allowed type codes when the profile allows fewer than the base."""
        if self.base is None or not self.base.types:
            return None
        allowed = frozenset(t.code for t in self.types)
        return allowed if allowed and allowed < frozenset(t.code for t in self.base.types) else None

    def narrowed_targets(self) -> frozenset[str] | None:
        """The allowed Reference target types when the profile allows fewer than the base."""
        if self.base is None:
            return None
        mine = {t for ref in self.types if ref.code == "Reference" for t in ref.targets}
        base = {t for ref in self.base.types if ref.code == "Reference" for t in ref.targets}
        if not mine or not base or "Resource" in mine:
            return None
        if "Resource" in base:
            return frozenset(mine)
        return frozenset(mine) if mine < base else None

    def required_binding(self) -> Binding | None:
        binding = self.binding
        if binding is None or binding.strength != "required":
            return None
        old = self.base.binding if self.base is not None else None
        if old is not None and old.strength == "required" and old.value_set == binding.value_set:
            return None
        return binding


class _Builder:
    """Expands base elements from the R4 index and applies differential elements to a tree of :class:`Node`."""

    def __init__(self, index: R4Index, url: str, notes: list[str]) -> None:
        self.index = index
        self.url = url
        self.notes = notes

    def root(self, type_name: str) -> Node:
        typedef = self.index.type(type_name)
        base = typedef.root
        return Node(type_name, type_name, base.path, base, base.min, base.max, base.types)

    def node(self, path: str, owner: str, base: ElementDef) -> Node:
        return Node(path, owner, base.path, base, base.min, base.max, base.types)

    def expand(self, node: Node) -> dict[str, Node]:
        """The children of ``node``: from the resource's own definition (backbone elements), else from its single
        type's definition (data types); a choice with several types and a primitive have none here."""
        if node.children is not None:
            return node.children
        children: dict[str, Node] = {}
        typedef = self.index.type(node.owner)
        own = typedef.children(node.base_path)
        if own:
            for element in own:
                children[element.name] = self.node(f"{node.path}.{element.name}", node.owner, element)
        elif len({t.code for t in node.types}) == 1:
            code = node.types[0].code
            if code not in INLINE_TYPES and self.index.has_type(code) and not self.index.is_primitive(code):
                datatype = self.index.type(code)
                for element in datatype.children(datatype.root.path):
                    children[element.name] = self.node(f"{node.path}.{element.name}", code, element)
        node.children = children
        return children

    def type_slice(self, choice: Node, code: str) -> Node:
        found = choice.type_slices.get(code)
        if found is None:
            ref = next((t for t in choice.types if t.code == code), TypeRef(code))
            found = Node(choice.path, choice.owner, choice.base_path, choice.base, 0, choice.max, (ref,))
            found.slice_name = choice.name[:-3] + code[0].upper() + code[1:]
            if choice.base is not None:
                found.base = ElementDef(choice.base.path, 0, choice.base.max, (ref,))
            choice.type_slices[code] = found
        return found

    def child(self, node: Node, segment: str) -> Node | None:
        children = self.expand(node)
        found = children.get(segment)
        if found is not None:
            return found
        for name, candidate in children.items():  # valueQuantity: the Quantity type of value[x]
            if name.endswith("[x]") and segment.startswith(name[:-3]):
                suffix = segment[len(name) - 3 :]
                for ref in candidate.types:
                    if ref.code[0].upper() + ref.code[1:] == suffix:
                        return self.type_slice(candidate, ref.code)
        return None

    def apply(self, root: Node, elements: list[dict[str, Any]]) -> None:
        """Merges ``elements`` (a differential, or a snapshot) over the tree under ``root``."""
        active: dict[str, Node] = {}  # element path -> the slice later elements under that path belong to
        for raw in elements:
            path = str(raw.get("path", ""))
            slice_name = raw.get("sliceName")
            for key in [k for k in active if k == path or k.startswith(path + ".")]:
                del active[key]
            node = self.locate(root, path, active)
            if node is None:
                self.notes.append(f"element {path} of the profile was not found in its base, so it was not checked")
                continue
            if isinstance(slice_name, str) and slice_name:
                if node.is_choice and slice_name.startswith(node.name[:-3]):
                    suffix = slice_name[len(node.name) - 3 :]
                    code = next((t.code for t in node.types if t.code[0].upper() + t.code[1:] == suffix), None)
                    if code is not None:
                        node = self.type_slice(node, code)
                        active[path] = node
                        self.update(node, raw)
                        continue
                sliced = node.slices.get(slice_name)
                if sliced is None:
                    sliced = node.clone()
                    sliced.slicing = None
                    sliced.slices = {}
                    sliced.slice_name = slice_name
                    sliced.min = 0  # a slice's own cardinality: how many items match it
                    node.slices[slice_name] = sliced
                active[path] = sliced
                node = sliced
            self.update(node, raw)

    def locate(self, root: Node, path: str, active: dict[str, Node]) -> Node | None:
        segments = path.split(".")
        if segments[0] != root.path:
            return None
        node = root
        walked = segments[0]
        for segment in segments[1:]:
            walked += "." + segment
            found = self.child(node, segment)
            if found is None:
                return None
            node = active.get(walked, found)
        return node

    def update(self, node: Node, raw: dict[str, Any]) -> None:
        if "min" in raw:
            node.min = int(raw["min"])
        if "max" in raw:
            node.max = None if str(raw["max"]) == "*" else int(raw["max"])
        if isinstance(raw.get("type"), list) and raw["type"]:
            node.types = tuple(self.type_ref(t) for t in raw["type"] if isinstance(t, dict) and "code" in t)
            if node.children is not None and not node.children and len({t.code for t in node.types}) == 1:
                node.children = None  # a choice narrowed to one type: its children are now that type's
        for key, value in raw.items():
            if key.startswith("fixed") and len(key) > 5:
                node.fixed = FixedValue(key[5:], value)
            elif key.startswith("pattern") and len(key) > 7:
                node.pattern = FixedValue(key[7:], value)
        binding = raw.get("binding")
        if isinstance(binding, dict) and isinstance(binding.get("valueSet"), str):
            node.binding = Binding(str(binding.get("strength")), str(binding["valueSet"]).split("|")[0])
        slicing = raw.get("slicing")
        if isinstance(slicing, dict):
            node.slicing = Slicing(
                tuple(
                    (str(d.get("type")), str(d.get("path")))
                    for d in slicing.get("discriminator") or []
                    if isinstance(d, dict)
                ),
                str(slicing.get("rules", "open")),
            )
        known = {c.key for c in node.base.constraints} if node.base is not None else set()
        added: list[Invariant] = []
        for constraint in raw.get("constraint") or []:
            if not isinstance(constraint, dict) or constraint.get("key") in known:
                continue
            expression = constraint.get("expression")
            severity = constraint.get("severity")
            if not isinstance(expression, str) or severity not in ("error", "warning"):
                continue
            added.append(
                compile_invariant(str(constraint.get("key")), str(constraint.get("human", "")), expression, severity)
            )
        if added:
            have = {c.key for c in node.constraints}
            node.constraints = node.constraints + tuple(c for c in added if c.key not in have)

    def type_ref(self, raw: dict[str, Any]) -> TypeRef:
        code = str(raw["code"])
        targets: list[str] = []
        for url in raw.get("targetProfile") or []:
            name = self.index.profiles.get(str(url).split("|")[0])
            targets.append(name if name is not None else "Resource")
        return TypeRef(code, tuple(targets))


# -- profiles and value sets ---------------------------------------------------------------------------------------


@dataclass
class Profile:
    """A profile ready to check: its canonical ``url``, the resource ``type`` it constrains, its element tree
    (``root``), and ``notes``: what of it could not be taken into account."""

    url: str
    type: str
    root: Node
    notes: list[str]


class ProfileSet:
    """StructureDefinitions, ValueSets and CodeSystems given by the user, by canonical URL.

    ``ProfileSet.load([Path("profiles/")])`` reads every ``.json`` file of each folder (a resource, or a Bundle of
    them); ``ProfileSet(resources)`` takes the resources as JSON data."""

    def __init__(self, resources: Iterable[dict[str, Any]] = ()) -> None:
        self.structure_definitions: dict[str, dict[str, Any]] = {}
        self.value_sets: dict[str, dict[str, Any]] = {}
        self.code_systems: dict[str, dict[str, Any]] = {}
        self._profiles: dict[str, Profile | None] = {}
        self._expanded: dict[str, ValueSetCodes | None] = {}
        for resource in resources:
            self.add(resource)

    @classmethod
    def load(cls, folders: Iterable[Path]) -> ProfileSet:
        found = cls()
        for folder in folders:
            if not folder.is_dir():
                raise InputError("no such folder", location=Location(file=str(folder)), hint="check --profile-dir")
            for path in sorted(folder.glob("*.json")):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
                except (OSError, UnicodeDecodeError, ValueError) as exc:
                    raise InputError(
                        f"cannot read a profile file: {exc}",
                        location=Location(file=str(path)),
                        hint="a --profile-dir folder holds StructureDefinition, ValueSet, CodeSystem or Bundle JSON",
                    ) from None
                if isinstance(data, dict):
                    found.add(data)
        return found

    def add(self, resource: dict[str, Any]) -> None:
        """Adds a StructureDefinition, ValueSet or CodeSystem (a Bundle: each of its entries); others are ignored."""
        kind = resource.get("resourceType")
        if kind == "Bundle":
            for entry in resource.get("entry") or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    self.add(entry["resource"])
            return
        url = resource.get("url")
        if not isinstance(url, str):
            return
        url = url.split("|")[0]
        if kind == "StructureDefinition":
            self.structure_definitions[url] = resource
        elif kind == "ValueSet":
            self.value_sets[url] = resource
        elif kind == "CodeSystem":
            self.code_systems[url] = resource
        self._profiles.clear()
        self._expanded.clear()

    def __len__(self) -> int:
        return len(self.structure_definitions) + len(self.value_sets) + len(self.code_systems)

    def profile(self, url: str) -> Profile | None:
        """The profile with this canonical URL (``|version`` ignored), None when the set does not hold it."""
        url = url.split("|")[0]
        if url not in self._profiles:
            self._profiles[url] = None  # a base cycle ends here
            self._profiles[url] = self._build(url)
        return self._profiles[url]

    def _build(self, url: str) -> Profile | None:
        sd = self.structure_definitions.get(url)
        if sd is None:
            return None
        index = load_index()
        type_name = str(sd.get("type") or "")
        notes: list[str] = []
        if not index.has_type(type_name) or index.is_primitive(type_name):
            notes.append(f"the profile constrains {type_name or 'no type'}, which is not an R4 resource or data type")
            return Profile(url, type_name, Node(type_name, type_name, type_name, None, 0, None, ()), notes)
        builder = _Builder(index, url, notes)
        base_url = str(sd.get("baseDefinition") or "").split("|")[0]
        root: Node | None = None
        if base_url in self.structure_definitions:
            parent = self.profile(base_url)
            if parent is not None and parent.type == type_name:
                root = parent.root.clone()
            else:
                notes.append(f"its base profile {base_url} could not be used, so only its own rules were checked")
        elif base_url and base_url != index.type(type_name).url:
            notes.append(f"its base profile {base_url} is not available, so only its own rules were checked")
        if root is None:
            root = builder.root(type_name)
        differential = (sd.get("differential") or {}).get("element")
        snapshot = (sd.get("snapshot") or {}).get("element")
        elements = differential if isinstance(differential, list) else snapshot
        builder.apply(root, [e for e in elements or [] if isinstance(e, dict)])
        return Profile(url, type_name, root, notes)

    def value_set(self, url: str) -> ValueSetCodes | None:
        """The codes of a value set of the set, else of R4 (when a required binding of R4 uses it); None if neither
        holds it. A value set that cannot be expanded has ``unexpandable`` set."""
        url = url.split("|")[0]
        if url not in self._expanded:
            self._expanded[url] = None  # a cycle of value sets ends here
            self._expanded[url] = self._expand(url)
        return self._expanded[url]

    def _expand(self, url: str) -> ValueSetCodes | None:
        raw = self.value_sets.get(url)
        if raw is None:
            return load_index().value_set(url)
        codes: dict[str, set[str]] = {}
        expansion = raw.get("expansion")
        if isinstance(expansion, dict) and expansion.get("contains"):
            for system, code in _contains(expansion.get("contains") or []):
                codes.setdefault(system, set()).add(code)
            return _codes(url, codes)
        compose = raw.get("compose")
        if not isinstance(compose, dict) or not compose.get("include"):
            return ValueSetCodes(url, {}, "it has neither an expansion nor a compose")
        for include in compose.get("include") or []:
            found = self._include(include)
            if isinstance(found, str):
                return ValueSetCodes(url, {}, found)
            for system, values in found.items():
                codes.setdefault(system, set()).update(values)
        for exclude in compose.get("exclude") or []:
            found = self._include(exclude)
            if isinstance(found, str):
                return ValueSetCodes(url, {}, found)
            for system, values in found.items():
                codes.get(system, set()).difference_update(values)
        return _codes(url, codes)

    def _include(self, include: Any) -> dict[str, set[str]] | str:
        """The codes of one include (or exclude), or why they cannot be known offline."""
        if not isinstance(include, dict):
            return "a compose include is not an object"
        if include.get("filter"):
            return "it uses filters"
        system = include.get("system")
        codes: dict[str, set[str]] | None = None
        if isinstance(system, str):
            concepts = include.get("concept")
            if concepts:
                codes = {system: {str(c.get("code")) for c in concepts if isinstance(c, dict)}}
            else:
                code_system = self.code_systems.get(system)
                if code_system is None:
                    return f"the code system {system} is not available"
                codes = {system: {code for code in _concept_codes(code_system.get("concept") or [])}}
        for value_set_url in include.get("valueSet") or []:
            nested = self.value_set(str(value_set_url))
            if nested is None:
                return f"the value set {value_set_url} is not available"
            if nested.unexpandable is not None:
                return f"the value set {value_set_url} cannot be expanded: {nested.unexpandable}"
            nested_codes = {s: set(v) for s, v in nested.codes.items()}
            # a system and value sets: their intersection
            codes = nested_codes if codes is None else {s: v & nested_codes.get(s, set()) for s, v in codes.items()}
        return codes if codes is not None else "a compose include has neither a system nor a value set"


def _contains(items: list[Any]) -> Iterator[tuple[str, str]]:
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("system"), str) and isinstance(item.get("code"), str) and not item.get("abstract"):
            yield item["system"], item["code"]
        yield from _contains(item.get("contains") or [])


def _concept_codes(concepts: list[Any]) -> Iterator[str]:
    for concept in concepts:
        if isinstance(concept, dict):
            if isinstance(concept.get("code"), str):
                yield concept["code"]
            yield from _concept_codes(concept.get("concept") or [])


def _codes(url: str, codes: dict[str, set[str]]) -> ValueSetCodes:
    return ValueSetCodes(url, {system: frozenset(values) for system, values in codes.items()})


# -- checking ------------------------------------------------------------------------------------------------------


def check_profiles(resource: dict[str, Any], location: str, profiles: ProfileSet | None = None) -> list[Issue]:
    """Every issue of ``resource`` (and of the resources of its Bundle entries and contained resources) against
    the profiles they declare in ``meta.profile``; ``location`` names the resource's root, as in
    :func:`fhirconv.validate.structure.check_resource`."""
    issues: list[Issue] = []
    runner: ConstraintRunner | None = None
    for one, where, root in _declaring(resource, location, None):
        meta = one.get("meta")
        declared = meta.get("profile") if isinstance(meta, dict) else None
        if not isinstance(declared, list):
            continue
        for number, url in enumerate(declared):
            if not isinstance(url, str):
                continue
            at = f"{where}.meta.profile[{number}]"
            profile = profiles.profile(url) if profiles is not None else None
            if profile is None:
                issues.extend(_unavailable(url, at, str(one.get("resourceType"))))
                continue
            issues.extend(
                Issue("information", at, f"profile {profile.url}: {note}", "informational") for note in profile.notes
            )
            if profile.type != one.get("resourceType"):
                issues.append(
                    Issue(
                        "error",
                        at,
                        f"the profile {profile.url} is for {profile.type}, not {one.get('resourceType')}",
                        "invalid",
                    )
                )
                continue
            if runner is None:
                runner = ConstraintRunner(resource)
            checker = _Checker(profile, profiles or ProfileSet(), runner, resource, one, root)
            checker.element(profile.root, one, where)
            issues.extend(checker.issues)
    unique: dict[tuple[str, str, str], Issue] = {}
    for issue in issues:
        unique.setdefault((issue.severity, issue.location, issue.message), issue)
    return list(unique.values())


def _unavailable(url: str, location: str, resource_type: str) -> list[Issue]:
    bare = url.split("|")[0]
    index = load_index()
    base = index.profiles.get(bare)
    if base is not None and index.has_type(base) and index.type(base).url == bare:
        if base == resource_type or base in ("Resource", "DomainResource"):
            return []  # the base type itself: the structural check is that check
        return [Issue("error", location, f"the profile {bare} is for {base}, not {resource_type}", "invalid")]
    return [
        Issue(
            "warning",
            location,
            f"the profile {url} was not checked: its StructureDefinition is not available (give its folder with "
            "--profile-dir)",
            "not-supported",
        )
    ]


def _declaring(
    resource: dict[str, Any], location: str, root: dict[str, Any] | None
) -> Iterator[tuple[dict[str, Any], str, dict[str, Any] | None]]:
    """(resource, location, container) for the resource, its contained resources and its Bundle entries."""
    yield resource, location, root
    for number, contained in enumerate(_as_list(resource.get("contained"))):
        if isinstance(contained, dict):
            yield contained, f"{location}.contained[{number}]", root or resource
    if resource.get("resourceType") == "Bundle":
        for number, entry in enumerate(_as_list(resource.get("entry"))):
            inner = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(inner, dict):
                yield from _declaring(inner, f"{location}.entry[{number}].resource", None)


def _as_list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return raw if isinstance(raw, list) else [raw]


@dataclass
class _Instance:
    value: Any
    location: str
    code: str | None  # the type: the chosen one of a choice
    present: bool  # False: only a "_name" companion (a primitive with extensions but no value)


class _Checker:
    def __init__(
        self,
        profile: Profile,
        profiles: ProfileSet,
        runner: ConstraintRunner,
        top: dict[str, Any],
        resource: dict[str, Any],
        container: dict[str, Any] | None,
    ) -> None:
        self.profile = profile
        self.profiles = profiles
        self.runner = runner
        self.top = top
        self.resource = resource
        self.container = container
        self.index = load_index()
        self.issues: list[Issue] = []
        self.noted: set[str] = set()
        self._active: dict[int, bool] = {}  # id(node) -> node.has_rules(); the tree no longer changes

    def error(self, location: str, message: str, code: str = "structure", severity: Severity = "error") -> None:
        self.issues.append(Issue(severity, location, message, code))

    @property
    def by(self) -> str:
        return f"profile {self.profile.url}"

    # -- walking -----------------------------------------------------------------------------------------------

    def element(self, node: Node, value: Any, location: str, code: str | None = None) -> None:
        """Checks one instance of ``node`` (its own rules, then its children)."""
        if not self.rules(node, value, location, code):
            return
        if not isinstance(value, dict) or not node.children:
            return
        for child in node.children.values():
            if self.active(child):
                self.members(child, value, location)

    def active(self, node: Node) -> bool:
        found = self._active.get(id(node))
        if found is None:
            found = self._active[id(node)] = node.has_rules()
        return found

    def members(self, node: Node, parent: dict[str, Any], location: str) -> None:
        found = self.instances(node, parent, location)
        count = len(found)
        if node.tightens_min() and count < node.min:
            self.error(
                location, f"{node.path}: minimum required = {node.min}, but only found {count} ({self.by})", "required"
            )
        if node.tightens_max() and node.max is not None and count > node.max:
            # located on the parent, as HAPI's validator does
            self.error(location, f"{node.path}: maximum allowed = {node.max}, but found {count} ({self.by})")
        for code, sliced in node.type_slices.items():
            typed = [one for one in found if one.code == code]
            if sliced.tightens_max() and sliced.max is not None and len(typed) > sliced.max:
                self.error(
                    location,
                    f"{sliced.label}: maximum allowed = {sliced.max}, but found {len(typed)} ({self.by})",
                )
            for one in typed:
                if one.present:
                    self.element(sliced, one.value, one.location, one.code)
        for one in found:
            if one.present:
                self.element(node, one.value, one.location, one.code)
        if node.slices:
            self.slices(node, [one for one in found if one.present], location)

    def instances(self, node: Node, parent: dict[str, Any], location: str) -> list[_Instance]:
        if node.is_choice:
            stem = node.name[:-3]
            base_types = node.base.types if node.base is not None else node.types
            out: list[_Instance] = []
            for ref in base_types:
                key = stem + ref.code[0].upper() + ref.code[1:]
                if key in parent or "_" + key in parent:
                    value = parent.get(key)
                    out.append(_Instance(value, f"{location}.{stem}.ofType({ref.code})", ref.code, value is not None))
            return out
        name = node.name
        raw, companion = parent.get(name), parent.get("_" + name)
        code = node.types[0].code if len({t.code for t in node.types}) == 1 else None
        repeats = node.base.repeats if node.base is not None else isinstance(raw, list)
        if not repeats:
            if raw is None and companion is None:
                return []
            return [_Instance(raw, f"{location}.{name}", code, raw is not None)]
        raws = raw if isinstance(raw, list) else ([] if raw is None else [raw])
        companions = companion if isinstance(companion, list) else []
        out = []
        for number in range(max(len(raws), len(companions))):
            value = raws[number] if number < len(raws) else None
            if value is None and (number >= len(companions) or companions[number] is None):
                continue
            out.append(_Instance(value, f"{location}.{name}[{number}]", code, value is not None))
        return out

    # -- the rules of one element --------------------------------------------------------------------------------

    def rules(self, node: Node, value: Any, location: str, code: str | None) -> bool:
        """Checks the rules of ``node`` itself; False when the instance has a type the profile does not allow (its
        children are then not checked)."""
        allowed = node.restricted_types()
        if allowed is not None and code is not None and code not in allowed:
            self.error(
                location,
                f"{node.label}: the type {code} is not allowed ({self.by} allows only {', '.join(sorted(allowed))})",
            )
            return False
        if node.fixed is not None and not _equal(node.fixed.value, value):
            self.error(
                location,
                f"{node.label}: the value must be exactly {_show(node.fixed.value)} (fixed by {self.by})",
                "value",
            )
        if node.pattern is not None and not _matches(node.pattern.value, value):
            self.error(
                location,
                f"{node.label}: the value must match the pattern {_show(node.pattern.value)} ({self.by})",
                "value",
            )
        targets = node.narrowed_targets()
        if targets is not None and isinstance(value, dict):
            self.reference(node, value, location, targets)
        binding = node.required_binding()
        if binding is not None:
            self.binding(node, binding, value, location, code)
        if node.constraints:
            type_key, fhir_type = self.type_key(node, code)
            self.issues.extend(
                Issue(issue.severity, issue.location, f"{issue.message} ({self.by})", issue.code)
                if issue.code == "invariant"
                else issue
                for issue in self.runner.check(
                    value, type_key, fhir_type, location, node.constraints, self.resource, self.container
                )
            )
        return True

    def type_key(self, node: Node, code: str | None) -> tuple[str, str]:
        if node.path == self.profile.type:
            return self.profile.type, self.profile.type
        code = code or (node.types[0].code if node.types else "Element")
        if code in INLINE_TYPES:
            return node.base_path, code
        return code, code

    def reference(self, node: Node, value: dict[str, Any], location: str, targets: frozenset[str]) -> None:
        """A reference to a resource of a type the profile does not allow: an error when the reference resolves
        (a contained resource, a Bundle entry), a warning when only its literal ``Type/id`` tells the type (HAPI's
        validator does not check those)."""
        reference = value.get("reference")
        if not isinstance(reference, str):
            return
        kind: str | None = None
        if reference.startswith("#"):
            for contained in _as_list(self.resource.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == reference[1:]:
                    kind = str(contained.get("resourceType"))
        elif self.top.get("resourceType") == "Bundle":
            for entry in _as_list(self.top.get("entry")):
                full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
                if isinstance(full_url, str) and (full_url == reference or full_url.endswith("/" + reference)):
                    inner = entry.get("resource")
                    kind = str(inner.get("resourceType")) if isinstance(inner, dict) else None
                    break
        severity: Severity = "error"
        if kind is None:
            parts = reference.split("/_history/")[0].split("/")
            if len(parts) < 2 or parts[-2] not in self.index.resource_types:
                return
            kind, severity = parts[-2], "warning"
        if kind not in targets:
            self.error(
                location,
                f"{node.label}: {reference} points to {_a(kind)}, but {self.by} allows only "
                f"{', '.join(sorted(targets))}",
                "invalid",
                severity,
            )

    def binding(self, node: Node, binding: Binding, value: Any, location: str, code: str | None) -> None:
        if code not in _CODED:
            return
        value_set = self.profiles.value_set(binding.value_set)
        if value_set is None:
            self.note(
                f"vs:{binding.value_set}",
                location,
                f"the value set {binding.value_set} (required by {self.by}) is not available, so the codes bound to "
                "it were not checked",
                "warning",
            )
            return
        if value_set.unexpandable is not None:
            self.note(
                f"vs:{binding.value_set}",
                location,
                f"the value set {binding.value_set} (required by {self.by}) was not checked: {value_set.unexpandable}",
            )
            return
        where = f"the value set {value_set.url} (required by {self.by})"
        if code == "code":
            if isinstance(value, str) and not value_set.contains(None, value):
                self.error(location, f"the code {value!r} is not in {where}", "code-invalid")
            return
        if not isinstance(value, dict):
            return
        if code in ("Coding", "Quantity"):
            system, one = value.get("system"), value.get("code")
            if code == "Quantity" and one is None:
                return
            if not isinstance(one, str):
                self.error(location, f"no code, and a code from {where} is required", "code-invalid")
            elif not value_set.contains(system if isinstance(system, str) else "", one):
                self.error(location, f"{system}|{one} is not in {where}", "code-invalid")
            return
        codings = [c for c in _as_list(value.get("coding")) if isinstance(c, dict) and isinstance(c.get("code"), str)]
        if not codings:
            self.error(location, f"no code, and a code from {where} is required", "code-invalid")
            return
        shown = [
            f"{c.get('system') if isinstance(c.get('system'), str) else '(no system)'}|{c['code']}" for c in codings
        ]
        if not any(isinstance(c.get("system"), str) and value_set.contains(c["system"], c["code"]) for c in codings):
            self.error(location, f"none of the codings ({', '.join(shown)}) is in {where}", "code-invalid")

    def note(self, key: str, location: str, message: str, severity: Severity = "information") -> None:
        if key not in self.noted:
            self.noted.add(key)
            self.error(location, message, "not-supported", severity)

    # -- slicing -------------------------------------------------------------------------------------------------

    def slices(self, node: Node, found: list[_Instance], location: str) -> None:
        slicing = node.slicing
        discriminators = slicing.discriminators if slicing is not None else ()
        expected: dict[str, list[tuple[str, FixedValue]]] = {}
        problem = "" if discriminators else "it has no discriminator"
        for name, sliced in node.slices.items():
            if problem:
                break
            values: list[tuple[str, FixedValue]] = []
            for kind, path in discriminators:
                if kind not in _SUPPORTED_DISCRIMINATORS:
                    problem = f"the discriminator type {kind!r} is not supported"
                    break
                fixed = _discriminator_value(sliced, path)
                if fixed is None:
                    problem = f"the slice {name} has no single fixed or pattern value at {path!r}"
                    break
                values.append((path, fixed))
            expected[name] = values
        if problem:
            self.note(f"slicing:{node.path}", location, f"slicing of {node.path} not checked: {problem} ({self.by})")
            return
        matched: dict[str, list[_Instance]] = {name: [] for name in node.slices}
        for one in found:
            slice_name = next(
                (name for name, values in expected.items() if all(_at_path(one.value, p, f) for p, f in values)),
                None,
            )
            if slice_name is not None:
                matched[slice_name].append(one)
            elif slicing is not None and slicing.rules == "closed":
                self.error(
                    one.location, f"{node.path}: the item matches no slice, and the slicing is closed ({self.by})"
                )
        for name, sliced in node.slices.items():
            count = len(matched[name])
            if count < sliced.min:
                self.error(
                    location,
                    f"{sliced.label}: minimum required = {sliced.min}, but only found {count} ({self.by})",
                    "required",
                )
            if sliced.max is not None and count > sliced.max:
                self.error(
                    location,
                    f"{sliced.label}: maximum allowed = {sliced.max}, but found {count} ({self.by})",
                )
            for one in matched[name]:
                self.element(sliced, one.value, one.location, one.code)


def _discriminator_value(sliced: Node, path: str) -> FixedValue | None:
    """The fixed or pattern value a slice gives the element at ``path`` (relative to the slice); the one value
    of the element's slices when the element itself has none (``code.coding.code`` through a sliced coding)."""
    candidates = [sliced]
    if path != "$this":
        for segment in path.split("."):
            nxt: list[Node] = []
            for node in candidates:
                child = (node.children or {}).get(segment)
                if child is not None:
                    nxt.append(child)
                    nxt.extend(child.slices.values())
            candidates = nxt
    values = [node.fixed or node.pattern for node in candidates if node.fixed or node.pattern]
    distinct = {json.dumps(_plain(v.value), sort_keys=True): v for v in values if v is not None}
    return next(iter(distinct.values())) if len(distinct) == 1 else None


def _at_path(value: Any, path: str, expected: FixedValue) -> bool:
    """True when some value at ``path`` under ``value`` matches ``expected`` (pattern: holds it; fixed: equals)."""
    items = [value]
    if path != "$this":
        for segment in path.split("."):
            nxt: list[Any] = []
            for item in items:
                if isinstance(item, dict):
                    nxt.extend(_as_list(item.get(segment)))
            items = nxt
    return any(_matches(expected.value, item) for item in items)


def _a(kind: str) -> str:
    return f"{'an' if kind[0].lower() in 'aeiou' else 'a'} {kind}"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, separators=(", ", ": "))


def _same_primitive(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, int | float | Decimal) and isinstance(value, int | float | Decimal):
        return Decimal(str(expected)) == Decimal(str(value))
    return bool(expected == value)


def _equal(expected: Any, value: Any) -> bool:
    """fixed[x]: exactly the value, nothing more."""
    if isinstance(expected, dict):
        return (
            isinstance(value, dict)
            and set(expected) == set(value)
            and all(_equal(expected[k], value[k]) for k in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(value, list)
            and len(expected) == len(value)
            and all(_equal(a, b) for a, b in zip(expected, value, strict=True))
        )
    return _same_primitive(expected, value)


def _matches(pattern: Any, value: Any) -> bool:
    """pattern[x]: the value holds every element of the pattern (lists: each pattern item matched by some item)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and _matches(v, value[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(_matches(p, item) for item in items) for p in pattern)
    return _same_primitive(pattern, value)
