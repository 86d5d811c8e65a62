from __future__ import annotations

import io
from decimal import Decimal

import pytest

from fhirconv.casefile.loader import load_case_document
from fhirconv.errors import CaseSyntaxError


def load(text: str | bytes, source: str = "case.yaml"):  # type: ignore[no-untyped-def]
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return load_case_document(io.BytesIO(raw), source)


def test_positions_of_fields_and_list_items() -> None:
    document = load("a:\n  b: 1\nitems:\n  - x: 2\n  - x: 3\n")
    assert document.positions[("a", "b")] == (2, 3)
    assert document.positions[("items", 1)] == (5, 5)
    assert document.locate(("items", 1, "x", "deeper")).line == 5


def test_numbers_keep_their_digits_and_dates_stay_text() -> None:
    document = load("v: 7.50\nn: 3000\nd: 2019-03-04\nq: '12'\n")
    assert document.data == {"v": Decimal("7.50"), "n": 3000, "d": "2019-03-04", "q": "12"}


def test_json_is_read_too_with_json_syntax_errors() -> None:
    assert load('{"a": [1, 2.5]}', "case.json").data == {"a": [1, Decimal("2.5")]}
    with pytest.raises(CaseSyntaxError) as caught:
        load('{"a": [1, 2,]}', "case.json")
    assert caught.value.location.line == 1 and "JSON syntax error" in caught.value.message


def test_yaml_syntax_error_has_line_and_column() -> None:
    with pytest.raises(CaseSyntaxError) as caught:
        load("a: 1\nb: [1, 2\nc: 3\n")
    assert caught.value.location.line == 3
    assert caught.value.one_line().startswith("case.yaml:3:")


def test_aliases_are_refused_so_alias_bombs_cannot_expand() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b]\n"
    with pytest.raises(CaseSyntaxError, match="anchors are not allowed"):
        load(bomb)
    with pytest.raises(CaseSyntaxError, match="not allowed"):
        load("a: *x\n")


@pytest.mark.parametrize(("raw", "message"), [(b"", "empty"), (b"  \n\n", "empty"), (b"# only a comment\n", "no data")])
def test_empty_files(raw: bytes, message: str) -> None:
    with pytest.raises(CaseSyntaxError, match=message):
        load(raw)


def test_binary_and_non_utf8_files() -> None:
    with pytest.raises(CaseSyntaxError, match="binary"):
        load(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(CaseSyntaxError, match="not UTF-8") as caught:
        load(b"a: 1\nb: caf\xe9\n")
    assert caught.value.location.line == 2


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(CaseSyntaxError, match="appears twice") as caught:
        load("a: 1\nb: 2\na: 3\n")
    assert caught.value.location.line == 3
