"""Dosage: doses as written (per kg, per m2, with their absolute equivalent), schedules, courses and phases."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhir.resources.R4B.dosage import Dosage, DosageDoseAndRate
from fhir.resources.R4B.duration import Duration
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.timing import Timing, TimingRepeat

from fhirconv.builders.context import BuildContext
from fhirconv.casefile.loader import FieldPath
from fhirconv.casefile.models import Dose
from fhirconv.casefile.quantities import parse_amount
from fhirconv.errors import FhirconvError, QuantityError
from fhirconv.terminology.codes import UCUM
from fhirconv.ucum import UcumError, parse_ucum


@dataclass(frozen=True)
class Schedule:
    frequency: int
    period: int
    unit: str  # UCUM unit of time as FHIR's UnitsOfTime: h, d, wk, mo, a
    when: tuple[str, ...] = ()


# Schedules as case reports write them (English and French). `when` holds FHIR event-timing codes.
_FIXED: dict[str, Schedule] = {}
for _words, _schedule in [
    (
        (
            "once daily",
            "daily",
            "once a day",
            "per day",
            "a day",
            "qd",
            "od",
            "/day",
            "/d",
            "1/d",
            "par jour",
            "une fois par jour",
            "/j",
            "/jour",
            "quotidien",
            "quotidienne",
        ),
        Schedule(1, 1, "d"),
    ),
    (
        (
            "twice daily",
            "twice a day",
            "bid",
            "b.i.d.",
            "2 times a day",
            "two times a day",
            "deux fois par jour",
            "2 fois par jour",
            "12-hourly",
            "every 12 hours",
        ),
        Schedule(2, 1, "d"),
    ),
    (("morning and evening", "matin et soir"), Schedule(2, 1, "d", ("MORN", "EVE"))),
    (("in the morning", "every morning", "le matin"), Schedule(1, 1, "d", ("MORN",))),
    (("in the evening", "every evening", "le soir"), Schedule(1, 1, "d", ("EVE",))),
    (
        (
            "three times daily",
            "three times a day",
            "tid",
            "t.i.d.",
            "3 times a day",
            "trois fois par jour",
            "3 fois par jour",
        ),
        Schedule(3, 1, "d"),
    ),
    (
        ("four times daily", "four times a day", "qid", "q.i.d.", "4 times a day", "quatre fois par jour"),
        Schedule(4, 1, "d"),
    ),
    (
        ("weekly", "once a week", "every week", "hebdomadaire", "une fois par semaine", "par semaine"),
        Schedule(1, 1, "wk"),
    ),
    (
        (
            "monthly",
            "once a month",
            "every month",
            "mensuel",
            "mensuelle",
            "mensuelles",
            "mensuels",
            "une fois par mois",
            "par mois",
            "tous les mois",
        ),
        Schedule(1, 1, "mo"),
    ),
    (("yearly", "once a year", "annual", "annuel", "annuelle"), Schedule(1, 1, "a")),
]:
    for _word in _words:
        _FIXED[_word] = _schedule

_TIME_UNITS = {
    "hour": "h",
    "hours": "h",
    "h": "h",
    "heure": "h",
    "heures": "h",
    "day": "d",
    "days": "d",
    "d": "d",
    "jour": "d",
    "jours": "d",
    "j": "d",
    "week": "wk",
    "weeks": "wk",
    "wk": "wk",
    "semaine": "wk",
    "semaines": "wk",
    "month": "mo",
    "months": "mo",
    "mo": "mo",
    "mois": "mo",
    "year": "a",
    "years": "a",
    "an": "a",
    "ans": "a",
}
_EVERY = re.compile(r"^(?:every|toutes les|tous les|q)\s*(?P<n>\d+)\s*(?P<unit>[a-zé]+)$", re.I)
_DURATION = re.compile(r"^(?P<n>\d+)\s*(?P<unit>[a-zé]+)$", re.I)


def per_time(ucum: str) -> bool:
    """True for an amount per unit of time (mg/d, mg/(24.h), mL/h): a rate, not a dose."""
    try:
        return parse_ucum(ucum).dimension().get("T", 0) == -1
    except (UcumError, ValueError):
        return False


def parse_schedule(text: str) -> Schedule:
    written = " ".join(text.split()).lower()
    if written in _FIXED:
        return _FIXED[written]
    match = _EVERY.match(written)
    if match and match.group("unit") in _TIME_UNITS:
        return Schedule(1, int(match.group("n")), _TIME_UNITS[match.group("unit")])
    raise QuantityError(
        f"cannot read the schedule {text!r}",
        hint="write e.g. 'once daily', 'twice daily', 'morning and evening', 'weekly', 'monthly', 'every 4 weeks'",
    )


def parse_duration(text: str) -> Duration:
    match = _DURATION.match(" ".join(text.split()).lower())
    if not match or match.group("unit") not in _TIME_UNITS:
        raise QuantityError(f"cannot read the duration {text!r}", hint="write e.g. '6 months', '3 weeks', '10 days'")
    unit = _TIME_UNITS[match.group("unit")]
    return Duration.model_validate({"value": int(match.group("n")), "unit": unit, "system": UCUM, "code": unit})


def _dose_and_rate(ctx: BuildContext, written: str, kind: str, path: FieldPath) -> DosageDoseAndRate:
    try:
        amount = parse_amount(written)
    except FhirconvError as exc:
        raise exc.at_path(path) from None
    quantity = ctx.amount_quantity(amount, path)
    field = "rateQuantity" if quantity.code and per_time(quantity.code) else "doseQuantity"
    return DosageDoseAndRate(type=ctx.fhir_concept("dose-rate-type", kind), **{field: quantity})


def dosage_text(dose: Dose) -> str:
    if dose.text:
        return dose.text
    parts = [dose.dose] if dose.dose else []
    if dose.equivalent:
        parts.append(f"i.e. {dose.equivalent}")
    if dose.schedule:
        parts.append(dose.schedule)
    if dose.courses:
        parts.append(f"{dose.courses} courses")
    if dose.duration:
        parts.append(f"for {dose.duration}")
    return ", ".join(parts) or "dose not reported"


def build_dosage(ctx: BuildContext, dose: Dose, path: FieldPath, sequence: int | None, route: object) -> Dosage:
    repeat: dict[str, object] = {}
    if dose.schedule:
        try:
            schedule = parse_schedule(dose.schedule)
        except FhirconvError as exc:
            raise exc.at_path((*path, "schedule")) from None
        repeat.update(frequency=schedule.frequency, period=schedule.period, periodUnit=schedule.unit)
        if schedule.when:
            repeat["when"] = list(schedule.when)
    if dose.courses:
        repeat["count"] = dose.courses
    start, end = ctx.when((*path, "start")), ctx.when((*path, "end"))
    if start or end:
        repeat["boundsPeriod"] = Period(start=start, end=end)
    elif dose.duration:
        try:
            repeat["boundsDuration"] = parse_duration(dose.duration)
        except FhirconvError as exc:
            raise exc.at_path((*path, "duration")) from None
    dose_and_rate = [_dose_and_rate(ctx, dose.dose, "ordered", (*path, "dose"))] if dose.dose else []
    if dose.equivalent:
        dose_and_rate.append(_dose_and_rate(ctx, dose.equivalent, "calculated", (*path, "equivalent")))
    return Dosage(
        sequence=sequence,
        text=dosage_text(dose),
        timing=Timing(repeat=TimingRepeat(**repeat)) if repeat else None,
        route=route,
        doseAndRate=dose_and_rate or None,
    )
