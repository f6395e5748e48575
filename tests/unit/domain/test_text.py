"""The one rule for a caller's identifiers and names (``domain/text.py``)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.admin.document import load_text, parse_document
from tallyboard.domain.errors import InvalidInputError
from tallyboard.domain.text import character_problem, refused_character


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a\x00b", "U+0000"),
        ("\t", "U+0009"),
        ("line\nbreak", "U+000A"),
        ("esc\x1b[0m", "U+001B"),
        ("del\x7f", "U+007F"),
        ("next line\x85", "U+0085"),
        ("c1\x9f", "U+009F"),
        ("lone \ud800 surrogate", "U+D800"),
        ("lone \udfff", "U+DFFF"),
    ],
)
def test_control_characters_and_lone_surrogates_are_refused(text: str, found: str) -> None:
    assert refused_character(text) == found
    assert character_problem(text) == f"must not contain control characters (found {found})"


@pytest.mark.parametrize(
    "text",
    [
        "Invoice Processor",
        "Zoë's flow — ünïcödé",
        "👩‍💻 team",  # zero-width joiner (a format character) inside an emoji
        "\u200fRTL mark",
        "no\u00a0break",
        "line\u2028separator",
        "private \ue000 use",
        "unassigned \U000e0080",
        "日本語の名前",
    ],
)
def test_real_names_are_allowed(text: str) -> None:
    assert character_problem(text) is None


def test_free_text_may_keep_line_breaks_and_tabs_only() -> None:
    assert character_problem("one\r\ntwo\tthree", allow_line_breaks=True) is None
    assert refused_character("bell\x07", allow_line_breaks=True) == "U+0007"
    assert refused_character("nul\x00", allow_line_breaks=True) == "U+0000"


@given(st.text())
def test_refused_exactly_when_a_control_character_or_surrogate_is_present(text: str) -> None:
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cs")]
    assert refused_character(text) == (f"U+{ord(bad[0]):04X}" if bad else None)


def test_a_yaml_document_escaping_nul_is_refused_with_its_path() -> None:
    raw = load_text('organizations: [{id: "9\\0", name: "Nine"}]', filename="t.yaml")
    with pytest.raises(InvalidInputError) as refused:
        parse_document(raw)
    (problem,) = refused.value.problems
    assert (problem.path, problem.reason) == (
        "organizations[0].id",
        "must not contain control characters (found U+0000)",
    )
