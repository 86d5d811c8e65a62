"""UCUM unit codes: parse and validate the case-sensitive (c/s) syntax against the official unit table.

The grammar is the one of the UCUM specification (§2.1, "The Unified Code for Units of Measure", version in
``fhirconv/data/ucum.json``)::

    main-term   ::= "/" term | term
    term        ::= term "." component | term "/" component | component
    component   ::= annotatable annotation | annotatable | annotation | factor | "(" term ")"
    annotatable ::= simple-unit exponent | simple-unit
    simple-unit ::= ATOM | PREFIX ATOM[metric]
    exponent    ::= ("+" | "-")? digits
    factor      ::= digits
    annotation  ::= "{" printable ASCII but braces "}"

'.' and '/' have the same precedence and bind to the left, and a '/' divides by the one component after it:
``mg/kg.d`` is (mg/kg).d, which is why ``mg/(kg.d)`` needs its parentheses.

The unit table (prefixes, atoms and their properties) is generated from ucum-essence.xml by
``scripts/generate_ucum_table.py`` and loaded once, on first use.

Public API: :func:`parse_ucum`, :func:`is_valid_ucum`, :func:`same_dimension`, :class:`UcumExpression`,
:class:`UcumError` (defined in :mod:`fhirconv.errors`, re-exported here).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from fhirconv.errors import UcumError

__all__ = [
    "CLINICAL_CONFUSABLES",
    "Annotation",
    "Component",
    "Factor",
    "Group",
    "Operand",
    "Symbol",
    "Term",
    "UcumError",
    "UcumExpression",
    "UcumTable",
    "UnitInfo",
    "dimension_of",
    "is_valid_ucum",
    "load_table",
    "parse_ucum",
    "resolve_dimensions",
    "same_dimension",
]

#: A physical dimension: base dimension (L, T, M, A, C, Q, F, or the code of an arbitrary unit) -> exponent.
#: Zero exponents are left out, so equal dimensions compare equal as dicts.
Dimension = dict[str, int]

#: Symbols that are valid UCUM but, in clinical writing, almost always stand for another unit. Accepting them
#: would code a wrong quantity silently ('G/L' is gauss per litre, not 10^9 per litre), and a wrong code is
#: worse than a rejected one; ``clinical=False`` turns this off.
CLINICAL_CONFUSABLES: Mapping[str, str] = {
    "G": "'G' is the gauss; a cell count per litre is 10*9/L",
    "pH": "'pH' is the picohenry; the pH scale is [pH]",
    "C": "'C' is the coulomb; degrees Celsius are Cel",
    "F": "'F' is the farad; degrees Fahrenheit are [degF]",
}

_OPERATORS = "./()"
# Inside square brackets an atom may hold any printable character but brackets and braces ("[in_i'H2O]",
# "B[10.nV]"); outside them these characters have a meaning of their own and end the atom.
_NOT_IN_ATOM = set('"()+-./=[]{}')


# --------------------------------------------------------------------------------------------------- table


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """What the parser and the dimension check need to know about one UCUM atom."""

    metric: bool
    arbitrary: bool = False
    special: bool = False
    base: bool = False
    unit_class: str = ""
    property: str = ""
    name: str = ""
    # The unit whose dimension this one shares: its definition, or for a special unit the unit its function
    # is applied to ("Cel" -> "K"). Empty for base units. Only the generator needs it.
    definition: str = ""
    # None until resolve_dimensions() has run (the generator builds the table before the dimensions exist).
    dim: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class UcumTable:
    """Prefixes (code -> value as written in the essence file, e.g. "1e3") and atoms (code -> UnitInfo)."""

    prefixes: Mapping[str, str]
    units: Mapping[str, UnitInfo]
    version: str = ""
    # Longest first, so "da" is tried before "d".
    prefix_codes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.prefixes, key=lambda code: (-len(code), code)))
        object.__setattr__(self, "prefix_codes", ordered)


def table_from_json(data: Mapping[str, Any]) -> UcumTable:
    """Build a table from the generated JSON document (see scripts/generate_ucum_table.py for its shape)."""
    units = {
        code: UnitInfo(
            metric=bool(info["metric"]),
            arbitrary=bool(info["arbitrary"]),
            special=bool(info["special"]),
            base=bool(info["base"]),
            unit_class=str(info["class"]),
            property=str(info["property"]),
            name=str(info["name"]),
            dim={str(k): int(v) for k, v in info["dim"].items()},
        )
        for code, info in data["units"].items()
    }
    prefixes = {str(code): str(value) for code, value in data["prefixes"].items()}
    return UcumTable(prefixes=prefixes, units=units, version=str(data["source"]["ucum_version"]))


@cache
def load_table() -> UcumTable:
    """The packaged table, read on first use only: importing fhirconv should not cost a JSON parse."""
    text = resources.files("fhirconv.data").joinpath("ucum.json").read_text(encoding="utf-8")
    return table_from_json(json.loads(text))


# ------------------------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Symbol:
    """A unit atom with its optional prefix, exponent and trailing annotation: ``mg``, ``m2``, ``10*9{cells}``."""

    prefix: str
    atom: str
    exponent: int
    annotation: str | None
    position: int

    @property
    def code(self) -> str:
        """The symbol without exponent or annotation, as written: ``mg``."""
        return self.prefix + self.atom


@dataclass(frozen=True, slots=True)
class Factor:
    """A positive integer factor: ``1``, ``10`` in ``10.L``."""

    value: int
    position: int


@dataclass(frozen=True, slots=True)
class Annotation:
    """An annotation standing alone, worth 1: ``{score}``."""

    text: str
    position: int


@dataclass(frozen=True, slots=True)
class Group:
    """A parenthesised term: ``(kg.d)``."""

    term: Term
    position: int


Component = Symbol | Factor | Annotation | Group


@dataclass(frozen=True, slots=True)
class Operand:
    """One component with the operator in front of it ('.' for the first one unless the term opens with '/')."""

    operator: Literal[".", "/"]
    component: Component


@dataclass(frozen=True, slots=True)
class Term:
    """Components joined by '.' and '/', read left to right."""

    operands: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class UcumExpression:
    """A parsed, valid UCUM code."""

    code: str
    term: Term

    def symbols(self) -> Iterator[Symbol]:
        """Every unit symbol, in the order written, including those inside parentheses."""
        return _symbols(self.term)

    @property
    def annotations(self) -> tuple[str, ...]:
        """Every annotation text, alone or attached, in the order written."""
        return tuple(_annotations(self.term))

    # The flags and the dimension below read the packaged table, not a table given to parse_ucum.

    @property
    def is_special(self) -> bool:
        """True when a unit on a non-ratio scale (Cel, [degF], [pH], ...) appears."""
        units = load_table().units
        return any(units[s.atom].special for s in self.symbols())

    @property
    def is_arbitrary(self) -> bool:
        """True when an arbitrary unit ([IU], [arb'U], ...) appears: such quantities do not convert."""
        units = load_table().units
        return any(units[s.atom].arbitrary for s in self.symbols())

    def dimension(self) -> Dimension:
        """The dimension of the whole expression, from the packaged table."""
        return dimension_of(self.term, load_table())


def _symbols(term: Term) -> Iterator[Symbol]:
    for operand in term.operands:
        component = operand.component
        if isinstance(component, Symbol):
            yield component
        elif isinstance(component, Group):
            yield from _symbols(component.term)


def _annotations(term: Term) -> Iterator[str]:
    for operand in term.operands:
        component = operand.component
        if isinstance(component, Annotation):
            yield component.text
        elif isinstance(component, Symbol) and component.annotation is not None:
            yield component.annotation
        elif isinstance(component, Group):
            yield from _annotations(component.term)


# ------------------------------------------------------------------------------------------------- lexer

_TokenKind = Literal["op", "number", "signed", "symbol", "annotation", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    text: str
    position: int


def _token_end(token: _Token) -> int:
    # An annotation token holds the text between the braces, so the braces are added back.
    return token.position + len(token.text) + (2 if token.kind == "annotation" else 0)


def _next_token(code: str, index: int) -> _Token:
    char = code[index]
    if char in _OPERATORS:
        return _Token("op", char, index)
    if char == "{":
        return _read_annotation(code, index)
    if char in "+-":
        return _read_signed(code, index)
    if char.isascii() and char.isdigit():
        end = _skip_digits(code, index)
        # "10*" and "10^" are atoms that start with digits: digits run on into an atom only if one follows.
        if end < len(code) and _atom_char(code[end]):
            return _read_atom(code, index)
        return _Token("number", code[index:end], index)
    if _atom_char(char) or char == "[":
        return _read_atom(code, index)
    raise UcumError(code, index, _bad_char_message(char))


def _bad_char_message(char: str) -> str:
    if char.isspace():
        return "spaces are not allowed in a UCUM code (join units with '.' or '/')"
    if char in "µμ":
        return f"non-ASCII character {char!r}: micro is written 'u' (ug, umol/L)"
    if char == "]":
        return "']' without a matching '['"
    if char == "}":
        return "'}' without a matching '{'"
    if not char.isascii() or not char.isprintable():
        return f"non-ASCII or unprintable character {char!r}: UCUM codes are plain ASCII"
    return f"unexpected character {char!r}"


def _skip_digits(code: str, index: int) -> int:
    while index < len(code) and code[index].isascii() and code[index].isdigit():
        index += 1
    return index


def _atom_char(char: str) -> bool:
    return "!" <= char <= "~" and char not in _NOT_IN_ATOM


def _read_signed(code: str, index: int) -> _Token:
    end = _skip_digits(code, index + 1)
    if end == index + 1:
        raise UcumError(code, index, f"{code[index]!r} must be followed by the digits of an exponent")
    return _Token("signed", code[index:end], index)


def _read_annotation(code: str, index: int) -> _Token:
    end = index + 1
    while end < len(code) and code[end] != "}":
        char = code[end]
        if char == "{":
            raise UcumError(code, end, "annotations cannot be nested ('{' inside '{...}')")
        if not ("!" <= char <= "~"):
            what = "spaces" if char == " " else f"the character {char!r}"
            raise UcumError(code, end, f"annotations may hold printable ASCII only, not {what}")
        end += 1
    if end == len(code):
        raise UcumError(code, index, "'{' without a matching '}'")
    return _Token("annotation", code[index + 1 : end], index)


def _read_atom(code: str, index: int) -> _Token:
    end = index
    seen_non_digit = False
    while end < len(code):
        char = code[end]
        if char == "[":
            end = _skip_bracket(code, end)
            seen_non_digit = True
            continue
        # Digits after the first non-digit outside brackets are the exponent ("m2", "10*9").
        if not _atom_char(char) or (seen_non_digit and char.isdigit()):
            break
        seen_non_digit = seen_non_digit or not char.isdigit()
        end += 1
    return _Token("symbol", code[index:end], index)


def _skip_bracket(code: str, index: int) -> int:
    end = index + 1
    while end < len(code) and code[end] != "]":
        char = code[end]
        if char in "[{}" or not ("!" <= char <= "~"):
            raise UcumError(code, end, f"{char!r} is not allowed inside '[...]'")
        end += 1
    if end == len(code):
        raise UcumError(code, index, "'[' without a matching ']'")
    return end + 1


# ------------------------------------------------------------------------------------------------ parser


class _Parser:
    """Recursive descent, one token of look-ahead; every error names the offending position."""

    def __init__(self, code: str, table: UcumTable, clinical: bool) -> None:
        self.code = code
        self.table = table
        self.clinical = clinical
        # Tokens are read one at a time so the first error in reading order is the one reported.
        self.token = self.read_token(0)

    def read_token(self, index: int) -> _Token:
        if index >= len(self.code):
            return _Token("end", "", len(self.code))
        return _next_token(self.code, index)

    def advance(self) -> _Token:
        token = self.token
        self.token = self.read_token(_token_end(token))
        return token

    def fail(self, message: str, position: int | None = None) -> UcumError:
        return UcumError(self.code, self.token.position if position is None else position, message)

    def parse(self) -> Term:
        term = self.term(allow_leading_solidus=True)
        token = self.token
        if token.kind != "end":
            if token.text == ")":
                raise self.fail("')' without a matching '('")
            raise self.fail(self.unexpected_message(token))
        return term

    @staticmethod
    def unexpected_message(token: _Token) -> str:
        if token.kind == "annotation":
            return "an annotation may only follow a unit symbol (and its exponent) or stand alone"
        if token.kind == "signed":
            return f"the exponent {token.text!r} must follow a unit symbol directly"
        return f"expected '.' or '/' before {token.text!r}"

    def term(self, *, allow_leading_solidus: bool = False) -> Term:
        operator: Literal[".", "/"] = "."
        if allow_leading_solidus and self.token.text == "/":
            operator = "/"
            self.advance()
        operands = [Operand(operator, self.component())]
        while self.token.kind == "op" and self.token.text in "./":
            operator = "/" if self.advance().text == "/" else "."
            operands.append(Operand(operator, self.component()))
        return Term(tuple(operands))

    def component(self) -> Component:
        token = self.token
        if token.kind == "symbol":
            return self.symbol()
        if token.kind == "number":
            self.advance()
            return Factor(int(token.text), token.position)
        if token.kind == "annotation":
            self.advance()
            return Annotation(token.text, token.position)
        if token.text == "(":
            return self.group()
        raise self.fail(self.missing_component_message(token))

    def missing_component_message(self, token: _Token) -> str:
        if token.kind == "end":
            return "a unit is missing at the end" if self.code else "the code is empty (the unity is written '1')"
        if token.kind == "signed":
            return f"the exponent {token.text!r} must follow a unit symbol"
        if token.text == ")":
            return "a unit is missing before ')'"
        return f"a unit is missing before {token.text!r}"

    def group(self) -> Group:
        opening = self.advance()
        term = self.term()
        if self.token.text != ")":
            if self.token.kind == "end":
                raise self.fail("'(' without a matching ')'", opening.position)
            raise self.fail(self.unexpected_message(self.token))
        self.advance()
        return Group(term, opening.position)

    def symbol(self) -> Symbol:
        token = self.advance()
        prefix, atom = self.resolve(token)
        exponent = 1
        if self.token.kind in ("number", "signed"):
            exponent = int(self.advance().text)
        annotation = None
        if self.token.kind == "annotation":
            annotation = self.advance().text
        return Symbol(prefix, atom, exponent, annotation, token.position)

    def resolve(self, token: _Token) -> tuple[str, str]:
        text = token.text
        if self.clinical and text in CLINICAL_CONFUSABLES:
            raise self.fail(f"{CLINICAL_CONFUSABLES[text]} ({text!r} is refused in clinical use)", token.position)
        resolved = _split_symbol(text, self.table)
        if resolved is None:
            raise self.fail(_unknown_symbol_message(text, self.table), token.position)
        return resolved


def _split_symbol(text: str, table: UcumTable) -> tuple[str, str] | None:
    """(prefix, atom) for a symbol, or None. A whole atom wins over prefix + atom ("cd" is the candela)."""
    if text in table.units:
        return "", text
    for prefix in table.prefix_codes:
        atom = text[len(prefix) :]
        if text.startswith(prefix) and atom in table.units and table.units[atom].metric:
            return prefix, atom
    return None


def _unknown_symbol_message(text: str, table: UcumTable) -> str:
    for prefix in table.prefix_codes:
        atom = text[len(prefix) :]
        if text.startswith(prefix) and atom in table.units:
            return f"the prefix {prefix!r} cannot be used with {atom!r}, which is not a metric unit"
    suggestions = _suggestions(text, table)
    hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return f"unknown unit {text!r}{hint}"


def _unbracketed(text: str) -> str:
    # People drop the brackets: "mmHg" for mm[Hg], "IU" for [IU].
    return text.replace("[", "").replace("]", "")


def _suggestions(text: str, table: UcumTable) -> list[str]:
    """Symbols that differ from ``text`` only in brackets and letter case, fewest case changes first."""
    wanted = _unbracketed(text)
    scored: list[tuple[int, str]] = []
    for code in _all_symbols(table):
        bare = _unbracketed(code)
        if bare.casefold() == wanted.casefold():
            scored.append((sum(a != b for a, b in zip(bare, wanted, strict=True)), code))
    if not scored:
        return []
    best = min(score for score, _ in scored)
    return sorted(code for score, code in scored if score == best)[:3]


def _all_symbols(table: UcumTable) -> Iterator[str]:
    yield from table.units
    for code, info in table.units.items():
        if info.metric:
            yield from (prefix + code for prefix in table.prefixes)


# ----------------------------------------------------------------------------------------------- public


def parse_ucum(code: str, *, table: UcumTable | None = None, clinical: bool = True) -> UcumExpression:
    """Parse a UCUM case-sensitive code, raising :class:`UcumError` (a ValueError) when it is not valid.

    ``clinical`` (default) also refuses the few valid symbols that clinical text means as something else
    (see :data:`CLINICAL_CONFUSABLES`). ``table`` defaults to the packaged one.
    """
    parser = _Parser(code, table or load_table(), clinical)
    return UcumExpression(code, parser.parse())


def is_valid_ucum(code: str, *, clinical: bool = True) -> bool:
    """True when :func:`parse_ucum` accepts the code."""
    try:
        parse_ucum(code, clinical=clinical)
    except UcumError:
        return False
    return True


def same_dimension(a: str, b: str) -> bool:
    """True when two valid codes measure the same kind of quantity (mg/dL and g/L; not mg and mL).

    Annotations count as 1; each arbitrary unit is a dimension of its own ([IU]/L and [arb'U]/L differ).
    Raises :class:`UcumError` when either code is not valid.
    """
    return parse_ucum(a).dimension() == parse_ucum(b).dimension()


def dimension_of(term: Term, table: UcumTable) -> Dimension:
    """The dimension of a parsed term, from the ``dim`` of each atom in ``table``."""

    def lookup(atom: str) -> Mapping[str, int]:
        dim = table.units[atom].dim
        if dim is None:
            raise ValueError(f"the UCUM table has no dimension for {atom!r}")
        return dim

    return _term_dimension(term, lookup)


def _term_dimension(term: Term, lookup: Callable[[str], Mapping[str, int]]) -> Dimension:
    total: Dimension = {}
    for operand in term.operands:
        sign = -1 if operand.operator == "/" else 1
        for key, power in _component_dimension(operand.component, lookup).items():
            total[key] = total.get(key, 0) + sign * power
    return {key: power for key, power in sorted(total.items()) if power}


def _component_dimension(component: Component, lookup: Callable[[str], Mapping[str, int]]) -> Mapping[str, int]:
    if isinstance(component, Group):
        return _term_dimension(component.term, lookup)
    if isinstance(component, Symbol):
        return {key: power * component.exponent for key, power in lookup(component.atom).items()}
    return {}


def resolve_dimensions(table: UcumTable, base_dims: Mapping[str, str]) -> dict[str, Dimension]:
    """The dimension of every atom, from base units (code -> dimension letter) and definitions.

    Used by the generator. An arbitrary unit whose definition carries no arbitrary unit becomes a dimension
    of its own, named by its code, because arbitrary units are not commensurable with anything else.
    """
    resolved: dict[str, Dimension] = {}
    letters = frozenset(base_dims.values())

    def resolve(code: str, stack: tuple[str, ...]) -> Dimension:
        if code in resolved:
            return resolved[code]
        if code in stack:
            raise ValueError(f"circular UCUM definition: {' -> '.join((*stack, code))}")
        info = table.units[code]
        if info.base:
            dim: Dimension = {base_dims[code]: 1}
        else:
            term = parse_ucum(info.definition, table=table, clinical=False).term
            dim = _term_dimension(term, lambda atom: resolve(atom, (*stack, code)))
            if info.arbitrary and set(dim) <= letters:
                dim = {**dim, code: 1}
        resolved[code] = dim
        return dim

    for code in table.units:
        resolve(code, ())
    return resolved
