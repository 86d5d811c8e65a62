"""Numbers, amounts and reference ranges as case reports write them.

This module only reads text; turning a written unit into UCUM is the terminology's job (units live in data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from fhirconv.errors import QuantityError

_NUMBER = r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_AMOUNT_RE = re.compile(rf"^(?P<n>{_NUMBER})\s*(?P<unit>\S.*)?$")
_RANGE_RE = re.compile(rf"^(?P<low>{_NUMBER})\s*(?:-|–|—|to|à)\s*(?P<high>{_NUMBER})\s*(?P<unit>[^\d\s].*)?$", re.I)
_BOUND_RE = re.compile(
    rf"^(?P<op><=|>=|<|>|≤|≥|below|above|under|over|inférieur à|inferieur a|supérieur à|superieur a)\s*"
    rf"(?P<n>{_NUMBER})\s*(?P<unit>[^\d\s].*)?$",
    re.I,
)
_UPPER = {"<", "<=", "≤", "below", "under", "inférieur à", "inferieur a"}


def parse_number(value: Decimal | int | str) -> Decimal:
    """A number as written, keeping its digits: ``'3,8'`` -> ``Decimal('3.8')``; ``7.52`` stays ``7.52``."""
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a number", hint="write the number as digits")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise QuantityError(f"{value} is not a finite number")
        return value
    text = value.strip().replace("\u2212", "-")
    if not _NUMBER_RE.match(text):
        raise QuantityError(f"{value!r} is not a number", hint="write digits with '.' or ',' as decimal mark")
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise QuantityError(f"{value!r} is not a number") from None


def is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, Decimal)):
        return True
    return isinstance(value, str) and bool(_NUMBER_RE.match(value.strip().replace("\u2212", "-")))


@dataclass(frozen=True)
class Amount:
    """A number with the unit text written after it (``None`` when the amount has no unit)."""

    value: Decimal
    unit: str | None


def parse_amount(text: str) -> Amount:
    """``'2 mg/kg'`` -> ``Amount(2, 'mg/kg')``; ``'700 mg/m2'``; ``'15 mg'``."""
    match = _AMOUNT_RE.match(" ".join(text.split()))
    if not match:
        raise QuantityError(f"cannot read the amount {text!r}", hint="write a number then its unit, e.g. '2 mg/kg'")
    unit = match.group("unit")
    return Amount(parse_number(match.group("n")), unit.strip() if unit else None)


@dataclass(frozen=True)
class RangeText:
    """A reference range as written: bounds, the unit written with it, and the original text."""

    low: Decimal | None
    high: Decimal | None
    unit: str | None
    text: str


def parse_range(text: str) -> RangeText:
    """Read ``'29-168'``, ``'3,8-9,4 G/L'``, ``'< 2.3'``, ``'<2,3'``, ``'> 60 mL/min'``, ``'inférieur à 2,3'``."""
    written = " ".join(str(text).split())
    match = _RANGE_RE.match(written)
    if match:
        low, high = parse_number(match.group("low")), parse_number(match.group("high"))
        if low > high:
            raise QuantityError(
                f"the reference range {written!r} has its low bound above its high bound", hint="write it as LOW-HIGH"
            )
        return RangeText(low, high, _unit(match.group("unit")), written)
    match = _BOUND_RE.match(written)
    if match:
        bound = parse_number(match.group("n"))
        upper = match.group("op").lower() in _UPPER
        return RangeText(None if upper else bound, bound if upper else None, _unit(match.group("unit")), written)
    raise QuantityError(
        f"cannot read the reference range {written!r}",
        hint="write it as '29-168', '3,8-9,4', '< 2.3' or '> 60', optionally followed by the unit",
    )


def _unit(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None
