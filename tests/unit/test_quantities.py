from __future__ import annotations

from decimal import Decimal

import pytest

from fhirconv.casefile.quantities import parse_amount, parse_number, parse_range
from fhirconv.errors import QuantityError


@pytest.mark.parametrize(
    ("written", "expected"),
    [("3,8", "3.8"), ("7.52", "7.52"), ("0,90", "0.90"), (3000, "3000"), (Decimal("0.9"), "0.9"), ("-2", "-2")],
)
def test_numbers_keep_their_digits(written: object, expected: str) -> None:
    assert str(parse_number(written)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("written", ["3.8.1", "abc", "1e5", "", "3 000"])
def test_not_numbers(written: str) -> None:
    with pytest.raises(QuantityError):
        parse_number(written)


def test_amounts_split_number_and_unit_as_written() -> None:
    assert parse_amount("2 mg/kg").unit == "mg/kg"
    assert parse_amount("700 mg/m2").value == Decimal(700)
    assert parse_amount("100 mg/jour").unit == "mg/jour"
    assert parse_amount("15").unit is None


@pytest.mark.parametrize(
    ("written", "low", "high", "unit"),
    [
        ("29-168", "29", "168", None),
        ("29-168 UI/L", "29", "168", "UI/L"),
        ("3,8-9,4", "3.8", "9.4", None),
        ("187 – 420 G/L", "187", "420", "G/L"),
        ("< 2.3", None, "2.3", None),
        ("<2,3", None, "2.3", None),
        ("> 60 mL/min", "60", None, "mL/min"),
        ("inférieur à 2,3", None, "2.3", None),
    ],
)
def test_reference_ranges_as_written(written: str, low: str | None, high: str | None, unit: str | None) -> None:
    parsed = parse_range(written)
    assert (
        str(parsed.low) if parsed.low is not None else None,
        str(parsed.high) if parsed.high is not None else None,
    ) == (
        low,
        high,
    )
    assert parsed.unit == unit
    assert parsed.text == written


def test_a_range_upside_down_is_an_error() -> None:
    with pytest.raises(QuantityError, match="low bound above"):
        parse_range("168-29")


def test_an_unreadable_range_says_how_to_write_it() -> None:
    with pytest.raises(QuantityError) as caught:
        parse_range("normal")
    assert "29-168" in (caught.value.hint or "")
