"""A small, fast FHIRPath evaluator for the invariants of the FHIR R4 definitions.

Expressions are parsed once and compiled into Python closures (``compile_expression`` caches them), then evaluated
directly on FHIR JSON data (dicts, lists, str, bool, int, Decimal). Type information (choice elements such as
``value[x]``, ``is``/``as``/``ofType``, ``children()``) comes from a :class:`TypeModel` built from the definitions.

Covered: paths and indexers, every operator of FHIRPath (N1) but date arithmetic, literals (string, number, boolean,
date/time, ``{}``), ``$this``, ``%resource``, ``%rootResource``, ``%context``, ``%ucum``, and the functions listed in
``FUNCTIONS``; ``resolve()`` finds resources inside the Bundle being checked and contained resources;
``htmlChecks()`` (txt-1) and ``htmlChecks2()`` (txt-2, as HAPI splits them) are sanity checks of the narrative
XHTML. A function outside that list makes ``compile_expression`` raise :class:`UnsupportedFunctionError`, so that
callers can say which invariant was not evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = [
    "FAST_EXPRESSIONS",
    "ChildDef",
    "Env",
    "FastCheck",
    "FhirPathError",
    "Item",
    "TypeModel",
    "UnsupportedFunctionError",
    "compile_expression",
    "readable_value",
    "to_boolean",
]


class FhirPathError(Exception):
    """The expression is malformed, or its evaluation hit an error (e.g. a collection where one item is needed)."""


class UnsupportedFunctionError(FhirPathError):
    """The expression uses a function this evaluator does not implement."""

    def __init__(self, function: str) -> None:
        super().__init__(f"{function}()")
        self.function = function


# -- the type model ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildDef:
    """One element of a type: ``name`` as FHIRPath sees it, ``json_name`` as JSON spells it (``valueQuantity``)."""

    name: str
    json_name: str
    type_key: str  # a type name, a backbone path ("Observation.referenceRange") or "Resource"
    fhir_type: str  # the FHIR type name: "Quantity", "BackboneElement", "string", "Resource"
    path: str  # the element definition's path ("Observation.value[x]")
    profile: str | None = None  # a profile on the type, e.g. "SimpleQuantity"
    primitive: bool = False
    repeats: bool = True  # False: a JSON array here is unreadable and ignored, as HAPI's parser does
    json_kind: type | tuple[type, ...] | None = None  # a primitive's JSON kind (str, bool, (int, float, Decimal))


@dataclass
class TypeModel:
    """Which elements each type has, and the type hierarchy (``bases``: type name -> base type name).

    ``elements`` (FHIRPath name -> definitions) and ``by_json`` (JSON name -> definition) are keyed by a type name
    or a backbone path. With a ``loader``, a key missing from them is filled on first use (``loader(model, key)``
    calls :meth:`add`): a validation meets a few dozen of R4's types, and building all of them costs start-up time.
    Read them through :meth:`named` and :meth:`members`, which call the loader."""

    elements: dict[str, dict[str, tuple[ChildDef, ...]]] = field(default_factory=dict)
    by_json: dict[str, dict[str, ChildDef]] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)
    primitives: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    loader: Callable[[TypeModel, str], None] | None = field(default=None, repr=False, compare=False)
    _loaded: set[str] = field(default_factory=set, repr=False, compare=False)

    def add(self, type_key: str, child: ChildDef) -> None:
        named = self.elements.setdefault(type_key, {})
        named[child.name] = (*named.get(child.name, ()), child)
        self.by_json.setdefault(type_key, {})[child.json_name] = child

    def _load(self, type_key: str) -> None:
        # a key can be any JSON value: an Item's type comes from a resource's "resourceType"
        if self.loader is not None and isinstance(type_key, str) and type_key not in self._loaded:
            self._loaded.add(type_key)
            self.loader(self, type_key)

    def named(self, type_key: str) -> dict[str, tuple[ChildDef, ...]] | None:
        """FHIRPath name -> the elements of that name, for ``type_key`` (None for a type without elements)."""
        found = self.elements.get(type_key)
        if found is None:
            self._load(type_key)
            found = self.elements.get(type_key)
        return found

    def members(self, type_key: str) -> dict[str, ChildDef] | None:
        """JSON property name -> element, for ``type_key`` (None for a type without elements)."""
        found = self.by_json.get(type_key)
        if found is None:
            self._load(type_key)
            found = self.by_json.get(type_key)
        return found

    def is_a(self, fhir_type: str, name: str) -> bool:
        current: str | None = fhir_type
        while current is not None:
            if current == name:
                return True
            current = self.bases.get(current)
        return False


# -- items, environment --------------------------------------------------------------------------------------------


class Item:
    """One node of a collection: a JSON value with its type (``type_key`` navigates, ``fhir_type`` answers ``is``)."""

    __slots__ = ("ext", "fhir_type", "type_key", "value")

    def __init__(self, value: Any, type_key: str | None, fhir_type: str | None, ext: Any = None) -> None:
        self.value = value
        self.type_key = type_key
        self.fhir_type = fhir_type
        self.ext = ext  # the "_name" companion of a primitive (id, extension)

    def __repr__(self) -> str:
        return f"Item({self.value!r}, {self.fhir_type})"


Collection = list[Item]
Resolver = Callable[[str, "Env"], Item | None]


class Env:
    """What an evaluation needs besides its focus: ``$this``, the ``%`` variables, the model, a resolver."""

    __slots__ = ("cache", "model", "resolver", "this", "variables")

    def __init__(
        self,
        model: TypeModel,
        variables: dict[str, Collection],
        resolver: Resolver | None = None,
    ) -> None:
        self.model = model
        self.variables = variables
        self.resolver = resolver
        self.this: Collection = []
        # results of paths rooted at a variable (``%resource.type``), see _cached_path
        self.cache: dict[object, tuple[Collection, Collection]] = {}


Fn = Callable[[Collection, Env], Collection]

_TRUE = Item(True, "boolean", "System.Boolean")
_FALSE = Item(False, "boolean", "System.Boolean")


def _bool(value: bool) -> Collection:
    return [_TRUE if value else _FALSE]


def _string(value: str) -> Item:
    return Item(value, "string", "System.String")


def _integer(value: int) -> Item:
    return Item(value, "integer", "System.Integer")


def to_boolean(items: Collection) -> bool | None:
    """The singleton evaluation of a collection as a Boolean: None for empty, True for a non-Boolean singleton."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError("a Boolean was expected, found a collection of several items")
    value = items[0].value
    if isinstance(value, bool):
        return value
    return True


