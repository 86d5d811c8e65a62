"""The FHIRPath invariants of the R4 definitions (``ele-1``, ``dom-2``..``dom-5``, ``obs-6``, ``bdl-7``, ``ref-1``,
``per-1``, ``qty-3``, ``sqty-1``, ``tim-*``...), evaluated on every element of a resource, as HAPI's validator does.

``check_invariants(resource, location)`` walks every element instance (contained resources and Bundle entries
included) and evaluates each constraint of severity ``error`` that applies there: the constraints of the element's
definition (``ele-1``, ``obs-3`` on ``Observation.referenceRange``) and those of its type or type profile (``per-1``
on every Period, ``sqty-1`` on a SimpleQuantity, ``obs-6`` on an Observation). A failure is an ``error`` located at
the element the constraint sits on, with the message ``"<key>: <human>"``. A constraint the evaluator cannot
evaluate (a function it lacks) is reported once per key and run as ``information``, never skipped silently.

The constraints and the element types come from the definitions index (:mod:`fhirconv.validate.r4index`), through
:func:`load_definitions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from typing import Any

from fhirconv.validate.fhirpath import (
    ChildDef,
    Env,
    FhirPathError,
    Fn,
    Item,
    TypeModel,
    UnsupportedFunctionError,
    compile_expression,
    instances,
    to_boolean,
)
from fhirconv.validate.issues import Issue, Severity

__all__ = ["ConstraintRunner", "Definitions", "Invariant", "check_invariants", "compile_invariant", "load_definitions"]

_JSON_KINDS: dict[str, type | tuple[type, ...]] = {"string": str, "boolean": bool, "number": (int, float, Decimal)}
_PROFILE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"

# Where HAPI's validator (the reference this project agrees with) deliberately differs from the R4 expression.
# ele-1: HAPI does not report an element whose only content is an ``id``; an element with no content at all is
# still an error (its JSON parser says "Object must have some content").
# txt-2: R4 gives txt-1 and txt-2 the same ``htmlChecks()``; HAPI checks the allowed markup for txt-1 and
# non-whitespace content for txt-2.
_HAPI_EXPRESSIONS = {"ele-1": "hasValue() or children().exists()", "txt-2": "htmlChecks2()"}


@dataclass(frozen=True)
class Invariant:
    """One constraint: ``run`` is None when it cannot be evaluated (``why`` says why). ``severity`` is that of the
    issue a failure gives (the R4 definitions' invariants run here are all ``error``). The expression is compiled on
    first use: a conversion meets a few dozen of R4's ~250 constraints, and compiling them all costs start-up time."""

    key: str
    human: str
    expression: str
    severity: Severity = "error"

    @cached_property
    def _compiled(self) -> tuple[Fn | None, str]:
        text = _HAPI_EXPRESSIONS.get(self.key, self.expression)
        try:
            return compile_expression(text), ""
        except UnsupportedFunctionError as exc:
            return None, f"uses {exc.function}()"
        except FhirPathError as exc:
            return None, f"cannot be parsed ({exc})"

    @property
    def run(self) -> Fn | None:
        return self._compiled[0]

    @property
    def why(self) -> str:
        return self._compiled[1]


@dataclass
class Definitions:
    """The type model for FHIRPath plus the invariants by element path and by type (or type profile) name."""

    model: TypeModel
    by_path: dict[str, tuple[Invariant, ...]]
    by_type: dict[str, tuple[Invariant, ...]]


def compile_invariant(key: str, human: str, expression: str, severity: Severity = "error") -> Invariant:
    """A constraint (of a profile, say) for :class:`ConstraintRunner`; never raises: an expression that cannot be
    evaluated gives an Invariant whose ``run`` is None."""
    return Invariant(key, human, expression, severity)


@cache
def load_definitions() -> Definitions:
    """The definitions from the packaged R4 index (read and compiled once per process)."""
    from fhirconv.validate.r4index import INLINE_TYPES, load_index

    index = load_index()
    model = TypeModel()
    by_path: dict[str, tuple[Invariant, ...]] = {}
    by_type: dict[str, tuple[Invariant, ...]] = {}
    profile_names = {url: url[len(_PROFILE_PREFIX) :] for url in index.profiles if url.startswith(_PROFILE_PREFIX)}
    primitives = {name for name in index.type_names if index.is_primitive(name)}
    model.primitives = frozenset(primitives)
    model.resources = frozenset(index.resource_types | index.abstract_resource_types)
    compiled: dict[tuple[str, str], Invariant] = {}

    def invariants(constraints: Any) -> tuple[Invariant, ...]:
        out: list[Invariant] = []
        for constraint in constraints:
            if constraint.severity != "error" or not constraint.expression:
                continue
            ident = (constraint.key, constraint.expression)
            if ident not in compiled:
                compiled[ident] = Invariant(constraint.key, constraint.human, constraint.expression)
            out.append(compiled[ident])
        return tuple(out)

    for name in sorted(index.type_names):
        typedef = index.type(name)
        if typedef.base:
            model.bases[name] = typedef.base
        by_type[name] = invariants(typedef.root.constraints)
        for element in typedef.elements[1:]:
            if element.constraints:
                by_path[element.path] = invariants(element.constraints)
        if name in primitives:
            continue
        containers = [typedef.root.path] + [
            e.path
            for e in typedef.elements[1:]
            if e.types and e.types[0].code in INLINE_TYPES and typedef.children(e.path)
        ]
        for container in containers:
            for json_name, member in typedef.members(container).items():
                element = member.element
                if element.content_reference is not None:
                    target = typedef.element(element.content_reference)
                    code = target.types[0].code if target is not None and target.types else "BackboneElement"
                    child = ChildDef(
                        element.name.removesuffix("[x]"),
                        json_name,
                        element.content_reference,
                        code,
                        element.path,
                        repeats=element.repeats,
                        json_kind=dict,
                    )
                elif member.type is None:
                    continue
                else:
                    code = member.type.code
                    if code in INLINE_TYPES and typedef.children(element.path):
                        type_key = element.path
                    elif code in model.resources:
                        type_key = "Resource"
                    else:
                        type_key = code
                    profile = next((profile_names[p] for p in member.type.profiles if p in profile_names), None)
                    child = ChildDef(
                        element.name.removesuffix("[x]"),
                        json_name,
                        type_key,
                        code,
                        element.path,
                        profile if profile != code else None,
                        code in primitives,
                        element.repeats,
                        _JSON_KINDS.get(index.primitives[code].json) if code in primitives else dict,
                    )
                model.add(container, child)
    return Definitions(model, by_path, by_type)


# -- the walk ------------------------------------------------------------------------------------------------------


class _Run:
    def __init__(self, definitions: Definitions, top: dict[str, Any]) -> None:
        self.definitions = definitions
        self.model = definitions.model
        self.issues: list[Issue] = []
        self.not_evaluated: set[str] = set()
        self.failed_to_run: set[str] = set()
        self.entries = _bundle_index(top)
        self.env = Env(self.model, {}, self.resolve)
        self.applicable: dict[tuple[str, str], tuple[Invariant, ...]] = {}

    # %resource, %rootResource, resolve()

    def resolve(self, reference: str, env: Env) -> Item | None:
        if reference.startswith("#"):
            root = env.variables.get("rootResource") or []
            for container in root:
                for contained in _as_list(
                    container.value.get("contained") if isinstance(container.value, dict) else None
                ):
                    if isinstance(contained, dict) and contained.get("id") == reference[1:]:
                        kind = contained.get("resourceType")
                        return Item(contained, kind, kind)
            return None
        found = self.entries.get(reference) or self.entries.get("/".join(reference.split("/")[-2:]))
        if found is None:
            return None
        kind = found.get("resourceType")
        return Item(found, kind, kind)

    def invariants_for(self, path: str, type_name: str) -> tuple[Invariant, ...]:
        key = (path, type_name)
        found = self.applicable.get(key)
        if found is None:
            seen: set[str] = set()
            out: list[Invariant] = []
            for invariant in (*self.definitions.by_path.get(path, ()), *self.definitions.by_type.get(type_name, ())):
                if invariant.key not in seen:
                    seen.add(invariant.key)
                    out.append(invariant)
            found = tuple(out)
            self.applicable[key] = found
        return found

    def check(self, item: Item, location: str, invariants: tuple[Invariant, ...]) -> None:
        if not invariants:
            return
        env = self.env
        focus = [item]
        env.variables["context"] = focus
        for invariant in invariants:
            if invariant.run is None:
                if invariant.key not in self.not_evaluated:
                    self.not_evaluated.add(invariant.key)
                    self.issues.append(
                        Issue(
                            "information", location, f"not evaluated: {invariant.key} {invariant.why}", "informational"
                        )
                    )
                continue
            env.this = focus
            try:
                ok = to_boolean(invariant.run(focus, env))
            except (FhirPathError, ValueError, TypeError, ArithmeticError, RecursionError) as exc:
                if invariant.key not in self.failed_to_run:
                    self.failed_to_run.add(invariant.key)
                    self.issues.append(
                        Issue(
                            "information",
                            location,
                            f"not evaluated: {invariant.key} failed to run ({exc})",
                            "informational",
                        )
                    )
                continue
            if not ok:  # HAPI counts an empty result as a failure
                self.issues.append(
                    Issue(invariant.severity, location, f"{invariant.key}: {invariant.human}", "invariant")
                )

    def visit_resource(self, item: Item, location: str, path: str, root: Item | None) -> None:
        variables = self.env.variables
        saved = variables.get("resource"), variables.get("rootResource")
        variables["resource"] = [item]
        variables["rootResource"] = [root or item]
        try:
            self.check(item, location, self.invariants_for(path, str(item.type_key)))
            self.visit_children(item, location, root or item)
        finally:
            if saved[0] is None:
                variables.pop("resource", None)
                variables.pop("rootResource", None)
            else:
                variables["resource"], variables["rootResource"] = saved[0], saved[1] or []

    def visit_children(self, item: Item, location: str, root: Item) -> None:
        value = item.value
        if not isinstance(value, dict):
            if isinstance(item.ext, dict):
                self.visit_members(item.ext, "Element", location, root)
            return
        self.visit_members(value, item.type_key or "", location, root)

    def visit_members(self, value: dict[str, Any], type_key: str, location: str, root: Item) -> None:
        by_json = self.model.by_json.get(type_key)
        if by_json is None:
            return
        done: set[str] = set()
        for key in value:
            json_name = key[1:] if key.startswith("_") else key
            if json_name in done:
                continue
            done.add(json_name)
            child = by_json.get(json_name)
            if child is None:
                continue
            name = json_name if child.name == json_name else f"{child.name}.ofType({child.fhir_type})"
            for where, one in _instances(value, child, f"{location}.{name}"):
                if child.type_key == "Resource":
                    kind = one.value.get("resourceType") if isinstance(one.value, dict) else None
                    if not isinstance(kind, str):
                        continue
                    one = Item(one.value, kind, kind)
                    self.visit_resource(one, where, child.path, root if json_name == "contained" else None)
                    continue
                type_name = child.profile or child.fhir_type
                if child.type_key != child.fhir_type and child.type_key not in self.definitions.by_type:
                    type_name = child.fhir_type  # an inline element: BackboneElement / Element
                self.check(one, where, self.invariants_for(child.path, type_name))
                self.visit_children(one, where, root)


def _instances(value: dict[str, Any], child: ChildDef, location: str) -> Iterator[tuple[str, Item]]:
    for index, one, one_ext in instances(value, child):
        where = f"{location}[{index}]" if child.repeats else location
        yield where, Item(one, child.type_key, child.fhir_type, one_ext)


def _as_list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return raw if isinstance(raw, list) else [raw]


def _bundle_index(top: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """fullUrl and Type/id -> resource, for resolve() inside a Bundle."""
    found: dict[str, dict[str, Any]] = {}
    if top.get("resourceType") != "Bundle":
        return found
    for entry in _as_list(top.get("entry")):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            found.setdefault(full_url, resource)
        if isinstance(resource.get("resourceType"), str) and isinstance(resource.get("id"), str):
            found.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
    return found


class ConstraintRunner:
    """Evaluates given invariants on elements of one resource, with the same evaluator, variables (``%resource``,
    ``%rootResource``), ``resolve()`` and reporting as :func:`check_invariants`; for the constraints of profiles.

    ``top`` is the resource validated as a whole (a Bundle: ``resolve()`` finds its entries)."""

    def __init__(self, top: dict[str, Any]) -> None:
        self._run = _Run(load_definitions(), top)

    def check(
        self,
        value: Any,
        type_key: str,
        fhir_type: str,
        location: str,
        invariants: tuple[Invariant, ...],
        resource: dict[str, Any],
        root: dict[str, Any] | None = None,
    ) -> list[Issue]:
        """The issues of ``invariants`` on ``value`` (an element of ``resource``, typed ``type_key``: a type name,
        or the path of a backbone element such as ``Observation.component``). An invariant that cannot be
        evaluated gives one ``information`` issue per key and runner."""
        run = self._run
        variables = run.env.variables
        kind = str(resource.get("resourceType"))
        top = root if root is not None else resource
        variables["resource"] = [Item(resource, kind, kind)]
        variables["rootResource"] = [Item(top, str(top.get("resourceType")), str(top.get("resourceType")))]
        start = len(run.issues)
        try:
            run.check(Item(value, type_key, fhir_type), location, invariants)
        finally:
            variables.pop("resource", None)
            variables.pop("rootResource", None)
        found = run.issues[start:]
        del run.issues[start:]
        return found


def check_invariants(resource: dict[str, Any], location: str) -> list[Issue]:
    """Every failed error-level invariant of ``resource`` (located under ``location``, e.g. "Bundle"), plus one
    ``information`` issue per invariant that could not be evaluated."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        return []
    definitions = load_definitions()
    if kind not in definitions.model.resources:
        return []
    run = _Run(definitions, resource)
    run.visit_resource(Item(resource, kind, kind), location, kind, None)
    return run.issues
