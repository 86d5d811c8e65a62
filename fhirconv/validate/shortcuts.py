"""Shortcuts for invariants: a cheap test that an invariant certainly holds on one element, so that the FHIRPath
evaluation can be skipped there.

Unlike :data:`fhirconv.validate.fhirpath.FAST_EXPRESSIONS` (a direct implementation giving the expression's answer
on every input), a shortcut answers only "holds" (True) or "don't know" (False, then the expression is evaluated as
before). It reads the element's children as the evaluator's navigation does (:func:`instances`, as
``children_named`` uses it), so "this child is empty" or "this child is one string" means exactly what the
expression would see, whatever the JSON holds (arrays where one value is allowed, companions, wrong kinds). It
answers True only where the expression's value follows from that alone, without a step that could raise (so the
"failed to run" reporting is unchanged). ``or`` is evaluated left to right and stops at true (``_logic`` in
:mod:`fhirconv.validate.fhirpath`); ``startsWith()`` and ``contains()`` give false on an empty input, as in HAPI.

They matter because these invariants run on most elements of a bundle and usually hold trivially: ref-1 on each
Reference with a ``urn:uuid:`` reference, dom-2..dom-5 on each resource without contained resources; bdl-3, bdl-4
and bdl-7 iterate over every entry. ``tests/unit/test_shortcuts.py`` checks that no issue changes, on the corpus
and on mutants of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fhirconv.validate.fhirpath import Env, TypeModel, instances

__all__ = ["SHORTCUTS", "Shortcut"]

# (the element's JSON value, its type key, the model, the environment: %resource) -> the invariant certainly holds
Shortcut = Callable[[Any, str | None, TypeModel, Env], bool]


def _children(value: Any, path: str, type_key: str | None, model: TypeModel) -> list[Any] | None:
    """The JSON values of :func:`_navigate`; for one step (the usual case) without the pairs."""
    if "." in path:
        found = _navigate(value, path, type_key, model)
        return None if found is None else [one for one, _ in found]
    if type(value) is not dict:
        return None
    named = model.named(type_key or "")
    if named is None:
        return None
    out: list[Any] = []
    for child in named.get(path, ()):
        json_name = child.json_name
        if value.get(json_name) is None and (not child.primitive or value.get("_" + json_name) is None):
            continue  # absent (the usual case): instances() would give nothing
        for _, raw, _ in instances(value, child):
            if child.type_key != "Resource" or isinstance(raw, dict):  # as _wrap() keeps them
                out.append(raw)
    return out


def _navigate(value: Any, path: str, type_key: str | None, model: TypeModel) -> list[tuple[Any, Any]] | None:
    """(JSON value, type key) of each item ``path`` (``code``, ``entry.search``) gives on an object element: exactly
    what the evaluator's navigation (:func:`children_named`, through :func:`instances`) makes its items of, without
    building the items. None when the shortcuts do not know: a value on the way that is not an object (a
    primitive's children come from its ``_name`` companion) or a type without element definitions."""
    focus: list[tuple[Any, Any]] = [(value, type_key)]
    for name in path.split(".") if "." in path else (path,):
        found: list[tuple[Any, Any]] = []
        for one, key in focus:
            if type(one) is not dict:
                return None
            if not isinstance(key, str | None):
                return None  # a resource whose resourceType is not a string: the evaluator fails on it
            named = model.named(key or "")
            if named is None:
                return None
            for child in named.get(name, ()):
                json_name = child.json_name
                if one.get(json_name) is None and (not child.primitive or one.get("_" + json_name) is None):
                    continue  # absent (the usual case): instances() would give nothing
                for _, raw, _ in instances(one, child):
                    if child.type_key != "Resource":
                        found.append((raw, child.type_key))
                    elif isinstance(raw, dict):  # as _wrap() makes a resource's item: typed by its resourceType
                        found.append((raw, raw.get("resourceType")))
        focus = found
    return focus


def _empty(name: str) -> Shortcut:
    """For ``name.<anything>.empty()``, ``name.empty() or ...`` and ``name.exists() implies ...``: holds when
    ``name`` (a path) is empty (navigating or filtering an empty collection gives an empty one, whose ``empty()`` is
    true)."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        return _children(value, name, type_key, model) == []

    return holds


def _any_empty(*names: str) -> Shortcut:
    """For ``a.empty() or b.empty()`` (each side a plain ``empty()``, which cannot raise): holds when one is empty."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        return any(_children(value, name, type_key, model) == [] for name in names)

    return holds


def _any_exists(*names: str) -> Shortcut:
    """For ``a.exists() or b.exists() or ...``: holds when one is not empty."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        return any(_children(value, name, type_key, model) for name in names)

    return holds


def _text_without(name: str, text: str, *, prefix: bool) -> Shortcut:
    """For ``name.startsWith(text).not() or ...`` (``prefix``) and ``name.contains(text).not()``: holds when
    ``name`` is empty (the function gives false) or one string that does not start with / contain ``text``."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        found = _children(value, name, type_key, model)
        if found is None:
            return False
        if not found:
            return True
        if len(found) != 1 or type(found[0]) is not str:
            return False
        return not (found[0].startswith(text) if prefix else text in found[0])

    return holds


def _no_value(*names: str) -> Shortcut:
    """For ``a.hasValue().not() or b.hasValue().not() or ...``: holds when one of them has no primitive value
    (``hasValue()`` is false unless the collection is one item with a primitive value)."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        for name in names:
            found = _children(value, name, type_key, model)
            if found is None:
                return False
            if not (len(found) == 1 and found[0] is not None and not isinstance(found[0], dict | list)):
                return True
        return False

    return holds


def _empty_or_exists(empty: str, exists: str) -> Shortcut:
    """For ``a.empty() or b.exists()``: holds when ``a`` is empty or ``b`` is not."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        return _children(value, empty, type_key, model) == [] or bool(_children(value, exists, type_key, model))

    return holds


def _no_coding(path: str, system: str, code: str) -> Shortcut:
    """For ``path.where(system = 'S' and code = 'C').empty() or ...``: holds when no coding at ``path`` has exactly
    the system S and the code C (the comparisons are of one string with a literal, which cannot raise; the
    ``where`` keeps a coding only when both are true)."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        codings = _navigate(value, path, type_key, model)
        if codings is None:
            return False
        for coding, key in codings:
            systems = _children(coding, "system", key, model)
            codes = _children(coding, "code", key, model)
            if systems is None or codes is None or (systems == [system] and codes == [code]):
                return False
        return True

    return holds


def _entries_match_type(part: str, types: frozenset[str]) -> Shortcut:
    """For bdl-3 and bdl-4, ``entry.all(part.exists() = (%resource.type = 'a' or %resource.type = 'b' ...))``:
    holds when %resource has one type and every entry has ``part`` exactly when that type is one of ``types`` (the
    comparisons are of single strings or Booleans, which cannot raise)."""

    def holds(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
        resource = env.variables.get("resource")
        if resource is None or len(resource) != 1:
            return False
        kinds = _children(resource[0].value, "type", resource[0].type_key, model)
        if kinds is None or len(kinds) != 1 or type(kinds[0]) is not str:
            return False
        wanted = kinds[0] in types
        entries = _navigate(value, "entry", type_key, model)
        if entries is None:
            return False
        for entry, key in entries:
            found = _children(entry, part, key, model)
            if found is None or bool(found) != wanted:
                return False
        return True

    return holds


def _distinct_versions(value: Any, type_key: str | None, model: TypeModel, env: Env) -> bool:
    """bdl-7 ``(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId)
    .isDistinct()``: holds when the type is history, or when the fullUrl & versionId strings of the entries with a
    fullUrl differ (``&`` writes each single value with str(), an empty one as ""; it raises on several, and then
    the expression is left to the evaluator; isDistinct() compares strings as strings)."""
    if _children(value, "type", type_key, model) == ["history"]:
        return True
    entries = _navigate(value, "entry", type_key, model)
    if entries is None:
        return False
    seen: set[str] = set()
    for entry, key in entries:
        full_url = _children(entry, "fullUrl", key, model)
        if full_url is None:
            return False
        if not full_url:
            continue  # not selected by where(fullUrl.exists())
        version = _children(entry, "resource.meta.versionId", key, model)
        if version is None or len(full_url) > 1 or len(version) > 1:
            return False
        text = str(full_url[0]) + (str(version[0]) if version else "")
        if text in seen:
            return False
        seen.add(text)
    return True


_DOM_3 = (
    "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | "
    "%resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#')"
    ".exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#')"
    ".exists()).not()).trace('unmatched', id).empty()"
)

# Keyed by the expression as run (Invariant.text), so a constraint of a profile with the same text gets it too: the
# tests above hold whatever the element's type.
SHORTCUTS: dict[str, Shortcut] = {
    "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
    "%rootResource.contained.id.trace('ids'))": _text_without("reference", "#", prefix=True),  # ref-1
    "contained.contained.empty()": _empty("contained"),  # dom-2
    _DOM_3: _empty("contained"),
    # dom-4: both sides of the "and" are true when contained is empty
    "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()": _empty("contained"),
    "contained.meta.security.empty()": _empty("contained"),  # dom-5
    "fullUrl.contains('/_history/').not()": _text_without("fullUrl", "/_history/", prefix=False),  # bdl-8
    "resource.exists() or request.exists() or response.exists()": _any_exists("resource", "request", "response"),
    "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = "
    "'history'))": _entries_match_type("request", frozenset({"batch", "transaction", "history"})),  # bdl-3
    "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or "
    "%resource.type = 'history'))": _entries_match_type(
        "response", frozenset({"batch-response", "transaction-response", "history"})
    ),  # bdl-4
    "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()": (
        _distinct_versions  # bdl-7
    ),
    "dataAbsentReason.empty() or value.empty()": _any_empty("dataAbsentReason", "value"),  # obs-6
    # obs-7: the left side is a plain empty(); with no component the right side is an empty() of nothing
    "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()": _any_empty(
        "value", "component"
    ),
    "code.empty() or system.exists()": _empty_or_exists("code", "system"),  # qty-3
    "comparator.empty()": _empty("comparator"),  # sqty-1
    # con-4: the left side is a plain empty()
    "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/"
    "condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()": _empty("abatement"),
    "code.exists() or detail.exists()": _any_exists("code", "detail"),  # con-2
    "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and "
    "code='entered-in-error').empty() or clinicalStatus.empty()": _no_coding(  # con-5
        "verificationStatus.coding", "http://terminology.hl7.org/CodeSystem/condition-ver-status", "entered-in-error"
    ),
    "low.exists() or high.exists() or text.exists()": _any_exists("low", "high", "text"),  # obs-3
    # bdl-2, lst-2, lst-3: the other side is a plain comparison of a code, which cannot raise
    "entry.search.empty() or (type = 'searchset')": _empty("entry.search"),
    "mode = 'changes' or entry.deleted.empty()": _empty("entry.deleted"),
    "mode = 'working' or entry.date.empty()": _empty("entry.date"),
    # Timing.repeat
    "duration.empty() or durationUnit.exists()": _empty_or_exists("duration", "durationUnit"),  # tim-1
    "period.empty() or periodUnit.exists()": _empty_or_exists("period", "periodUnit"),  # tim-2
    "duration.exists() implies duration >= 0": _empty("duration"),  # tim-4
    "period.exists() implies period >= 0": _empty("period"),  # tim-5
    "periodMax.empty() or period.exists()": _empty_or_exists("periodMax", "period"),  # tim-6
    "durationMax.empty() or duration.exists()": _empty_or_exists("durationMax", "duration"),  # tim-7
    "countMax.empty() or count.exists()": _empty_or_exists("countMax", "count"),  # tim-8
    "offset.empty() or (when.exists() and ((when in ('C' | 'CM' | 'CD' | 'CV')).not()))": _empty("offset"),  # tim-9
    "timeOfDay.empty() or when.empty()": _any_empty("timeOfDay", "when"),  # tim-10
    "start.hasValue().not() or end.hasValue().not() or (start <= end)": _no_value("start", "end"),  # per-1
}