# -- navigation ----------------------------------------------------------------------------------------------------


def _wrap(raw: Any, ext: Any, child: ChildDef, out: Collection) -> None:
    if child.type_key == "Resource":
        if isinstance(raw, dict):
            kind = raw.get("resourceType")
            out.append(Item(raw, kind, kind))
        return
    out.append(Item(raw, child.type_key, child.fhir_type, ext))


def children_named(item: Item, name: str, model: TypeModel) -> Collection:
    value = item.value
    if not isinstance(value, dict):
        ext = item.ext
        if isinstance(ext, dict) and name in ("id", "extension"):
            return _raw_children(ext, name, model)
        return []
    defs = model.named(item.type_key or "")
    if defs is None:
        return _raw_children(value, name, model)
    found = defs.get(name)
    if not found:
        return []
    out: Collection = []
    for child in found:
        for _, one, one_ext in instances(value, child):
            _wrap(one, one_ext, child, out)
    return out


def instances(value: dict[str, Any], child: ChildDef) -> list[tuple[int, Any, Any]]:
    """(array index, value, ``_name`` companion) of each occurrence of ``child`` in ``value``.

    What HAPI's JSON parser cannot read is left out, as HAPI leaves it out of its FHIRPath model: an array where one
    value is allowed, a value of the wrong JSON kind (``"value": true`` for a decimal, a string for a Coding)."""
    raw = value.get(child.json_name)
    ext = value.get("_" + child.json_name) if child.primitive else None
    if ext is None and not isinstance(raw, list):  # the common case, first
        if raw is None:
            return []
        one = readable_value(raw, child)
        return [] if one is None else [(0, one, None)]
    if not isinstance(raw, list) and not isinstance(ext, list):
        return [(0, readable_value(raw, child), ext)]
    if not child.repeats:
        return []
    raws = raw if isinstance(raw, list) else []
    exts = ext if isinstance(ext, list) else []
    out: list[tuple[int, Any, Any]] = []
    for index in range(max(len(raws), len(exts))):
        one = readable_value(raws[index], child) if index < len(raws) else None
        one_ext = exts[index] if index < len(exts) else None
        if one is not None or one_ext is not None:
            out.append((index, one, one_ext))
    return out


def readable_value(raw: Any, child: ChildDef) -> Any:
    kind = child.json_kind
    if kind is None or raw is None:
        return raw
    if isinstance(raw, bool) and kind is not bool:
        return None
    return raw if isinstance(raw, kind) else None


def _raw_children(value: dict[str, Any], name: str, model: TypeModel) -> Collection:
    if name == "extension":
        child = (model.members("Element") or {}).get("extension")
        type_key, fhir_type = ("Extension", "Extension") if child is None else (child.type_key, child.fhir_type)
        return [Item(one, type_key, fhir_type) for one in _as_list(value.get("extension"))]
    if name == "id":
        return [Item(one, "string", "string") for one in _as_list(value.get("id"))]
    return [Item(one, None, None) for one in _as_list(value.get(name))]


def _as_list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return raw if isinstance(raw, list) else [raw]


def all_children(item: Item, model: TypeModel) -> Collection:
    value = item.value
    if not isinstance(value, dict):
        ext = item.ext
        if not isinstance(ext, dict):
            return []
        return _raw_children(ext, "id", model) + _raw_children(ext, "extension", model)
    by_json = model.members(item.type_key or "")
    out: Collection = []
    seen: set[str] = set()
    for key in value:
        if key == "resourceType":
            continue
        json_name = key[1:] if key.startswith("_") else key
        if json_name in seen:
            continue
        seen.add(json_name)
        child = by_json.get(json_name) if by_json is not None else None
        if child is None:
            out.extend(Item(one, None, None) for one in _as_list(value.get(json_name)))
            continue
        for _, one, one_ext in instances(value, child):
            _wrap(one, one_ext, child, out)
    return out


def has_value_or_children(value: Any, ext: Any, type_key: str | None, model: TypeModel) -> bool:
    """``hasValue() or children().exists()`` (ele-1 as HAPI runs it) on one element, without building Items.

    The same answer as the compiled expression on ``Item(value, type_key, _, ext)``, for every input: it follows
    :func:`all_children` step by step, stopping at the first child. ele-1 runs on every element of a resource, so
    this is most of the invariants' work; ``tests/unit/test_invariants.py`` compares both on the corpus."""
    if value is not None and not isinstance(value, dict | list):
        return True  # hasValue()
    if not isinstance(value, dict):
        # a primitive without a (readable) value: its children are the id and extensions of its "_name" companion
        return isinstance(ext, dict) and bool(_as_list(ext.get("id")) or _as_list(ext.get("extension")))
    by_json = model.members(type_key or "")
    for key in value:
        if key == "resourceType":
            continue
        json_name = key[1:] if key.startswith("_") else key
        child = by_json.get(json_name) if by_json is not None else None
        if child is None:
            if _as_list(value.get(json_name)):
                return True
        elif instances(value, child):
            return True
    return False


