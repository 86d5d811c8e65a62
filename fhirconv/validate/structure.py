"""Structural validation of FHIR R4 JSON against the official definitions (``fhirconv/data/r4-index.json.gz``).

:func:`check_resource` walks a resource (a Bundle is one resource) and reports every issue, not the first:

* unknown elements (misplaced ``_x`` primitive extensions too), unknown or abstract resource types;
* cardinality (min, max), arrays exactly where max > 1, JSON kinds (string / number / boolean / object),
  empty objects, arrays and strings, nulls;
* choice types: at most one ``value[x]``, known suffixes only;
* primitive formats: the official regexes, real calendar dates, time zones on times, integer ranges, XHTML,
  resource ids;
* required bindings on code / Coding / CodeableConcept, against the value sets expanded from the package;
* references: contained ``#id`` references resolve; inside a Bundle, ``urn:uuid:`` / absolute / relative
  references resolve to one entry (a warning when none, as HAPI) and the target's type is one the element allows;
* Bundle rules: every entry with a resource has a fullUrl, fullUrls are unique, a RESTful fullUrl ends with the
  resource's type and id.

Locations are FHIRPath, like HAPI's validator: ``Bundle.entry[3].resource.code.coding[0].system``; a choice
element is written ``value.ofType(Quantity)``. Missing and unknown elements are reported on their parent, as HAPI
does. Severities follow HAPI 8.8: an extensible or preferred binding is never an error, a reference that does not
resolve inside a Bundle (``urn:uuid:`` or relative) is a warning, a ``#id`` that does not resolve is an error.
The FHIRPath invariants (``constraints`` of the definitions) are not evaluated here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhirconv.validate.issues import Issue, Severity
from fhirconv.validate.primitives import check_primitive, check_resource_id, json_kind
from fhirconv.validate.r4index import ElementDef, PrimitiveDef, R4Index, TypeDef, TypeRef, load_index

__all__ = ["check_resource"]

_RESOURCE_TYPES = frozenset({"Resource", "DomainResource"})
_INLINE = frozenset({"BackboneElement", "Element"})
_CODED = frozenset({"code", "Coding", "CodeableConcept"})
_RELATIVE = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_RESTFUL = re.compile(r"(https?://\S+)/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?")


# What a value of a field is checked as (worked out once per field, see _Field.kind).
_PRIMITIVE, _RESOURCE, _INLINE_OBJECT, _DATATYPE, _UNKNOWN_TYPE, _SAME_AS = range(6)


@dataclass(frozen=True, slots=True)
class _Field:
    """One JSON property of an object (``valueQuantity``), with what checking its values needs, worked out once per
    process instead of at every value: the walk meets the same few hundred properties thousands of times."""

    element: ElementDef
    type_ref: TypeRef | None
    step: str  # the location step: "code", "value.ofType(Quantity)"
    repeats: bool
    kind: int  # _PRIMITIVE, _RESOURCE...
    primitive: PrimitiveDef | None
    required_binding: bool  # a required binding this field's values are checked against
    choice_path: str | None  # the element's path ("Observation.value[x]") for a choice element, else None
    # the primitive of a single primitive value with no required binding to check: its format is all there is
    plain: PrimitiveDef | None


@dataclass(frozen=True, slots=True)
class _Shape:
    """The properties of one kind of object (a type, or a backbone element by path) and its required children
    (each with the JSON names that count: ``valueQuantity``, ``_status``...)."""

    fields: dict[str, _Field]
    required: tuple[tuple[ElementDef, tuple[str, ...]], ...]


@cache
def _shapes(index: R4Index) -> dict[tuple[str, str], _Shape]:
    """The shapes built so far, for one index (so for the process)."""
    del index
    return {}


def _field(index: R4Index, element: ElementDef, type_ref: TypeRef | None, key: str) -> _Field:
    code = type_ref.code if type_ref is not None else None
    primitive = index.primitives.get(code) if code is not None else None
    if code is None:
        kind = _SAME_AS
    elif primitive is not None:
        kind = _PRIMITIVE
    elif code in _RESOURCE_TYPES:
        kind = _RESOURCE
    elif code in _INLINE:
        kind = _INLINE_OBJECT
    elif index.has_type(code):
        kind = _DATATYPE
    else:
        kind = _UNKNOWN_TYPE
    bound = element.binding is not None and element.binding.strength == "required"
    required_binding = bound and (code == "code" if kind == _PRIMITIVE else code in _CODED)
    return _Field(
        element=element,
        type_ref=type_ref,
        step=_choice_location(element, type_ref) if element.is_choice else key,
        repeats=element.repeats,
        kind=kind,
        primitive=primitive,
        required_binding=required_binding,
        choice_path=element.path if element.is_choice else None,
        plain=primitive if kind == _PRIMITIVE and not element.repeats and not required_binding else None,
    )


def _shape(index: R4Index, typedef: TypeDef, path: str) -> _Shape:
    cache = _shapes(index)
    found = cache.get((typedef.name, path))
    if found is None:
        fields = {key: _field(index, m.element, m.type, key) for key, m in typedef.members(path).items()}
        required = tuple(
            (child, tuple(k for name in child.json_names() for k in (name, "_" + name)))
            for child in typedef.children(path)
            if child.min > 0
        )
        found = cache[(typedef.name, path)] = _Shape(fields, required)
    return found


def check_resource(resource: dict[str, Any], location: str) -> list[Issue]:
    """Every structural, binding and reference issue of ``resource``; ``location`` names its root in messages
    (usually the resource type: ``Bundle``)."""
    walker = _Walker(load_index())
    walker.resource(resource, location, container=None)
    return walker.issues


@dataclass
class _Ref:
    """A literal reference met in a resource, resolved when its resource (or Bundle) is complete."""

    location: str
    value: str
    targets: tuple[str, ...]


@dataclass
class _Frame:
    """A resource being walked; ``refs`` collects the references of it and of its contained resources."""

    resource: dict[str, Any]
    location: str
    refs: list[_Ref] = field(default_factory=list)


class _Walker:
    def __init__(self, index: R4Index) -> None:
        self.index = index
        self._shapes = _shapes(index)
        self.issues: list[Issue] = []
        # references a resource could not resolve by itself (not "#id"), by id() of the resource dict
        self._outgoing: dict[int, list[_Ref]] = {}

    def error(self, location: str, message: str, code: str = "structure", severity: Severity = "error") -> None:
        self.issues.append(Issue(severity, location, message, code))

    # -- resources ---------------------------------------------------------------------------------------------

    def resource(self, data: Any, location: str, container: _Frame | None) -> None:
        if not isinstance(data, dict):
            self.error(location, f"a resource must be a JSON object, not {_a(json_kind(data))}")
            return
        resource_type = data.get("resourceType")
        if not isinstance(resource_type, str):
            self.error(location, "the resource has no resourceType", severity="fatal")
            return
        if resource_type not in self.index.resource_types:
            if resource_type in self.index.abstract_resource_types:
                message = f"{resource_type} is an abstract type: a resource must have a concrete resourceType"
            else:
                message = f"unknown resource type {resource_type!r}"
            self.error(location, message, severity="fatal")
            return
        typedef = self.index.type(resource_type)
        frame = container if container is not None else _Frame(data, location)
        id_problem = check_resource_id(data.get("id"))
        if id_problem is not None:
            self.error(f"{location}.id", id_problem)
        self.object(data, typedef, typedef.root.path, location, frame, is_resource=True)
        if container is not None:
            return
        outgoing = self._resolve_contained(frame)
        if resource_type == "Bundle":
            self._bundle(data, location)
        elif outgoing:
            self._outgoing[id(data)] = outgoing

    # -- objects and values ------------------------------------------------------------------------------------

    def object(
        self,
        data: dict[str, Any],
        typedef: TypeDef,
        path: str,
        location: str,
        frame: _Frame,
        *,
        is_resource: bool = False,
        primitive_extension: bool = False,
    ) -> None:
        shape = self._shapes.get((typedef.name, path)) or _shape(self.index, typedef, path)
        fields = shape.fields
        if not data or (is_resource and len(data) == 1):
            self.error(location, "the object has no content (leave the element out instead)")
        chosen: dict[str, list[str]] | None = None
        for key, value in data.items():
            if is_resource and key == "resourceType":
                continue
            if key.startswith("_") and not primitive_extension:
                self._primitive_extension(key, value, fields, location, frame)
                continue
            found = fields.get(key)
            if found is None or (primitive_extension and key == "value"):
                self.error(location, f"unknown element {key!r} in {path}", "structure")
                continue
            if found.choice_path is not None:
                chosen = chosen if chosen is not None else {}
                chosen.setdefault(found.choice_path, []).append(key)
            if (
                found.plain is not None
                and value is not None
                and type(value) is not list
                and _primitive_problem(found.plain, value) is None
            ):
                continue  # most values of a resource: a well-formed primitive, nothing to report (nor to locate)
            self.member(value, found, typedef, f"{location}.{found.step}", frame, data.get("_" + key))
        if chosen is not None:
            for path_, keys in chosen.items():
                if len(keys) > 1:
                    names = ", ".join(keys)
                    self.error(location, f"{path_} may have only one type, but has {len(keys)}: {names}", "structure")
        if shape.required:
            self._minimum(data, shape, location)

    def _minimum(self, data: dict[str, Any], shape: _Shape, location: str) -> None:
        for child, keys in shape.required:
            count = 0
            for key in keys:
                value = data.get(key)
                if isinstance(value, list):
                    count = max(count, sum(1 for item in value if item is not None))
                elif value is not None:
                    count = max(count, 1)
            if count < child.min:
                self.error(
                    location,
                    f"{child.path}: minimum required = {child.min}, but only found {count}",
                    "required",
                )

    def member(
        self,
        value: Any,
        spec: _Field,
        typedef: TypeDef,
        location: str,
        frame: _Frame,
        companion: Any,
    ) -> None:
        element = spec.element
        if isinstance(value, list):
            if not spec.repeats:
                self.error(location, f"{element.path} has max 1: it must be a single value, not an array")
                return
            if not value:
                self.error(location, "the array is empty (leave the element out instead)")
                return
            if element.max is not None and len(value) > element.max:
                self.error(location, f"{element.path}: maximum allowed = {element.max}, but found {len(value)}")
            companions = companion if isinstance(companion, list) else []
            for number, item in enumerate(value):
                item_companion = companions[number] if number < len(companions) else None
                if item is None and item_companion is not None:
                    continue  # a primitive with only an id or extensions
                self.value(item, spec, typedef, f"{location}[{number}]", frame)
            return
        if spec.repeats:
            self.error(location, f"{element.path} can repeat: it must be a JSON array, not {_a(json_kind(value))}")
        self.value(value, spec, typedef, location, frame)

    def value(self, value: Any, spec: _Field, typedef: TypeDef, location: str, frame: _Frame) -> None:
        if value is None:
            self.error(location, "null is not a value (leave the element out instead)")
            return
        element, kind = spec.element, spec.kind
        if kind == _PRIMITIVE:
            assert spec.primitive is not None
            message = _primitive_problem(spec.primitive, value)
            if message is not None:
                self.error(location, message, "value")
            elif spec.required_binding:
                self._binding_code(value, element, location)
            return
        if kind == _SAME_AS:  # contentReference: the same content as another element of this type
            if element.content_reference is None:
                self.error(location, f"{element.path} has no type in the definitions")
                return
            if not isinstance(value, dict):
                self.error(location, f"{element.path} must be a JSON object, not {_a(json_kind(value))}")
                return
            self.object(value, typedef, element.content_reference, location, frame)
            return
        if kind == _RESOURCE:
            inner = frame if element.path.endswith(".contained") else None
            self.resource(value, location, container=inner)
            return
        if not isinstance(value, dict):
            self.error(location, f"{element.path} must be a JSON object, not {_a(json_kind(value))}")
            return
        type_ref = spec.type_ref
        assert type_ref is not None
        if kind == _INLINE_OBJECT:
            self.object(value, typedef, element.path, location, frame)
        elif kind == _DATATYPE:
            datatype = self.index.type(type_ref.code)
            self.object(value, datatype, datatype.root.path, location, frame)
        else:
            self.error(location, f"{element.path} has the unknown type {type_ref.code}")
            return
        if type_ref.code == "Reference":
            reference = value.get("reference")
            if isinstance(reference, str) and reference:
                frame.refs.append(_Ref(location, reference, type_ref.targets))
        if spec.required_binding:
            if type_ref.code == "Coding":
                self._binding_coding(value, element, location)
            else:
                self._binding_concept(value, element, location)

    def _primitive_extension(
        self, key: str, value: Any, fields: dict[str, _Field], location: str, frame: _Frame
    ) -> None:
        found = fields.get(key[1:])
        if found is None or found.primitive is None:
            self.error(location, f"unknown element {key!r}: '_' marks the id and extensions of a primitive element")
            return
        element = found.element
        type_ref = found.type_ref
        assert type_ref is not None
        where = f"{location}.{found.step}"
        datatype = self.index.type(type_ref.code)
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) != element.repeats:
            shape = "a JSON array" if element.repeats else "a single object"
            self.error(where, f"{key} must be {shape}, like {key[1:]}")
            return
        for number, item in enumerate(items):
            if item is None and element.repeats:
                continue
            item_where = f"{where}[{number}]" if element.repeats else where
            if not isinstance(item, dict):
                self.error(item_where, f"{key} must hold JSON objects, not {_a(json_kind(item))}")
                continue
            self.object(item, datatype, datatype.root.path, item_where, frame, primitive_extension=True)

    # -- bindings ----------------------------------------------------------------------------------------------

    def _value_set(self, element: ElementDef, location: str) -> Any:
        assert element.binding is not None
        value_set = self.index.value_set(element.binding.value_set)
        if value_set is None:
            return None
        if value_set.unexpandable is not None:
            self.error(
                location,
                f"the required value set {value_set.url} was not checked: {value_set.unexpandable}",
                "not-supported",
                "information",
            )
            return None
        return value_set

    def _binding_code(self, code: str, element: ElementDef, location: str) -> None:
        value_set = self._value_set(element, location)
        if value_set is not None and not value_set.contains(None, code):
            self.error(
                location,
                f"the code {code!r} is not in the value set {value_set.url} (required): "
                f"expected one of {_codes(value_set.codes)}",
                "code-invalid",
            )

    def _binding_coding(self, coding: dict[str, Any], element: ElementDef, location: str) -> None:
        value_set = self._value_set(element, location)
        if value_set is None:
            return
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(code, str):
            self.error(location, f"no code, and a code from the value set {value_set.url} is required", "code-invalid")
        elif not value_set.contains(system if isinstance(system, str) else "", code):
            self.error(
                location,
                f"{system}|{code} is not in the value set {value_set.url} (required): "
                f"expected one of {_codes(value_set.codes)}",
                "code-invalid",
            )

    def _binding_concept(self, concept: dict[str, Any], element: ElementDef, location: str) -> None:
        value_set = self._value_set(element, location)
        if value_set is None:
            return
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        if not any(isinstance(c.get("code"), str) for c in codings):
            self.error(location, f"no code, and a code from the value set {value_set.url} is required", "code-invalid")
            return
        matched: list[str] = []
        unmatched: list[str] = []
        wrong = False
        for number, coding in enumerate(codings):
            system, code = coding.get("system"), coding.get("code")
            if not isinstance(code, str):
                continue
            shown = f"{system if isinstance(system, str) else '(no system)'}|{code}"
            if isinstance(system, str) and value_set.contains(system, code):
                matched.append(shown)
                continue
            unmatched.append(shown)
            if isinstance(system, str) and system in value_set.systems:
                wrong = True
                self.error(
                    f"{location}.coding[{number}]",
                    f"{shown} is not in the value set {value_set.url} (required): "
                    f"expected one of {_codes(value_set.codes)}",
                    "code-invalid",
                )
        if not matched and not wrong:
            self.error(
                location,
                f"none of the codings ({', '.join(unmatched)}) is in the value set {value_set.url} (required): "
                f"expected one of {_codes(value_set.codes)}",
                "code-invalid",
            )
        elif matched and unmatched and not wrong:
            self.error(
                location,
                f"{', '.join(unmatched)} is not in the value set {value_set.url} (required); another coding is, "
                "which satisfies the binding (HAPI's validator 8.8 reports this as an error)",
                "code-invalid",
                "warning",
            )

    # -- references --------------------------------------------------------------------------------------------

    def _resolve_contained(self, frame: _Frame) -> list[_Ref]:
        """Resolves the frame's ``#id`` references; returns the others."""
        contained: dict[str, str] = {}
        for item in frame.resource.get("contained") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                contained[item["id"]] = str(item.get("resourceType"))
        outgoing: list[_Ref] = []
        for ref in frame.refs:
            if ref.value.startswith("#"):
                local = ref.value[1:]
                if not local:
                    self._target(ref, str(frame.resource.get("resourceType")))
                elif local in contained:
                    self._target(ref, contained[local])
                else:
                    self.error(
                        ref.location,
                        f"{ref.value} does not resolve: the resource has no contained resource with id {local!r}",
                        "not-found",
                    )
            elif _RELATIVE.fullmatch(ref.value) or _ABSOLUTE.fullmatch(ref.value):
                relative = _RELATIVE.fullmatch(ref.value)
                if relative is not None:
                    self._reference_type(ref, relative.group(1))
                outgoing.append(ref)
            else:
                self.error(
                    ref.location,
                    f"{ref.value!r} is not a valid reference (Type/id, an absolute URL, urn:uuid:... or #id)",
                    "value",
                )
        return outgoing

    def _reference_type(self, ref: _Ref, resource_type: str) -> None:
        if resource_type not in self.index.resource_types:
            self.error(ref.location, f"{ref.value}: {resource_type} is not a resource type", "value")

    def _target(self, ref: _Ref, resource_type: str) -> None:
        if not ref.targets or "Resource" in ref.targets or resource_type in ref.targets:
            return
        allowed = ", ".join(ref.targets)
        self.error(
            ref.location,
            f"{ref.value} points to {_a(resource_type)}, but the element allows only {allowed}",
            "invalid",
        )

    # -- bundles -----------------------------------------------------------------------------------------------

    def _bundle(self, bundle: dict[str, Any], location: str) -> None:
        entries = bundle.get("entry")
        if not isinstance(entries, list):
            return
        bundle_type = bundle.get("type")
        full_urls: dict[str, list[int]] = {}
        by_type_id: dict[tuple[str, str], list[int]] = {}
        resources: dict[int, dict[str, Any]] = {}
        for number, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            where = f"{location}.entry[{number}]"
            resource = entry.get("resource")
            full_url = entry.get("fullUrl")
            if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
                resources[number] = resource
                resource_id = resource.get("id")
                if isinstance(resource_id, str):
                    by_type_id.setdefault((resource["resourceType"], resource_id), []).append(number)
                if not isinstance(full_url, str):
                    self.error(where, "the entry has a resource but no fullUrl", "required")
                else:
                    self._full_url_matches(full_url, resource, where)
            if isinstance(full_url, str):
                full_urls.setdefault(full_url.split("/_history/")[0], []).append(number)
        if bundle_type != "history":
            for full_url, numbers in full_urls.items():
                versions = {_version(resources.get(n)) for n in numbers}
                if len(numbers) > 1 and len(versions) < len(numbers):
                    others = ", ".join(str(n) for n in numbers)
                    for number in numbers[1:]:
                        self.error(
                            f"{location}.entry[{number}].fullUrl",
                            f"duplicate fullUrl {full_url!r} (entries {others})",
                            "invalid",
                        )
        for number, resource in resources.items():
            entry = entries[number]
            full_url = entry.get("fullUrl")
            for ref in self._outgoing.pop(id(resource), []):
                self._bundle_reference(
                    ref, full_url if isinstance(full_url, str) else None, full_urls, by_type_id, resources
                )

    def _full_url_matches(self, full_url: str, resource: dict[str, Any], where: str) -> None:
        restful = _RESTFUL.fullmatch(full_url)
        if restful is None or restful.group(2) not in self.index.resource_types:
            return
        expected = f"/{resource['resourceType']}/{resource.get('id')}"
        if (restful.group(2), restful.group(3)) != (resource["resourceType"], resource.get("id")):
            self.error(
                f"{where}.fullUrl",
                f"the fullUrl {full_url!r} looks like a RESTful server URL, so it must end with the resource's type "
                f"and id ({expected})",
                "invalid",
            )

    def _bundle_reference(
        self,
        ref: _Ref,
        full_url: str | None,
        full_urls: dict[str, list[int]],
        by_type_id: dict[tuple[str, str], list[int]],
        resources: dict[int, dict[str, Any]],
    ) -> None:
        value = ref.value.split("/_history/")[0]
        relative = _RELATIVE.fullmatch(ref.value)
        matches: list[int]
        if relative is not None:
            if full_url is None:
                self.error(
                    ref.location,
                    f"{ref.value} is relative, but its entry has no fullUrl to resolve it from",
                    "not-found",
                )
                return
            restful = _RESTFUL.fullmatch(full_url)
            if restful is not None:
                matches = full_urls.get(f"{restful.group(1)}/{relative.group(1)}/{relative.group(2)}", [])
            else:
                matches = by_type_id.get((relative.group(1), relative.group(2)), [])
            if not matches:
                self.error(
                    ref.location,
                    f"{ref.value} does not resolve inside the bundle (it may refer to a resource on the server)",
                    "not-found",
                    "warning",
                )
                if relative.group(1) in self.index.resource_types:
                    self._target(ref, relative.group(1))
                return
        else:
            matches = full_urls.get(value, [])
            if not matches:
                if value.startswith("urn:"):
                    # a warning, as in HAPI's validator (8.8): the agreement corpus holds such bundles as valid
                    self.error(
                        ref.location,
                        f"{ref.value} does not resolve inside the bundle: no entry has this fullUrl",
                        "not-found",
                        "warning",
                    )
                return
        if len(matches) > 1:
            entries = ", ".join(str(n) for n in matches)
            self.error(ref.location, f"{ref.value} matches several entries ({entries})", "not-found")
            return
        target = resources.get(matches[0])
        if target is not None:
            self._target(ref, str(target.get("resourceType")))


