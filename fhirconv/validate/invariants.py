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

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from typing import Any

from fhirconv.validate.fhirpath import (
    FAST_EXPRESSIONS,
    ChildDef,
    Env,
    FastCheck,
    FhirPathError,
    Fn,
    Item,
    TypeModel,
    UnsupportedFunctionError,
    compile_expression,
    has_value_or_children,
    instances,
    to_boolean,
)
from fhirconv.validate.issues import Issue, Severity
from fhirconv.validate.r4index import INLINE_TYPES, Constraint, Member, R4Index, TypeDef
from fhirconv.validate.shortcuts import SHORTCUTS, Shortcut

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
    first use: a conversion meets a few dozen of R4's ~250 constraints, and compiling them all costs start-up time.
    ``fast`` is a direct implementation of the expression when there is one (ele-1), giving the same answer."""

    key: str
    human: str
    expression: str
    severity: Severity = "error"

    @cached_property
    def _compiled(self) -> tuple[Fn | None, str]:
        try:
            return compile_expression(self.text), ""
        except UnsupportedFunctionError as exc:
            return None, f"uses {exc.function}()"
        except FhirPathError as exc:
            return None, f"cannot be parsed ({exc})"

    @property
    def text(self) -> str:
        """The expression as run (HAPI's where it differs from R4's)."""
        return _HAPI_EXPRESSIONS.get(self.key, self.expression)

    @property
    def run(self) -> Fn | None:
        return self._compiled[0]

    @property
    def why(self) -> str:
        return self._compiled[1]

    @cached_property
    def fast(self) -> FastCheck | None:
        return FAST_EXPRESSIONS.get(self.text)

    @cached_property
    def shortcut(self) -> Shortcut | None:
        """A test that the invariant holds on an element without evaluating it (:mod:`fhirconv.validate.shortcuts`)."""
        return SHORTCUTS.get(self.text)


@dataclass(frozen=True, slots=True)
class _Slot:
    """What the walk needs for one JSON property of a type: the element, its location step (``code``,
    ``value.ofType(Quantity)``) and the invariants of each of its instances (none for a resource: those are the
    resource's own, run by ``visit_resource``)."""

    child: ChildDef
    step: str
    invariants: tuple[Invariant, ...]
    is_resource: bool
    # ele-1 alone: nothing to run on an instance with a primitive value (hasValue() holds), most of a resource
    only_ele_1: bool = False
    # ele-1 (when among the invariants) and the others: on an object, ele-1 is answered by the object's own visit
    ele_1: Invariant | None = None
    others: tuple[Invariant, ...] = ()
    # with only_ele_1: the JSON types readable as a value of the element (str for a string...), tested by type() so
    # that the common case, a primitive value alone, costs a set lookup
    value_types: frozenset[type] = frozenset()


@dataclass
class Definitions:
    """The type model for FHIRPath plus the invariants by element path and by type (or type profile) name.

    ``by_path`` and ``by_type`` are filled on first use from ``source`` (the R4 index); an entry put there before
    (as tests do) is used as it is. The per-type tables of the walk are cached here too, for the process."""

    model: TypeModel
    by_path: dict[str, tuple[Invariant, ...]]
    by_type: dict[str, tuple[Invariant, ...]]
    source: _Source | None = None
    _applicable: dict[tuple[str, str], tuple[Invariant, ...]] = field(init=False, default_factory=dict)
    _slots: dict[str, dict[str, _Slot] | None] = field(init=False, default_factory=dict)

    def path_invariants(self, path: str) -> tuple[Invariant, ...]:
        found = self.by_path.get(path)
        if found is None:
            found = self.source.path_invariants(path) if self.source is not None else ()
            self.by_path[path] = found
        return found

    def type_invariants(self, name: str) -> tuple[Invariant, ...]:
        found = self.by_type.get(name)
        if found is None:
            found = self.source.type_invariants(name) if self.source is not None else ()
            self.by_type[name] = found
        return found

    def is_type(self, name: str) -> bool:
        """A type of the definitions (as opposed to a backbone path such as ``Observation.component``)."""
        return self.source.index.has_type(name) if self.source is not None else name in self.by_type

    def invariants_for(self, path: str, type_name: str) -> tuple[Invariant, ...]:
        """The invariants of an element at ``path`` typed ``type_name``: the element's own, then its type's, each
        key once."""
        key = (path, type_name)
        found = self._applicable.get(key)
        if found is None:
            seen: set[str] = set()
            out: list[Invariant] = []
            for invariant in (*self.path_invariants(path), *self.type_invariants(type_name)):
                if invariant.key not in seen:
                    seen.add(invariant.key)
                    out.append(invariant)
            found = tuple(out)
            self._applicable[key] = found
        return found

    def slots(self, type_key: str) -> dict[str, _Slot] | None:
        """JSON property name -> :class:`_Slot` for the elements of ``type_key`` (None when it has none)."""
        if type_key in self._slots:
            return self._slots[type_key]
        members = self.model.members(type_key)
        table = None if members is None else {name: self._slot(child) for name, child in members.items()}
        self._slots[type_key] = table
        return table

    def _slot(self, child: ChildDef) -> _Slot:
        step = child.json_name if child.name == child.json_name else f"{child.name}.ofType({child.fhir_type})"
        if child.type_key == "Resource":
            return _Slot(child, step, (), True)
        type_name = child.profile or child.fhir_type
        if child.type_key != child.fhir_type and not self.is_type(child.type_key):
            type_name = child.fhir_type  # an inline element: BackboneElement / Element
        invariants = self.invariants_for(child.path, type_name)
        ele_1 = next((i for i in invariants if i.fast is has_value_or_children), None)
        others = tuple(i for i in invariants if i is not ele_1)
        only_ele_1 = ele_1 is not None and not others
        # the types readable_value() keeps (a bool is not read as a number)
        kind = child.json_kind
        value_types = frozenset(
            t
            for t in _PRIMITIVE_VALUES
            if only_ele_1 and (kind is None or (issubclass(t, kind) and (t is not bool or kind is bool)))
        )
        return _Slot(child, step, invariants, False, only_ele_1, ele_1, others, value_types)


def compile_invariant(key: str, human: str, expression: str, severity: Severity = "error") -> Invariant:
    """A constraint (of a profile, say) for :class:`ConstraintRunner`; never raises: an expression that cannot be
    evaluated gives an Invariant whose ``run`` is None."""
    return Invariant(key, human, expression, severity)


class _Source:
    """Builds the definitions of one type (or backbone element) from the R4 index when first asked for.

    Only the types a validation meets get built: building all 211 of R4 took about 0.25 s at the first call."""

    def __init__(self, index: R4Index) -> None:
        self.index = index
        self.profile_names = {
            url: url[len(_PROFILE_PREFIX) :] for url in index.profiles if url.startswith(_PROFILE_PREFIX)
        }
        self.primitives = frozenset(name for name in index.type_names if index.is_primitive(name))
        self._compiled: dict[tuple[str, str], Invariant] = {}

    def model(self) -> TypeModel:
        index = self.index
        bases = {name: base for name in index.type_names if (base := index.base_of(name))}
        return TypeModel(
            bases=bases,
            primitives=self.primitives,
            resources=frozenset(index.resource_types | index.abstract_resource_types),
            loader=self.load,
        )

    def invariants(self, constraints: tuple[Constraint, ...]) -> tuple[Invariant, ...]:
        out: list[Invariant] = []
        for constraint in constraints:
            if constraint.severity != "error" or not constraint.expression:
                continue
            ident = (constraint.key, constraint.expression)
            if ident not in self._compiled:
                self._compiled[ident] = Invariant(constraint.key, constraint.human, constraint.expression)
            out.append(self._compiled[ident])
        return tuple(out)

    def type_invariants(self, name: str) -> tuple[Invariant, ...]:
        if not self.index.has_type(name):
            return ()
        return self.invariants(self.index.type(name).root.constraints)

    def path_invariants(self, path: str) -> tuple[Invariant, ...]:
        """The invariants of the element at ``path``; the type is the path's first step, as every R4 type's paths
        start with its name (but SimpleQuantity's and MoneyQuantity's, which repeat Quantity's elements)."""
        name = path.split(".", 1)[0]
        found = self.index.type(name).element(path) if "." in path and self.index.has_type(name) else None
        return self.invariants(found.constraints) if found is not None else ()

    def load(self, model: TypeModel, type_key: str) -> None:
        """Adds to ``model`` the elements of ``type_key``: a type name, or the path of a backbone element."""
        index = self.index
        name = type_key.split(".", 1)[0]
        if not index.has_type(name) or name in self.primitives:
            return
        typedef = index.type(name)
        if "." not in type_key:
            if typedef.root.path != type_key:
                return  # SimpleQuantity, MoneyQuantity: profiles of Quantity, met as Quantity with a profile
        else:
            backbone = typedef.element(type_key)
            if backbone is None or not backbone.types or backbone.types[0].code not in INLINE_TYPES:
                return
        for json_name, member in typedef.members(type_key).items():
            child = self._child(typedef, json_name, member)
            if child is not None:
                model.add(type_key, child)

    def _child(self, typedef: TypeDef, json_name: str, member: Member) -> ChildDef | None:
        element = member.element
        if element.content_reference is not None:
            target = typedef.element(element.content_reference)
            code = target.types[0].code if target is not None and target.types else "BackboneElement"
            return ChildDef(
                element.name.removesuffix("[x]"),
                json_name,
                element.content_reference,
                code,
                element.path,
                repeats=element.repeats,
                json_kind=dict,
            )
        if member.type is None:
            return None
        code = member.type.code
        if code in INLINE_TYPES and typedef.children(element.path):
            type_key = element.path
        elif code in self.index.resource_types or code in self.index.abstract_resource_types:
            type_key = "Resource"
        else:
            type_key = code
        profile = next((self.profile_names[p] for p in member.type.profiles if p in self.profile_names), None)
        primitive = code in self.primitives
        return ChildDef(
            element.name.removesuffix("[x]"),
            json_name,
            type_key,
            code,
            element.path,
            profile if profile != code else None,
            primitive,
            element.repeats,
            _JSON_KINDS.get(self.index.primitives[code].json) if primitive else dict,
        )


@cache
def load_definitions() -> Definitions:
    """The definitions from the packaged R4 index (each type built on first use, then kept for the process)."""
    from fhirconv.validate.r4index import load_index

    source = _Source(load_index())
    return Definitions(source.model(), {}, {}, source)


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

    def check(
        self,
        value: Any,
        ext: Any,
        type_key: str | None,
        fhir_type: str | None,
        location: str,
        invariants: tuple[Invariant, ...],
    ) -> None:
        """Runs ``invariants`` on one element (its JSON ``value`` and ``_name`` companion ``ext``). The FHIRPath
        Item is built only for an invariant without a fast path: most elements have ele-1 alone."""
        focus: list[Item] | None = None
        for invariant in invariants:
            fast = invariant.fast
            if fast is not None:
                if not fast(value, ext, type_key, self.model):
                    self._failed(invariant, location)
                continue
            shortcut = invariant.shortcut
            if shortcut is not None and shortcut(value, type_key, self.model, self.env):
                continue
            if focus is None:
                focus = [Item(value, type_key, fhir_type, ext)]
                self.env.variables["context"] = focus
            self._evaluate(invariant, focus, location)

    def _evaluate(self, invariant: Invariant, focus: list[Item], location: str) -> None:
        run = invariant.run
        if run is None:
            if invariant.key not in self.not_evaluated:
                self.not_evaluated.add(invariant.key)
                self.issues.append(
                    Issue("information", location, f"not evaluated: {invariant.key} {invariant.why}", "informational")
                )
            return
        env = self.env
        env.this = focus
        try:
            ok = to_boolean(run(focus, env))
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
            return
        if not ok:  # HAPI counts an empty result as a failure
            self._failed(invariant, location)

    def _failed(self, invariant: Invariant, location: str) -> None:
        self.issues.append(Issue(invariant.severity, location, f"{invariant.key}: {invariant.human}", "invariant"))

    def visit_resource(self, resource: dict[str, Any], kind: str, location: str, path: str, root: Item | None) -> None:
        item = Item(resource, kind, kind)
        variables = self.env.variables
        saved = variables.get("resource"), variables.get("rootResource")
        variables["resource"] = [item]
        variables["rootResource"] = [root or item]
        try:
            self.check(resource, None, kind, kind, location, self.definitions.invariants_for(path, kind))
            self.visit_members(resource, kind, location, root or item)
        finally:
            if saved[0] is None:
                variables.pop("resource", None)
                variables.pop("rootResource", None)
            else:
                variables["resource"], variables["rootResource"] = saved[0], saved[1] or []

    def visit_members(self, value: dict[str, Any], type_key: str, location: str, root: Item) -> bool:
        """Visits the elements of the object ``value`` (typed ``type_key``); returns whether it has any content,
        ``children().exists()``, worked out on the way with the same rule as :func:`has_value_or_children`, so that
        ele-1 on an object costs no second pass over its properties."""
        slots = self.definitions.slots(type_key)
        if slots is None:
            return any(key != "resourceType" and _as_list(value.get(key.removeprefix("_"))) for key in value)
        content = False
        for key, raw in value.items():
            if key.startswith("_"):
                json_name = key[1:]
                slot = slots.get(json_name)
                if slot is not None and json_name in value:
                    continue  # visited with its value (which has the same children)
            else:
                json_name = key
                slot = slots.get(json_name)
            if slot is None:
                # not an element of the type: content all the same, as all_children() sees it (resourceType aside)
                content = content or (key != "resourceType" and bool(_as_list(value.get(json_name))))
                continue
            child = slot.child
            if type(raw) in slot.value_types and (not child.primitive or "_" + json_name not in value):
                content = True
                continue  # the common case, first: a primitive value alone, where ele-1 holds (hasValue())
            found = instances(value, child)
            if not found:
                continue
            content = True
            step = f"{location}.{slot.step}"
            for index, one, one_ext in found:
                where = f"{step}[{index}]" if child.repeats else step
                if slot.is_resource:
                    kind = one.get("resourceType") if isinstance(one, dict) else None
                    if isinstance(kind, str):
                        self.visit_resource(one, kind, where, child.path, root if json_name == "contained" else None)
                    continue
                if isinstance(one, dict):
                    if slot.others:
                        self.check(one, one_ext, child.type_key, child.fhir_type, where, slot.others)
                    # ele-1 (hasValue() or children().exists()) on an object: its content, from its own visit
                    if not self.visit_members(one, child.type_key, where, root) and slot.ele_1 is not None:
                        self._failed(slot.ele_1, where)
                    continue
                if isinstance(one, _PRIMITIVE_VALUES) and slot.only_ele_1:
                    pass  # a primitive with a value: hasValue(), so ele-1 holds
                elif slot.invariants:
                    self.check(one, one_ext, child.type_key, child.fhir_type, where, slot.invariants)
                if isinstance(one_ext, dict):
                    self.visit_members(one_ext, "Element", where, root)
        return content


# JSON values that are a primitive's value (hasValue() holds on them)
_PRIMITIVE_VALUES = (str, bool, int, float, Decimal)


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
            run.check(value, None, type_key, fhir_type, location, invariants)
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
    run.visit_resource(resource, kind, location, kind, None)
    return run.issues