# A direct implementation of an expression: (JSON value, "_name" companion, type key, model) -> it holds.
FastCheck = Callable[[Any, Any, str | None, TypeModel], bool]

# Expressions (as run, after HAPI's substitutions) with a direct implementation giving the same answer.
FAST_EXPRESSIONS: dict[str, FastCheck] = {
    "hasValue() or children().exists()": has_value_or_children,
}


# -- equality and order --------------------------------------------------------------------------------------------

_DATE_TYPES = frozenset({"date", "dateTime", "instant", "System.Date", "System.DateTime"})
_TIME_TYPES = frozenset({"time", "System.Time"})
_QUANTITY_TYPES = frozenset({"Quantity", "Age", "Distance", "Duration", "Count", "MoneyQuantity", "SimpleQuantity"})
_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2}(?:\.\d+)?))?)?)?)?)?(Z|[+-]\d{2}:\d{2})?$"
)
_TIME_RE = re.compile(r"^(\d{2})(?::(\d{2})(?::(\d{2}(?:\.\d+)?))?)?$")


def _parse_date(text: str) -> tuple[Any, ...] | None:
    match = _DATE_RE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    parts: list[Any] = [int(year)]
    for piece in (month, day, hour, minute):
        if piece is None:
            break
        parts.append(int(piece))
    if second is not None and len(parts) == 5:
        parts.append(Decimal(second))
    if zone is not None and len(parts) >= 5:
        offset = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * (1 if zone[0] == "+" else -1)
        moment = datetime(parts[0], parts[1], parts[2], parts[3], parts[4]) - timedelta(minutes=offset)
        parts[:5] = [moment.year, moment.month, moment.day, moment.hour, moment.minute]
    return tuple(parts)


def _parse_time(text: str) -> tuple[Any, ...] | None:
    match = _TIME_RE.match(text)
    if match is None:
        return None
    hour, minute, second = match.groups()
    parts: list[Any] = [int(hour)]
    if minute is not None:
        parts.append(int(minute))
        if second is not None:
            parts.append(Decimal(second))
    return tuple(parts)


def _compare_parts(left: tuple[Any, ...], right: tuple[Any, ...]) -> int | None:
    for a, b in zip(left, right, strict=False):
        if a != b:
            return -1 if a < b else 1
    return 0 if len(left) == len(right) else None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return None


def _temporal(item: Item) -> tuple[str, tuple[Any, ...]] | None:
    if not isinstance(item.value, str):
        return None
    if item.fhir_type in _DATE_TYPES:
        parsed = _parse_date(item.value)
        return None if parsed is None else ("date", parsed)
    if item.fhir_type in _TIME_TYPES:
        parsed = _parse_time(item.value)
        return None if parsed is None else ("time", parsed)
    return None


def _quantity(item: Item) -> tuple[Decimal, str] | None:
    if item.fhir_type in _QUANTITY_TYPES and isinstance(item.value, dict):
        number = _number(item.value.get("value"))
        if number is None:
            return None
        return number, str(item.value.get("code") or item.value.get("unit") or "")
    return None


def compare(left: Item, right: Item) -> int | None:
    """-1/0/1, or None where FHIRPath says the result is empty (different precisions, units, incomparable types)."""
    a, b = left.value, right.value
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    ta, tb = _temporal(left), _temporal(right)
    if ta is not None or tb is not None:
        if ta is None and tb is not None and isinstance(a, str):
            ta = _temporal(Item(a, None, right.fhir_type))
        if tb is None and ta is not None and isinstance(b, str):
            tb = _temporal(Item(b, None, left.fhir_type))
        if ta is None or tb is None or ta[0] != tb[0]:
            return None
        return _compare_parts(ta[1], tb[1])
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    qa, qb = _quantity(left), _quantity(right)
    if qa is not None and qb is not None:
        if qa[1] != qb[1]:
            return None
        return (qa[0] > qb[0]) - (qa[0] < qb[0])
    return None


# the types whose strings _temporal parses (so that equal() compares them as dates and times)
_TEMPORAL_TYPES = _DATE_TYPES | _TIME_TYPES


