from __future__ import annotations

import pytest

from fhirconv.casefile.timeline import AnchorRef, PartialDate, Precision, parse_date, parse_time, resolve
from fhirconv.errors import TimeExpressionError

INDEX = parse_date("2019-01-07")


def at(text: str, anchors: dict[str, str] | None = None, previous: str | None = None) -> str:
    table = {name: parse_date(value) for name, value in (anchors or {}).items()}

    def lookup(anchor: AnchorRef) -> PartialDate:
        if anchor.name in {"index", "admission"}:
            return INDEX
        return table[f"{anchor.name}.{anchor.edge}" if f"{anchor.name}.{anchor.edge}" in table else anchor.name]

    return resolve(parse_time(text), lookup, parse_date(previous) if previous else None).fhir()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-04", "2019-03-04"),
        ("2019-03", "2019-03"),
        ("2019", "2019"),
        ("index", "2019-01-07"),
        ("admission", "2019-01-07"),
        ("6 weeks before admission", "2018-11-26"),
        ("6 semaines avant admission", "2018-11-26"),
        ("2 days after admission", "2019-01-09"),
        ("12 months", "2020-01"),
        ("at 9 months", "2019-10"),
        ("month 5", "2019-05"),
        ("day 1", "2019-01-07"),
        ("day 6 of admission", "2019-01-12"),
        ("1 year after admission", "2020"),
    ],
)
def test_expressions_resolve_with_the_precision_the_source_supports(text: str, expected: str) -> None:
    assert at(text) == expected


def test_day_of_an_element_counts_its_first_day_as_day_one() -> None:
    assert at("day 6 of steroids", {"steroids": "2019-02-01"}) == "2019-02-06"


def test_end_of_an_element() -> None:
    assert at("2 weeks after end of stay", {"stay.end": "2019-02-01"}) == "2019-02-15"


def test_later_counts_from_the_previous_item() -> None:
    assert at("2 weeks later", previous="2019-03-01") == "2019-03-15"


def test_later_without_a_previous_item_is_an_error() -> None:
    with pytest.raises(TimeExpressionError, match="no earlier item"):
        at("2 weeks later")


def test_days_from_a_month_precision_anchor_stay_at_month_precision() -> None:
    assert at("2 weeks after pe", {"pe": "2020-01"}) == "2020-01"
    assert at("45 days after pe", {"pe": "2020-01"}) == "2020-02"


def test_month_arithmetic_clamps_to_the_end_of_month() -> None:
    start = PartialDate(2019, 1, 31, Precision.DAY)
    assert start.add_months(1) == PartialDate(2019, 2, 28, Precision.DAY)


@pytest.mark.parametrize("text", ["2019-02-30", "2019-13", "2019-00-10", "0000"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(TimeExpressionError, match="not a date that exists"):
        parse_date(text)


@pytest.mark.parametrize("text", ["in the spring", "6 fortnights before admission", "", "day 0"])
def test_unreadable_times_name_the_grammar(text: str) -> None:
    with pytest.raises(TimeExpressionError) as caught:
        parse_time(text)
    assert caught.value.hint


def test_an_unknown_anchor_is_reported_when_resolved() -> None:
    with pytest.raises(KeyError):
        at("soon")