# (id of the primitive definition, text) -> (the definition, what is wrong with the text or None)
_TEXT_PROBLEMS: dict[tuple[int, str], tuple[PrimitiveDef, str | None]] = {}
_TEXT_PROBLEMS_MAX = 8192


def _primitive_problem(primitive: PrimitiveDef, value: Any) -> str | None:
    """:func:`check_primitive`, remembered for strings: a bundle repeats the same systems, codes, statuses and
    references many times, and the regexes are most of the structural check's cost."""
    if type(value) is not str:
        return check_primitive(primitive, value)
    key = (id(primitive), value)
    found = _TEXT_PROBLEMS.get(key)
    if found is not None and found[0] is primitive:
        return found[1]
    problem = check_primitive(primitive, value)
    if len(_TEXT_PROBLEMS) >= _TEXT_PROBLEMS_MAX:
        _TEXT_PROBLEMS.clear()
    _TEXT_PROBLEMS[key] = (primitive, problem)
    return problem


def _version(resource: dict[str, Any] | None) -> Any:
    meta = resource.get("meta") if resource else None
    return meta.get("versionId") if isinstance(meta, dict) else None


def _choice_location(element: ElementDef, type_ref: TypeRef | None) -> str:
    stem = element.name[:-3]
    return f"{stem}.ofType({type_ref.code})" if type_ref is not None else stem


def _codes(codes: dict[str, frozenset[str]], limit: int = 12) -> str:
    every = sorted(code for values in codes.values() for code in values)
    shown = ", ".join(every[:limit])
    return shown + (f" ... ({len(every)} codes)" if len(every) > limit else "")


def _a(kind: str) -> str:
    return f"{'an' if kind[0].lower() in 'aeiou' else 'a'} {kind}"