def equal(left: Item, right: Item) -> bool | None:
    a, b = left.value, right.value
    if (
        isinstance(a, str)
        and isinstance(b, str)
        and left.fhir_type not in _TEMPORAL_TYPES
        and right.fhir_type not in _TEMPORAL_TYPES
    ):
        return a == b  # the common case, first: what the steps below give for two plain strings
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, dict) or isinstance(b, dict):
        if _quantity(left) is not None and _quantity(right) is not None:
            result = compare(left, right)
            return None if result is None else result == 0
        return bool(_json_equal(a, b))
    if _temporal(left) is not None or _temporal(right) is not None:
        result = compare(left, right)
        return None if result is None else result == 0
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return bool(a == b)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return all(_json_equal(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return bool(a == b)


def _equivalent(left: Item, right: Item) -> bool:
    a, b = left.value, right.value
    if isinstance(a, str) and isinstance(b, str) and _temporal(left) is None:
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    result = equal(left, right)
    return bool(result)


def _key(item: Item) -> Any:
    """A hashable stand-in for distinctness (numbers by value, dates by their text)."""
    value = item.value
    number = _number(value)
    if number is not None:
        return ("n", number.normalize())
    if isinstance(value, dict | list):
        return ("j", repr(_freeze(value)))
    return (type(value).__name__, value)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    number = _number(value)
    return number.normalize() if number is not None else value


def _distinct(items: Iterable[Item]) -> Collection:
    seen: set[Any] = set()
    out: Collection = []
    for item in items:
        key = _key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


# -- the parser ----------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*')
  | (?P<date>@T?[0-9][0-9:\-T.+Z]*)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)
  | (?P<var>%[A-Za-z_][A-Za-z0-9_]*|%`[^`]+`|%'[^']+')
  | (?P<special>\$this|\$index|\$total)
  | (?P<op><=|>=|!=|!~|[=~<>|&+\-*/().,\[\]{}])
    )""",
    re.VERBOSE,
)

_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

Node = tuple[Any, ...]

_BINARY = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "~": 5,
    "!=": 5,
    "!~": 5,
    "<": 6,
    ">": 6,
    "<=": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}


def _unescape(text: str) -> str:
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: _escape(m.group(1)), text)


def _escape(code: str) -> str:
    if code.startswith("u") and len(code) == 5:
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, code)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None or match.end() == position:
            raise FhirPathError(f"cannot read the expression at {text[position : position + 20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    tokens.append(("end", ""))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        kind, value = self.take()
        if value != text or kind not in ("op", "id"):
            raise FhirPathError(f"expected {text!r}, found {value!r}")

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek()[0] != "end":
            raise FhirPathError(f"unexpected {self.peek()[1]!r}")
        return node

    def expression(self, min_power: int) -> Node:
        left = self.unary()
        while True:
            kind, value = self.peek()
            if kind not in ("op", "id") or value not in _BINARY:
                return left
            power = _BINARY[value]
            if power <= min_power:
                return left
            self.take()
            if value in ("is", "as"):
                left = (value, left, self.type_name())
            else:
                left = ("op", value, left, self.expression(power))

    def type_name(self) -> str:
        kind, value = self.take()
        if kind != "id":
            raise FhirPathError(f"expected a type name, found {value!r}")
        name = value.strip("`")
        while self.peek()[1] == "." and self.tokens[self.position + 1][0] == "id":
            self.take()
            name += "." + self.take()[1].strip("`")
        return name

    def unary(self) -> Node:
        kind, value = self.peek()
        if kind == "op" and value in ("-", "+"):
            self.take()
            operand = self.unary()
            return operand if value == "+" else ("neg", operand)
        return self.postfix(self.term())

    def postfix(self, node: Node) -> Node:
        while True:
            kind, value = self.peek()
            if kind == "op" and value == ".":
                self.take()
                kind, name = self.take()
                if kind != "id":
                    raise FhirPathError(f"expected a name after '.', found {name!r}")
                node = self.invocation(node, name.strip("`"), name.startswith("`"))
            elif kind == "op" and value == "[":
                self.take()
                index = self.expression(0)
                self.expect("]")
                node = ("index", node, index)
            else:
                return node

    def invocation(self, target: Node | None, name: str, quoted: bool) -> Node:
        if not quoted and self.peek() == ("op", "("):
            self.take()
            args: list[Node] = []
            if self.peek() != ("op", ")"):
                args.append(self.expression(0))
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expression(0))
            self.expect(")")
            return ("fn", target, name, tuple(args))
        return ("member", target, name)

    def term(self) -> Node:
        kind, value = self.take()
        if kind == "str":
            return ("literal", (_string(_unescape(value[1:-1])),))
        if kind == "num":
            number: Item = Item(Decimal(value), "decimal", "System.Decimal") if "." in value else _integer(int(value))
            if self.peek()[0] == "str":  # a quantity literal: 4 'mg'
                unit = _unescape(self.take()[1][1:-1])
                return ("literal", (Item({"value": number.value, "code": unit}, "Quantity", "System.Quantity"),))
            return ("literal", (number,))
        if kind == "date":
            text = value[1:]
            if text.startswith("T"):
                return ("literal", (Item(text[1:], "time", "System.Time"),))
            fhir_type = "System.DateTime" if "T" in text else "System.Date"
            return ("literal", (Item(text.rstrip("T"), "dateTime", fhir_type),))
        if kind == "var":
            return ("var", value[1:].strip("`'"))
        if kind == "special":
            return ("this",) if value == "$this" else ("special", value)
        if kind == "id":
            if value in ("true", "false"):
                return ("literal", tuple(_bool(value == "true")))
            return self.invocation(None, value.strip("`"), value.startswith("`"))
        if kind == "op" and value == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if kind == "op" and value == "{":
            self.expect("}")
            return ("literal", ())
        raise FhirPathError(f"unexpected {value!r}")


# -- the compiler --------------------------------------------------------------------------------------------------


def _compile(node: Node) -> Fn:
    compiled = _compile_node(node)
    variable = _fixed_variable(node) if node[0] in ("member", "op") else None
    return compiled if variable is None else _cached(compiled, variable)


# Variables bound to the focus: what depends on them is not cached.
_UNCACHED_VARIABLES = frozenset({"context"})


def _fixed_variable(node: Node) -> str | None:
    """The one variable that alone decides the value of ``node``, a path or operation made of members, literals and
    that variable (``%resource.type = 'batch'``); None when the value depends on the focus or on anything else."""
    found: set[str] = set()

    def fixed(part: Node) -> bool:
        kind = part[0]
        if kind == "literal":
            return True
        if kind == "var":
            found.add(part[1])
            return part[1] not in _UNCACHED_VARIABLES
        if kind == "member":
            return part[1] is not None and fixed(part[1])
        if kind == "op":
            return fixed(part[2]) and fixed(part[3])
        return False

    return found.pop() if fixed(node) and len(found) == 1 else None


def _cached(compiled: Fn, variable: str) -> Fn:
    """``compiled`` (decided by ``%variable`` alone) evaluated once per binding of the variable.

    Such an expression does not depend on the focus, yet an invariant may evaluate it for every item it iterates:
    bdl-3 and bdl-4 compare ``%resource.type`` three times per Bundle entry. The result is kept in ``env.cache``
    with the variable's bound collection, and used while the variable is bound to that same list object (callers
    bind a new list for each resource; the cache holds the list, so its identity cannot be reused for another)."""
    token = object()

    def cached(focus: Collection, env: Env) -> Collection:
        bound = env.variables.get(variable)
        hit = env.cache.get(token)
        if hit is not None and hit[0] is bound and bound is not None:
            return hit[1]
        result = compiled(focus, env)
        if bound is not None:
            env.cache[token] = (bound, result)
        return result

    return cached


