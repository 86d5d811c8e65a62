"""Checks of FHIR R4 primitive values in JSON: the JSON kind, the official regex, and what a regex cannot see.

Beyond the regexes of the R4 definitions (``fhirconv/data/r4-index.json.gz``) these check what HAPI's validator
checks too: real calendar dates (``2019-02-30`` is wrong), a time zone whenever a time is given, 32-bit integer
ranges, non-empty values, no whitespace in URIs, XHTML narrative rooted in an XHTML ``div``.
"""

from __future__ import annotations

import binascii
import calendar
import re
from decimal import Decimal
from typing import Any

from lxml import etree

from fhirconv.validate.r4index import PrimitiveDef

XHTML_NS = "http://www.w3.org/1999/xhtml"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_DATE_PART = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/=]*")
_WHITESPACE = re.compile(r"\s", re.ASCII)  # as Java's \s
_DOUBLE_SPACE = re.compile(r"\s\s")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
# Resource ids have the "id" type's format, though the R4 snapshot types Resource.id as a plain string.
RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def json_kind(value: Any) -> str:
    """The JSON kind of a decoded value, as named in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_primitive(primitive: PrimitiveDef, value: Any) -> str | None:
    """What is wrong with ``value`` as a ``primitive.name`` JSON value, or None."""
    kind = json_kind(value)
    if kind != primitive.json:
        name = primitive.name
        return f"{_article(name)} {name} must be a JSON {primitive.json}, not {_article(kind)} {kind}"
    name = primitive.name
    if kind == "boolean":
        return None
    if kind == "number":
        return _check_number(name, value)
    text: str = value
    if text == "":
        return "the value cannot be empty (leave the element out instead)"
    if name == "xhtml":
        return _check_xhtml(text)
    if name == "base64Binary":
        compact = _WHITESPACE.sub("", text)
        if not _BASE64_CHARS.fullmatch(compact) or len(compact) % 4:
            return f"{_show(text)} is not valid base64"
        try:
            binascii.a2b_base64(compact)
        except binascii.Error:
            return f"{_show(text)} is not valid base64"
        return None
    if name in {"uri", "url", "canonical"}:
        return _check_uri(name, text)
    if name == "code" and (text != text.strip() or _DOUBLE_SPACE.search(text)):
        # str.strip() also strips the non-breaking spaces that HAPI's whitespace rule rejects
        return f"the code {_show(text)} is not valid (no leading, trailing or double whitespace)"
    if primitive.regex is not None and not primitive.regex.fullmatch(text):
        if name in {"dateTime", "instant"} and "T" in text and not re.search(r"(Z|[+-]\d\d:\d\d)$", text):
            return f"{_show(text)} is not a valid {name}: a time needs a time zone (Z or +hh:mm)"
        if name == "code":
            return f"the code {_show(text)} is not valid (no leading, trailing or double whitespace)"
        return f"{_show(text)} is not a valid {name}{_FORMATS.get(name, '')}"
    if name in {"date", "dateTime", "instant"}:
        return _check_calendar(name, text)
    return None


_FORMATS = {
    "date": " (YYYY, YYYY-MM or YYYY-MM-DD)",
    "dateTime": " (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)",
    "instant": " (YYYY-MM-DDThh:mm:ss.sss+zz:zz, with a time zone)",
    "time": " (hh:mm:ss)",
    "id": " (1 to 64 of A-Z a-z 0-9 - .)",
    "oid": " (urn:oid:1.2.3...)",
    "uuid": " (urn:uuid: and a lower-case UUID)",
}


def _check_uri(name: str, text: str) -> str | None:
    if _WHITESPACE.search(text):
        return f"{_article(name)} {name} cannot contain whitespace: {_show(text)}"
    if text.startswith("urn:uuid:") and not _UUID.fullmatch(text):
        return f"{_show(text)} is not a valid urn:uuid: (a UUID in lower case)"
    if text.startswith("urn:oid:") and not _OID.fullmatch(text):
        return f"{_show(text)} is not a valid urn:oid:"
    if name == "canonical" and not text.startswith("#") and not _SCHEME.match(text):
        return f"the canonical URL {_show(text)} must be absolute (or a #fragment reference)"
    return None


def _check_number(name: str, value: Any) -> str | None:
    if name == "decimal":
        if isinstance(value, float) and (value != value or value in {float("inf"), float("-inf")}):
            return f"{value} is not a valid decimal"
        return None
    if isinstance(value, int):
        number = value
    elif (isinstance(value, Decimal) and value == value.to_integral_value()) or (
        isinstance(value, float) and value.is_integer()
    ):
        number = int(value)
    else:
        return f"the value '{value}' is not a valid {name}"
    if not INT_MIN <= number <= INT_MAX:
        return f"the value '{value}' is not a valid {name} (outside the 32-bit range)"
    if name == "positiveInt" and number < 1:
        return f"the value '{value}' is not a valid positiveInt (must be 1 or more)"
    if name == "unsignedInt" and number < 0:
        return f"the value '{value}' is not a valid unsignedInt (must be 0 or more)"
    return None


def _check_calendar(name: str, text: str) -> str | None:
    match = _DATE_PART.match(text)
    if match is None or match.group(3) is None:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if day > calendar.monthrange(year, month)[1]:
        return f"{_show(text)} is not a valid {name}: {year}-{month:02d} has no day {day}"
    return None


def _check_xhtml(text: str) -> str | None:
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return f"the narrative is not well-formed XHTML: {exc.msg}"
    qname = etree.QName(root)
    if qname.namespace != XHTML_NS:
        return f"the narrative's root element must be in the XHTML namespace {XHTML_NS} (found {qname.namespace})"
    if qname.localname != "div":
        return f"the narrative's root element must be a div, not {qname.localname}"
    return None


def check_resource_id(value: Any) -> str | None:
    if isinstance(value, str) and not RESOURCE_ID.fullmatch(value):
        if len(value) > 64:
            return f"invalid resource id {_show(value)}: longer than 64 characters"
        return f"invalid resource id {_show(value)}: only A-Z a-z 0-9 - . are allowed"
    return None


def _show(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" and not word.startswith(("uri", "url", "uuid")) else "a"
