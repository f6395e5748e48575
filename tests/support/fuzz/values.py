"""Hostile values shared by every request strategy of the fuzz, and body encoding.

Bodies are encoded with the standard ``json`` module, not orjson: it writes integers of
any size and (with ``ensure_ascii``) lone surrogates, which a hostile client can send
and the server must refuse cleanly.
"""

from __future__ import annotations

import functools
import json
import string
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "ODD_STRINGS",
    "clean_text",
    "encode",
    "hostile_json",
    "hostile_text",
    "huge_integers",
    "nested_json",
]

ODD_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\r\n",
    "\u202e",
    "\ufeff",
    "\u2028",
    "\U0001f600\U0001f600",
    "ǅİß",
    "'",
    '"',
    "\\",
    "%s%n",
    "{}",
    "$1",
    "?",
    ":x",
    "' OR '1'='1",
    "../../etc/passwd",
    "null",
    "NaN",
    "-0",
    "1e309",
    "0x7fffffff",
)
"""Strings that break naive code: control characters, NUL, bidi and BOM marks, quotes,
format strings, SQL and path injection attempts, number-like text."""

huge_integers = st.one_of(
    st.sampled_from([-1, 0, 2**31 - 1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63)]),
    st.integers(min_value=-(2**80), max_value=2**80),
)


@functools.cache  # strategies are immutable; building them is not free
def hostile_text(max_size: int = 40, *, surrogates: bool = True) -> st.SearchStrategy[str]:
    """Any text: odd strings, unicode with control characters, very long strings, and
    (unless told otherwise) lone surrogates, which no UTF-8 body can carry as such."""
    options = [
        st.sampled_from(ODD_STRINGS),
        st.text(max_size=max_size),
        st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=8),
        st.integers(min_value=129, max_value=6_000).map(lambda n: "x" * n),
    ]
    if surrogates:
        options.append(st.integers(min_value=1, max_value=4).map(lambda n: "\ud800" * n))
    return st.one_of(options)


@functools.cache  # strategies are immutable; building them is not free
def clean_text(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text a careful producer sends: letters, digits, punctuation, symbols, spaces, any
    script -- but no control, format, separator-other or surrogate characters."""
    alphabet = st.one_of(
        st.characters(categories=("L", "M", "N", "P", "S", "Zs")),
        st.sampled_from(string.ascii_letters + string.digits + "-_."),
    )
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size).filter(
        lambda s: s.strip() == s and s != ""
    )


@functools.cache  # strategies are immutable; building them is not free
def hostile_json(max_leaves: int = 12, *, surrogates: bool = True) -> st.SearchStrategy[Any]:
    """Any JSON value: wrong types, huge numbers, hostile strings, nested containers."""
    text = hostile_text(surrogates=surrogates)
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        huge_integers,
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(hostile_text(12, surrogates=surrogates), children, max_size=5),
        ),
        max_leaves=max_leaves,
    )


def encode(value: Any, *, ascii_only: bool = False) -> bytes:
    """JSON bytes of ``value``; lone surrogates only survive as ``\\udXXX`` escapes."""
    if ascii_only:
        return json.dumps(value, ensure_ascii=True).encode()
    text = json.dumps(value, ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True).encode()


def nested_json(depth: int, *, as_object: bool = False) -> str:
    """JSON text nested ``depth`` containers deep (lists, or objects under key "a");
    built as text because ``json.dumps`` recurses and stops near 1,000 levels."""
    if as_object:
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth + "1" + "]" * depth