def _compile_node(node: Node) -> Fn:
    kind = node[0]
    if kind == "literal":
        items = list(node[1])
        return lambda focus, env: items
    if kind == "this":
        return lambda focus, env: env.this
    if kind == "var":
        name = node[1]
        if name == "ucum":
            ucum = [_string("http://unitsofmeasure.org")]
            return lambda focus, env: ucum
        if name in ("sct", "loinc"):
            system = [_string("http://snomed.info/sct" if name == "sct" else "http://loinc.org")]
            return lambda focus, env: system

        def variable(focus: Collection, env: Env) -> Collection:
            try:
                return env.variables[name]
            except KeyError:
                raise FhirPathError(f"unknown variable %{name}") from None

        return variable
    if kind == "special":
        raise UnsupportedFunctionError(node[1])
    if kind == "neg":
        operand = _compile(node[1])

        def negate(focus: Collection, env: Env) -> Collection:
            out: Collection = []
            for item in operand(focus, env):
                number = _number(item.value)
                if number is None:
                    raise FhirPathError("unary minus needs a number")
                out.append(Item(-number, item.type_key, item.fhir_type))
            return out

        return negate
    if kind == "member":
        return _compile_member(node)
    if kind == "fn":
        return _compile_function(node)
    if kind == "index":
        target, index = _compile(node[1]), _compile(node[2])

        def indexer(focus: Collection, env: Env) -> Collection:
            items = target(focus, env)
            position = _single(index(focus, env))
            if position is None or not isinstance(position.value, int):
                return []
            return items[position.value : position.value + 1] if position.value >= 0 else []

        return indexer
    if kind in ("is", "as"):
        operand = _compile(node[1])
        type_name = node[2]
        if kind == "is":

            def is_type(focus: Collection, env: Env) -> Collection:
                items = operand(focus, env)
                if not items:
                    return []
                if len(items) > 1:
                    raise FhirPathError("'is' needs a single item")
                return _bool(_has_type(items[0], type_name, env.model))

            return is_type
        return lambda focus, env: [i for i in operand(focus, env) if _has_type(i, type_name, env.model)]
    if kind == "op":
        return _compile_operator(node[1], _compile(node[2]), _compile(node[3]))
    raise FhirPathError(f"cannot compile {kind}")


def _single(items: Collection) -> Item | None:
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError("a single item was expected, found several")
    return items[0]


