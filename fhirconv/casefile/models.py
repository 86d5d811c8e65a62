"""The case-file format, version 1, as pydantic models.

Every model forbids unknown fields so that a typo is an error, not a silently dropped fact. Times are kept as the
text the author wrote (see :mod:`fhirconv.casefile.timeline` for their grammar); values, units and ranges are kept
as written too (see :mod:`fhirconv.casefile.quantities`). Terms are mapping keys or synonyms, or an inline concept
with its own codings. The JSON Schema of these models is what ``fhirconv schema`` prints.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

from fhirconv.casefile.quantities import is_number, parse_number

FORMAT_VERSION = "fhirconv-case/1"


def _number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("true/false is not a number; quote it if it is a result term")
    if isinstance(value, str) and is_number(value):
        return parse_number(value)
    return value


def _time_text(value: object) -> object:
    # An unquoted year (onset: 2015) reaches us as an integer.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Id = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]{0,63}$"),
    Field(description="An identifier: letters, digits and '-', up to 64 characters, unique in the file."),
]
TimeText = Annotated[
    str,
    BeforeValidator(_time_text),
    Field(
        description=(
            "A time: '2019-03-04', '2019-03', '2019', 'index', '6 weeks before admission', '2 weeks after pe', "
            "'day 6 of corticosteroids', 'month 5', '12 months', '2 weeks later'. See docs/case-file.md."
        ),
        examples=["6 weeks before admission", "day 6 of corticosteroids", "month 5", "2019-03-04"],
    ),
]
Number = Annotated[
    Decimal | int,
    BeforeValidator(_number),
    Field(description="A number as written: 12, 7.52, or '3,8' with a decimal comma."),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class InlineCoding(Strict):
    """A code the author checked, for a term outside the mappings."""

    system: Annotated[str, Field(description="Code system URI, e.g. http://snomed.info/sct")]
    code: str
    display: str
    source: Annotated[str, Field(description="Where this code/display pair was checked.")]


class InlineTerm(Strict):
    """A concept written out in full: its text and, optionally, checked codings."""

    text: str
    codings: list[InlineCoding] = Field(default_factory=list)


Term = Annotated[
    str | InlineTerm,
    Field(
        description="A mapping key or synonym (English or French), or {text, codings} for a concept outside the tables."
    ),
]


class BodySite(Strict):
    term: Term
    laterality: Literal["left", "right", "bilateral"] | None = None


SiteSpec = Annotated[Term | BodySite, Field(description="A body site term, or {term, laterality}.")]


class Source(Strict):
    """The publication the case comes from."""

    citation: str
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    published: Annotated[str, BeforeValidator(_time_text)] | None = Field(
        default=None, description="Publication date, YYYY, YYYY-MM or YYYY-MM-DD."
    )

    @field_validator("published")
    @classmethod
    def _publication_date(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
            raise ValueError(f"{value!r} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD")
        return value


class CaseMeta(Strict):
    id: Id
    title: str
    language: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="Language of the source report (BCP 47).")
    source: Source
    index_date: Annotated[str, BeforeValidator(_time_text)] = Field(
        description="The date every relative time counts from (YYYY-MM-DD, YYYY-MM or YYYY)."
    )
    index_event: str = Field(
        default="admission", pattern=r"^[a-z][a-z0-9\-]*$", description="Name of the index event, usable as an anchor."
    )
    recorded: Annotated[str, BeforeValidator(_time_text)] = Field(
        description="When this case file was written (YYYY-MM-DD); dates the Provenance."
    )
    note: str | None = None


class Event(Strict):
    """A named point on the timeline that other times can refer to."""

    id: Id
    at: TimeText
    text: str | None = None


class Smoking(Strict):
    status: Term = Field(description="e.g. ex-smoker, current smoker, never smoked")
    pack_years: Number | None = None
    at: TimeText = "index"


class Exposure(Strict):
    id: Id | None = None
    term: Term
    absent: bool = Field(default=False, description="True when the report states the exposure did not happen.")
    at: TimeText = "index"
    note: str | None = None


class Death(Strict):
    at: TimeText
    causes: list[Id] = Field(default_factory=list, description="Ids of conditions that caused the death.")
    note: str | None = None


class Age(Strict):
    value: Number
    unit: Literal["years", "months", "weeks", "days"] = "years"


class PatientSpec(Strict):
    sex: Literal["female", "male", "other", "unknown"]
    age: Age | Number | None = Field(default=None, description="Age at the index date; a number means years.")
    smoking: Smoking | None = None
    exposures: list[Exposure] = Field(default_factory=list)
    deceased: Death | None = None


ClinicalStatus = Literal["active", "recurrence", "relapse", "inactive", "remission", "resolved"]
VerificationStatus = Literal["unconfirmed", "provisional", "differential", "confirmed", "refuted"]


class ConditionSpec(Strict):
    id: Id
    term: Term
    text: str | None = Field(
        default=None, description="The condition as the report words it, if more precise than the term."
    )
    category: Literal["problem-list-item", "encounter-diagnosis"] | None = None
    onset: TimeText | None = None
    abatement: TimeText | None = None
    recorded: TimeText | None = None
    clinical_status: ClinicalStatus | None = None
    verification_status: VerificationStatus = "confirmed"
    severity: Literal["mild", "moderate", "severe"] | None = None
    history: bool = Field(
        default=False, description="A past condition ('history of'); clinical status defaults to inactive."
    )
    body_site: list[SiteSpec] = Field(default_factory=list)
    evidence: list[Id] = Field(default_factory=list, description="Ids of observations or procedures that support it.")
    note: str | None = None


Interpretation = Literal["high", "low", "normal", "abnormal", "positive", "negative", "critical-high", "critical-low"]


class Component(Strict):
    term: Term
    value: Number | str | None = None
    unit: str | None = None
    reference_range: str | None = None
    interpretation: Interpretation | None = None
    text: str | None = Field(default=None, description="A result written as text (valueString).")

    @model_validator(mode="after")
    def _one_result(self) -> Component:
        if self.value is not None and self.text is not None:
            raise ValueError("give either value or text, not both")
        return self


class ObservationSpec(Strict):
    id: Id
    term: Term
    label: str | None = Field(
        default=None, description="The test as the report words it, if more precise than the term."
    )
    category: (
        Literal["laboratory", "vital-signs", "social-history", "exam", "imaging", "procedure", "survey"] | None
    ) = None
    at: TimeText
    value: Number | str | None = Field(
        default=None,
        description="A number (with unit), or a result term such as 'positive'. Numbers may be written '3,8'.",
    )
    unit: str | None = Field(default=None, description="The unit exactly as written, e.g. 'UI/L', 'G/L', 'mmHg'.")
    result_text: str | None = Field(default=None, description="A result that is only text (valueString).")
    reference_range: str | None = Field(default=None, description="As written: '29-168', '< 2.3', '3,8-9,4 G/L'.")
    interpretation: Interpretation | None = None
    method: Term | None = None
    specimen: Term | None = None
    body_site: SiteSpec | None = None
    members: list[ObservationSpec] = Field(default_factory=list, description="Panel members (hasMember).")
    components: list[Component] = Field(default_factory=list)
    derived_from: list[Id] = Field(default_factory=list)
    part_of: Id | None = Field(default=None, description="Id of the procedure this result belongs to.")
    note: str | None = None

    @model_validator(mode="after")
    def _one_result(self) -> ObservationSpec:
        given = [name for name in ("value", "result_text") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError("give either value or result_text, not both")
        if self.unit is not None and self.value is not None and not is_number(self.value):
            raise ValueError("unit is given but value is not a number")
        return self


class Dose(Strict):
    """One dose as written: '2 mg/kg', '700 mg/m2', '15 mg', '100 mg/day'."""

    dose: str | None = Field(
        default=None,
        description="Dose as written with its unit: '2 mg/kg', '700 mg/m2', '15 mg'; omit when not reported.",
    )
    equivalent: str | None = Field(
        default=None, description="The absolute dose the report gives for a per-kg or per-m2 dose: '100 mg/day'."
    )
    schedule: str | None = Field(
        default=None,
        description="Timing as written: 'once daily', 'twice daily', 'morning and evening', 'every 4 weeks'.",
    )
    courses: int | None = Field(default=None, ge=1, description="Number of courses or administrations ('6 courses').")
    duration: str | None = Field(default=None, description="How long, as written: '6 months', '3 weeks'.")
    start: TimeText | None = None
    end: TimeText | None = None
    text: str | None = Field(default=None, description="The dosage sentence as the report writes it.")


class Stop(Strict):
    at: TimeText
    reason: str | None = None


class MedicationSpec(Strict):
    id: Id
    term: Term
    text: str | None = None
    status: Literal["active", "completed", "stopped", "on-hold", "intended", "not-taken", "unknown"] | None = None
    start: TimeText | None = None
    end: TimeText | None = None
    stopped: Stop | None = Field(default=None, description="When and why the drug was stopped.")
    route: Term | None = None
    dosage: list[Dose] = Field(default_factory=list, description="Dose phases in order (a taper is several phases).")
    reason: list[Id] = Field(default_factory=list, description="Ids of the conditions treated.")
    note: str | None = None

    @model_validator(mode="after")
    def _end_once(self) -> MedicationSpec:
        if self.end is not None and self.stopped is not None:
            raise ValueError("give either end or stopped, not both")
        return self


class ProcedureSpec(Strict):
    id: Id
    term: Term
    text: str | None = None
    at: TimeText | None = None
    start: TimeText | None = None
    end: TimeText | None = None
    status: Literal["completed", "in-progress", "not-done", "stopped", "unknown"] = "completed"
    body_site: list[SiteSpec] = Field(default_factory=list)
    reason: list[Id] = Field(default_factory=list)
    findings: str | None = Field(default=None, description="What the procedure found, as the report says it.")
    note: str | None = None

    @model_validator(mode="after")
    def _time_once(self) -> ProcedureSpec:
        if self.at is not None and (self.start is not None or self.end is not None):
            raise ValueError("give either at, or start/end, not both")
        return self


class StaySpec(Strict):
    id: Id
    term: Term = Field(description="The kind of stay, e.g. continuous-care-unit, hospital-admission.")
    text: str | None = None
    setting: Literal["inpatient", "emergency", "ambulatory", "intensive", "home"] = "inpatient"
    start: TimeText
    end: TimeText | None = None
    status: Literal["planned", "in-progress", "finished", "cancelled"] = "finished"
    reason: list[Id] = Field(default_factory=list)
    discharge: str | None = Field(default=None, description="How the stay ended, as written: 'home, symptom free'.")
    note: str | None = None


class CaseFile(Strict):
    """One patient's course as a case report describes it."""

    format: Literal["fhirconv-case/1"] = Field(description="The format and its version.")
    case: CaseMeta
    patient: PatientSpec
    events: list[Event] = Field(default_factory=list)
    conditions: list[ConditionSpec] = Field(default_factory=list)
    observations: list[ObservationSpec] = Field(default_factory=list)
    medications: list[MedicationSpec] = Field(default_factory=list)
    procedures: list[ProcedureSpec] = Field(default_factory=list)
    stays: list[StaySpec] = Field(default_factory=list)

    @field_validator("format", mode="before")
    @classmethod
    def _known_format(cls, value: object) -> object:
        if value != FORMAT_VERSION:
            raise ValueError(f"this fhirconv reads format {FORMAT_VERSION!r}")
        return value
