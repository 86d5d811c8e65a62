"""Times as case reports write them, resolved into FHIR dates.

Grammar (English, with the French words in brackets)::

    time     := date | anchor | offset direction anchor | offset "later" | ordinal ["of" anchor] | offset
    date     := YYYY | YYYY-MM | YYYY-MM-DD                       (must exist: 2019-02-30 is refused)
    anchor   := "index" | <index event name> | <event or element id> ["start" | "end"]
                | ("start" | "end") "of" <id>
    offset   := N unit                                            6 weeks, 12 months, 2 days
    unit     := day(s)|d [jour(s)] | week(s)|wk [semaine(s)] | month(s)|mo [mois] | year(s)|y [an(s), année(s)]
    direction:= "before" [avant] | "after" [après]
    ordinal  := ("day" | "week" | "month" | "year") N             day 6 of corticosteroids, month 5

Meanings: an ordinal counts the anchor's own unit as the first (day 1 is the anchor's day, month 5 begins four months
after it), as clinicians count "day 6 of treatment" or "the 5th month of care"; a bare offset ("12 months") counts
from the index date; "later" counts from the time of the item written just before in the same list.

Precision follows the source: an offset in days or weeks gives a day, in months a month, in years a year; a result is
never more precise than its anchor (an offset in days from a month-precision anchor is rounded to months).
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

from fhirconv.errors import TimeExpressionError


class Precision(IntEnum):
    YEAR = 1
    MONTH = 2
    DAY = 3


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date known to the year, month or day; always a real calendar date at its precision."""

    year: int
    month: int = 1
    day: int = 1
    precision: Precision = Precision.DAY

    def fhir(self) -> str:
        if self.precision is Precision.YEAR:
            return f"{self.year:04d}"
        if self.precision is Precision.MONTH:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def as_date(self) -> date:
        return date(self.year, self.month, self.day)

    def coarsen(self, precision: Precision) -> PartialDate:
        if precision >= self.precision:
            return self
        return PartialDate(
            self.year,
            self.month if precision >= Precision.MONTH else 1,
            1,
            precision,
        )

    def add_days(self, days: int) -> PartialDate:
        if self.precision is Precision.DAY:
            moved = self.as_date() + timedelta(days=days)
            return PartialDate(moved.year, moved.month, moved.day, Precision.DAY)
        # Days cannot be placed inside a month we only know as a whole: round them to months.
        return self.add_months(_round_half_up(days / 30.4375))

    def add_months(self, months: int) -> PartialDate:
        if self.precision is Precision.YEAR:
            return self.add_years(_round_half_up(months / 12))
        index = self.year * 12 + (self.month - 1) + months
        year, month0 = divmod(index, 12)
        day = min(self.day, calendar.monthrange(year, month0 + 1)[1])
        return PartialDate(year, month0 + 1, day, self.precision)

    def add_years(self, years: int) -> PartialDate:
        year = self.year + years
        day = min(self.day, calendar.monthrange(year, self.month)[1])
        return PartialDate(year, self.month, day, self.precision)


def _round_half_up(value: float) -> int:
    """Round half away from zero: six months from a year-only date moves to the next year, as a reader expects."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_UNITS: dict[str, str] = {}
for _canonical, _words in {
    "day": ("day", "days", "d", "jour", "jours", "j"),
    "week": ("week", "weeks", "wk", "wks", "semaine", "semaines", "sem"),
    "month": ("month", "months", "mo", "mois"),
    "year": ("year", "years", "y", "yr", "yrs", "an", "ans", "annee", "annees", "année", "années"),
}.items():
    for _word in _words:
        _UNITS[_word] = _canonical
_UNIT_WORDS = "|".join(sorted((re.escape(word) for word in _UNITS), key=len, reverse=True))
_DIRECTION = {"before": -1, "avant": -1, "after": 1, "après": 1, "apres": 1}

_OFFSET_ANCHOR = re.compile(
    rf"^(?P<n>\d+)\s*(?P<unit>{_UNIT_WORDS})\s+(?P<dir>before|after|avant|après|apres)\s+(?P<anchor>.+)$", re.I
)
_LATER = re.compile(rf"^(?P<n>\d+)\s*(?P<unit>{_UNIT_WORDS})\s+(?:later|plus tard)$", re.I)
_ORDINAL = re.compile(
    r"^(?P<unit>day|week|month|year|jour|semaine|mois|année|annee|j|d|m)\s*(?P<n>\d+)(?:\s+(?:of|de|du|d')\s*(?P<anchor>.+))?$",
    re.I,
)
_BARE = re.compile(rf"^(?:at\s+|à\s+|a\s+)?(?P<n>\d+)\s*(?P<unit>{_UNIT_WORDS})$", re.I)
_EDGE_OF = re.compile(r"^(?P<edge>start|end|début|debut|fin)\s+(?:of|de|du)\s+(?P<id>.+)$", re.I)
_ID_EDGE = re.compile(r"^(?P<id>[A-Za-z0-9][A-Za-z0-9\-]*)(?:[ .](?P<edge>start|end))?$")

ORDINAL_UNITS = {
    "day": "day",
    "jour": "day",
    "j": "day",
    "d": "day",
    "week": "week",
    "semaine": "week",
    "month": "month",
    "mois": "month",
    "m": "month",
    "year": "year",
    "année": "year",
    "annee": "year",
}


def parse_date(text: str) -> PartialDate:
    """``2019``, ``2019-03`` or ``2019-03-04`` as a :class:`PartialDate`; a date that does not exist is an error."""
    match = _DATE.match(text.strip())
    if not match:
        raise TimeExpressionError(f"{text!r} is not a date", hint="write a date as YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = match.groups()
    try:
        if day is not None:
            date(int(year), int(month), int(day))
            return PartialDate(int(year), int(month), int(day), Precision.DAY)
        if month is not None:
            if not 1 <= int(month) <= 12:
                raise ValueError("month must be in 1..12")
            return PartialDate(int(year), int(month), 1, Precision.MONTH)
    except ValueError as exc:
        raise TimeExpressionError(f"{text!r} is not a date that exists ({exc})", hint="check day and month") from None
    if int(year) < 1:
        raise TimeExpressionError(f"{text!r} is not a date that exists", hint="check the year")
    return PartialDate(int(year), 1, 1, Precision.YEAR)


@dataclass(frozen=True)
class AnchorRef:
    """A reference to another time: the index, or an element's start or end."""

    name: str
    edge: str = "start"