_SYSTEM_TYPES = {
    "Boolean": ("boolean",),
    "String": ("string", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid", "base64Binary"),
    "Integer": ("integer", "positiveInt", "unsignedInt"),
    "Decimal": ("decimal",),
    "Date": ("date",),
    "DateTime": ("dateTime", "instant"),
    "Time": ("time",),
    "Quantity": ("Quantity",),
}


def _has_type(item: Item, type_name: str, model: TypeModel) -> bool:
    namespace, _, name = type_name.rpartition(".")
    actual = item.fhir_type
    if actual is None:
        return False
    if actual.startswith("System."):
        return namespace != "FHIR" and actual[7:] == name
    if namespace != "System" and model.is_a(actual, name):
        return True
    if namespace != "FHIR" and name in _SYSTEM_TYPES:
        return actual in _SYSTEM_TYPES[name]
    return False


def _compile_member(node: Node) -> Fn:
    _, target_node, name = node
    target = _compile(target_node) if target_node is not None else None
    if name[:1].isupper():
        # a type name at the start of a path (``Observation.value``) filters the focus by type
        def type_filter(focus: Collection, env: Env) -> Collection:
            items = target(focus, env) if target is not None else focus
            return [item for item in items if item.fhir_type is not None and env.model.is_a(item.fhir_type, name)]

        if target is None:
            return type_filter

    def member(focus: Collection, env: Env) -> Collection:
        items = target(focus, env) if target is not None else focus
        model = env.model
        if len(items) == 1:
            return children_named(items[0], name, model)
        out: Collection = []
        for item in items:
            out.extend(children_named(item, name, model))
        return out

    return member


def _compile_operator(op: str, left: Fn, right: Fn) -> Fn:
    if op in ("and", "or", "xor", "implies"):
        return _logic(op, left, right)
    if op == "|":
        return lambda focus, env: _distinct([*left(focus, env), *right(focus, env)])
    if op == "&":

        def concat(focus: Collection, env: Env) -> Collection:
            a, b = _single(left(focus, env)), _single(right(focus, env))
            return [_string(("" if a is None else str(a.value)) + ("" if b is None else str(b.value)))]

        return concat
    if op in ("=", "!="):
        negate = op == "!="

        def equality(focus: Collection, env: Env) -> Collection:
            a, b = left(focus, env), right(focus, env)
            if not a or not b:
                return []
            if len(a) != len(b):
                return _bool(negate)
            result: bool | None = True
            for x, y in zip(a, b, strict=True):
                same = equal(x, y)
                if same is None:
                    result = None
                elif not same:
                    result = False
                    break
            return [] if result is None else _bool(result != negate)

        return equality
    if op in ("~", "!~"):
        negate = op == "!~"

        def equivalence(focus: Collection, env: Env) -> Collection:
            a, b = left(focus, env), right(focus, env)
            if not a and not b:
                return _bool(not negate)
            same = len(a) == len(b) and all(_equivalent(x, y) for x, y in zip(a, b, strict=True))
            return _bool(same != negate)

        return equivalence
    if op in ("<", ">", "<=", ">="):
        test: Callable[[int], bool] = {
            "<": lambda c: c < 0,
            ">": lambda c: c > 0,
            "<=": lambda c: c <= 0,
            ">=": lambda c: c >= 0,
        }[op]

        def comparison(focus: Collection, env: Env) -> Collection:
            a, b = _single(left(focus, env)), _single(right(focus, env))
            if a is None or b is None:
                return []
            result = compare(a, b)
            return [] if result is None else _bool(test(result))

        return comparison
    if op in ("in", "contains"):
        element, container = (left, right) if op == "in" else (right, left)

        def membership(focus: Collection, env: Env) -> Collection:
            one = _single(element(focus, env))
            if one is None:
                return []
            return _bool(any(equal(one, other) for other in container(focus, env)))

        return membership
    if op in ("+", "-", "*", "/", "div", "mod"):
        return _arithmetic(op, left, right)
    raise FhirPathError(f"unknown operator {op}")


def _logic(op: str, left: Fn, right: Fn) -> Fn:
    def evaluate(focus: Collection, env: Env) -> Collection:
        a = to_boolean(left(focus, env))
        if op == "and":
            if a is False:
                return _bool(False)
            b = to_boolean(right(focus, env))
            if b is False:
                return _bool(False)
            return _bool(True) if a and b else []
        if op == "or":
            if a is True:
                return _bool(True)
            b = to_boolean(right(focus, env))
            if b is True:
                return _bool(True)
            return _bool(False) if a is False and b is False else []
        if op == "implies":
            if a is False:
                return _bool(True)
            b = to_boolean(right(focus, env))
            if b is True:
                return _bool(True)
            if a is True and b is False:
                return _bool(False)
            return []
        b = to_boolean(right(focus, env))
        return [] if a is None or b is None else _bool(a != b)

    return evaluate


def _arithmetic(op: str, left: Fn, right: Fn) -> Fn:
    def evaluate(focus: Collection, env: Env) -> Collection:
        a, b = _single(left(focus, env)), _single(right(focus, env))
        if a is None or b is None:
            return []
        if op == "+" and isinstance(a.value, str) and isinstance(b.value, str):
            return [_string(a.value + b.value)]
        x, y = _number(a.value), _number(b.value)
        if x is None or y is None:
            raise FhirPathError(f"'{op}' needs numbers")
        integers = isinstance(a.value, int) and isinstance(b.value, int)
        try:
            if op == "+":
                result = x + y
            elif op == "-":
                result = x - y
            elif op == "*":
                result = x * y
            elif op == "/":
                return [Item(x / y, "decimal", "System.Decimal")] if y else []
            elif op == "div":
                return [_integer(int(x // y))] if y else []
            else:
                result = x % y
        except InvalidOperation:
            return []
        return [_integer(int(result))] if integers else [Item(result, "decimal", "System.Decimal")]

    return evaluate


# -- functions -----------------------------------------------------------------------------------------------------

FUNCTIONS = frozenset(
    {
        "empty", "exists", "not", "count", "where", "select", "all", "repeat", "first", "last", "tail", "skip",
        "take", "single", "distinct", "isDistinct", "allTrue", "anyTrue", "allFalse", "anyFalse", "subsetOf",
        "supersetOf", "union", "combine", "intersect", "exclude", "iif", "trace", "children", "descendants",
        "ofType", "is", "as", "hasValue", "extension", "resolve", "htmlChecks", "htmlChecks2", "toString", "toInteger",
        "toDecimal", "convertsToInteger", "convertsToDecimal", "startsWith", "endsWith", "contains", "matches",
        "replaceMatches", "replace", "substring", "indexOf", "length", "upper", "lower", "trim", "today", "now",
        "getValue",
    }
)  # fmt: skip


def _compile_function(node: Node) -> Fn:
    _, target_node, name, arg_nodes = node
    if name not in FUNCTIONS:
        raise UnsupportedFunctionError(name)
    target = _compile(target_node) if target_node is not None else None
    if name in ("is", "as", "ofType"):
        if len(arg_nodes) != 1 or arg_nodes[0][0] != "member" or arg_nodes[0][1] is not None:
            raise FhirPathError(f"{name}() needs a type name")
        type_name = arg_nodes[0][2]
        args: tuple[Fn, ...] = ()
    else:
        type_name = ""
        args = tuple(_compile(arg) for arg in arg_nodes)
    body = _function_body(name, args, type_name)

    def call(focus: Collection, env: Env) -> Collection:
        items = target(focus, env) if target is not None else focus
        return body(items, env)

    return call


Body = Callable[[Collection, Env], Collection]


def _each(arg: Fn, item: Item, env: Env) -> Collection:
    saved = env.this
    env.this = [item]
    try:
        return arg(env.this, env)
    finally:
        env.this = saved


def _outer(arg: Fn, env: Env) -> Collection:
    """A plain (non-iterating) argument: evaluated against the enclosing ``$this``."""
    return arg(env.this, env)


def _string_arg(arg: Fn, env: Env) -> str | None:
    one = _single(_outer(arg, env))
    if one is None:
        return None
    if not isinstance(one.value, str):
        raise FhirPathError("a string argument was expected")
    return one.value


def _function_body(name: str, args: tuple[Fn, ...], type_name: str) -> Body:
    arg = args[0] if args else None
    if name == "empty":
        return lambda items, env: _bool(not items)
    if name == "exists":
        if arg is None:
            return lambda items, env: _bool(bool(items))
        return lambda items, env: _bool(any(to_boolean(_each(arg, i, env)) for i in items))
    if name == "not":

        def negate(items: Collection, env: Env) -> Collection:
            value = to_boolean(items)
            return [] if value is None else _bool(not value)

        return negate
    if name == "count":
        return lambda items, env: [_integer(len(items))]
    if name == "where":
        assert arg is not None
        return lambda items, env: [i for i in items if to_boolean(_each(arg, i, env))]
    if name == "select":
        assert arg is not None
        return lambda items, env: [r for i in items for r in _each(arg, i, env)]
    if name == "all":
        assert arg is not None
        return lambda items, env: _bool(all(to_boolean(_each(arg, i, env)) for i in items))
    if name == "repeat":
        assert arg is not None

        def repeat(items: Collection, env: Env) -> Collection:
            out: Collection = []
            queue = list(items)
            while queue:
                found = [r for i in queue for r in _each(arg, i, env)]
                out.extend(found)
                queue = found
            return out

        return repeat
    if name in ("first", "last", "tail", "single"):
        return {
            "first": lambda items, env: items[:1],
            "last": lambda items, env: items[-1:],
            "tail": lambda items, env: items[1:],
            "single": lambda items, env: [x for x in [_single(items)] if x is not None],
        }[name]
    if name in ("skip", "take"):
        assert arg is not None

        def slicing(items: Collection, env: Env) -> Collection:
            count = _single(_outer(arg, env))
            n = count.value if count is not None and isinstance(count.value, int) else 0
            return items[max(n, 0) :] if name == "skip" else items[: max(n, 0)]

        return slicing
    if name == "distinct":
        return lambda items, env: _distinct(items)
    if name == "isDistinct":
        return lambda items, env: _bool(len(_distinct(items)) == len(items))
    if name in ("allTrue", "anyTrue", "allFalse", "anyFalse"):
        wanted = name.endswith("True")
        test = all if name.startswith("all") else any
        return lambda items, env: _bool(test((i.value is wanted) for i in items))
    if name in ("subsetOf", "supersetOf", "union", "combine", "intersect", "exclude"):
        assert arg is not None
        return _set_function(name, arg)
    if name == "iif":
        condition, then = args[0], args[1]
        otherwise = args[2] if len(args) > 2 else None

        def iif(items: Collection, env: Env) -> Collection:
            saved = env.this
            env.this = items
            try:
                if to_boolean(condition(items, env)):
                    return then(items, env)
                return otherwise(items, env) if otherwise is not None else []
            finally:
                env.this = saved

        return iif
    if name == "trace":
        return lambda items, env: items
    if name == "children":
        return lambda items, env: [c for i in items for c in all_children(i, env.model)]
    if name == "descendants":

        def descendants(items: Collection, env: Env) -> Collection:
            out: Collection = []
            queue = items
            while queue:
                found = [c for i in queue for c in all_children(i, env.model)]
                out.extend(found)
                queue = found
            return out

        return descendants
    if name in ("ofType", "as"):
        return lambda items, env: [i for i in items if _has_type(i, type_name, env.model)]
    if name == "is":

        def is_type(items: Collection, env: Env) -> Collection:
            one = _single(items)
            return [] if one is None else _bool(_has_type(one, type_name, env.model))

        return is_type
    if name == "hasValue":
        return lambda items, env: _bool(
            len(items) == 1 and items[0].value is not None and not isinstance(items[0].value, dict | list)
        )
    if name == "getValue":
        return lambda items, env: [i for i in items if i.value is not None and not isinstance(i.value, dict | list)]
    if name == "extension":
        assert arg is not None

        def extension(items: Collection, env: Env) -> Collection:
            url = _string_arg(arg, env)
            return [e for i in items for e in children_named(i, "extension", env.model) if _url(e) == url]

        return extension
    if name == "resolve":

        def resolve(items: Collection, env: Env) -> Collection:
            out: Collection = []
            for item in items:
                reference = item.value.get("reference") if isinstance(item.value, dict) else item.value
                if isinstance(reference, str) and env.resolver is not None:
                    found = env.resolver(reference, env)
                    if found is not None:
                        out.append(found)
            return out

        return resolve
    if name == "htmlChecks":
        return lambda items, env: _bool(all(html_ok(i.value) for i in items))
    if name == "htmlChecks2":
        return lambda items, env: _bool(all(html_has_content(i.value) for i in items))
    if name in ("toString", "toInteger", "toDecimal", "convertsToInteger", "convertsToDecimal"):
        return _conversion(name)
    return _string_function(name, args)


def _url(item: Item) -> Any:
    return item.value.get("url") if isinstance(item.value, dict) else None


def _set_function(name: str, arg: Fn) -> Body:
    def body(items: Collection, env: Env) -> Collection:
        other = _outer(arg, env)
        if name == "combine":
            return [*items, *other]
        if name == "union":
            return _distinct([*items, *other])
        keys = {_key(o) for o in other}
        if name == "intersect":
            return _distinct([i for i in items if _key(i) in keys])
        if name == "exclude":
            return [i for i in items if _key(i) not in keys]
        mine = {_key(i) for i in items}
        return _bool(mine <= keys if name == "subsetOf" else keys <= mine)

    return body


def _conversion(name: str) -> Body:
    def to_integer(item: Item) -> Item | None:
        value = item.value
        if isinstance(value, bool):
            return _integer(int(value))
        if isinstance(value, int):
            return _integer(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
            return _integer(int(value))
        return None

    def to_decimal(item: Item) -> Item | None:
        value = item.value
        number = _number(value)
        if number is not None:
            return Item(number, "decimal", "System.Decimal")
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+(\.\d+)?", value):
            return Item(Decimal(value), "decimal", "System.Decimal")
        return None

    def body(items: Collection, env: Env) -> Collection:
        one = _single(items)
        if one is None:
            return []
        if name == "toString":
            value = one.value
            if isinstance(value, bool):
                return [_string("true" if value else "false")]
            if isinstance(value, dict | list):
                return []
            return [_string(str(value))]
        converted = to_integer(one) if name.endswith("Integer") else to_decimal(one)
        if name.startswith("convertsTo"):
            return _bool(converted is not None)
        return [] if converted is None else [converted]

    return body


# HAPI's engine answers false, not empty, for these on an empty input (so ``reference.startsWith('#').not()`` in
# ref-1 holds for a Reference without a reference); the validator agrees with HAPI.
_FALSE_ON_EMPTY = frozenset({"startsWith", "endsWith", "contains", "matches"})


def _string_function(name: str, args: tuple[Fn, ...]) -> Body:
    def body(items: Collection, env: Env) -> Collection:
        one = _single(items)
        if name in ("today", "now"):
            moment = datetime.now().astimezone()
            if name == "today":
                return [Item(moment.date().isoformat(), "date", "System.Date")]
            return [Item(moment.isoformat(timespec="milliseconds"), "dateTime", "System.DateTime")]
        if one is None and name in _FALSE_ON_EMPTY:
            return _bool(False)
        if one is None or not isinstance(one.value, str):
            return []
        text = one.value
        values = [_outer(a, env) for a in args]
        strings: list[str | None] = []
        for value in values:
            single = _single(value)
            strings.append(None if single is None else single.value)
        if any(s is None for s in strings) and name not in ("substring",):
            return []
        if name == "startsWith":
            return _bool(text.startswith(str(strings[0])))
        if name == "endsWith":
            return _bool(text.endswith(str(strings[0])))
        if name == "contains":
            return _bool(str(strings[0]) in text)
        if name == "matches":
            return _bool(re.search(str(strings[0]), text, re.DOTALL) is not None)
        if name == "replaceMatches":
            return [_string(re.sub(str(strings[0]), str(strings[1]).replace("$", "\\"), text))]
        if name == "replace":
            return [_string(text.replace(str(strings[0]), str(strings[1])))]
        if name == "indexOf":
            return [_integer(text.find(str(strings[0])))]
        if name == "substring":
            start = strings[0]
            if not isinstance(start, int) or start < 0 or start >= len(text):
                return []
            length = strings[1] if len(strings) > 1 else None
            end = len(text) if not isinstance(length, int) else start + length
            return [_string(text[start:end])]
        if name == "length":
            return [_integer(len(text))]
        if name == "upper":
            return [_string(text.upper())]
        if name == "lower":
            return [_string(text.lower())]
        if name == "trim":
            return [_string(text.strip())]
        raise UnsupportedFunctionError(name)

    return body


# -- narrative -----------------------------------------------------------------------------------------------------

_XHTML = "http://www.w3.org/1999/xhtml"
_HTML_ELEMENTS = frozenset(
    {
     "a", "abbr", "acronym", "address", "area", "b", "bdo", "big", "blockquote", "br", "caption", "cite", "code",
     "col", "colgroup", "dd", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
     "kbd", "li", "map", "ol", "p", "pre", "q", "samp", "small", "span", "strong", "sub", "sup", "table", "tbody",
     "td", "tfoot", "th", "thead", "tr", "tt", "ul", "var",
    }
)  # fmt: skip
_HTML_ATTRIBUTES = frozenset(
    {
     "abbr", "accesskey", "align", "alt", "axis", "border", "cellpadding", "cellspacing", "char", "charoff", "cite",
     "class", "colspan", "compact", "coords", "datetime", "dir", "frame", "headers", "height", "href", "hreflang",
     "id", "lang", "longdesc", "name", "rel", "rev", "rowspan", "rules", "scope", "shape", "span", "src", "start",
     "style", "summary", "tabindex", "title", "type", "valign", "value", "width", "xml:lang",
    }
)  # fmt: skip


def _parse_div(div: Any) -> Any:
    if not isinstance(div, str):
        return None
    from lxml import etree

    try:
        root = etree.fromstring(div.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    return root if root.tag == f"{{{_XHTML}}}div" else None


@lru_cache(maxsize=256)
def html_ok(div: Any) -> bool:
    """txt-1 (``htmlChecks()``) as a sanity check: a well-formed XHTML ``<div>`` with only the elements and
    attributes the narrative allows (no scripts, forms, objects or event handlers)."""
    root = _parse_div(div)
    if root is None:
        return False
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        namespace, _, local = element.tag[1:].partition("}")
        if namespace != _XHTML or local not in _HTML_ELEMENTS:
            return False
        for attribute in element.attrib:
            attr = str(attribute)
            if attr.startswith("{http://www.w3.org/XML/1998/namespace}"):
                attr_name = "xml:" + attr.rpartition("}")[2]
            else:
                attr_name = attr.rpartition("}")[2]
            if attr_name not in _HTML_ATTRIBUTES:
                return False
    return True


@lru_cache(maxsize=256)
def html_has_content(div: Any) -> bool:
    """txt-2 (HAPI's ``htmlChecks2()``): the narrative has some non-whitespace text or an image."""
    root = _parse_div(div)
    if root is None:
        return False
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == f"{{{_XHTML}}}img":
            return True
        if (element.text and element.text.strip()) or (element is not root and element.tail and element.tail.strip()):
            return True
    return False


# -- entry point ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def compile_expression(expression: str) -> Fn:
    """The compiled form of ``expression`` (cached); raises UnsupportedFunctionError or FhirPathError."""
    return _compile(_Parser(expression).parse())


def evaluate(
    expression: str, item: Item, model: TypeModel, variables: Mapping[str, Collection] | None = None
) -> Collection:
    """Evaluates ``expression`` with ``item`` as focus and %context (a convenience for tests and callers)."""
    env = Env(model, {"context": [item], "resource": [item], "rootResource": [item], **(variables or {})})
    env.this = [item]
    return compile_expression(expression)(env.this, env)