@dataclass(frozen=True)
class TimeExpression:
    """A parsed time: an absolute date, or an anchor moved by an offset."""

    text: str
    absolute: PartialDate | None = None
    anchor: AnchorRef | None = None
    later: bool = False
    amount: int = 0
    unit: str = "day"

    def shift(self, base: PartialDate) -> PartialDate:
        """Move ``base`` by the offset; the result is no more precise than the offset's unit ("month 1" is a month)."""
        if self.anchor is not None and self.amount == 0 and self.unit == "day":
            return base
        if self.unit == "day":
            return base.add_days(self.amount)
        if self.unit == "week":
            return base.add_days(7 * self.amount)
        if self.unit == "month":
            return base.add_months(self.amount).coarsen(Precision.MONTH)
        return base.add_years(self.amount).coarsen(Precision.YEAR)


def _anchor(text: str) -> AnchorRef:
    text = text.strip()
    edge_match = _EDGE_OF.match(text)
    if edge_match:
        edge = "end" if edge_match.group("edge").lower() in {"end", "fin"} else "start"
        return AnchorRef(edge_match.group("id").strip(), edge)
    id_match = _ID_EDGE.match(text)
    if id_match:
        return AnchorRef(id_match.group("id"), id_match.group("edge") or "start")
    raise TimeExpressionError(
        f"{text!r} is not an anchor",
        hint="an anchor is 'index', the index event's name, or the id of an event or element (optionally 'end of ID')",
    )


def parse_time(text: str) -> TimeExpression:
    """Parse one time expression (see the module docstring for the grammar)."""
    raw = " ".join(str(text).split())
    if not raw:
        raise TimeExpressionError(
            "the time is empty", hint="write a date or an expression such as '6 weeks before admission'"
        )
    if _DATE.match(raw):
        return TimeExpression(raw, absolute=parse_date(raw))
    match = _OFFSET_ANCHOR.match(raw)
    if match:
        sign = _DIRECTION[match.group("dir").lower()]
        return TimeExpression(
            raw,
            anchor=_anchor(match.group("anchor")),
            amount=sign * int(match.group("n")),
            unit=_UNITS[match.group("unit").lower()],
        )
    match = _LATER.match(raw)
    if match:
        return TimeExpression(raw, later=True, amount=int(match.group("n")), unit=_UNITS[match.group("unit").lower()])
    match = _ORDINAL.match(raw)
    if match:
        number = int(match.group("n"))
        if number < 1:
            raise TimeExpressionError(f"{raw!r}: ordinals start at 1", hint="day 1 is the anchor's own day")
        anchor_text = match.group("anchor")
        return TimeExpression(
            raw,
            anchor=_anchor(anchor_text) if anchor_text else AnchorRef("index"),
            amount=number - 1,
            unit=ORDINAL_UNITS[match.group("unit").lower()],
        )
    match = _BARE.match(raw)
    if match:
        return TimeExpression(
            raw, anchor=AnchorRef("index"), amount=int(match.group("n")), unit=_UNITS[match.group("unit").lower()]
        )
    if _ID_EDGE.match(raw) or _EDGE_OF.match(raw):
        return TimeExpression(raw, anchor=_anchor(raw))
    raise TimeExpressionError(
        f"cannot read the time {raw!r}",
        hint="write a date (2019-03-04), an anchor (admission), '6 weeks before admission', 'day 6 of ID', 'month 5', "
        "'12 months' or '2 weeks later'",
    )


AnchorLookup = Callable[[AnchorRef], PartialDate]


def resolve(expression: TimeExpression, anchors: AnchorLookup, previous: PartialDate | None) -> PartialDate:
    """Resolve ``expression``; ``anchors`` returns an anchor's date, ``previous`` is the time of the item before."""
    if expression.absolute is not None:
        return expression.absolute
    if expression.later:
        if previous is None:
            raise TimeExpressionError(
                f"{expression.text!r} has no earlier item to count from",
                hint="'later' counts from the item written just before in the same list; name the anchor instead",
            )
        return expression.shift(previous)
    assert expression.anchor is not None
    return expression.shift(anchors(expression.anchor))
